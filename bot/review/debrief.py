"""The debrief: what a trainee found and how they asked, built from stored turns as plain data.

:func:`build_debrief` is pure: it turns the persona, the per-turn records (a :class:`TurnRecord` from the
store, or a :class:`TurnData` built by the terminal) and the final state into a :class:`Debrief`.
:func:`render_debrief_text` turns it into short lines for a phone screen (Telegram ``/end``) and the terminal.

What it reports, following the research summarised in DOMAIN.md ("What feedback works": process feedback on
question quality together with outcome feedback on what was found):

- facts disclosed out of all, grouped by ILO indicator, the indicators never evidenced, the key facts missed;
- the share of recommended questions (invitation + directive) among the trainee's questions. Turns classified
  ``other`` (rapport, introductions, "go on") are not questions: left out of the share, but still counted;
- contaminated facts: first disclosed after a suggestive question, with why that weakens them;
- trust after every trainee turn, from the per-turn ``extra["vars"]`` snapshot, else the recorded ``changes``;
- time to the first disclosure and the duration;
- up to :data:`MAX_BETTER` better questions at the moments the trainee went wrong (a suggestive,
  option-posing or multiple question, or a fall in trust). Only good examples are shown (Haginoya et al.
  2025: bad examples harm), so a suggestion comes from templates keyed by the moment's subject, never from
  the trainee's words.

Which turns count: a trainee turn with ``event is None`` is an engine turn (numbered 1, 2, ... like the
engine's ``state["turn"]``); events such as stickers, edits and throttled messages are not.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.i18n import t
from bot.persona.model import ILO_INDICATORS, RECOMMENDED_TYPES, Persona, QuestionType

logger = logging.getLogger(__name__)

SUPPORTED = ("en", "ru")
DEFAULT_LANGUAGE = "en"
TRUST = "trust"
OTHER_INDICATOR = "other"
SPEAKER_TRAINEE = "trainee"

MAX_BETTER = 3
"""How many better questions the debrief suggests; more would read like a list of mistakes."""
SPARK_MAX = 24
"""Most points of the trust sparkline, so it fits one line of a phone screen."""
SPARK_BARS = "▁▂▃▄▅▆▇█"
PERCENT = 100
QUOTES = {"en": ("“", "”"), "ru": ("«", "»")}
CHANGE_PAIR = 2  # the engine records a variable change as [old, new]
QUOTE_MIN_CHARS = 12
"""A suggestion sharing this many normalised characters with the trainee's own line counts as quoting it."""

QUESTION_TYPES: tuple[str, ...] = tuple(q.value for q in QuestionType)
WEAK_TYPES: tuple[str, ...] = (
    QuestionType.suggestive.value,
    QuestionType.multiple.value,
    QuestionType.option_posing.value,
)
PROBLEM_TRUST_DROP = "trust_drop"
# Which moments deserve a better question first: a suggestive question contaminates evidence, a multiple one
# loses answers, an option-posing one narrows recall, and a trust drop is a rapport problem.
PROBLEM_RANK: dict[str, int] = {
    QuestionType.suggestive.value: 0,
    QuestionType.multiple.value: 1,
    QuestionType.option_posing.value: 2,
    PROBLEM_TRUST_DROP: 3,
}
FORM_INVITATION = QuestionType.invitation.value
FORM_DIRECTIVE = QuestionType.directive.value


# -- input ---------------------------------------------------------------------------------------------------


class TurnLike(Protocol):
    """What the debrief reads of a turn; :class:`bot.store.base.TurnRecord` and :class:`TurnData` fit."""

    @property
    def seq(self) -> int:
        """Position in the session, 1-based."""

    @property
    def at(self) -> datetime:
        """When the turn happened (aware UTC)."""

    @property
    def speaker(self) -> str:
        """``trainee``, ``persona`` or ``system``."""

    @property
    def text(self) -> str:
        """The words, verbatim."""

    @property
    def rule(self) -> str | None:
        """The rule that answered, if any."""

    @property
    def disclosed(self) -> Sequence[str]:
        """Facts newly disclosed by the answer."""

    @property
    def changes(self) -> Mapping[str, Any]:
        """Variable changes as ``{name: [old, new]}``."""

    @property
    def question_type(self) -> str | None:
        """The classified question type."""

    @property
    def cue(self) -> str | None:
        """What decided the question type."""

    @property
    def event(self) -> Mapping[str, Any] | None:
        """A non-text happening (sticker, edit); None for an ordinary turn."""

    @property
    def extra(self) -> Mapping[str, Any]:
        """Free per-turn details: topic, contaminated, vars snapshot..."""


@dataclass(frozen=True, slots=True)
class TurnData:
    """A light per-turn record for callers without a store (the terminal)."""

    seq: int
    at: datetime
    speaker: str
    text: str
    rule: str | None = None
    disclosed: Sequence[str] = ()
    changes: Mapping[str, Any] = field(default_factory=dict)
    question_type: str | None = None
    cue: str | None = None
    event: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def trainee_turn_data(
    seq: int, text: str, events: Any, variables: Mapping[str, float], at: datetime
) -> TurnData:
    """Build one trainee turn's record from engine ``Events`` and the variables after it (terminal)."""
    return TurnData(
        seq=seq,
        at=at,
        speaker=SPEAKER_TRAINEE,
        text=text,
        rule=events.rule,
        disclosed=tuple(events.disclosed),
        changes=dict(events.changes),
        question_type=events.question_type,
        cue=events.cue or None,
        extra={
            "topic": events.topic,
            "previous_topic": events.previous_topic,
            "contaminated": list(events.contaminated),
            "vars": dict(variables),
        },
    )


def is_engine_turn(turn: TurnLike) -> bool:
    """Say whether a turn is a trainee utterance the engine answered (not an event)."""
    return turn.speaker == SPEAKER_TRAINEE and turn.event is None


def engine_turn_numbers(turns: Iterable[TurnLike]) -> dict[int, int]:
    """Map each engine turn's ``seq`` to its 1-based engine turn number (the engine's ``state["turn"]``)."""
    numbers: dict[int, int] = {}
    for turn in turns:
        if is_engine_turn(turn):
            numbers[turn.seq] = len(numbers) + 1
    return numbers


# -- output --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactFinding:
    """One fact of the persona and whether, when and how it was disclosed."""

    id: str
    summary: str
    indicators: tuple[str, ...]
    key: bool
    turn: int | None = None
    question_type: str | None = None
    contaminated: bool = False

    @property
    def disclosed(self) -> bool:
        """Say whether the trainee got this fact."""
        return self.turn is not None


@dataclass(frozen=True, slots=True)
class IndicatorFinding:
    """An ILO indicator the persona can evidence, with the facts of it that were found."""

    indicator: str
    found: tuple[str, ...]
    total: int

    @property
    def evidenced(self) -> bool:
        """Say whether at least one fact of this indicator was disclosed."""
        return bool(self.found)


@dataclass(frozen=True, slots=True)
class QuestionStats:
    """How the trainee asked: a count per question type and the recommended share."""

    counts: tuple[tuple[str, int], ...]
    """Every question type in QUESTION_TYPES order, zeros included."""

    @property
    def total(self) -> int:
        """Return how many trainee turns were classified."""
        return sum(n for _, n in self.counts)

    @property
    def questions(self) -> int:
        """Return how many classified turns were questions (not ``other``)."""
        return sum(n for qt, n in self.counts if qt != QuestionType.other.value)

    @property
    def recommended(self) -> int:
        """Return how many questions were invitations or directives."""
        return sum(n for qt, n in self.counts if qt in RECOMMENDED_TYPES)

    @property
    def recommended_share(self) -> float | None:
        """Return recommended / questions, or None when no question was asked."""
        return self.recommended / self.questions if self.questions else None

    def count(self, question_type: str) -> int:
        """Return the count of one question type."""
        return dict(self.counts).get(question_type, 0)


@dataclass(frozen=True, slots=True)
class BetterQuestion:
    """A good question the trainee could have asked at a weak moment."""

    turn: int
    problem: str
    """The question type that went wrong, or ``trust_drop``."""
    subject: str | None
    """The fact id the suggestion is about, or None for a general invitation."""
    form: str
    """``invitation`` or ``directive``: the suggestion's own question type."""
    question: str
    language: str


@dataclass(frozen=True, slots=True)
class Debrief:
    """Process and outcome feedback on one interview."""

    persona_id: str
    persona_name: str
    language: str
    facts: tuple[FactFinding, ...]
    """Every fact of the persona: disclosed ones first in order of disclosure, then the rest in file order."""
    indicators: tuple[IndicatorFinding, ...]
    """Every ILO indicator the persona's facts can evidence, in ILO order."""
    questions: QuestionStats
    turns: int
    trust_start: float | None
    trust: tuple[float, ...]
    """Trust after each engine turn; ``trust[n - 1]`` belongs to turn n."""
    trust_bounds: tuple[float, float]
    first_disclosure_turn: int | None
    first_disclosure_after: timedelta | None
    duration: timedelta
    better: tuple[BetterQuestion, ...]
    end_reason: str | None = None

    @property
    def facts_total(self) -> int:
        """Return how many facts the persona can disclose."""
        return len(self.facts)

    @property
    def disclosed(self) -> tuple[FactFinding, ...]:
        """Return the disclosed facts in order of disclosure."""
        return tuple(f for f in self.facts if f.disclosed)

    @property
    def contaminated(self) -> tuple[FactFinding, ...]:
        """Return the facts first disclosed after a suggestive question."""
        return tuple(f for f in self.facts if f.contaminated)

    @property
    def key_facts_missed(self) -> tuple[FactFinding, ...]:
        """Return the key facts never disclosed."""
        return tuple(f for f in self.facts if f.key and not f.disclosed)

    @property
    def indicators_found(self) -> tuple[str, ...]:
        """Return the indicators evidenced by at least one disclosed fact."""
        return tuple(i.indicator for i in self.indicators if i.evidenced)

    @property
    def indicators_missed(self) -> tuple[str, ...]:
        """Return the indicators the persona could evidence but the trainee never reached."""
        return tuple(i.indicator for i in self.indicators if not i.evidenced)


# -- building ------------------------------------------------------------------------------------------------


def question_stats(turns: Iterable[TurnLike]) -> QuestionStats:
    """Count the question types of the engine turns; an unknown type counts as ``other``."""
    counts = dict.fromkeys(QUESTION_TYPES, 0)
    for turn in turns:
        if not is_engine_turn(turn) or turn.question_type is None:
            continue
        qt = turn.question_type if turn.question_type in counts else QuestionType.other.value
        counts[qt] += 1
    return QuestionStats(tuple(counts.items()))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def variable_series(turns: Sequence[TurnLike], name: str, start: float | None) -> tuple[float, ...]:
    """Return a variable's value after every engine turn: snapshot, else change, else carried forward."""
    values: list[float] = []
    current = start
    for turn in turns:
        if not is_engine_turn(turn):
            continue
        snapshot = turn.extra.get("vars")
        from_snapshot = _number(snapshot.get(name)) if isinstance(snapshot, Mapping) else None
        change = turn.changes.get(name)
        from_change = (
            _number(change[1]) if isinstance(change, (list, tuple)) and len(change) == CHANGE_PAIR else None
        )
        if from_snapshot is not None:
            current = from_snapshot
        elif from_change is not None:
            current = from_change
        if current is None:
            # No starting value and nothing recorded yet: the series cannot begin before the first record.
            continue
        values.append(current)
    return tuple(values)


def _ledger_findings(
    turns: Sequence[TurnLike], state: Mapping[str, Any]
) -> dict[str, tuple[int, str | None, bool]]:
    """Return ``{fact_id: (turn, question_type, contaminated)}``: the engine ledger, else the turns."""
    found: dict[str, tuple[int, str | None, bool]] = {}
    ledger = state.get("ledger")
    if isinstance(ledger, Mapping):
        for fact_id, entry in ledger.items():
            if isinstance(entry, Mapping) and isinstance(entry.get("turn"), int):
                found[str(fact_id)] = (
                    int(entry["turn"]),
                    entry.get("question_type"),
                    bool(entry.get("contaminated", False)),
                )
    numbers = engine_turn_numbers(turns)
    for turn in turns:
        number = numbers.get(turn.seq)
        if number is None:
            continue
        marked = turn.extra.get("contaminated")
        contaminated = set(marked) if isinstance(marked, list) else set()
        for fact_id in turn.disclosed:
            if fact_id not in found:
                dirty = fact_id in contaminated or turn.question_type == QuestionType.suggestive.value
                found[fact_id] = (number, turn.question_type, dirty)
    return found


def _fact_findings(
    persona: Persona, found: Mapping[str, tuple[int, str | None, bool]]
) -> tuple[FactFinding, ...]:
    findings = []
    for order, fact in enumerate(persona.facts):
        entry = found.get(fact.id)
        findings.append(
            (
                (0, entry[0], order) if entry else (1, 0, order),
                FactFinding(
                    id=fact.id,
                    summary=fact.summary,
                    indicators=tuple(i.value for i in fact.indicators),
                    key=fact.key,
                    turn=entry[0] if entry else None,
                    question_type=entry[1] if entry else None,
                    contaminated=entry[2] if entry else False,
                ),
            )
        )
    unknown = sorted(set(found) - {f.id for f in persona.facts})
    if unknown:
        logger.warning("debrief of %s: ledger names unknown facts %s", persona.id, ", ".join(unknown))
    findings.sort(key=lambda item: item[0])
    return tuple(f for _, f in findings)


def _indicator_findings(facts: Sequence[FactFinding]) -> tuple[IndicatorFinding, ...]:
    out = []
    for indicator in ILO_INDICATORS:
        tagged = [f for f in facts if indicator in f.indicators]
        if tagged:
            found = tuple(f.id for f in tagged if f.disclosed)
            out.append(IndicatorFinding(indicator, found, len(tagged)))
    return tuple(out)


def build_debrief(
    persona: Persona,
    turns: Sequence[TurnLike],
    state: Mapping[str, Any],
    language: str = DEFAULT_LANGUAGE,
    *,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    end_reason: str | None = None,
) -> Debrief:
    """Build the debrief of an interview from the persona, its turns in order and the final engine state.

    ``started_at``/``ended_at`` default to the first and last turn times; pass the session's own when known.
    """
    language = language if language in SUPPORTED else DEFAULT_LANGUAGE
    found = _ledger_findings(turns, state)
    facts = _fact_findings(persona, found)
    trust_var = persona.variables.get(TRUST)
    trust_start = trust_var.initial if trust_var is not None else None
    trust = variable_series(turns, TRUST, trust_start)
    bounds = (trust_var.min, trust_var.max) if trust_var is not None else (0.0, 10.0)

    times = [turn.at for turn in turns]
    start = started_at or (min(times) if times else None)
    end = ended_at or (max(times) if times else None)
    duration = max(end - start, timedelta(0)) if start and end else timedelta(0)

    numbers = engine_turn_numbers(turns)
    at_of_turn = {number: turn.at for turn in turns if (number := numbers.get(turn.seq)) is not None}
    disclosed = [f for f in facts if f.turn is not None]
    first_turn = min((f.turn for f in disclosed if f.turn is not None), default=None)
    first_after: timedelta | None = None
    if first_turn is not None and start is not None and first_turn in at_of_turn:
        first_after = max(at_of_turn[first_turn] - start, timedelta(0))

    engine_turns = [turn for turn in turns if is_engine_turn(turn)]
    state_turns = state.get("turn")
    turn_count = max(len(engine_turns), state_turns if isinstance(state_turns, int) else 0)
    reason = end_reason if end_reason is not None else state.get("end_reason")
    return Debrief(
        persona_id=persona.id,
        persona_name=persona.name,
        language=language,
        facts=facts,
        indicators=_indicator_findings(facts),
        questions=question_stats(turns),
        turns=turn_count,
        trust_start=trust_start,
        trust=trust,
        trust_bounds=bounds,
        first_disclosure_turn=first_turn,
        first_disclosure_after=first_after,
        duration=duration,
        better=better_questions(persona, engine_turns, facts, trust_start, trust),
        end_reason=reason if isinstance(reason, str) else None,
    )


def debrief_for_session(persona: Persona, session: Any, turns: Sequence[TurnLike], language: str) -> Debrief:
    """Build the debrief of a stored :class:`~bot.store.base.SessionRecord` (its times, state and end)."""
    return build_debrief(
        persona,
        turns,
        session.state,
        language,
        started_at=session.started_at,
        ended_at=session.ended_at or session.last_activity_at,
        end_reason=session.end_reason,
    )


# -- better questions ----------------------------------------------------------------------------------------

# Two good questions per subject and language: an open invitation that presumes nothing, and a directive
# about a detail the person has already mentioned (used only when the fact was disclosed before the moment).
TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "abuse_of_vulnerability": (
            "Tell me about your life before you started this job.",
            "How did you decide to take this job?",
        ),
        "deception": (
            "Tell me what you were told about this job before you came.",
            "What were you told about the pay and the work?",
        ),
        "restriction_of_movement": (
            "Describe a normal day for me, from when you wake up until you go to sleep.",
            "What do you do when you have free time?",
        ),
        "isolation": (
            "Tell me about the people you talk to here and back home.",
            "How do you keep in touch with your family?",
        ),
        "physical_sexual_violence": (
            "Tell me how people treat you at work.",
            "What happens when someone makes a mistake at work?",
        ),
        "intimidation_threats": (
            "Tell me what happens when someone complains or wants to leave.",
            "What did they say would happen if you complained?",
        ),
        "retention_of_documents": (
            "Tell me about your documents.",
            "Where are your documents now?",
        ),
        "withholding_of_wages": (
            "Tell me how you are paid for your work.",
            "How much have you been paid since you started?",
        ),
        "debt_bondage": (
            "Tell me about the money side of coming here.",
            "How much do they say you owe now?",
        ),
        "abusive_working_living_conditions": (
            "Describe the place where you live and work.",
            "What is it like where you sleep?",
        ),
        "excessive_overtime": (
            "Walk me through a typical working day.",
            "How many hours did you work yesterday?",
        ),
        OTHER_INDICATOR: (
            "Tell me a little about yourself.",
            "What would you like me to know about you?",
        ),
        "": (
            "Tell me more about that, in your own words.",
            "What happened next?",
        ),
    },
    "ru": {
        "abuse_of_vulnerability": (
            "Расскажите, как вы жили до того, как начали эту работу.",
            "Как вы решили взяться за эту работу?",
        ),
        "deception": (
            "Расскажите, что вам говорили об этой работе до приезда.",
            "Что вам говорили об оплате и о работе?",
        ),
        "restriction_of_movement": (
            "Опишите ваш обычный день, с утра и до сна.",
            "Что вы делаете в свободное время?",
        ),
        "isolation": (
            "Расскажите, с кем вы общаетесь здесь и дома.",
            "Как вы поддерживаете связь с семьёй?",
        ),
        "physical_sexual_violence": (
            "Расскажите, как с вами обращаются на работе.",
            "Что происходит, когда кто-то ошибается на работе?",
        ),
        "intimidation_threats": (
            "Расскажите, что бывает, когда кто-то жалуется или хочет уйти.",
            "Что вам говорили о том, что будет, если пожаловаться?",
        ),
        "retention_of_documents": (
            "Расскажите о ваших документах.",
            "Где сейчас ваши документы?",
        ),
        "withholding_of_wages": (
            "Расскажите, как вам платят за работу.",
            "Сколько вам заплатили с начала работы?",
        ),
        "debt_bondage": (
            "Расскажите, как обстоят дела с деньгами с тех пор, как вы приехали.",
            "Сколько, по их словам, вы сейчас должны?",
        ),
        "abusive_working_living_conditions": (
            "Опишите место, где вы живёте и работаете.",
            "Какие условия там, где вы спите?",
        ),
        "excessive_overtime": (
            "Расскажите, как проходит ваш обычный рабочий день.",
            "Сколько часов вы работали вчера?",
        ),
        OTHER_INDICATOR: (
            "Расскажите немного о себе.",
            "Что вы хотели бы рассказать о себе?",
        ),
        "": (
            "Расскажите об этом подробнее, своими словами.",
            "Что было дальше?",
        ),
    },
}

RAPPORT: dict[str, str] = {
    "en": "I can see this is hard. Take your time.",
    "ru": "Я вижу, что вам тяжело. Не торопитесь.",
}
RAPPORT_INVITATION: dict[str, str] = {
    "en": "Tell me what you would like me to know.",
    "ru": "Расскажите, что вы сами считаете важным.",
}


def _subject_fact(
    persona: Persona, turn: TurnLike, fact_turn: Mapping[str, int], number: int, guess: bool = True
) -> str | None:
    """Pick the fact a weak moment was about.

    In order: the fact the question presumed; a fact disclosed in that turn; a fact the fired rule discloses;
    a fact disclosed by a sibling rule (one sharing a positive match term with the fired rule, like the
    low-trust and high-trust answers to one question); with ``guess``, the topic's next undisclosed fact.
    """
    presumed = turn.extra.get("presumed")
    cue = turn.cue or ""
    if not isinstance(presumed, str) and cue.startswith("presumes"):
        presumed = cue.rsplit(" ", 1)[-1]
    known = {f.id for f in persona.facts}
    if isinstance(presumed, str) and presumed in known:
        return presumed
    for fact_id in turn.disclosed:
        if fact_id in known:
            return fact_id
    rules = {rule.id: (topic, rule) for topic, rule in persona.all_rules()}
    topic_facts: dict[str | None, list[str]] = {}
    for topic, rule in rules.values():
        topic_facts.setdefault(topic, []).extend(f for f in rule.effects.disclose if f in known)
    fired = rules.get(turn.rule or "")
    topic = turn.extra.get("previous_topic") or turn.extra.get("topic")
    if fired is not None:
        own = [f for f in fired[1].effects.disclose if f in known]
        if own:
            return own[0]
        terms = set(fired[1].match.any) | set(fired[1].match.all)
        for _, rule in rules.values():
            if terms & (set(rule.match.any) | set(rule.match.all)):
                shared = [f for f in rule.effects.disclose if f in known]
                if shared:
                    return shared[0]
        if not isinstance(topic, str):
            topic = fired[0]
    if not guess:
        return None
    # Only a guess from here on, so only a fact still to be found: inviting it is useful whatever was asked.
    candidates = topic_facts.get(topic, []) if isinstance(topic, str) else []
    return next((f for f in candidates if fact_turn.get(f, number + 1) > number), None)


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(re.findall(r"\w+", folded))


def quotes(trainee_text: str, suggestion: str) -> bool:
    """Say whether a suggestion repeats the trainee's own words (whole, or a long shared stretch)."""
    said, ours = _normal(trainee_text), _normal(suggestion)
    if not said or not ours:
        return False
    return (
        said == ours
        or (len(said) >= QUOTE_MIN_CHARS and said in ours)
        or (len(ours) >= QUOTE_MIN_CHARS and ours in said)
    )


def better_questions(
    persona: Persona,
    engine_turns: Sequence[TurnLike],
    facts: Sequence[FactFinding],
    trust_start: float | None,
    trust: Sequence[float],
) -> tuple[BetterQuestion, ...]:
    """Suggest up to MAX_BETTER good questions at the weakest moments, in turn order, never echoing them."""
    language = persona.language if persona.language in TEMPLATES else DEFAULT_LANGUAGE
    templates = TEMPLATES[language]
    fact_turn = {f.id: f.turn for f in facts if f.turn is not None}
    indicators = {f.id: f.indicators for f in facts}
    moments: list[tuple[int, int, str, TurnLike]] = []
    previous = trust_start
    trust_by_turn = dict(enumerate(trust, start=1)) if len(trust) == len(engine_turns) else {}
    for number, turn in enumerate(engine_turns, start=1):
        after = trust_by_turn.get(number)
        problem: str | None = turn.question_type if turn.question_type in WEAK_TYPES else None
        if problem is None and after is not None and previous is not None and after < previous:
            problem = PROBLEM_TRUST_DROP
        if problem is not None:
            moments.append((PROBLEM_RANK[problem], number, problem, turn))
        if after is not None:
            previous = after
    moments.sort(key=lambda m: (m[0], m[1]))

    chosen: list[BetterQuestion] = []
    used: set[str] = set()
    for _, number, problem, turn in moments:
        if len(chosen) >= MAX_BETTER:
            break
        # A trust drop is about how something was said, not what was asked: name a subject only if it is sure.
        subject = _subject_fact(persona, turn, fact_turn, number, guess=problem != PROBLEM_TRUST_DROP)
        tags = [i for i in indicators.get(subject or "", ()) if i != OTHER_INDICATOR] or list(
            indicators.get(subject or "", ())
        )
        invitation, directive = templates.get(tags[0] if tags else "", templates[""])
        general = templates[""]
        options = [
            (FORM_INVITATION, invitation),
            (FORM_INVITATION, general[0]),
            (FORM_INVITATION, general[1]),
        ]
        if problem == PROBLEM_TRUST_DROP:
            options.insert(0 if subject is None else 1, (FORM_INVITATION, RAPPORT_INVITATION[language]))
        known_before = subject is not None and fact_turn.get(subject, number) < number
        if known_before and problem in (QuestionType.option_posing.value, QuestionType.multiple.value):
            # A detail already mentioned can be followed up with a directive. After a leading question or a
            # fall in trust, only a fully open prompt shows the way in.
            options.insert(0, (FORM_DIRECTIVE, directive))
        for form, question in options:
            text = f"{RAPPORT[language]} {question}" if problem == PROBLEM_TRUST_DROP else question
            if question in used or quotes(turn.text, question):
                continue
            used.add(question)
            chosen.append(BetterQuestion(number, problem, subject, form, text, language))
            break
    chosen.sort(key=lambda b: b.turn)
    return tuple(chosen)


# -- rendering -----------------------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Debrief: {name}",
        "overview": "{turns} turns · {duration}",
        "ended": "ended: {reason}",
        "facts": "FACTS: {found} of {total} found",
        "missed_indicators": "Not found: {names}",
        "key_missed": "Key facts missed:",
        "questions": "QUESTIONS",
        "recommended": "Recommended: {share} ({recommended} of {questions})",
        "recommended_none": "Recommended: no questions asked",
        "recommended_hint": (
            "Open invitations and wh- questions about what they said get the most reliable answers."
        ),
        "contaminated": "WEAK EVIDENCE",
        "contaminated_line": "{summary} (turn {turn})",
        "contaminated_why": (
            "These came right after a leading question. A yes to a leading question may be compliance, not"
            " memory, so it is weak evidence. Confirm it with an open question."
        ),
        "trust": "TRUST",
        "trust_line": "{start} → {end} (lowest {low}, turn {low_turn})",
        "trust_flat": "{start} → {end}",
        "first_disclosure": "First disclosure: turn {turn}, after {after}",
        "first_disclosure_turn": "First disclosure: turn {turn}",
        "no_disclosure": "No facts disclosed yet.",
        "better": "TRY NEXT TIME",
        "better_turn": "Turn {turn}, {problem}:",
        "better_none": "No weak moments found. Keep asking open questions.",
        "problem_suggestive": "instead of a leading question",
        "problem_multiple": "one question at a time",
        "problem_option_posing": "let them tell it",
        "problem_trust_drop": "trust fell",
        "none": "none",
        "qt_invitation": "invitation",
        "qt_directive": "directive",
        "qt_option_posing": "option-posing",
        "qt_suggestive": "suggestive",
        "qt_multiple": "multiple",
        "qt_other": "other",
        "min_sec": "{minutes} min {seconds} s",
        "sec": "{seconds} s",
        "reason_trainee": "by you",
        "reason_restart": "restarted",
        "reason_switched": "another persona was chosen",
        "reason_superseded": "a new interview began",
        "reason_persona": "by the person you interviewed",
    },
    "ru": {
        "title": "Разбор: {name}",
        "overview": "ходов: {turns} · {duration}",
        "ended": "завершено: {reason}",
        "facts": "ФАКТЫ: найдено {found} из {total}",
        "missed_indicators": "Не найдено: {names}",
        "key_missed": "Упущены ключевые факты:",
        "questions": "ВОПРОСЫ",
        "recommended": "Рекомендуемые: {share} ({recommended} из {questions})",
        "recommended_none": "Рекомендуемые: вопросов не было",
        "recommended_hint": (
            "Открытые приглашения и уточняющие вопросы о сказанном дают самые надёжные ответы."
        ),
        "contaminated": "СЛАБЫЕ ДОКАЗАТЕЛЬСТВА",
        "contaminated_line": "{summary} (ход {turn})",
        "contaminated_why": (
            "Это прозвучало сразу после наводящего вопроса. Согласие с наводящим вопросом может быть"
            " уступчивостью, а не воспоминанием, поэтому такое доказательство слабое."
            " Проверьте его открытым вопросом."
        ),
        "trust": "ДОВЕРИЕ",
        "trust_line": "{start} → {end} (минимум {low}, ход {low_turn})",
        "trust_flat": "{start} → {end}",
        "first_disclosure": "Первый факт: ход {turn}, через {after}",
        "first_disclosure_turn": "Первый факт: ход {turn}",
        "no_disclosure": "Фактов пока не раскрыто.",
        "better": "ПОПРОБУЙТЕ В СЛЕДУЮЩИЙ РАЗ",
        "better_turn": "Ход {turn}, {problem}:",
        "better_none": "Слабых мест не найдено. Продолжайте задавать открытые вопросы.",
        "problem_suggestive": "вместо наводящего вопроса",
        "problem_multiple": "по одному вопросу",
        "problem_option_posing": "дайте рассказать самому",
        "problem_trust_drop": "доверие упало",
        "none": "нет",
        "qt_invitation": "приглашение",
        "qt_directive": "уточняющий",
        "qt_option_posing": "закрытый",
        "qt_suggestive": "наводящий",
        "qt_multiple": "множественный",
        "qt_other": "другое",
        "min_sec": "{minutes} мин {seconds} с",
        "sec": "{seconds} с",
        "reason_trainee": "вами",
        "reason_restart": "перезапуск",
        "reason_switched": "выбран другой персонаж",
        "reason_superseded": "начато новое интервью",
        "reason_persona": "собеседником",
    },
}
"""Debrief and report labels in English and Russian; indicator names come from the bot's catalogues."""

END_REASON_KEYS = {
    "trainee": "reason_trainee",
    "restart": "reason_restart",
    "switched": "reason_switched",
    "superseded": "reason_superseded",
}


def label(language: str, key: str, /, **params: object) -> str:
    """Return a debrief label in ``language`` (English if unsupported), formatted with ``params``."""
    template = LABELS.get(language, LABELS[DEFAULT_LANGUAGE])[key]
    return template.format(**params) if params else template


def indicator_name(language: str, indicator: str) -> str:
    """Return the readable name of an ILO indicator from the bot's catalogues."""
    return t(language, f"indicator_{indicator}")


def question_type_name(language: str, question_type: str) -> str:
    """Return the readable name of a question type."""
    key = f"qt_{question_type}"
    return label(language, key) if key in LABELS[DEFAULT_LANGUAGE] else question_type


def end_reason_text(language: str, reason: str | None) -> str:
    """Return who or what ended the interview, in words."""
    return label(language, END_REASON_KEYS.get(reason or "", "reason_persona"))


def format_duration(duration: timedelta, language: str) -> str:
    """Return a duration as minutes and seconds."""
    minutes, seconds = divmod(int(duration.total_seconds()), 60)
    if minutes:
        return label(language, "min_sec", minutes=minutes, seconds=seconds)
    return label(language, "sec", seconds=seconds)


def format_value(value: float) -> str:
    """Return a variable value without a needless ``.0``."""
    return f"{value:g}"


def format_share(share: float) -> str:
    """Return a share as a whole percentage."""
    return f"{round(share * PERCENT)}%"


def sparkline(values: Sequence[float], low: float, high: float) -> str:
    """Return a one-line bar sparkline of values in [low, high], at most SPARK_MAX characters."""
    if not values:
        return ""
    if len(values) > SPARK_MAX:
        # Keep each bucket's lowest value so a trust collapse is never smoothed away.
        size = len(values) / SPARK_MAX
        values = [
            min(values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]) for i in range(SPARK_MAX)
        ]
    span = high - low
    top = len(SPARK_BARS) - 1
    return "".join(
        SPARK_BARS[min(top, max(0, round((v - low) / span * top)))] if span > 0 else SPARK_BARS[0]
        for v in values
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def render_debrief_text(debrief: Debrief, language: str | None = None) -> str:
    """Render the debrief as short plain-text lines for a phone screen and the terminal."""
    lang = language if language is not None and language in SUPPORTED else debrief.language
    lines = [label(lang, "title", name=debrief.persona_name)]
    overview = label(lang, "overview", turns=debrief.turns, duration=format_duration(debrief.duration, lang))
    if debrief.end_reason:
        overview += " · " + label(lang, "ended", reason=end_reason_text(lang, debrief.end_reason))
    lines.append(overview)

    lines += ["", label(lang, "facts", found=len(debrief.disclosed), total=debrief.facts_total)]
    by_id = {f.id: f for f in debrief.facts}
    for group in debrief.indicators:
        if not group.evidenced:
            continue
        lines.append(f"{_capital(indicator_name(lang, group.indicator))} {len(group.found)}/{group.total}")
        for fact_id in group.found:
            fact = by_id[fact_id]
            lines.append(f"  + {fact.summary}" + (" (!)" if fact.contaminated else ""))
    context = [f for f in debrief.disclosed if all(i == OTHER_INDICATOR for i in f.indicators)]
    if context:
        lines.append(_capital(indicator_name(lang, OTHER_INDICATOR)))
        lines += [f"  + {f.summary}" + (" (!)" if f.contaminated else "") for f in context]
    if debrief.indicators_missed:
        names = ", ".join(indicator_name(lang, i) for i in debrief.indicators_missed)
        lines.append(label(lang, "missed_indicators", names=names))
    if debrief.key_facts_missed:
        lines.append(label(lang, "key_missed"))
        lines += [f"  - {f.summary}" for f in debrief.key_facts_missed]

    stats = debrief.questions
    lines += ["", label(lang, "questions")]
    share = stats.recommended_share
    if share is None:
        lines.append(label(lang, "recommended_none"))
    else:
        lines.append(
            label(
                lang,
                "recommended",
                share=format_share(share),
                recommended=stats.recommended,
                questions=stats.questions,
            )
        )
    counted = [f"{question_type_name(lang, qt)} {n}" for qt, n in stats.counts if n]
    if counted:
        lines.append(", ".join(counted))
    if share is not None and stats.recommended < stats.questions:
        lines.append(label(lang, "recommended_hint"))

    if debrief.contaminated:
        lines += ["", label(lang, "contaminated")]
        lines += [
            "  (!) " + label(lang, "contaminated_line", summary=f.summary, turn=f.turn)
            for f in debrief.contaminated
        ]
        lines.append(label(lang, "contaminated_why"))

    lines += ["", label(lang, "trust")]
    if debrief.trust_start is not None:
        series = [debrief.trust_start, *debrief.trust]
        low = min(series)
        low_turn = series.index(low)
        start, end = format_value(series[0]), format_value(series[-1])
        if low < min(series[0], series[-1]):
            lines.append(
                label(lang, "trust_line", start=start, end=end, low=format_value(low), low_turn=low_turn)
            )
        else:
            lines.append(label(lang, "trust_flat", start=start, end=end))
        lines.append(sparkline(series, *debrief.trust_bounds))
    if debrief.first_disclosure_turn is None:
        lines.append(label(lang, "no_disclosure"))
    elif debrief.first_disclosure_after is not None:
        after = format_duration(debrief.first_disclosure_after, lang)
        lines.append(label(lang, "first_disclosure", turn=debrief.first_disclosure_turn, after=after))
    else:
        lines.append(label(lang, "first_disclosure_turn", turn=debrief.first_disclosure_turn))

    lines += ["", label(lang, "better")]
    if not debrief.better:
        lines.append(label(lang, "better_none"))
    for item in debrief.better:
        lines.append(
            label(lang, "better_turn", turn=item.turn, problem=label(lang, f"problem_{item.problem}"))
        )
        opening, closing = QUOTES.get(item.language, QUOTES[DEFAULT_LANGUAGE])
        lines.append(f"  {opening}{item.question}{closing}")
    return "\n".join(lines)
