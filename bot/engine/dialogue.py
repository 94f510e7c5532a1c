"""The dialogue engine: ``start`` and ``step``, pure functions of (compiled persona, state, utterance).

Nothing here reads a clock, the environment or a file; randomness comes from a seed carried in the state, so the same
inputs always give the same replies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.persona.model import Effects, Persona, Reply

from .analysis import Classification, classify, with_presumption
from .matcher import (
    CompiledCondition,
    CompiledPersona,
    CompiledRule,
    Utterance,
    match_terms,
)
from .state import State, checked_copy, initial_state

# How many runner-up rules /why and --json report, enough to explain a choice without flooding the author.
MAX_CONSIDERED = 5


@dataclass
class Events:
    """What happened in one turn, for transcripts, /why and analysis."""

    rule: str | None = None
    topic: str = ""
    previous_topic: str = ""
    fallback_level: int | None = None
    disclosed: list[str] = field(default_factory=list)
    contaminated: list[str] = field(default_factory=list)
    changes: dict[str, list[float]] = field(default_factory=dict)
    question_type: str = "other"
    cue: str = ""
    ended: bool = False
    end_reason: str | None = None
    ending: str | None = None
    matched: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    considered: list[str] = field(default_factory=list)
    presumed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the events as a JSON-ready dict."""
        return asdict(self)


@dataclass
class Turn:
    """The engine's answer to one utterance: messages in order, the new state and the events."""

    replies: list[str]
    state: State
    events: Events


def _pick(state: State, key: str, n: int) -> int:
    """Return a variant index from the session seed, the turn and a key, stable across processes and runs."""
    digest = hashlib.blake2b(f"{state['seed']}:{state['turn']}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n


def _variants_left(reply: Reply, state: State, key: str) -> bool:
    """Say whether a reply can still be said (a ``once`` reply runs out)."""
    return reply.mode != "once" or state["cursor"].get(key, 0) < len(reply.variants)


def _choose(reply: Reply, state: State, key: str) -> list[str]:
    """Pick a variant of ``reply`` per its mode and advance the cursor; return its messages."""
    n = len(reply.variants)
    if reply.mode == "random":
        index = _pick(state, key, n)
    else:
        pos = state["cursor"].get(key, 0)
        index = pos % n if reply.mode == "cycle" else min(pos, n - 1)
        state["cursor"][key] = pos + 1
    variant = reply.variants[index]
    return [variant] if isinstance(variant, str) else list(variant)


def _holds(cond: CompiledCondition, state: State, fired_key: str) -> bool:
    """Say whether a compiled condition holds in ``state``."""
    if cond.empty:
        return True
    values: dict[str, float] = state["vars"]
    for name, cmp in cond.vars:
        if name not in values or not cmp.holds(values[name]):
            return False
    ledger = state["ledger"]
    if any(f not in ledger for f in cond.disclosed):
        return False
    if any(f in ledger for f in cond.not_disclosed):
        return False
    if cond.topics and state["topic"] not in cond.topics:
        return False
    if cond.fired is not None and not cond.fired.holds(state["fired"].get(fired_key, 0)):
        return False
    return cond.turn is None or cond.turn.holds(state["turn"])


def _apply(
    persona: Persona, effects: Effects, state: State, events: Events, source: str, qtype: str
) -> None:
    """Apply effects: change and set variables with clamping, disclose facts, move topic, end."""
    for name, delta in effects.change.items():
        _set_var(persona, state, events, name, state["vars"][name] + delta)
    for name, value in effects.set.items():
        _set_var(persona, state, events, name, value)
    for fact in effects.disclose:
        if fact in state["ledger"]:
            continue
        contaminated = qtype == "suggestive"
        state["ledger"][fact] = {
            "turn": state["turn"],
            "rule": source,
            "question_type": qtype,
            "contaminated": contaminated,
        }
        events.disclosed.append(fact)
        if contaminated:
            events.contaminated.append(fact)
    if effects.goto is not None:
        state["topic"] = effects.goto
    if effects.end:
        state["ended"] = True
        state["end_reason"] = f"rule:{source}"


def _set_var(persona: Persona, state: State, events: Events, name: str, value: float) -> None:
    """Set a variable, clamped to its bounds, and record the change."""
    spec = persona.variables[name]
    old = state["vars"][name]
    new = min(spec.max, max(spec.min, value))
    if new == old:
        return
    state["vars"][name] = new
    if name in events.changes:
        events.changes[name][1] = new
    else:
        events.changes[name] = [old, new]


def start(cp: CompiledPersona, seed: int = 0) -> Turn:
    """Begin an interview: return the persona's opening and the initial state."""
    persona = cp.persona
    state = initial_state(
        persona.id, cp.version, persona.start_topic, {n: v.initial for n, v in persona.variables.items()}, seed
    )
    replies = _choose(cp.reply(persona.opening), state, "opening")
    return Turn(replies, state, Events(topic=state["topic"], previous_topic=state["topic"]))


Classifier = Callable[[str, str], Classification]


def classify_turn(
    cp: CompiledPersona, state: State, utt: Utterance, classifier: Classifier = classify
) -> tuple[Classification, str | None]:
    """Classify the question; upgrade it to suggestive when it presumes a fact not yet disclosed, and name that fact."""
    result = classifier(utt.text, cp.language)
    if result.question_type in ("directive", "option_posing", "invitation"):
        for fact_id, presumption in cp.fact_presumptions.items():
            if fact_id in state["ledger"]:
                continue
            ok, _ = match_terms(presumption, utt, None)
            if ok:
                return with_presumption(result, fact_id), fact_id
    return result, None


def select_rule(
    cp: CompiledPersona, state: State, utt: Utterance, question_type: str
) -> tuple[CompiledRule | None, list[str], list[CompiledRule]]:
    """Pick the rule that answers ``utt``; return it, its matched terms and the eligible rules in precedence order.

    Algorithm:
    1. Candidates come from the inverted index: every rule with a positive term whose first stem occurs in the
       utterance, plus every rule with no positive terms. Only rules of the current topic and global rules count.
    2. A candidate is eligible when its match holds (some ``any`` term, every ``all`` term, no ``none`` term, and the
       question type is listed if ``question_type`` is given), its ``if`` condition holds in the current state
       (``fired`` counts this rule's earlier firings), and, for a ``once`` reply, a variant is left.
    3. Eligible rules are ordered by priority (higher first), then topic rules before global rules, then by the number
       of positive terms that matched (more specific first), then by declaration order in the file. The first wins.
    """
    topic = state["topic"]
    eligible: list[tuple[tuple[int, int, int, int], CompiledRule, list[str]]] = []
    for cr in cp.candidates(utt):
        if cr.topic is not None and cr.topic != topic:
            continue
        ok, matched = match_terms(cr.match, utt, question_type)
        if not ok:
            continue
        if not _holds(cr.condition, state, cr.id):
            continue
        if not _variants_left(cr.reply, state, cr.id):
            continue
        key = (-cr.rule.priority, 0 if cr.topic is not None else 1, -len(matched), cr.order)
        eligible.append((key, cr, matched))
    eligible.sort(key=lambda item: item[0])
    if not eligible:
        return None, [], []
    _, best, matched = eligible[0]
    return best, matched, [cr for _, cr, _ in eligible]


def _fallback(cp: CompiledPersona, state: State, events: Events, qtype: str) -> list[str]:
    """Answer a miss: the highest fallback level not above the misses in a row whose condition holds."""
    persona = cp.persona
    topic = persona.topics.get(state["topic"])
    pool, scope = (topic.fallbacks, state["topic"]) if topic and topic.fallbacks else (persona.fallbacks, "")
    state["misses"] += 1
    best_index: int | None = None
    for i, fb in enumerate(pool):
        key = f"fallback:{scope}:{i}"
        if fb.level > state["misses"] or not _holds(cp.condition(fb.if_), state, key):
            continue
        if not _variants_left(cp.reply(fb.reply), state, key):
            continue
        if best_index is None or fb.level > pool[best_index].level:
            best_index = i
    if best_index is None:
        return []
    fb = pool[best_index]
    key = f"fallback:{scope}:{best_index}"
    events.fallback_level = fb.level
    state["fired"][key] = state["fired"].get(key, 0) + 1
    replies = _choose(cp.reply(fb.reply), state, key)
    _apply(persona, fb.effects, state, events, key, qtype)
    return replies


def _check_endings(cp: CompiledPersona, state: State, events: Events) -> list[str]:
    """End the interview if an ending's condition now holds; return its reply."""
    for ending in cp.persona.endings:
        key = f"ending:{ending.id}"
        if _holds(cp.condition(ending.if_), state, key):
            state["ended"] = True
            state["end_reason"] = ending.reason
            events.ending = ending.id
            return _choose(cp.reply(ending.reply), state, key)
    return []


def step(cp: CompiledPersona, state: State, utterance: str, classifier: Classifier = classify) -> Turn:
    """Answer one trainee utterance: classify it, pick a rule or fallback, apply effects and check endings.

    ``classifier`` is the question-type classifier; it is a parameter so benchmarks and tests can swap it.
    """
    persona = cp.persona
    new = checked_copy(state, persona.id, cp.version)
    if new["ended"]:
        events = Events(topic=new["topic"], previous_topic=new["topic"], ended=True, end_reason=new["end_reason"])
        return Turn(_choose(cp.reply(persona.ended_reply), new, "ended"), new, events)
    new["turn"] += 1
    utt = cp.analyse(utterance)
    cls, presumed = classify_turn(cp, new, utt, classifier)
    qtype = cls.question_type
    events = Events(
        topic=new["topic"],
        previous_topic=new["topic"],
        question_type=qtype,
        cue=cls.cue,
        corrections=dict(utt.corrections),
        presumed=presumed,
    )
    rule, matched, eligible = select_rule(cp, new, utt, qtype)
    events.considered = [cr.id for cr in eligible[1 : 1 + MAX_CONSIDERED]]
    if rule is not None:
        events.rule = rule.id
        events.matched = matched
        new["misses"] = 0
        replies = _choose(rule.reply, new, rule.id)
        new["fired"][rule.id] = new["fired"].get(rule.id, 0) + 1
        _apply(persona, rule.rule.effects, new, events, rule.id, qtype)
    else:
        replies = _fallback(cp, new, events, qtype)
    if not new["ended"]:
        replies += _check_endings(cp, new, events)
    events.topic = new["topic"]
    events.ended = bool(new["ended"])
    events.end_reason = new["end_reason"]
    return Turn(replies, new, events)
