"""Factories shared by the test suite: a controllable clock, turns, sessions and seeded stores.

Keep each factory small and deterministic; add new ones in their own section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store.base import NewTurn, SessionRecord, Store

# -- store ------------------------------------------------------------------------------------------------

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DEFAULT_PERSONA = "construction_victim_en"
DEFAULT_VERSION = "v-0001"


@dataclass
class FixedClock:
    """A clock that stands still until a test moves it; pass it as ``clock=``."""

    now: datetime = EPOCH

    def __call__(self) -> datetime:
        """Return the current fake time."""
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by ``timedelta(**delta)`` and return the new time."""
        self.now += timedelta(**delta)
        return self.now


def trainee_turn(text: str = "Can you tell me what happened?", **fields: Any) -> NewTurn:
    """Build a trainee turn to record."""
    return NewTurn(speaker="trainee", text=text, **fields)


def persona_turn(text: str = "I do not know where to start.", **fields: Any) -> NewTurn:
    """Build a persona reply to record."""
    return NewTurn(speaker="persona", text=text, **fields)


def engine_state(turn: int = 0, persona: str = DEFAULT_PERSONA, **overrides: Any) -> dict[str, Any]:
    """Build an engine state dict shaped like the engine's (see the common brief)."""
    state: dict[str, Any] = {
        "persona": persona,
        "version": DEFAULT_VERSION,
        "seed": 0,
        "turn": turn,
        "topic": None,
        "vars": {"trust": 3},
        "fired": {},
        "cursor": {},
        "misses": 0,
        "ledger": {},
        "ended": False,
        "end_reason": None,
    }
    state.update(overrides)
    return state


@dataclass
class SessionSpec:
    """What :func:`make_session` should create."""

    trainee_id: int = 1001
    chat_id: int | None = None
    persona_id: str = DEFAULT_PERSONA
    persona_version: str = DEFAULT_VERSION
    persona_language: str = "en"
    display_name: str | None = "Anna Trainee"
    opening: Sequence[str] = ("Hello. They said someone would come.",)
    exchanges: Sequence[tuple[str, str]] = field(default_factory=tuple)


async def make_session(store: Store, spec: SessionSpec | None = None, **fields: Any) -> SessionRecord:
    """Create a trainee and a session with opening lines and (question, answer) exchanges; return it."""
    spec = spec or SessionSpec(**fields)
    chat_id = spec.chat_id if spec.chat_id is not None else spec.trainee_id
    if spec.display_name is not None:
        await store.upsert_trainee(spec.trainee_id, spec.display_name, spec.persona_language)
    session = await store.start_session(
        trainee_id=spec.trainee_id,
        chat_id=chat_id,
        persona_id=spec.persona_id,
        persona_version=spec.persona_version,
        persona_language=spec.persona_language,
        state=engine_state(persona=spec.persona_id),
        opening=[persona_turn(line) for line in spec.opening],
    )
    for number, (said, reply) in enumerate(spec.exchanges, start=1):
        await store.record_exchange(
            session.id,
            trainee_turn(said),
            [persona_turn(reply)],
            engine_state(number, persona=spec.persona_id),
        )
    return await store.get_session(session.id)


async def seed_sessions(store: Store, count: int, exchanges: int = 2, first_trainee: int = 5000) -> list[int]:
    """Create ``count`` sessions of distinct trainees, each with ``exchanges`` exchanges; return their ids."""
    ids = []
    for index in range(count):
        pairs = tuple((f"Question {n} of session {index}", f"Answer {n}") for n in range(exchanges))
        session = await make_session(store, trainee_id=first_trainee + index, exchanges=pairs)
        ids.append(session.id)
    return ids
