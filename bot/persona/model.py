"""Persona script format v1 as pydantic v2 models: the single source of truth for the YAML and its JSON Schema.

Every model forbids unknown keys so a misspelt key is an error with a line number, not a silently ignored setting.
Cross-references (facts, topics, concepts, variables) are checked by the loader and ``lint``, not here, so the
messages can name the file position of the reference.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_VERSION = 1

ID_PATTERN = r"^[a-z0-9][a-z0-9_\-.]*$"
Identifier = Annotated[
    str,
    Field(pattern=ID_PATTERN, max_length=64, description="Lower-case id: letters, digits, '_', '-', '.'."),
]

# A comparison on a number: "5", ">= 5", "< 3", "== 0", "!= 2", or a closed range "3..7".
COMPARISON_RE = re.compile(
    r"^\s*(?:(<=|>=|==|!=|<|>)\s*)?(-?\d+(?:\.\d+)?)\s*$"  # ">= 5", "3"
    r"|^\s*(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)\s*$"  # "2..6"
)


class Indicator(StrEnum):
    """The ILO forced-labour indicators, plus ``other`` for context facts."""

    abuse_of_vulnerability = "abuse_of_vulnerability"
    deception = "deception"
    restriction_of_movement = "restriction_of_movement"
    isolation = "isolation"
    physical_sexual_violence = "physical_sexual_violence"
    intimidation_threats = "intimidation_threats"
    retention_of_documents = "retention_of_documents"
    withholding_of_wages = "withholding_of_wages"
    debt_bondage = "debt_bondage"
    abusive_working_living_conditions = "abusive_working_living_conditions"
    excessive_overtime = "excessive_overtime"
    other = "other"


ILO_INDICATORS: tuple[str, ...] = tuple(i.value for i in Indicator if i is not Indicator.other)


class QuestionType(StrEnum):
    """Question types after the NICHD protocol, plus ``multiple`` (see DOMAIN.md)."""

    invitation = "invitation"
    directive = "directive"
    option_posing = "option_posing"
    suggestive = "suggestive"
    multiple = "multiple"
    other = "other"


RECOMMENDED_TYPES = frozenset({QuestionType.invitation.value, QuestionType.directive.value})


class Strict(BaseModel):
    """Base for every format model: unknown keys are errors and values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


Comparison = Annotated[
    str | int | float,
    Field(
        description='A number, a comparison such as ">= 5", "< 3", "!= 0", or a closed range "3..7".',
        examples=[">= 5", "< 3", "2..6", 0],
    ),
]


def parse_comparison(value: str | int | float) -> tuple[str, float, float | None]:
    """Parse a comparison into (operator, operand, upper bound for ranges)."""
    if isinstance(value, bool):
        raise ValueError("a comparison must be a number or text like '>= 5', not true/false")
    if isinstance(value, (int, float)):
        return "==", float(value), None
    m = COMPARISON_RE.match(value)
    if not m:
        raise ValueError(f"'{value}' is not a comparison; write e.g. '>= 5', '< 3', '== 0' or a range '2..6'")
    if m.group(2) is not None:
        return m.group(1) or "==", float(m.group(2)), None
    lo, hi = float(m.group(3)), float(m.group(4))
    if lo > hi:
        raise ValueError(f"range '{value}' is empty: the lower bound is above the upper")
    return "..", lo, hi


def _check_comparison(value: Any) -> Any:
    parse_comparison(value)
    return value


class Variable(Strict):
    """A hidden state variable such as trust or fear, clamped to [min, max]."""

    initial: float = Field(description="Value at the start of the interview.")
    min: float = Field(0, description="Lower bound; changes are clamped to it.")
    max: float = Field(10, description="Upper bound; changes are clamped to it.")
    description: str = Field("", description="What the variable means, for authors and reports.")

    @model_validator(mode="after")
    def _bounds(self) -> Variable:
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        if not self.min <= self.initial <= self.max:
            raise ValueError(f"initial value {self.initial:g} lies outside [{self.min:g}, {self.max:g}]")
        return self


class Fact(Strict):
    """A fact the persona can disclose, tagged with the indicators it evidences."""

    id: Identifier
    summary: str = Field(min_length=1, description="One line for reports and the debrief.")
    indicators: list[Indicator] = Field(min_length=1, description="ILO indicator ids, or 'other' for context.")
    key: bool = Field(False, description="A key fact: the debrief names it when missed.")
    presumed_by: Match | None = Field(
        None,
        description="Terms that, in a question asked before this fact is disclosed, presume it: such a question "
        "counts as suggestive (presumptive), e.g. all: ['@foreman', '@take', '@passport'].",
    )


class Briefing(Strict):
    """What the trainee reads before the interview: fair, describing the situation, not the answer."""

    role: str = Field(min_length=1, description="Who the trainee is in this exercise.")
    situation: str = Field(min_length=1, description="The situation the trainee walks into.")
    objectives: list[str] = Field(min_length=1, description="What the trainee should try to achieve.")


class InstructorNotes(Strict):
    """Ground truth and teaching notes; never shown to trainees."""

    ground_truth: str = Field(min_length=1)
    learning_objectives: list[str] = Field(min_length=1)
    ideal_path: list[str] = Field(default_factory=list, description="Steps of a good interview, in order.")
    notes: str = ""


class Case(Strict):
    """The case a persona belongs to; several personas (victim, witness) can share one case."""

    id: Identifier
    title: str = Field(min_length=1)


Message = Annotated[str, Field(min_length=1, max_length=4096)]
Variant = Message | Annotated[list[Message], Field(min_length=1)]


class Reply(Strict):
    """Reply variants: each variant is one message or a list of messages sent in order."""

    mode: Literal["random", "cycle", "once"] = Field(
        "random",
        description="random: any variant; cycle: in order, wrapping; once: each variant once, in order, then the "
        "rule stops matching.",
    )
    variants: list[Variant] = Field(min_length=1)


# A list at the top of a reply is a list of variants (each a message or a list of messages), as ``as_reply`` reads it.
VariantList = Annotated[list[Variant], Field(min_length=1)]

ReplySpec = Annotated[
    Reply | Message | VariantList,
    Field(description="A message, a list of variants (each a message or a list of messages), or {mode, variants}."),
]


def as_reply(spec: Reply | str | list[Any]) -> Reply:
    """Turn the shorthand forms of a reply into a :class:`Reply`."""
    if isinstance(spec, Reply):
        return spec
    if isinstance(spec, str):
        return Reply(variants=[spec])
    return Reply(variants=list(spec))


class Match(Strict):
    """What the trainee's text must contain. Terms are words, phrases ("sent home") or concepts ("@passport")."""

    any: list[str] = Field(default_factory=list, description="At least one of these must occur.")
    all: list[str] = Field(default_factory=list, description="Every one of these must occur.")
    none: list[str] = Field(default_factory=list, description="None of these may occur.")
    question_type: list[QuestionType] = Field(
        default_factory=list, description="If given, the trainee's question must be one of these types."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        for name in ("any", "all", "none"):
            for term in getattr(self, name):
                if not term.strip() or term.strip() == "@":
                    raise ValueError(f"'{name}' has an empty term")
        return self


class Condition(Strict):
    """Conditions that must all hold for a rule, fallback or ending to apply."""

    vars: dict[str, Comparison] = Field(default_factory=dict, description="Variable comparisons, e.g. trust: '>= 5'.")
    disclosed: list[str] = Field(default_factory=list, description="Facts that must already be disclosed.")
    not_disclosed: list[str] = Field(default_factory=list, description="Facts that must not be disclosed yet.")
    topic: list[str] = Field(default_factory=list, description="The current topic must be one of these.")
    fired: Comparison | None = Field(None, description="How often this rule has fired before, e.g. '< 2'.")
    turn: Comparison | None = Field(None, description="The trainee's turn number (1-based), e.g. '>= 3'.")

    @field_validator("vars")
    @classmethod
    def _vars(cls, v: dict[str, Any]) -> dict[str, Any]:
        for value in v.values():
            _check_comparison(value)
        return v

    @field_validator("fired", "turn")
    @classmethod
    def _cmp(cls, v: Any) -> Any:
        return v if v is None else _check_comparison(v)


class Effects(Strict):
    """What happens when a rule fires."""

    change: dict[str, float] = Field(default_factory=dict, description="Add to variables, e.g. trust: 1, fear: -2.")
    set: dict[str, float] = Field(default_factory=dict, description="Set variables to a value (clamped).")
    disclose: list[str] = Field(default_factory=list, description="Facts disclosed by this reply.")
    goto: str | None = Field(None, description="Topic to move to.")
    end: bool = Field(False, description="End the interview after this reply.")


class Rule(Strict):
    """A rule: when the match and conditions hold, reply and apply the effects."""

    id: Identifier
    priority: int = Field(0, description="Higher wins; ties go to topic rules, then more matched terms, then order.")
    match: Match = Field(default_factory=Match)
    if_: Condition = Field(default_factory=Condition, alias="if")
    reply: ReplySpec
    effects: Effects = Field(default_factory=Effects)
    note: str = Field("", description="Why this rule exists; shown by /why and in reports.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Fallback(Strict):
    """A reply when no rule matches. ``level`` n applies on the n-th miss in a row; the highest level repeats."""

    level: int = Field(1, ge=1, le=10)
    if_: Condition = Field(default_factory=Condition, alias="if")
    reply: ReplySpec
    effects: Effects = Field(default_factory=Effects)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Ending(Strict):
    """An end condition checked after every turn, e.g. trust reaching 0."""

    id: Identifier
    if_: Condition = Field(alias="if")
    reply: ReplySpec
    reason: str = Field("persona_ended", description="Recorded as the session's end reason.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Topic(Strict):
    """A topic (dialogue node) with local rules and optional local fallbacks."""

    description: str = ""
    rules: list[Rule] = Field(default_factory=list)
    fallbacks: list[Fallback] = Field(default_factory=list)


class Persona(Strict):
    """One persona: a simulated victim or witness in one language."""

    format: Literal[1] = Field(1, description="Script format version.")
    id: Identifier
    character: Identifier | None = Field(
        None, description="Shared by the language versions of one persona; they must not drift apart."
    )
    name: str = Field(min_length=1, max_length=80)
    role: Literal["victim", "witness"]
    language: str = Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. en or ru.")
    case: Case
    briefing: Briefing
    instructor_notes: InstructorNotes
    variables: dict[str, Variable] = Field(description="At least trust and fear.")
    facts: list[Fact] = Field(default_factory=list)
    concepts: dict[str, list[str]] = Field(
        default_factory=dict, description="Synonym sets: words and phrases; use as '@name' in rules."
    )
    opening: ReplySpec = Field(description="What the persona says when the interview begins.")
    start_topic: str = Field(description="The topic the interview starts in.")
    topics: dict[str, Topic] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list, description="Global rules, tried in every topic.")
    fallbacks: list[Fallback] = Field(min_length=1, description="Replies when nothing matches, escalating by level.")
    endings: list[Ending] = Field(default_factory=list)
    ended_reply: ReplySpec = Field(
        "(The interview is over.)", description="Said if the trainee writes after the interview has ended."
    )

    @field_validator("variables")
    @classmethod
    def _trust_fear(cls, v: dict[str, Variable]) -> dict[str, Variable]:
        missing = [n for n in ("trust", "fear") if n not in v]
        if missing:
            raise ValueError(f"variables must include {' and '.join(missing)}")
        for name in v:
            if not re.match(r"^[a-z][a-z0-9_]*$", name):
                raise ValueError(f"variable name '{name}' must be lower-case letters, digits and '_'")
        return v

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, v: dict[str, Topic]) -> dict[str, Topic]:
        # Topic names are ids too: goto targets, condition values and graph labels.
        for name in v:
            if not re.match(ID_PATTERN, name):
                raise ValueError(f"topic name '{name}' must be lower-case letters, digits, '_', '-' or '.'")
        return v

    @field_validator("concepts")
    @classmethod
    def _concept_names(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in v:
            if not re.match(ID_PATTERN, name):
                raise ValueError(f"concept name '{name}' must be lower-case letters, digits, '_', '-' or '.'")
        return v

    def all_rules(self) -> list[tuple[str | None, Rule]]:
        """Return every rule with its topic (None for global rules), in declaration order."""
        out: list[tuple[str | None, Rule]] = [(None, r) for r in self.rules]
        for name, topic in self.topics.items():
            out.extend((name, r) for r in topic.rules)
        return out


Fact.model_rebuild()


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the persona format, for editors."""
    schema = Persona.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://understudy.invalid/persona.schema.json"
    schema["title"] = "Understudy persona (format v1)"
    return schema
