"""Tiny personas for channel and session tests, loaded through the real loader, and a catalogue of them.

They are deliberately small and predictable: each rule answers a distinct keyword, so a test can say "where"
and know which reply comes back, and "bye" ends the interview in character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import PersonaError, PersonaNotFound
from bot.persona.loader import LoadedPersona, load_persona_text

TINY_VICTIM_EN = """\
id: tiny_victim_en
character: tiny_victim
name: Mira
role: victim
language: en
case: {id: tiny_site, title: A tiny building site}
briefing:
  role: You are a labour inspector.
  situation: You meet a worker in the site canteen.
  objectives: [Build trust, Learn where her passport is]
instructor_notes:
  ground_truth: The foreman keeps her passport and her wages.
  learning_objectives: [Open questions]
variables:
  trust: {initial: 5, min: 0, max: 10}
  fear: {initial: 5, min: 0, max: 10}
facts:
  - id: passport_kept
    summary: The foreman keeps her passport.
    indicators: [retention_of_documents]
  - id: wages_held
    summary: She has not been paid for months.
    indicators: [withholding_of_wages]
  - id: lives_on_site
    summary: She sleeps in a container on the site.
    indicators: [abusive_working_living_conditions]
opening: [["Hello.", "Who are you?"]]
start_topic: talk
topics:
  talk:
    rules:
      - id: hello
        match: {any: [hello, hi]}
        reply: "Hi. I am Mira."
        effects: {change: {trust: 1}}
      - id: passport
        match: {any: [passport, documents]}
        reply: [["The foreman has my passport.", "He says it is safer."]]
        effects: {disclose: [passport_kept]}
      - id: wages
        match: {any: [money, wages, paid]}
        reply: "They have not paid me since spring."
        effects: {disclose: [wages_held]}
      - id: home
        match: {any: [live, sleep]}
        reply: "In a container behind the crane."
        effects: {disclose: [lives_on_site]}
      - id: story
        match: {any: [story]}
        reply: >-
          It is a long story. I came for a job in a kitchen, then they sent me to the building site, and the
          foreman said I must work there until the debt for the ticket and the visa is paid back.
      - id: bye
        match: {any: [bye, goodbye]}
        reply: "Goodbye."
        effects: {end: true}
rules:
  - id: echo
    match: {any: [number]}
    reply: "A number? I do not count well."
fallbacks:
  - level: 1
    reply: "Sorry?"
  - level: 2
    reply: "I do not understand."
endings: []
"""

TINY_WITNESS_RU = """\
id: tiny_witness_ru
character: tiny_witness
name: Олег
role: witness
language: ru
case: {id: tiny_shop, title: Маленький магазин}
briefing:
  role: Вы сотрудник полиции.
  situation: Вы разговариваете с продавцом магазина у стройки.
  objectives: [Узнать, что он видел]
instructor_notes:
  ground_truth: Он видит рабочих каждый день.
  learning_objectives: [Открытые вопросы]
variables:
  trust: {initial: 5, min: 0, max: 10}
  fear: {initial: 2, min: 0, max: 10}
facts:
  - id: sees_bus
    summary: Рабочих возят на автобусе.
    indicators: [restriction_of_movement]
opening: "Здравствуйте. Чем могу помочь?"
start_topic: talk
topics:
  talk:
    rules:
      - id: bus
        match: {any: [автобус]}
        reply: "Их каждое утро возят на автобусе."
        effects: {disclose: [sees_bus]}
fallbacks:
  - level: 1
    reply: "Не понял вас."
"""

TINY_SOURCES: dict[str, str] = {"tiny_victim_en": TINY_VICTIM_EN, "tiny_witness_ru": TINY_WITNESS_RU}


@dataclass
class TinyCatalog:
    """A persona catalogue over texts, shaped like the real one for the session service."""

    loaded: list[LoadedPersona] = field(default_factory=list)
    failures: list[PersonaError] = field(default_factory=list)

    def get(self, persona_id: str) -> LoadedPersona:
        """Return a persona by id; raise PersonaNotFound."""
        for entry in self.loaded:
            if entry.persona.id == persona_id:
                return entry
        raise PersonaNotFound(f"no persona '{persona_id}'")

    def entries(self) -> Sequence[LoadedPersona]:
        """Return every loaded persona."""
        return list(self.loaded)

    def replace(self, persona_id: str, source: str) -> LoadedPersona:
        """Swap in a new version of a persona, as a reload would."""
        entry = load_persona_text(source, f"{persona_id}.yaml")
        self.loaded = [e if e.persona.id != persona_id else entry for e in self.loaded]
        return entry


def tiny_catalog(*ids: str) -> TinyCatalog:
    """Build a catalogue of tiny personas (all of them by default)."""
    chosen = ids or tuple(TINY_SOURCES)
    return TinyCatalog([load_persona_text(TINY_SOURCES[i], f"{i}.yaml") for i in chosen])


def write_tiny_personas(directory: Path, *ids: str) -> Path:
    """Write tiny persona files into ``directory`` (for subprocess tests) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for persona_id in ids or tuple(TINY_SOURCES):
        (directory / f"{persona_id}.yaml").write_text(TINY_SOURCES[persona_id], encoding="utf-8")
    return directory
