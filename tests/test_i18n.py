"""Message catalogues: same keys and placeholders in every language, language picking, fallbacks."""

from __future__ import annotations

import string

import pytest

from bot.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, catalogue, language_name, pick_language, t
from bot.persona.model import Indicator


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_key_exists_in_every_catalogue() -> None:
    keys = {lang: set(catalogue(lang)) for lang in SUPPORTED_LANGUAGES}
    reference = keys[DEFAULT_LANGUAGE]
    assert {lang: sorted(reference ^ k) for lang, k in keys.items()} == {
        lang: [] for lang in SUPPORTED_LANGUAGES
    }


@pytest.mark.parametrize("lang", [lang for lang in SUPPORTED_LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_placeholders_match_the_default_catalogue(lang: str) -> None:
    reference = catalogue(DEFAULT_LANGUAGE)
    other = catalogue(lang)
    mismatched = {
        k: (_placeholders(v), _placeholders(other[k]))
        for k, v in reference.items()
        if _placeholders(v) != _placeholders(other[k])
    }
    assert mismatched == {}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_no_message_is_empty(lang: str) -> None:
    assert [k for k, v in catalogue(lang).items() if not v.strip()] == []


def test_every_indicator_has_a_label() -> None:
    assert [i.value for i in Indicator if f"indicator_{i.value}" not in catalogue(DEFAULT_LANGUAGE)] == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("en", "en"),
        ("en-GB", "en"),
        ("ru", "ru"),
        ("RU", "ru"),
        ("ru_RU", "ru"),
        ("kk", "ru"),
        ("be", "ru"),
        ("de", "en"),
        ("uk", "en"),
    ],
)
def test_pick_language_from_telegram_code(code: str | None, expected: str) -> None:
    assert pick_language(code) == expected


def test_t_formats_and_falls_back_for_unknown_languages() -> None:
    assert t("ru", "note_saved", id=7) == "Заметка к сессии #7 сохранена."
    assert t("xx", "note_saved", id=7) == "Note saved for session #7."
    assert t(None, "status_open") == "open"


def test_unknown_key_is_an_error() -> None:
    with pytest.raises(KeyError):
        t("en", "no_such_key")


def test_language_names() -> None:
    assert (language_name("en", "ru"), language_name("ru", "en"), language_name("en", "de")) == (
        "Russian",
        "английский",
        "de",
    )
