"""Persona factories: a small, complete persona as a dict, and helpers to compile variants of it."""

from __future__ import annotations

import copy
from typing import Any

from bot.engine.matcher import CompiledPersona
from bot.persona.model import Persona

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
