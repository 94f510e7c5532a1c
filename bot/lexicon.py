"""The dictionary of real words that typo correction leaves alone, loaded once from pyspellchecker's word lists.

A trainee's "in the course of" must not be "corrected" to a persona's "court", nor «несколько» to «сколько»: a
real, reasonably frequent English or Russian word is taken as typed (a Russian one may still change its ending).
Rare words (below ``MIN_FREQUENCY``) still get corrected, so "foremen" reaches "foreman". The engine receives the
result through ``CompiledPersona(lexicon=...)``; this module does the file reading the engine may not.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from bot.engine.lexicon import COMMON_EN, COMMON_RU
from bot.engine.matcher import COMMON_WORDS, Lexicon

log = logging.getLogger(__name__)

# Occurrences per word below which a word is treated as a likely typo target, not a word. Every word of the
# (smaller) Russian list counts. The engine still lets a real Russian word change its ending, because Snowball
# leaves some case forms apart («перерыва», «перерыв»), but not become another word («несколько», «сколько»).
MIN_FREQUENCY = {"en": 500, "ru": 1}
# Indefinite pronouns are written with a hyphen and missing from the Russian list, yet frequent in questions.
EXTRA_RU = frozenset(
    f"{base}-{suffix}"
    for base in ("кто", "что", "где", "когда", "куда", "откуда", "как", "какой", "какая", "какие", "чей", "зачем")
    for suffix in ("нибудь", "то", "либо")
)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """Return the English and Russian real-word lexicon; fall back to the built-in frequent words."""
    try:
        from spellchecker import SpellChecker
    except ImportError:  # pragma: no cover - pyspellchecker is a declared dependency
        log.warning("pyspellchecker is not installed; typo correction uses the built-in frequent words only")
        return COMMON_WORDS
    words: set[str] = set(COMMON_EN | COMMON_RU | EXTRA_RU)
    for language, floor in MIN_FREQUENCY.items():
        counts = SpellChecker(language=language, distance=1).word_frequency.dictionary
        words.update(w.replace("ё", "е") for w, n in counts.items() if n >= floor)
    return frozenset(words)
