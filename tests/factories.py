"""Factories shared by the test suite: a controllable clock, turns, sessions and seeded stores.

Keep each factory small and deterministic; add new ones in their own section.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.engine.matcher import CompiledPersona
from bot.persona.model import Persona
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


# -- personas ---------------------------------------------------------------------------------------------

TINY_VERSION = "tiny-v1"


def tiny_persona_data() -> dict[str, Any]:
    """Return the data of a small persona that uses every feature of the format."""
    return {
        "id": "tiny_victim_en",
        "character": "tiny_victim",
        "name": "Sam",
        "role": "victim",
        "language": "en",
        "case": {"id": "tiny", "title": "Tiny case"},
        "briefing": {"role": "Inspector", "situation": "A site visit.", "objectives": ["Find out what happened."]},
        "instructor_notes": {"ground_truth": "Sam's passport is held.", "learning_objectives": ["Be patient."]},
        "variables": {
            "trust": {"initial": 3, "min": 0, "max": 10},
            "fear": {"initial": 7, "min": 0, "max": 10},
            "patience": {"initial": 2, "min": 0, "max": 3},
        },
        "facts": [
            {"id": "name", "summary": "His name is Sam.", "indicators": ["other"]},
            {
                "id": "passport_held",
                "summary": "The boss keeps his passport.",
                "indicators": ["retention_of_documents"],
                "key": True,
                "presumed_by": {"all": ["@boss", "@passport"]},
            },
            {"id": "debt", "summary": "He owes a growing debt.", "indicators": ["debt_bondage"]},
        ],
        "concepts": {
            "greeting": ["hello", "hi", "good morning"],
            "passport": ["passport", "documents", "id card", "паспорт"],
            "boss": ["boss", "foreman", "employer"],
            "money": ["money", "debt", "owe", "pay"],
            "insult": ["liar", "lying"],
        },
        "opening": ["Yes? What do you want?", ["Hello.", "Who are you?"]],
        "start_topic": "intro",
        "topics": {
            "intro": {
                "rules": [
                    {
                        "id": "greet",
                        "match": {"any": ["@greeting"]},
                        "reply": {"mode": "cycle", "variants": ["Hello.", "Hello again."]},
                        "effects": {"change": {"trust": 1}},
                    },
                    {
                        "id": "name",
                        "match": {"all": ["name"], "none": ["boss"]},
                        "reply": "I am Sam.",
                        "effects": {"disclose": ["name"], "goto": "work"},
                    },
                ],
                "fallbacks": [
                    {"level": 1, "reply": "Sorry?"},
                    {"level": 2, "reply": "I don't understand.", "effects": {"change": {"trust": -1}}},
                ],
            },
            "work": {
                "rules": [
                    {
                        "id": "passport_low",
                        "match": {"any": ["@passport"]},
                        "reply": "My papers are fine.",
                        "priority": 1,
                    },
                    {
                        "id": "passport_high",
                        "match": {"any": ["@passport"]},
                        "if": {"vars": {"trust": ">= 5"}},
                        "priority": 2,
                        "reply": [["The boss has it.", "He keeps all of them."]],
                        "effects": {"disclose": ["passport_held"]},
                    },
                    {
                        "id": "money_once",
                        "match": {"any": ["@money"]},
                        "reply": {"mode": "once", "variants": ["I owe them.", "It grows every month."]},
                        "effects": {"disclose": ["debt"]},
                    },
                ],
            },
        },
        "rules": [
            {
                "id": "insulted",
                "priority": 5,
                "match": {"any": ["@insult"]},
                "reply": "Why do you say that?",
                "effects": {"change": {"trust": -3, "fear": 2}},
            },
            {
                "id": "kind",
                "match": {"any": ["sorry", "take your time"]},
                "if": {"fired": "< 2"},
                "reply": "Thank you.",
                "effects": {"change": {"trust": 2}},
            },
            {
                "id": "leading",
                "priority": -1,
                "match": {"question_type": ["suggestive"]},
                "reply": "Yes... maybe.",
                "effects": {"change": {"trust": -1}},
            },
            {
                "id": "bye",
                "match": {"any": ["goodbye", "bye"]},
                "reply": "Bye.",
                "effects": {"end": True},
            },
        ],
        "fallbacks": [
            {"level": 1, "reply": "What?"},
            {"level": 2, "reply": "I don't follow."},
            {"level": 3, "reply": "I am tired.", "effects": {"change": {"patience": -1}}},
            {"level": 3, "if": {"vars": {"fear": ">= 9"}}, "reply": "Please stop."},
        ],
        "endings": [
            {"id": "shutdown", "if": {"vars": {"trust": "<= 0"}}, "reply": "I am leaving.", "reason": "trust_lost"}
        ],
    }


def tiny_persona(**overrides: Any) -> Persona:
    """Return the tiny persona with top-level keys replaced."""
    data = copy.deepcopy(tiny_persona_data())
    data.update(overrides)
    return Persona.model_validate(data)


def compiled(persona: Persona | None = None, version: str = TINY_VERSION) -> CompiledPersona:
    """Compile a persona (the tiny one by default)."""
    return CompiledPersona(persona or tiny_persona(), version)
