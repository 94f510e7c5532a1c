"""The classifier evaluation report: accuracy, per-class figures, confusion matrix and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.review.analysis_eval import evaluate, format_report, load, main

SMALL_SET = (
    "lang\tlabel\ttext\n"
    "en\tdirective\tWhere do you live?\n"
    "en\tinvitation\tTell me about your work.\n"
    "ru\tsuggestive\tОн вас бил, да?\n"
    "ru\tother\tГде вы жили?\n"  # deliberately mislabelled: the report must count it as a miss
)


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    path = tmp_path / "small.tsv"
    path.write_text(SMALL_SET, encoding="utf-8")
    return path


def test_evaluate_counts_hits_misses_and_confusion(small_set: Path) -> None:
    report = evaluate(small_set)
    summary = (
        report.total,
        report.correct,
        report.per_lang,
        report.confusion["other"]["directive"],
        [m.item.text for m in report.misses],
        report.precision("directive"),
        report.recall("other"),
    )
    assert summary == (4, 3, {"en": (2, 2), "ru": (1, 2)}, 1, ["Где вы жили?"], 0.5, 0.0)


def test_format_report_shows_matrix_and_errors(small_set: Path) -> None:
    text = format_report(evaluate([small_set, small_set]), errors=True)
    checks = (
        "Overall accuracy: 6/8 = 75.0%" in text,
        "| label \\ predicted | invit. | directive | option | suggestive | multiple | other |" in text,
        "- [ru] other -> directive" in text,
        "- small.tsv: 6/8 = 75.0%" in text,
    )
    assert checks == (True, True, True, False)  # one file name: both runs merge under it


@pytest.mark.parametrize(
    "content",
    ["lang\tlabel\ttext\nen\tnonsense\tWhere?\n", "lang\tlabel\ttext\nen\tdirective\n"],
    ids=["unknown-label", "missing-column"],
)
def test_load_rejects_malformed_rows_with_the_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.tsv:2"):
        load(path)


def test_main_exits_2_on_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(tmp_path / "absent.tsv")])
    assert (code, "cannot read evaluation set" in capsys.readouterr().err) == (2, True)


def test_main_prints_the_report_for_the_shipped_sets(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([])
    out = capsys.readouterr().out
    names = ("questions_blind.tsv", "questions_authors.tsv", "questions_authors_blind.tsv", "questions_authors2.tsv")
    assert (code, [n in out for n in names], "Confusion matrix" in out) == (0, [True] * len(names), True)
