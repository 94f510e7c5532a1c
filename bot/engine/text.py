"""Text pipeline: normalise, tokenise, stem and fuzzy-match trainee text.

Everything here is pure and deterministic. Stemmers are cached per language because building a Snowball stemmer is
far more expensive than using one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

import snowballstemmer
from rapidfuzz.distance import OSA

from .lexicon import CONTRACTION_SUFFIXES, CONTRACTIONS, IS_BEFORE_S

# Anything longer is cut before matching, so one pasted novel cannot stall a turn.
MAX_INPUT_CHARS = 4096

# Words at least this long tolerate one typo, and at least the second bound two.
FUZZY_ONE_EDIT_MIN_LEN = 5
FUZZY_TWO_EDITS_MIN_LEN = 9

_SNOWBALL_NAMES = {
    "en": "english",
    "ru": "russian",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "tr": "turkish",
    "ro": "romanian",
    "hu": "hungarian",
    "uk": "russian",
}

# Latin letters that look like Cyrillic ones; a mostly-Cyrillic token typed with a stray Latin "a" or "c" is common.
_LATIN_TO_CYRILLIC = str.maketrans("aceopxykmhtbABCEHKMOPTXY", "асеорхукмнтвАВСЕНКМОРТХУ")
_CYRILLIC_TO_LATIN = str.maketrans("асеорхукАВСЕНКМОРТХ", "aceopxykABCEHKMOPTX")

_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’ʼ\-][^\W\d_]+)*|\d+")
_SPACE_RE = re.compile(r"\s+")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[a-z]")


# The combining breve keeps "й" intact through decomposition; every other combining mark (stress marks, accents) goes.
_KEEP_MARKS = frozenset({"\u0306"})
_WHITESPACE = frozenset("\t\n\r ")
# Characters seen are remembered up to this many, so fuzzed or hostile input cannot grow the table without bound.
_DROP_TABLE_LIMIT = 50_000


def _is_dropped(ch: str) -> bool:
    """Say whether a character is invisible noise: format (zero-width, bidi), control, unassigned or a mark."""
    if ch in _WHITESPACE or ch in _KEEP_MARKS:
        return False
    return unicodedata.category(ch) in ("Cf", "Cc", "Cn", "Co", "Cs", "Mn")


class _DropTable(dict[int, int | None]):
    """A ``str.translate`` table that decides each character once: None drops it, its code keeps it."""

    def __missing__(self, code: int) -> int | None:
        value = None if _is_dropped(chr(code)) else code
        if len(self) < _DROP_TABLE_LIMIT:
            self[code] = value
        return value


_DROP = _DropTable()
_ASCII_CONTROLS = {c: None for c in range(32) if chr(c) not in _WHITESPACE} | {127: None}


def normalize(text: str) -> str:
    """Return ``text`` NFKC-normalised, casefolded, with invisible characters removed and spaces collapsed."""
    text = text[:MAX_INPUT_CHARS]
    if text.isascii():
        # Most trainee lines are plain ASCII: the Unicode passes below would change nothing but cost time.
        return _SPACE_RE.sub(" ", text.translate(_ASCII_CONTROLS).lower()).strip()
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    # Decompose so combining marks can be dropped, then recompose what remains.
    text = unicodedata.normalize("NFKD", text).translate(_DROP)
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _fix_mixed_script(token: str) -> str:
    """Map look-alike letters so a token is all Cyrillic or all Latin, whichever dominates."""
    cyr = len(_CYRILLIC_RE.findall(token))
    lat = len(_LATIN_RE.findall(token))
    if cyr and lat:
        return token.translate(_LATIN_TO_CYRILLIC) if cyr >= lat else token.translate(_CYRILLIC_TO_LATIN)
    return token


def expand_contraction(token: str) -> tuple[str, ...]:
    """Return the full words of an English contraction ("can't" -> can, not), or the token itself."""
    whole = CONTRACTIONS.get(token)
    if whole is not None:
        return whole
    if "'" not in token:
        return (token,)
    for suffix, words in CONTRACTION_SUFFIXES.items():
        if token.endswith(suffix) and len(token) > len(suffix):
            return (token[: -len(suffix)], *words)
    if token.endswith("'s"):
        base = token[:-2]
        return (base, "is") if base in IS_BEFORE_S else (base,)
    return (token.replace("'", ""),)


def tokenize(normalized: str) -> list[str]:
    """Split normalised text into word tokens (Latin, Cyrillic and other letters, or digit runs).

    English contractions become their full words, so negation survives stemming.
    """
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(normalized):
        if raw.isascii():
            tokens.extend(expand_contraction(raw))
            continue
        tok = _fix_mixed_script(raw.replace("’", "'").replace("ʼ", "'"))
        if tok.isascii():
            tokens.extend(expand_contraction(tok))
        else:
            tokens.append(tok)
    return tokens


def is_cyrillic(word: str) -> bool:
    """Say whether a word contains Cyrillic letters."""
    return bool(_CYRILLIC_RE.search(word))


class _Snowball(Protocol):
    """The one method of a Snowball stemmer that Understudy uses."""

    def stemWord(self, word: str) -> str: ...  # Snowball's own camelCase name


@lru_cache(maxsize=32)
def _stemmer(name: str) -> _Snowball:
    """Return the Snowball stemmer for an algorithm name, built once."""
    stemmer: _Snowball = snowballstemmer.stemmer(name)
    return stemmer


def stemmer_name(language: str) -> str:
    """Return the Snowball algorithm name for a language code, English when unknown."""
    return _SNOWBALL_NAMES.get(language.split("-")[0].lower(), "english")


class Stemmer:
    """Stem words by script: Cyrillic with the Russian algorithm, others with the persona's language."""

    def __init__(self, language: str = "en") -> None:
        self.language = language
        latin = stemmer_name(language)
        self._latin = _stemmer("english" if latin == "russian" else latin)
        self._cyrillic = _stemmer("russian")
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        """Return the stem of one normalised word."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        if word.isdigit():
            out = word
        else:
            algo = self._cyrillic if is_cyrillic(word) else self._latin
            out = algo.stemWord(word) or word
        if len(self._cache) < 200_000:
            self._cache[word] = out
        return out

    def stems(self, words: Iterable[str]) -> list[str]:
        """Stem every word."""
        return [self.stem(w) for w in words]


def max_edits(length: int) -> int:
    """Return how many typos a word of this length tolerates."""
    if length >= FUZZY_TWO_EDITS_MIN_LEN:
        return 2
    if length >= FUZZY_ONE_EDIT_MIN_LEN:
        return 1
    return 0


class FuzzyVocabulary:
    """Map an unknown word to the closest known word within a length-scaled edit distance."""

    def __init__(self, words: Iterable[str]) -> None:
        self._by_len: dict[int, list[str]] = {}
        self._known = set(words)
        for w in sorted(self._known):
            self._by_len.setdefault(len(w), []).append(w)
        self._cache: dict[str, str | None] = {}

    def __contains__(self, word: str) -> bool:
        return word in self._known

    def correct(self, word: str) -> str | None:
        """Return the known word closest to ``word`` (itself if known), or None when nothing is close enough."""
        if word in self._known:
            return word
        if word in self._cache:
            return self._cache[word]
        limit = max_edits(len(word))
        best: str | None = None
        if limit:
            best_d = limit + 1
            for n in range(len(word) - limit, len(word) + limit + 1):
                for cand in self._by_len.get(n, ()):
                    # Typos rarely hit the first letter; requiring it keeps "pass"/"mass" apart cheaply.
                    if cand[0] != word[0] and limit < 2:
                        continue
                    # OSA counts a swap of neighbours ("paspotr") as one typo, as people make them.
                    d = OSA.distance(word, cand, score_cutoff=best_d - 1)
                    if d < best_d:
                        best, best_d = cand, d
                        if d == 1:
                            break
                if best_d == 1:
                    break
        if len(self._cache) < 200_000:
            self._cache[word] = best
        return best


def analyse(text: str, stemmer: Stemmer) -> tuple[str, list[str], list[str]]:
    """Return the normalised text, its tokens and their stems."""
    norm = normalize(text)
    toks = tokenize(norm)
    return norm, toks, stemmer.stems(toks)
