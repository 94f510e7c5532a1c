"""Static checks on a validated persona: references, reachability, dead facts, shadowed rules and drift.

Errors make a persona unusable (``load_persona`` refuses it, ``understudy validate`` exits 1); warnings
point at probable mistakes and never stop anything. Codes (``Diagnostic.code``):

Errors
- ``undefined-ref``: a fact, topic, concept or variable that is not declared (match terms, conditions,
  effects, ``start_topic``, concept terms).
- ``duplicate-id``: two facts, two rules (across all scopes) or two endings with one id.
- ``empty-reply``: a reply message with only whitespace.
- ``empty-concept``: a concept with no terms.
- ``no-fallback-1``: the global fallbacks, or a topic's fallbacks, lack level 1.
- ``never-holds``: a condition that cannot hold within the variables' reachable ranges (bounds, and whether
  any effect can move the variable at all), or one that contradicts itself or the rule's own topic.
- ``undisclosable-fact``: a fact that no rule or fallback discloses, or only ones that can never fire.
- ``drift``: language versions of one ``character`` differ in fact ids, indicators or key flags, rule ids or
  their topics, topic ids, variables, ending ids, role or case, or in behaviour: a rule's priority, condition,
  effects, question types or reply mode; a fallback's level, condition or effects (or the number of
  fallbacks); an ending's condition or reason.

Warnings
- ``unreachable-topic``: no ``goto`` path leads from ``start_topic`` to the topic.
- ``shadowed``: an earlier rule in the same scope always matches when this one does and always wins.
- ``matches-everything``: a rule with no positive terms, no question type and no condition.
- ``unused-concept``: a concept no match term uses.
- ``dead-rule``: a rule that needs a fact which can never be disclosed.
- ``set-out-of-bounds``: an ``effects.set`` value outside the variable's bounds (it will be clamped).
- ``no-default-fallback``: every level-1 global fallback has a condition, so a miss may get no reply.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.persona.model import (
    Condition,
    Effects,
    Ending,
    Fallback,
    Match,
    Persona,
    Rule,
    as_reply,
    parse_comparison,
)

Loc = tuple[str | int, ...]
Positions = Mapping[Loc, tuple[int, int]]
Severity = Literal["error", "warning"]

MAX_KNOWN_LISTED = 8
SUGGEST_CUTOFF = 0.6
INF = math.inf


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a persona file: where it is, how bad, what to do."""

    path: str
    line: int
    col: int
    severity: Severity
    message: str
    code: str

    def format(self) -> str:
        """Return the diagnostic as ``path:line:col: severity: message``."""
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def __str__(self) -> str:
        return self.format()


def locate(positions: Positions, loc: Loc) -> tuple[int, int]:
    """Return the position of ``loc``, or of its nearest ancestor that has one, or (1, 1)."""
    for n in range(len(loc), -1, -1):
        found = positions.get(loc[:n])
        if found is not None:
            return found
    return 1, 1


class HasPersona(Protocol):
    """What the drift check needs of a loaded persona."""

    @property
    def persona(self) -> Persona: ...  # pragma: no cover - protocol

    @property
    def path(self) -> str: ...  # pragma: no cover - protocol

    @property
    def positions(self) -> Positions: ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class _Place:
    """A rule, fallback or ending with its location, label and scope."""

    loc: Loc
    label: str
    topic: str | None  # None for global
    kind: Literal["rule", "fallback", "ending"]
    condition: Condition
    effects: Effects | None
    rule: Rule | None = None


def _places(persona: Persona) -> list[_Place]:
    places: list[_Place] = []
    for i, rule in enumerate(persona.rules):
        places.append(_Place(("rules", i), f"rule '{rule.id}'", None, "rule", rule.if_, rule.effects, rule))
    for i, fb in enumerate(persona.fallbacks):
        places.append(_Place(("fallbacks", i), f"fallback #{i + 1}", None, "fallback", fb.if_, fb.effects))
    for name, topic in persona.topics.items():
        for i, rule in enumerate(topic.rules):
            places.append(
                _Place(
                    ("topics", name, "rules", i),
                    f"rule '{rule.id}'",
                    name,
                    "rule",
                    rule.if_,
                    rule.effects,
                    rule,
                )
            )
        for i, fb in enumerate(topic.fallbacks):
            places.append(
                _Place(
                    ("topics", name, "fallbacks", i),
                    f"fallback #{i + 1} of topic '{name}'",
                    name,
                    "fallback",
                    fb.if_,
                    fb.effects,
                )
            )
    for i, ending in enumerate(persona.endings):
        places.append(_Place(("endings", i), f"ending '{ending.id}'", None, "ending", ending.if_, None))
    return places


def _suggestion(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=SUGGEST_CUTOFF)
    hint = ""
    if len(known) <= MAX_KNOWN_LISTED:
        hint += f"; known: {', '.join(known)}" if known else "; none are declared"
    return hint + (f" — did you mean '{close[0]}'?" if close else "")


def _interval(value: str | int | float) -> tuple[str, float, float | None]:
    return parse_comparison(value)


def _satisfiable(value: str | int | float, lo: float, hi: float, integer: bool = False) -> bool:
    """Whether some value in [lo, hi] (an integer, if asked) meets the comparison."""
    op, a, b = _interval(value)
    if integer:
        lo = math.ceil(lo)
        hi = math.floor(hi) if hi != INF else INF
        if lo > hi:
            return False
    if op == "==":
        return lo <= a <= hi and (not integer or a == int(a))
    if op == "!=":
        return not (lo == hi == a)
    if op == "<":
        return lo < a if not integer else lo <= math.ceil(a) - 1
    if op == "<=":
        return lo <= a
    if op == ">":
        return hi > a
    if op == ">=":
        return hi >= a
    upper = b if b is not None else a
    low, high = max(a, lo), min(upper, hi)
    if integer:
        return math.ceil(low) <= math.floor(high)
    return low <= high


def _always(value: str | int | float, lo: float, hi: float) -> bool:
    """Whether every value in [lo, hi] meets the comparison."""
    op, a, b = _interval(value)
    checks = {
        "==": lo == hi == a,
        "!=": a < lo or a > hi,
        "<": hi < a,
        "<=": hi <= a,
        ">": lo > a,
        ">=": lo >= a,
    }
    if op in checks:
        return checks[op]
    return a <= lo and hi <= (b if b is not None else a)


def _range_within(inner: str | int | float, outer: str | int | float) -> bool:
    """Whether every number meeting ``inner`` also meets ``outer`` (conservative: False when unsure)."""
    op_i, a_i, b_i = _interval(inner)
    op_o, a_o, b_o = _interval(outer)
    if (op_i, a_i, b_i) == (op_o, a_o, b_o):
        return True
    if op_o == "!=" or op_i == "!=":
        return False
    lo_i, lo_open_i, hi_i, hi_open_i = _bounds(op_i, a_i, b_i)
    lo_o, lo_open_o, hi_o, hi_open_o = _bounds(op_o, a_o, b_o)
    lower_ok = lo_i > lo_o or (lo_i == lo_o and (lo_open_i or not lo_open_o))
    upper_ok = hi_i < hi_o or (hi_i == hi_o and (hi_open_i or not hi_open_o))
    return lower_ok and upper_ok


def _bounds(op: str, a: float, b: float | None) -> tuple[float, bool, float, bool]:
    """Return (low, low is open, high, high is open) of a comparison other than '!='."""
    if op == "==":
        return a, False, a, False
    if op == "<":
        return -INF, True, a, True
    if op == "<=":
        return -INF, True, a, False
    if op == ">":
        return a, True, INF, True
    if op == ">=":
        return a, False, INF, True
    return a, False, b if b is not None else a, False


def _fmt(value: float) -> str:
    return f"{value:g}"


def _terms(match: Match) -> Iterator[tuple[str, int, str]]:
    for field in ("any", "all", "none"):
        for j, term in enumerate(getattr(match, field)):
            yield field, j, term


def _norm(term: str) -> str:
    return " ".join(term.casefold().split())


class _Checker:
    """Run every static check on one persona."""

    def __init__(self, persona: Persona, positions: Positions, path: str) -> None:
        self.p = persona
        self.positions = positions
        self.path = path
        self.out: list[Diagnostic] = []
        self.places = _places(persona)
        self.fact_ids = [f.id for f in persona.facts]
        self.topic_ids = list(persona.topics)
        self.var_names = list(persona.variables)
        self.concept_names = list(persona.concepts)
        self.ranges = self._reachable_ranges()

    def add(self, loc: Loc, severity: Severity, message: str, code: str) -> None:
        line, col = locate(self.positions, loc)
        self.out.append(Diagnostic(self.path, line, col, severity, message, code))

    def line_of(self, loc: Loc) -> int:
        return locate(self.positions, loc)[0]

    def run(self) -> list[Diagnostic]:
        self.references()
        self.duplicates()
        self.replies()
        self.concepts()
        self.fallbacks()
        self.conditions()
        self.reachability()
        self.shadowing()
        return self.out

    # references ---------------------------------------------------------------------------------------------

    def ref(self, loc: Loc, where: str, name: str, kind: str, known: Sequence[str]) -> None:
        if name not in known:
            self.add(
                loc, "error", f"{where}: '{name}' is not a {kind}{_suggestion(name, known)}", "undefined-ref"
            )

    def match_refs(self, loc: Loc, where: str, match: Match) -> None:
        for field, j, term in _terms(match):
            if term.strip().startswith("@"):
                self.ref((*loc, field, j), where, term.strip()[1:], "concept", self.concept_names)

    def condition_refs(self, loc: Loc, where: str, cond: Condition) -> None:
        for name in cond.vars:
            self.ref((*loc, "vars", name), where, name, "variable", self.var_names)
        for field in ("disclosed", "not_disclosed"):
            for j, fact in enumerate(getattr(cond, field)):
                self.ref((*loc, field, j), where, fact, "fact", self.fact_ids)
        for j, topic in enumerate(cond.topic):
            self.ref((*loc, "topic", j), where, topic, "topic", self.topic_ids)

    def effect_refs(self, loc: Loc, where: str, eff: Effects) -> None:
        for field in ("change", "set"):
            for name in getattr(eff, field):
                self.ref((*loc, field, name), where, name, "variable", self.var_names)
        for j, fact in enumerate(eff.disclose):
            self.ref((*loc, "disclose", j), where, fact, "fact", self.fact_ids)
        if eff.goto is not None:
            self.ref((*loc, "goto"), where, eff.goto, "topic", self.topic_ids)

    def references(self) -> None:
        self.ref(("start_topic",), "start_topic", self.p.start_topic, "topic", self.topic_ids)
        for place in self.places:
            if place.rule is not None:
                self.match_refs((*place.loc, "match"), place.label, place.rule.match)
            self.condition_refs((*place.loc, "if"), place.label, place.condition)
            if place.effects is not None:
                self.effect_refs((*place.loc, "effects"), place.label, place.effects)
        for i, fact in enumerate(self.p.facts):
            presumed = getattr(fact, "presumed_by", None)
            if isinstance(presumed, Match):
                self.match_refs(("facts", i, "presumed_by"), f"fact '{fact.id}'", presumed)
        for name, terms in self.p.concepts.items():
            for j, term in enumerate(terms):
                if term.strip().startswith("@"):
                    self.ref(
                        ("concepts", name, j),
                        f"concept '{name}'",
                        term.strip()[1:],
                        "concept",
                        self.concept_names,
                    )

    # duplicates and content ---------------------------------------------------------------------------------

    def duplicates(self) -> None:
        groups: list[tuple[str, list[tuple[str, Loc]]]] = [
            ("fact", [(f.id, ("facts", i)) for i, f in enumerate(self.p.facts)]),
            ("rule", [(pl.rule.id, pl.loc) for pl in self.places if pl.rule is not None]),
            ("ending", [(e.id, ("endings", i)) for i, e in enumerate(self.p.endings)]),
        ]
        for noun, items in groups:
            first: dict[str, Loc] = {}
            for ident, loc in items:
                if ident in first:
                    self.add(
                        loc,
                        "error",
                        f"duplicate {noun} id '{ident}' (first at line {self.line_of(first[ident])})",
                        "duplicate-id",
                    )
                else:
                    first[ident] = loc

    def replies(self) -> None:
        specs: list[tuple[Loc, str, object]] = [
            (("opening",), "opening", self.p.opening),
            (("ended_reply",), "ended_reply", self.p.ended_reply),
        ]
        for place in self.places:
            holder: Rule | Fallback | Ending | None = place.rule
            if holder is None:
                holder = self._holder(place)
            specs.append(((*place.loc, "reply"), place.label, holder.reply))
        for loc, where, spec in specs:
            reply = as_reply(spec)  # type: ignore[arg-type]
            for v, variant in enumerate(reply.variants):
                messages = [variant] if isinstance(variant, str) else variant
                if any(not m.strip() for m in messages):
                    self.add(
                        loc, "error", f"{where}: reply variant {v + 1} has an empty message", "empty-reply"
                    )

    def _holder(self, place: _Place) -> Fallback | Ending:
        index = place.loc[-1]
        assert isinstance(index, int)
        if place.kind == "ending":
            return self.p.endings[index]
        if place.topic is None:
            return self.p.fallbacks[index]
        return self.p.topics[place.topic].fallbacks[index]

    def concepts(self) -> None:
        used: set[str] = set()
        matches: list[Match] = [pl.rule.match for pl in self.places if pl.rule is not None]
        matches += [m for f in self.p.facts if isinstance(m := getattr(f, "presumed_by", None), Match)]
        for match in matches:
            used.update(t.strip()[1:] for _f, _j, t in _terms(match) if t.strip().startswith("@"))
        for terms in self.p.concepts.values():
            used.update(t.strip()[1:] for t in terms if t.strip().startswith("@"))
        for name, terms in self.p.concepts.items():
            if not any(t.strip() for t in terms):
                self.add(
                    ("concepts", name),
                    "error",
                    f"concept '{name}' has no terms, so '@{name}' matches nothing",
                    "empty-concept",
                )
            if name not in used:
                self.add(
                    ("concepts", name),
                    "warning",
                    f"concept '{name}' is not used by any rule",
                    "unused-concept",
                )

    def fallbacks(self) -> None:
        pools: list[tuple[Loc, str, list[Fallback]]] = [
            (("fallbacks",), "the global fallbacks", self.p.fallbacks)
        ]
        pools += [
            (("topics", n, "fallbacks"), f"the fallbacks of topic '{n}'", t.fallbacks)
            for n, t in self.p.topics.items()
            if t.fallbacks
        ]
        for loc, where, pool in pools:
            if not any(fb.level == 1 for fb in pool):
                self.add(
                    loc, "error", f"{where} have no level 1, so the first miss gets no reply", "no-fallback-1"
                )
            elif loc == ("fallbacks",) and all(fb.if_ != Condition() for fb in pool if fb.level == 1):
                self.add(
                    loc,
                    "warning",
                    f"every level-1 entry of {where} has a condition; add one without 'if' so "
                    "a miss always gets a reply",
                    "no-default-fallback",
                )

    # conditions and reachability ----------------------------------------------------------------------------

    def _reachable_ranges(self) -> dict[str, tuple[float, float]]:
        """Over-approximate each variable's reachable values: bounds, narrowed if nothing moves it one way."""
        ranges: dict[str, tuple[float, float]] = {}
        effects = [pl.effects for pl in _places(self.p) if pl.effects is not None]
        for name, var in self.p.variables.items():
            lo = hi = var.initial
            for eff in effects:
                delta = eff.change.get(name)
                if delta is not None and delta > 0:
                    hi = var.max
                if delta is not None and delta < 0:
                    lo = var.min
                if name in eff.set:
                    value = min(max(eff.set[name], var.min), var.max)
                    lo, hi = min(lo, value), max(hi, value)
            ranges[name] = (lo, hi)
        return ranges

    def _why_range(self, name: str) -> str:
        var = self.p.variables[name]
        lo, hi = self.ranges[name]
        text = f"{name} stays within [{_fmt(lo)}, {_fmt(hi)}]"
        if (lo, hi) != (var.min, var.max):
            text += (
                f" (bounds [{_fmt(var.min)}, {_fmt(var.max)}], but no effect moves it further from "
                f"{_fmt(var.initial)})"
            )
        return text

    def never_holds(self, place: _Place) -> list[tuple[Loc, str]]:
        """Return why the place's condition can never hold, one reason per clause."""
        cond = place.condition
        loc = (*place.loc, "if")
        reasons: list[tuple[Loc, str]] = []
        for name, value in cond.vars.items():
            if name in self.ranges:
                lo, hi = self.ranges[name]
                if not _satisfiable(value, lo, hi):
                    reasons.append(
                        ((*loc, "vars", name), f"{name} '{value}' can never hold: {self._why_range(name)}")
                    )
        both = sorted(set(cond.disclosed) & set(cond.not_disclosed))
        if both:
            reasons.append((loc, f"'{both[0]}' is required both disclosed and not disclosed"))
        if place.topic is not None and cond.topic and place.topic not in cond.topic:
            reasons.append(
                ((*loc, "topic"), f"topic {cond.topic} never includes the rule's own topic '{place.topic}'")
            )
        if cond.fired is not None and not _satisfiable(cond.fired, 0, INF, integer=True):
            reasons.append(((*loc, "fired"), f"fired '{cond.fired}' can never hold: a count is 0 or more"))
        if cond.turn is not None and not _satisfiable(cond.turn, 1, INF, integer=True):
            reasons.append(((*loc, "turn"), f"turn '{cond.turn}' can never hold: turns count from 1"))
        return reasons

    def conditions(self) -> None:
        for place in self.places:
            for loc, reason in self.never_holds(place):
                self.add(loc, "error", f"{place.label}: condition {reason}", "never-holds")
            if place.effects is not None:
                for name, value in place.effects.set.items():
                    var = self.p.variables.get(name)
                    if var is not None and not var.min <= value <= var.max:
                        self.add(
                            (*place.loc, "effects", "set", name),
                            "warning",
                            f"{place.label}: set {name} to {_fmt(value)}, outside [{_fmt(var.min)}, "
                            f"{_fmt(var.max)}]; it will be clamped",
                            "set-out-of-bounds",
                        )
            rule = place.rule
            if (
                rule is not None
                and not (rule.match.any or rule.match.all or rule.match.question_type)
                and rule.if_ == Condition()
            ):
                self.add(
                    place.loc,
                    "warning",
                    f"{place.label} has no match terms, question type or condition, so it matches everything",
                    "matches-everything",
                )

    def reachability(self) -> None:
        """Find reachable topics and disclosable facts together, to a fixpoint over goto and disclose."""
        static_ok = {id(pl): not self.never_holds(pl) for pl in self.places}
        sources = [pl for pl in self.places if pl.kind != "ending" and static_ok[id(pl)]]
        topics: set[str] = {self.p.start_topic} if self.p.start_topic in self.p.topics else set()
        facts: set[str] = set()
        live: set[int] = set()
        changed = True
        while changed:
            changed = False
            for pl in sources:
                if id(pl) in live:
                    continue
                in_scope = pl.topic is None or pl.topic in topics
                topic_ok = not pl.condition.topic or bool(set(pl.condition.topic) & topics)
                if in_scope and topic_ok and set(pl.condition.disclosed) <= facts:
                    live.add(id(pl))
                    changed = True
                    assert pl.effects is not None
                    facts.update(pl.effects.disclose)
                    if pl.effects.goto is not None and pl.effects.goto in self.p.topics:
                        topics.add(pl.effects.goto)
        for name in self.p.topics:
            if name not in topics:
                self.add(
                    ("topics", name),
                    "warning",
                    f"topic '{name}' is unreachable: no goto path leads to it from start_topic "
                    f"'{self.p.start_topic}'",
                    "unreachable-topic",
                )
        for i, fact in enumerate(self.p.facts):
            if fact.id in facts:
                continue
            givers = [
                pl.label for pl in self.places if pl.effects is not None and fact.id in pl.effects.disclose
            ]
            if not givers:
                reason = "no rule or fallback discloses it"
            else:
                never = "can never fire (a condition never holds, or the topic is unreachable)"
                reason = f"{', '.join(givers)} {never}"
            self.add(
                ("facts", i),
                "error",
                f"fact '{fact.id}' can never be disclosed: {reason}",
                "undisclosable-fact",
            )
        for pl in self.places:
            if pl.kind == "rule" and static_ok[id(pl)] and id(pl) not in live:
                missing = [f for f in pl.condition.disclosed if f not in facts and f in self.fact_ids]
                if missing:
                    self.add(
                        (*pl.loc, "if", "disclosed"),
                        "warning",
                        f"{pl.label} can never fire: it needs fact '{missing[0]}', "
                        "which can never be disclosed",
                        "dead-rule",
                    )

    # shadowing ----------------------------------------------------------------------------------------------

    def _expanded(self, terms: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for term in terms:
            t = term.strip()
            if t.startswith("@") and t[1:] in self.p.concepts:
                out.update(_norm(x) for x in self.p.concepts[t[1:]])
            else:
                out.add(_norm(t))
        return out

    def shadows(self, a: Rule, b: Rule) -> bool:
        """Whether earlier rule ``a`` provably matches whenever later rule ``b`` does, and wins over it.

        At equal priority ``b`` would still win by matching more positive terms, so then ``a`` must match
        at least as many: the same ``all`` terms, and ``b``'s ``any`` terms among ``a``'s as written (or
        ``b`` has a single ``any`` term that ``a`` covers through a concept).
        """
        if a.priority < b.priority or as_reply(a.reply).mode == "once":
            return False
        ma, mb = a.match, b.match
        same_priority = a.priority == b.priority
        if ma.any:
            if not mb.any or not self._expanded(mb.any) <= self._expanded(ma.any):
                return False
            literal = {_norm(t) for t in mb.any} <= {_norm(t) for t in ma.any}
            if same_priority and not (literal or len(mb.any) == 1):
                return False
        elif same_priority and mb.any:
            return False
        all_a, all_b = {_norm(t) for t in ma.all}, {_norm(t) for t in mb.all}
        if not (all_a <= all_b) or (same_priority and all_a != all_b):
            return False
        if not {_norm(t) for t in ma.none} <= {_norm(t) for t in mb.none}:
            return False
        if ma.question_type and not (mb.question_type and set(mb.question_type) <= set(ma.question_type)):
            return False
        return self._weaker(a.if_, b.if_)

    def _weaker(self, ca: Condition, cb: Condition) -> bool:
        """Whether condition ``ca`` holds whenever ``cb`` does (conservative)."""
        if ca.fired is not None:  # counts differ per rule, so nothing is provable
            return False
        for name, value in ca.vars.items():
            lo, hi = self.ranges.get(name, (-INF, INF))
            if _always(value, lo, hi):
                continue
            if name not in cb.vars or not _range_within(cb.vars[name], value):
                return False
        if not (set(ca.disclosed) <= set(cb.disclosed) and set(ca.not_disclosed) <= set(cb.not_disclosed)):
            return False
        if ca.topic and not (cb.topic and set(cb.topic) <= set(ca.topic)):
            return False
        return ca.turn is None or (cb.turn is not None and _range_within(cb.turn, ca.turn))

    def shadowing(self) -> None:
        scopes: list[list[_Place]] = [[pl for pl in self.places if pl.kind == "rule" and pl.topic is None]]
        scopes += [[pl for pl in self.places if pl.kind == "rule" and pl.topic == n] for n in self.p.topics]
        for scope in scopes:
            for j, later in enumerate(scope):
                assert later.rule is not None
                for earlier in scope[:j]:
                    assert earlier.rule is not None
                    if self.shadows(earlier.rule, later.rule):
                        self.add(
                            later.loc,
                            "warning",
                            f"{later.label} is shadowed by {earlier.label} "
                            f"(line {self.line_of(earlier.loc)}): "
                            f"that rule matches whenever this one does and wins, so this one never fires",
                            "shadowed",
                        )
                        break


def check_persona(
    persona: Persona, positions: Positions | None = None, path: str = "<persona>"
) -> list[Diagnostic]:
    """Run every static check on a validated persona and return errors and warnings in file order."""
    found = _Checker(persona, positions or {}, path).run()
    return sorted(found, key=lambda d: (d.severity != "error", d.line, d.col))


# --- drift between language versions ------------------------------------------------------------------------


def _signature(persona: Persona) -> dict[str, dict[str, object]]:
    """The parts of a persona that every language version of the character must share."""
    return {
        "fact": {f.id: sorted(i.value for i in f.indicators) for f in persona.facts},
        "rule": {r.id: (t or "(global)") for t, r in persona.all_rules()},
        "topic": {t: True for t in persona.topics},
        "variable": {n: (v.initial, v.min, v.max) for n, v in persona.variables.items()},
        "ending": {e.id: True for e in persona.endings},
        "setting": {"role": persona.role, "case": persona.case.id},
        "fallback pool": {
            "(global)": len(persona.fallbacks),
            **{t: len(topic.fallbacks) for t, topic in persona.topics.items() if topic.fallbacks},
        },
    }


def _dump(model: Condition | Effects) -> dict[str, object]:
    return model.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _behaviour(persona: Persona) -> dict[str, tuple[Loc, dict[str, object]]]:
    """What must behave alike across language versions, by label: priorities, conditions and effects."""
    out: dict[str, tuple[Loc, dict[str, object]]] = {}
    for pl in _places(persona):
        fields: dict[str, object] = {"'if'": _dump(pl.condition)}
        if pl.effects is not None:
            fields["effects"] = _dump(pl.effects)
        if pl.rule is not None:
            fields["priority"] = pl.rule.priority
            fields["question_type"] = sorted(q.value for q in pl.rule.match.question_type)
            fields["reply mode"] = as_reply(pl.rule.reply).mode
        elif pl.kind == "fallback":
            holder = persona.fallbacks if pl.topic is None else persona.topics[pl.topic].fallbacks
            index = pl.loc[-1]
            assert isinstance(index, int)
            fields["level"] = holder[index].level
        else:
            index = pl.loc[-1]
            assert isinstance(index, int)
            fields["reason"] = persona.endings[index].reason
        out[pl.label] = (pl.loc, fields)
    for i, fact in enumerate(persona.facts):
        out[f"fact '{fact.id}'"] = (("facts", i), {"key": fact.key})
    return out


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


_SECTION_LOC = {
    "fact": "facts",
    "rule": "rules",
    "topic": "topics",
    "variable": "variables",
    "ending": "endings",
}


def _item_loc(persona: Persona, section: str, key: str) -> Loc:
    if section == "fact":
        return next((("facts", i) for i, f in enumerate(persona.facts) if f.id == key), ("facts",))
    if section == "ending":
        return next((("endings", i) for i, e in enumerate(persona.endings) if e.id == key), ("endings",))
    if section == "rule":
        for pl in _places(persona):
            if pl.rule is not None and pl.rule.id == key:
                return pl.loc
        return ("rules",)
    if section == "setting":
        return (key,)
    if section == "fallback pool":
        return ("fallbacks",) if key == "(global)" else ("topics", key, "fallbacks")
    return (_SECTION_LOC[section], key)


def _describe_value(section: str, value: object) -> str:
    if section == "fallback pool":
        return f"{value} entr{'y' if value == 1 else 'ies'}"
    if section == "fact" and isinstance(value, list):
        return "indicators [" + ", ".join(str(v) for v in value) + "]"
    if section == "rule":
        return f"topic {value}" if value == "(global)" else f"topic '{value}'"
    if section == "variable" and isinstance(value, tuple):
        initial, low, high = value
        return f"initial {_fmt(initial)} in [{_fmt(low)}, {_fmt(high)}]"
    return f"'{value}'"


def check_drift(items: Sequence[HasPersona]) -> list[Diagnostic]:
    """Report differences between language versions of one ``character`` as errors naming both files."""
    groups: dict[str, list[HasPersona]] = {}
    for item in items:
        if item.persona.character is not None:
            groups.setdefault(item.persona.character, []).append(item)
    out: list[Diagnostic] = []
    for character, group in sorted(groups.items()):
        # The English version, else the first by path, is the reference the others are compared against.
        ordered = sorted(group, key=lambda it: (it.persona.language != "en", it.path))
        ref = ordered[0]
        ref_sig = _signature(ref.persona)
        for other in ordered[1:]:
            sig = _signature(other.persona)
            versus = f"{ref.persona.id} ({ref.path})"

            def add(target: HasPersona, loc: Loc, message: str, character: str = character) -> None:
                line, col = locate(target.positions, loc)
                out.append(
                    Diagnostic(
                        target.path,
                        line,
                        col,
                        "error",
                        f"language drift in character '{character}': {message}",
                        "drift",
                    )
                )

            for section, ref_items in ref_sig.items():
                items_here = sig[section]
                for key, value in ref_items.items():
                    if key not in items_here:
                        add(
                            other,
                            (_SECTION_LOC.get(section, key),),
                            f"{section} '{key}' of {versus} is missing in {other.persona.id} ({other.path})",
                        )
                    elif items_here[key] != value:
                        add(
                            other,
                            _item_loc(other.persona, section, key),
                            f"{section} '{key}' has {_describe_value(section, items_here[key])} here but "
                            f"{_describe_value(section, value)} in {versus}",
                        )
                for key in items_here:
                    if key not in ref_items:
                        add(
                            other,
                            _item_loc(other.persona, section, key),
                            f"{section} '{key}' of {other.persona.id} ({other.path}) is missing in {versus}",
                        )
            ref_beh, beh = _behaviour(ref.persona), _behaviour(other.persona)
            for label, (loc, fields) in beh.items():
                if label not in ref_beh:
                    continue
                for name, value in fields.items():
                    there = ref_beh[label][1].get(name)
                    if there != value:
                        add(
                            other,
                            loc,
                            f"{label} has {name} {_compact(value)} here but {_compact(there)} in {versus}",
                        )
    return out
