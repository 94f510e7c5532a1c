"""Fuzz the text pipeline and the question classifier with any Unicode text: no exception, sane output."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from bot.engine.analysis import classify
from bot.engine.text import MAX_INPUT_CHARS, Stemmer, analyse, normalize, tokenize
from bot.persona.model import QuestionType
from tests.fuzz.strategies import utterances

EXAMPLES = 150
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUESTION_TYPES = frozenset(q.value for q in QuestionType)
NFKC_MAX_EXPANSION = 18
"""The most characters NFKC makes of one (U+FDFA); normalize() caps its input before expanding it."""

pytestmark = pytest.mark.timeout(120)


@FUZZ
@given(utterances)
def test_normalize_and_tokenize_take_any_text(text: str) -> None:
    normalized = normalize(text)
    tokens = tokenize(normalized)
    assert isinstance(normalized, str)
    assert all(isinstance(token, str) and token for token in tokens)
    if len(text) * NFKC_MAX_EXPANSION <= MAX_INPUT_CHARS:
        # Normalising twice changes nothing more (longer inputs are cut to the cap before expanding).
        assert normalize(normalized) == normalized


@FUZZ
@given(utterances)
def test_analyse_takes_any_text_in_both_languages(text: str) -> None:
    for lang in ("en", "ru"):
        normalized, words, stems = analyse(text, Stemmer(lang))
        assert isinstance(normalized, str)
        assert len(words) == len(stems)
        assert all(isinstance(stem, str) for stem in stems)


@FUZZ
@given(utterances)
def test_classify_gives_a_known_question_type_for_any_text(text: str) -> None:
    for lang in ("en", "ru", "auto"):
        result = classify(text, lang)
        assert result.question_type in QUESTION_TYPES
        assert isinstance(result.cue, str)
        assert result.questions >= 0
