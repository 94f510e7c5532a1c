"""Text pipeline tables: normalisation, tokens, stems and typo tolerance."""

from __future__ import annotations

import pytest

from bot.engine.text import FuzzyVocabulary, Stemmer, analyse, max_edits, normalize, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello World", "hello world"),
        ("ПАСПОРТ", "паспорт"),
        ("Ёлка", "елка"),
        ("йод", "йод"),
        ("zero\u200bwidth", "zerowidth"),
        ("rtl\u202eoverride\u202c", "rtloverride"),
        ("bidi \u2067mark\u2069", "bidi mark"),
        ("ﬁnish", "finish"),
        ("ＦＵＬＬ width", "full width"),
        ("  many   \t spaces\n", "many spaces"),
        ("control\x00\x07chars", "controlchars"),
        ("Здра́вствуйте", "здравствуйте"),
        ("Straße", "strasse"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is your passport?", ["where", "is", "your", "passport"]),
        ("где ваш паспорт?", ["где", "ваш", "паспорт"]),
        ("I don't know", ["i", "do", "not", "know"]),
        ("I can't, it's the boss's", ["i", "can", "not", "it", "is", "the", "boss"]),
        ("im scared, dont tell", ["i", "am", "scared", "do", "not", "tell"]),
        ("you’ll see", ["you", "will", "see"]),
        ("кто-то пришёл", ["кто-то", "пришел"]),
        ("worked 12 hours", ["worked", "12", "hours"]),
        ("пacпорт", ["паспорт"]),  # Latin a and c inside a Cyrillic word
        ("pаssport", ["passport"]),  # Cyrillic а inside a Latin word
        ("mixed русский and english", ["mixed", "русский", "and", "english"]),
        ("emoji 🙂 only", ["emoji", "only"]),
    ],
)
def test_tokenize(text: str, expected: list[str]) -> None:
    assert tokenize(normalize(text)) == expected


@pytest.mark.parametrize(
    ("language", "word", "expected"),
    [
        ("en", "passports", "passport"),
        ("en", "working", "work"),
        ("ru", "паспорта", "паспорт"),
        ("ru", "паспортом", "паспорт"),
        ("ru", "работали", "работа"),
        ("ru", "hours", "hour"),  # Latin words in a Russian persona use the English stemmer
        ("en", "деньги", "деньг"),  # Cyrillic words always use the Russian stemmer
        ("en", "12", "12"),
    ],
)
def test_stems(language: str, word: str, expected: str) -> None:
    assert Stemmer(language).stem(word) == expected


@pytest.mark.parametrize(
    ("length", "edits"), [(1, 0), (4, 0), (5, 1), (8, 1), (9, 2), (20, 2)]
)
def test_max_edits_scale_with_length(length: int, edits: int) -> None:
    assert max_edits(length) == edits


VOCAB = ["passport", "foreman", "employer", "документ", "паспорт", "money", "debt", "construction"]


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("passport", "passport"),
        ("pasport", "passport"),
        ("passpotr", "passport"),  # swapped neighbours count as one typo
        ("foremen", "foreman"),
        ("emplyer", "employer"),
        ("паспотр", "паспорт"),
        ("докумнет", "документ"),
        ("constrcutoin", "construction"),  # long words tolerate two typos
        ("mony", None),  # short words get no tolerance
        ("dept", None),
        ("banana", None),
        ("xassport", None),  # one edit, but not at the first letter, for mid-length words
    ],
)
def test_fuzzy_correction(typo: str, expected: str | None) -> None:
    assert FuzzyVocabulary(VOCAB).correct(typo) == expected


def test_analyse_returns_normalised_tokens_and_stems() -> None:
    assert analyse("Where are the PASSPORTS?", Stemmer("en")) == (
        "where are the passports?",
        ["where", "are", "the", "passports"],
        ["where", "are", "the", "passport"],
    )


def test_huge_input_is_cut() -> None:
    assert len(normalize("a" * 100_000)) == 4096
