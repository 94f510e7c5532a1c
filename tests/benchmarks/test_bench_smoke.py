"""Smoke runs of the benchmarks at toy sizes, so the scripts cannot rot. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 240


def run_module(*argv: str) -> str:
    """Run ``python -m <argv>`` from the repository root and return its output; fail on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.timeout(RUN_SECONDS + 30)
def test_e2e_runs_and_every_turn_is_stored() -> None:
    out = run_module("benchmarks.e2e", "--chats", "5", "--questions", "2")
    assert "## End to end: 5 chats x 2 questions" in out
    assert "| OK |" in out


@pytest.mark.timeout(RUN_SECONDS + 30)
def test_storage_runs_every_variant_and_export() -> None:
    out = run_module(
        "benchmarks.storage",
        "--write-sessions", "2", "--export-sizes", "3", "6", "--questions", "3", "--rounds", "1",
    )  # fmt: skip
    assert "| SqliteStore, 2 processes x concurrent |" in out
    for fmt, size in [("csv", 3), ("csv", 6), ("html", 3), ("html", 6)]:
        assert f"| {fmt} | {size} |" in out
