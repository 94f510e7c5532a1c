"""Engine state: a plain JSON-serialisable dict, so storage can persist it and another process can resume it."""

from __future__ import annotations

from typing import Any

from bot.errors import EngineError

State = dict[str, Any]

STATE_KEYS = (
    "persona",
    "version",
    "seed",
    "turn",
    "topic",
    "vars",
    "fired",
    "cursor",
    "misses",
    "ledger",
    "ended",
    "end_reason",
)


def initial_state(persona_id: str, version: str, topic: str, variables: dict[str, float], seed: int) -> State:
    """Return the state at the start of an interview."""
    return {
        "persona": persona_id,
        "version": version,
        "seed": int(seed),
        "turn": 0,
        "topic": topic,
        "vars": dict(variables),
        "fired": {},
        "cursor": {},
        "misses": 0,
        "ledger": {},
        "ended": False,
        "end_reason": None,
    }


def checked_copy(state: State, persona_id: str, version: str) -> State:
    """Return a deep copy of ``state`` after checking it belongs to this persona version."""
    if not isinstance(state, dict):
        raise EngineError("engine state must be a mapping")
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise EngineError(f"engine state lacks {', '.join(missing)}")
    if state["persona"] != persona_id:
        raise EngineError(f"state belongs to persona '{state['persona']}', not '{persona_id}'")
    if state["version"] != version:
        raise EngineError(f"state was made with persona version {state['version']}, not {version}")
    # A structured copy: the shape is fixed and shallow, and deepcopy would dominate the cost of a turn.
    new = dict(state)
    new["vars"] = dict(state["vars"])
    new["fired"] = dict(state["fired"])
    new["cursor"] = dict(state["cursor"])
    new["ledger"] = {k: dict(v) for k, v in state["ledger"].items()}
    return new


def disclosed(state: State) -> list[str]:
    """Return the fact ids disclosed so far, in order of disclosure."""
    ledger: dict[str, dict[str, Any]] = state["ledger"]
    return sorted(ledger, key=lambda f: (ledger[f]["turn"], f))
