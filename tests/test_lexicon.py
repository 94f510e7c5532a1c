"""The real-word lexicon keeps typo correction from turning real words into a persona's words."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.dialogue import start, step
from bot.engine.matcher import CompiledPersona
from bot.lexicon import default_lexicon
from tests.factories import tiny_persona, tiny_persona_data


def with_rule(term: str, language: str = "en") -> CompiledPersona:
    data: dict[str, Any] = tiny_persona_data()
    data["rules"].append({"id": "probe", "priority": 50, "match": {"any": [term]}, "reply": "probe"})
    return CompiledPersona(tiny_persona(rules=data["rules"], language=language), "v", default_lexicon())


@pytest.mark.parametrize(
    ("term", "said", "fires", "language"),
    [
        ("court", "in the course of your work", False, "en"),
        ("strange", "he is too strong", False, "en"),
        ("recording", "is it a recurring problem", False, "en"),
        ("foreman", "where are the foremen", True, "en"),  # rare words are still corrected
        ("passport", "where is your pasport", True, "en"),  # and so are typos
        ("что-нибудь", "кто-нибудь знает?", False, "ru"),
        ("паспорт", "где ваш паспотр", True, "ru"),
        ("сколько месяцев", "несколько месяцев назад", False, "ru"),  # a real word does not become another
        ("контракт", "дайте ваши контакты", False, "ru"),
        ("день отдых", "бывает ли у них день отдыха", True, "ru"),  # but may change its ending
    ],
)
def test_real_words_are_taken_as_typed(term: str, said: str, fires: bool, language: str) -> None:
    cp = with_rule(term, language)
    turn = step(cp, start(cp).state, said)
    assert (turn.events.rule == "probe") == fires


def test_the_lexicon_knows_both_languages_frequent_words() -> None:
    lexicon = default_lexicon()
    assert all(word in lexicon for word in ("course", "strong", "пожалуйста", "кто-нибудь"))
    assert "pasport" not in lexicon
