"""Fuzz engine ``step`` with shipped personas: any text gives replies and a valid, bounded, JSON state."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.dialogue import start, step
from bot.engine.matcher import CompiledPersona
from bot.persona.loader import load_persona
from tests.fuzz.strategies import utterances

PERSONAS_DIR = Path(__file__).resolve().parents[2] / "personas"
FUZZED_PERSONAS = ("construction_victim_en", "domestic_witness_ru")
EXAMPLES = 60
MAX_TURNS = 4
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

pytestmark = pytest.mark.timeout(180)


@cache
def compiled(persona_id: str) -> CompiledPersona:
    loaded = load_persona(PERSONAS_DIR / f"{persona_id}.yaml")
    return CompiledPersona(loaded.persona, loaded.version)


def check_state(cp: CompiledPersona, state: dict[str, object], turns: int) -> None:
    """Assert the state survives JSON, keeps its identity and keeps every variable inside its bounds."""
    assert json.loads(json.dumps(state, allow_nan=False)) == state
    assert (state["persona"], state["version"]) == (cp.persona.id, cp.version)
    variables = state["vars"]
    assert isinstance(variables, dict)
    assert set(variables) == set(cp.persona.variables)
    for name, spec in cp.persona.variables.items():
        assert spec.min <= variables[name] <= spec.max, (name, variables[name])
    ledger = state["ledger"]
    assert isinstance(ledger, dict)
    assert set(ledger) <= {fact.id for fact in cp.persona.facts}
    assert state["turn"] == turns or state["ended"]


@pytest.mark.parametrize("persona_id", FUZZED_PERSONAS)
@FUZZ
@given(says=st.lists(utterances, min_size=1, max_size=MAX_TURNS), seed=st.integers(0, 2**31 - 1))
def test_step_takes_any_text_and_keeps_a_valid_state(persona_id: str, says: list[str], seed: int) -> None:
    cp = compiled(persona_id)
    turn = start(cp, seed=seed)
    check_state(cp, turn.state, 0)
    state = turn.state
    for number, text in enumerate(says, start=1):
        before = json.dumps(state, sort_keys=True)
        turn = step(cp, state, text)
        assert json.dumps(state, sort_keys=True) == before  # step never mutates its input
        assert all(isinstance(reply, str) and reply.strip() for reply in turn.replies)
        assert set(turn.events.disclosed) <= set(turn.state["ledger"])
        state = turn.state
        if not state["ended"]:
            check_state(cp, state, number)
        else:
            check_state(cp, state, state["turn"])
