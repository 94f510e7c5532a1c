"""Persona conversation tests and paraphrase suites (``understudy test``).

A test file names a persona and holds ``conversations`` (scripted turns with expectations, each from a fresh start)
and ``paraphrases`` (groups of utterances that should all reach one rule or fact from a given state). Failures are
reported as ``path:line: message``; the paraphrase hit rate per persona is reported and must reach the file's
``floor``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.engine.dialogue import Turn, start, step
from bot.engine.matcher import Comparison, CompiledPersona
from bot.errors import PersonaError, PersonaTestError, UnderstudyError
from bot.persona.loader import read_yaml
from bot.persona.model import Comparison as ComparisonSpec
from bot.persona.model import parse_comparison

# Understanding goal from the persona-library issue; a suite may set a lower floor while it is being improved.
DEFAULT_FLOOR = 0.95
MAX_TEST_FILE_BYTES = 4 * 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    """Expectations on one turn; every key is optional."""

    rule: str | None = Field(None, description="Rule id, or 'fallback'.")
    topic: str | None = None
    disclosed: list[str] = Field(default_factory=list)
    contaminated: list[str] = Field(default_factory=list)
    vars: dict[str, ComparisonSpec] = Field(default_factory=dict)
    reply_contains: str | list[str] | None = None
    question_type: str | None = None
    ended: bool | None = None


class Step(_Strict):
    """One trainee line and what should happen."""

    say: str
    expect: Expect = Field(default_factory=Expect)


class Final(_Strict):
    """Expectations after the last turn of a conversation."""

    disclosed: list[str] | Literal["all"] = Field(default_factory=list)
    contaminated: list[str] = Field(default_factory=list)
    ended: bool | None = None
    vars: dict[str, ComparisonSpec] = Field(default_factory=dict)


class Conversation(_Strict):
    """A scripted conversation from a fresh start."""

    name: str
    seed: int | None = None
    turns: list[Step] = Field(min_length=1)
    final: Final | None = None


class Given(_Strict):
    """State overrides a paraphrase group starts from."""

    topic: str | None = None
    vars: dict[str, float] = Field(default_factory=dict)
    disclosed: list[str] = Field(default_factory=list)
    turn: int | None = None


class Target(_Strict):
    """What every utterance of a paraphrase group should reach: a rule, or a rule that discloses a fact."""

    rule: str | None = None
    fact: str | None = None


class ParaphraseGroup(_Strict):
    """Utterances that should all reach one target."""

    expect: Target
    given: Given = Field(default_factory=Given)
    say: list[str] = Field(min_length=1)


class TestFile(_Strict):
    """A persona test file."""

    persona: str
    seed: int = 0
    floor: float = Field(DEFAULT_FLOOR, ge=0, le=1)
    conversations: list[Conversation] = Field(default_factory=list)
    paraphrases: list[ParaphraseGroup] = Field(default_factory=list)


@dataclass
class Failure:
    """One failed expectation, with its place in the test file."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Miss:
    """A paraphrase that did not reach its target."""

    path: str
    line: int
    said: str
    expected: str
    got: str


@dataclass
class FileResult:
    """The outcome of one test file."""

    path: str
    persona: str
    turns: int = 0
    conversations: int = 0
    failures: list[Failure] = field(default_factory=list)
    paraphrases: int = 0
    hits: int = 0
    misses: list[Miss] = field(default_factory=list)
    floor: float = DEFAULT_FLOOR

    @property
    def hit_rate(self) -> float:
        """Return the share of paraphrases understood (1.0 when there are none)."""
        return self.hits / self.paraphrases if self.paraphrases else 1.0

    @property
    def ok(self) -> bool:
        """Say whether every expectation held and the hit rate reached the floor."""
        return not self.failures and self.hit_rate >= self.floor


def _line(pos: dict[tuple[Any, ...], int], *path: Any) -> int:
    """Return the line of the deepest known prefix of ``path``."""
    p = tuple(path)
    while p and p not in pos:
        p = p[:-1]
    return pos.get(p, 1)


def load_test_file(path: Path) -> tuple[TestFile, dict[tuple[Any, ...], int]]:
    """Read and validate a test file; raise PersonaTestError with ``path:line`` on any problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PersonaTestError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        # The persona loader's reader: safe tags only, size, alias and nesting caps, positions recorded.
        data, where = read_yaml(raw, str(path), MAX_TEST_FILE_BYTES)
    except PersonaError as exc:
        raise PersonaTestError(f"{path}:{exc.line or 1}: YAML error in test file: {exc.message}") from None
    pos = {loc: line for loc, (line, _col) in where.items()}
    if not isinstance(data, dict):
        raise PersonaTestError(f"{path}:1: a test file must be a mapping with 'persona' and tests")
    try:
        return TestFile.model_validate(data), pos
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        label = ".".join(str(p) for p in loc) or "file"
        raise PersonaTestError(f"{path}:{_line(pos, *loc)}: {label}: {err['msg']}") from None


def _vars_failures(expected: dict[str, Any], values: dict[str, float]) -> list[str]:
    out = []
    for name, spec in expected.items():
        op, operand, upper = parse_comparison(spec)
        if name not in values:
            out.append(f"no variable '{name}'")
        elif not Comparison(op, operand, upper).holds(values[name]):
            out.append(f"{name} is {values[name]:g}, expected {spec}")
    return out


def _check_turn(expect: Expect, turn: Turn) -> list[str]:
    """Return the ways ``turn`` falls short of ``expect``."""
    ev = turn.events
    out: list[str] = []
    got_rule = ev.rule or "fallback"
    if expect.rule is not None and expect.rule != got_rule:
        out.append(f"expected rule {expect.rule}, got {got_rule}")
    if expect.topic is not None and expect.topic != ev.topic:
        out.append(f"expected topic {expect.topic}, got {ev.topic}")
    missing = [f for f in expect.disclosed if f not in ev.disclosed]
    if missing:
        out.append(f"expected disclosure of {', '.join(missing)}, got [{', '.join(ev.disclosed)}]")
    missing = [f for f in expect.contaminated if f not in ev.contaminated]
    if missing:
        out.append(f"expected {', '.join(missing)} contaminated, got [{', '.join(ev.contaminated)}]")
    out += _vars_failures(expect.vars, turn.state["vars"])
    wanted = [expect.reply_contains] if isinstance(expect.reply_contains, str) else expect.reply_contains or []
    joined = "\n".join(turn.replies).casefold()
    for piece in wanted:
        if piece.casefold() not in joined:
            out.append(f"reply does not contain {piece!r}")
    if expect.question_type is not None and expect.question_type != ev.question_type:
        out.append(f"expected question type {expect.question_type}, got {ev.question_type} ({ev.cue})")
    if expect.ended is not None and expect.ended != ev.ended:
        out.append(f"expected ended={str(expect.ended).lower()}, got {str(ev.ended).lower()}")
    return out


def apply_given(cp: CompiledPersona, state: dict[str, Any], given: Given) -> dict[str, Any]:
    """Return ``state`` with a paraphrase group's overrides applied."""
    new = copy.deepcopy(state)
    if given.topic is not None:
        new["topic"] = given.topic
    for name, value in given.vars.items():
        new["vars"][name] = value
    for fact in given.disclosed:
        new["ledger"][fact] = {"turn": 0, "rule": "given", "question_type": "other", "contaminated": False}
    if given.turn is not None:
        new["turn"] = given.turn
    return new


def _check_given(cp: CompiledPersona, given: Given) -> list[str]:
    persona = cp.persona
    out = []
    if given.topic is not None and given.topic not in persona.topics:
        out.append(f"given topic '{given.topic}' does not exist")
    out += [f"given variable '{n}' does not exist" for n in given.vars if n not in persona.variables]
    out += [f"given fact '{f}' does not exist" for f in given.disclosed if f not in cp.facts]
    return out


def run_file(path: Path, resolve: Callable[[str], CompiledPersona]) -> FileResult:
    """Run one test file against the persona ``resolve`` returns for its id."""
    spec, pos = load_test_file(path)
    label = str(path)
    result = FileResult(label, spec.persona, floor=spec.floor)
    try:
        cp = resolve(spec.persona)
    except UnderstudyError as exc:
        result.failures.append(Failure(label, _line(pos, "persona"), f"persona '{spec.persona}': {exc}"))
        return result
    for ci, conv in enumerate(spec.conversations):
        result.conversations += 1
        turn = start(cp, spec.seed if conv.seed is None else conv.seed)
        state = turn.state
        for ti, st in enumerate(conv.turns):
            turn = step(cp, state, st.say)
            state = turn.state
            result.turns += 1
            for problem in _check_turn(st.expect, turn):
                line = _line(pos, "conversations", ci, "turns", ti, "say")
                result.failures.append(
                    Failure(label, line, f"[{conv.name}] turn {ti + 1} {st.say!r}: {problem}")
                )
        if conv.final is not None:
            line = _line(pos, "conversations", ci, "final")
            result.failures += [
                Failure(label, line, f"[{conv.name}] at the end: {p}") for p in _check_final(cp, conv.final, state)
            ]
    for gi, group in enumerate(spec.paraphrases):
        problems = _check_given(cp, group.given)
        target = group.expect
        if target.rule is None and target.fact is None:
            problems.append("expect needs a rule or a fact")
        if target.rule is not None and target.rule != "fallback" and target.rule not in cp.rules_by_id:
            problems.append(f"expected rule '{target.rule}' does not exist")
        if target.fact is not None and target.fact not in cp.facts:
            problems.append(f"expected fact '{target.fact}' does not exist")
        if problems:
            line = _line(pos, "paraphrases", gi)
            result.failures += [Failure(label, line, p) for p in problems]
            continue
        base = apply_given(cp, start(cp, spec.seed).state, group.given)
        for si, said in enumerate(group.say):
            turn = step(cp, base, said)
            result.paraphrases += 1
            if _reaches(cp, target, turn):
                result.hits += 1
            else:
                got = turn.events.rule or "fallback"
                result.misses.append(
                    Miss(
                        label,
                        _line(pos, "paraphrases", gi, "say", si),
                        said,
                        f"rule {target.rule}" if target.rule else f"fact {target.fact}",
                        f"{got} [{turn.events.question_type}]",
                    )
                )
    return result


def _reaches(cp: CompiledPersona, target: Target, turn: Turn) -> bool:
    """Say whether a turn reached a paraphrase target."""
    got = turn.events.rule or "fallback"
    if target.rule is not None and got != target.rule:
        return False
    if target.fact is not None:
        rule = cp.rules_by_id.get(got)
        return rule is not None and target.fact in rule.rule.effects.disclose
    return True


def _check_final(cp: CompiledPersona, final: Final, state: dict[str, Any]) -> list[str]:
    out: list[str] = []
    ledger = state["ledger"]
    wanted = list(cp.facts) if final.disclosed == "all" else final.disclosed
    missing = [f for f in wanted if f not in ledger]
    if missing:
        out.append(f"not disclosed: {', '.join(missing)}")
    dirty = [f for f in final.contaminated if not ledger.get(f, {}).get("contaminated")]
    if dirty:
        out.append(f"not contaminated: {', '.join(dirty)}")
    if final.ended is not None and final.ended != bool(state["ended"]):
        out.append(f"expected ended={str(final.ended).lower()}, got {str(bool(state['ended'])).lower()}")
    out += _vars_failures(final.vars, state["vars"])
    return out


def report(results: Iterable[FileResult], out: TextIO, verbose_misses: bool = True) -> bool:
    """Print failures, misses and hit rates; return True when everything passed."""
    all_ok = True
    for res in results:
        for failure in res.failures:
            print(failure, file=out)
        if res.paraphrases:
            if verbose_misses:
                for miss in res.misses:
                    print(
                        f"{miss.path}:{miss.line}: miss: {miss.said!r} expected {miss.expected}, got {miss.got}",
                        file=out,
                    )
            flag = "ok" if res.hit_rate >= res.floor else f"BELOW FLOOR {res.floor:.0%}"
            print(
                f"{res.path}: {res.persona}: understood {res.hits}/{res.paraphrases} "
                f"({res.hit_rate:.1%}) {flag}",
                file=out,
            )
        if res.conversations:
            status = "ok" if not res.failures else f"{len(res.failures)} failed"
            print(
                f"{res.path}: {res.persona}: {res.conversations} conversations, {res.turns} turns: {status}",
                file=out,
            )
        all_ok = all_ok and res.ok
    return all_ok
