"""Message catalogues: every bot text outside the personas' own lines, in English and Russian.

The catalogues live in ``bot/locales/<lang>.json``: flat ``key -> text`` maps with ``str.format``
placeholders. The trainee's Telegram ``language_code`` picks the catalogue on first contact and ``/language``
changes it; the choice is stored with the trainee. Persona lines always stay in the persona's language.

A key missing from a non-default catalogue falls back to English (logged once); a key missing from English is
a programming error and raises ``KeyError``. ``tests/test_i18n.py`` guards that both catalogues have the same
keys and placeholders.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

DEFAULT_LANGUAGE: Final = "en"
SUPPORTED_LANGUAGES: Final[tuple[str, ...]] = ("en", "ru")

# Telegram language codes whose speakers are better served by the Russian catalogue than by the English one.
_RUSSIAN_READERS: Final = frozenset({"ru", "be", "kk", "ky", "tg", "uz"})

LOCALES_DIR: Final = Path(__file__).resolve().parent / "locales"

_warned: set[tuple[str, str]] = set()


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Return the message catalogue of a supported language."""
    if lang not in SUPPORTED_LANGUAGES:
        raise KeyError(f"no message catalogue for language '{lang}'")
    raw = (LOCALES_DIR / f"{lang}.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"catalogue {lang}.json must map keys to strings")
    return data


def pick_language(language_code: str | None) -> str:
    """Map a Telegram ``language_code`` (``"ru"``, ``"en-GB"``...) to a supported catalogue language."""
    if not language_code:
        return DEFAULT_LANGUAGE
    base = language_code.strip().lower().replace("_", "-").split("-", 1)[0]
    if base in SUPPORTED_LANGUAGES:
        return base
    return "ru" if base in _RUSSIAN_READERS else DEFAULT_LANGUAGE


def normalize_language(lang: str | None) -> str:
    """Return ``lang`` if it has a catalogue, else the default language."""
    return lang if lang in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def t(lang: str | None, key: str, /, **params: object) -> str:
    """Return the message ``key`` in ``lang``, formatted with ``params``."""
    lang = normalize_language(lang)
    template = catalogue(lang).get(key)
    if template is None:
        if (lang, key) not in _warned:
            _warned.add((lang, key))
            logger.warning("message %s missing from the %s catalogue; using %s", key, lang, DEFAULT_LANGUAGE)
        template = catalogue(DEFAULT_LANGUAGE)[key]
    return template.format(**params) if params else template


def language_name(ui_lang: str | None, lang: str) -> str:
    """Return the name of language ``lang`` in the catalogue of ``ui_lang`` (the code itself if unknown)."""
    key = f"language_{lang}"
    return t(ui_lang, key) if key in catalogue(DEFAULT_LANGUAGE) else lang
