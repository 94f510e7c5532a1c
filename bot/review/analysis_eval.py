"""Evaluate the question-type classifier on a labelled TSV set and print accuracy and a confusion matrix.

Run: ``python -m bot.review.analysis_eval [PATH ...] [--errors]`` (default: the five sets in tests/data).
Each TSV has a header and three columns: ``lang``, ``label``, ``text``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.analysis import classify
from bot.errors import ConfigError
from bot.persona.model import RECOMMENDED_TYPES, QuestionType

DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"
# The tuning set, the held-out set (scored once before it was used for fixes), the blind set (likewise), the
# persona authors' set (their reported misclassifications and variants), its blind check (likewise) and the
# authors' second-round set (written and scored before the fixes it prompted) and its blind check.
DEFAULT_SETS: tuple[Path, ...] = (
    DATA_DIR / "questions.tsv",
    DATA_DIR / "questions_heldout.tsv",
    DATA_DIR / "questions_blind.tsv",
    DATA_DIR / "questions_authors.tsv",
    DATA_DIR / "questions_authors_blind.tsv",
    DATA_DIR / "questions_authors2.tsv",
    DATA_DIR / "questions_authors2_blind.tsv",
)
LABELS: tuple[str, ...] = tuple(t.value for t in QuestionType)
# Column headings short enough for the matrix to fit a phone screen.
SHORT = {"option_posing": "option", "invitation": "invit."}


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled utterance."""

    lang: str
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Miss:
    """One misclassified utterance with the cue the classifier gave."""

    item: Item
    predicted: str
    cue: str


@dataclass(slots=True)
class Report:
    """Accuracy figures and the confusion matrix (confusion[gold][predicted] = count)."""

    total: int = 0
    correct: int = 0
    per_lang: dict[str, tuple[int, int]] = field(default_factory=dict)
    per_set: dict[str, tuple[int, int]] = field(default_factory=dict)
    confusion: dict[str, Counter[str]] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)
    recommended_agree: int = 0

    @property
    def accuracy(self) -> float:
        """Return the share of utterances classified as labelled."""
        return self.correct / self.total if self.total else 0.0

    def precision(self, label: str) -> float:
        """Return the precision for one class."""
        predicted = sum(row[label] for row in self.confusion.values())
        return self.confusion.get(label, Counter())[label] / predicted if predicted else 0.0

    def recall(self, label: str) -> float:
        """Return the recall for one class."""
        row = self.confusion.get(label, Counter())
        gold = sum(row.values())
        return row[label] / gold if gold else 0.0


def load(path: Path) -> list[Item]:
    """Read a labelled TSV set."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as exc:
        raise ConfigError(f"cannot read evaluation set {path}: {exc}") from exc
    items = []
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 3 or row[1] not in LABELS:
            expected = "expected 'lang<TAB>label<TAB>text' with a known label"
            raise ConfigError(f"{path}:{n}: {expected}, got {row!r}")
        items.append(Item(row[0], row[1], row[2]))
    return items


def evaluate(paths: Path | Sequence[Path] = DEFAULT_SETS) -> Report:
    """Classify every utterance of the labelled sets and compare each with its label."""
    report = Report(confusion={label: Counter() for label in LABELS})
    per_lang: dict[str, list[int]] = {}
    per_set: dict[str, list[int]] = {}
    for path in [paths] if isinstance(paths, Path) else paths:
        for item in load(path):
            _score(report, item, per_lang, per_set.setdefault(path.name, [0, 0]))
    report.per_lang = {k: (v[0], v[1]) for k, v in sorted(per_lang.items())}
    report.per_set = {k: (v[0], v[1]) for k, v in per_set.items()}
    return report


def _score(report: Report, item: Item, per_lang: dict[str, list[int]], set_counts: list[int]) -> None:
    got = classify(item.text, "auto")
    ok = got.question_type == item.label
    report.total += 1
    report.correct += ok
    for counts in (per_lang.setdefault(item.lang, [0, 0]), set_counts):
        counts[0] += ok
        counts[1] += 1
    report.confusion[item.label][got.question_type] += 1
    report.recommended_agree += (item.label in RECOMMENDED_TYPES) == got.recommended
    if not ok:
        report.misses.append(Miss(item, got.question_type, got.cue))


def format_report(report: Report, errors: bool = False) -> str:
    """Render the report as Markdown."""
    out = [
        f"Overall accuracy: {report.correct}/{report.total} = {report.accuracy:.1%}",
        f"Recommended vs not agreement: {report.recommended_agree}/{report.total} = "
        f"{report.recommended_agree / report.total if report.total else 0:.1%}",
    ]
    for lang, (ok, n) in report.per_lang.items():
        out.append(f"- {lang}: {ok}/{n} = {ok / n:.1%}")
    if len(report.per_set) > 1:
        for name, (ok, n) in report.per_set.items():
            out.append(f"- {name}: {ok}/{n} = {ok / n:.1%}")
    out += ["", "| class | precision | recall | n |", "|---|---|---|---|"]
    for label in LABELS:
        n = sum(report.confusion[label].values())
        out.append(f"| {label} | {report.precision(label):.1%} | {report.recall(label):.1%} | {n} |")
    short = {label: SHORT.get(label, label) for label in LABELS}
    out += ["", "Confusion matrix (rows: label, columns: predicted)", ""]
    out.append("| label \\ predicted | " + " | ".join(short[x] for x in LABELS) + " |")
    out.append("|---" * (len(LABELS) + 1) + "|")
    for gold in LABELS:
        out.append(f"| {gold} | " + " | ".join(str(report.confusion[gold][p]) for p in LABELS) + " |")
    if errors:
        out += ["", "Misclassified:"]
        for m in report.misses:
            out.append(f"- [{m.item.lang}] {m.item.label} -> {m.predicted} ({m.cue}): {m.item.text}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the evaluation report for a labelled set."""
    parser = argparse.ArgumentParser(prog="python -m bot.review.analysis_eval", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="labelled TSV sets (default: all in tests/data)")
    parser.add_argument("--errors", action="store_true", help="list every misclassified utterance")
    args = parser.parse_args(argv)
    try:
        print(format_report(evaluate(args.paths or DEFAULT_SETS), errors=args.errors))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
