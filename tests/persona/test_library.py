"""The shipped persona library keeps the shape the training needs: cases, languages, facts, indicators, suites."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from bot.persona.catalog import load_catalog
from bot.persona.model import ILO_INDICATORS, Persona
from bot.persona.testing import load_test_file

PERSONAS = Path(__file__).resolve().parents[2] / "personas"
MIN_FACTS = 10
MIN_CASE_INDICATORS = 6
MIN_PARAPHRASES = 150
LANGUAGES = {"en", "ru"}


@pytest.fixture(scope="module")
def library() -> list[Persona]:
    catalog = load_catalog(PERSONAS)
    assert catalog.errors() == []
    return [entry.persona for entry in catalog.entries()]


def test_three_cases_each_with_a_victim_and_a_witness_in_both_languages(library: list[Persona]) -> None:
    roles: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for p in library:
        roles[p.case.id].add((p.role, p.language))
    assert len(roles) >= 3
    for case, have in roles.items():
        assert have >= {(r, lang) for r in ("victim", "witness") for lang in LANGUAGES}, case


def test_every_persona_has_enough_tagged_facts(library: list[Persona]) -> None:
    for p in library:
        assert len(p.facts) >= MIN_FACTS, p.id
        assert all(f.indicators for f in p.facts), p.id


def test_each_case_covers_six_indicators_and_shares_facts(library: list[Persona]) -> None:
    by_case: dict[str, list[Persona]] = defaultdict(list)
    for p in library:
        if p.language == "en":
            by_case[p.case.id].append(p)
    for case, members in by_case.items():
        indicators = {i.value for p in members for f in p.facts for i in f.indicators} & set(ILO_INDICATORS)
        assert len(indicators) >= MIN_CASE_INDICATORS, case
        victim = {f.id for p in members if p.role == "victim" for f in p.facts}
        witness = {f.id for p in members if p.role == "witness" for f in p.facts}
        assert victim & witness, f"{case}: victim and witness share no fact to corroborate"


def test_every_persona_ends_when_trust_collapses(library: list[Persona]) -> None:
    for p in library:
        assert any("trust" in e.if_.vars for e in p.endings), p.id


@pytest.mark.parametrize("persona_file", sorted(PERSONAS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_persona_ships_conversation_tests_and_a_paraphrase_suite(persona_file: Path) -> None:
    pid = persona_file.stem
    conversations, _ = load_test_file(PERSONAS / "tests" / f"{pid}.yaml")
    suite, _ = load_test_file(PERSONAS / "tests" / f"{pid}.paraphrases.yaml")
    assert conversations.persona == suite.persona == pid
    names = " ".join(c.name.lower() for c in conversations.conversations)
    assert any(c.final and c.final.disclosed == "all" for c in conversations.conversations), names
    assert any(c.final and c.final.ended for c in conversations.conversations), names
    assert sum(len(g.say) for g in suite.paraphrases) >= MIN_PARAPHRASES
    assert suite.floor >= 0.95
