"""Hypothesis strategies for hostile trainee text and broken persona documents, shared by the fuzz tests."""

from __future__ import annotations

from hypothesis import strategies as st

# Surrogates cannot be encoded by a Python str going to UTF-8, so they are the only thing left out.
_ANY_CHAR = st.characters(exclude_categories=["Cs"])
_COMBINING = st.characters(categories=["Mn", "Me", "Mc"])
_CONTROL = st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Co", "Cn"])
_SCRIPTS = st.sampled_from(
    [
        "passport",
        "паспорт",
        "ПАСПОРТ",
        "pаsspоrt",  # Latin word with Cyrillic а and о
        "ёлка",
        "日本語",
        "عربى",
        "עברית",
        "🙂",
        "\u0301",
        "\u200b",
        "\u202e",
        "\ufeff",
        "?",
        "!",
        "...",
        "don't",
        "'",
        "-",
        " ",
        "\n",
        "\t",
        "0",
        "123456789",
    ]
)

HUGE_REPEAT_MAX = 20_000


def _repeat(parts: tuple[str, int]) -> str:
    text, times = parts
    return text * times


utterances = st.one_of(
    st.text(_ANY_CHAR, max_size=200),
    st.text(_COMBINING | _CONTROL | _ANY_CHAR, max_size=80),
    st.lists(_SCRIPTS, max_size=40).map(" ".join),
    st.lists(_SCRIPTS, max_size=40).map("".join),
    st.tuples(st.text(_ANY_CHAR, min_size=1, max_size=12), st.integers(1, HUGE_REPEAT_MAX)).map(_repeat),
    st.tuples(st.lists(_SCRIPTS, min_size=1, max_size=6).map(" ".join), st.integers(100, 2_000)).map(_repeat),
)
"""Any Unicode text a trainee (or a broken client) could send: huge, mixed scripts, marks and controls."""
