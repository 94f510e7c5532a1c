"""The terminal interview with injected streams: briefing, replies, /why, --json and the debrief."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from bot.channels.console import play
from tests.factories import compiled


class StepClock:
    """A clock that advances one minute per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


# With this seed the tiny persona opens with "Yes? What do you want?", so "Hello." only ever answers the trainee.
SEED = 3


def run(lines: str, **kwargs: object) -> str:
    kwargs.setdefault("seed", SEED)
    out = io.StringIO()
    assert play(compiled(), io.StringIO(lines), out, clock=StepClock(), **kwargs) == 0  # type: ignore[arg-type]
    return out.getvalue()


def test_briefing_opening_replies_and_debrief() -> None:
    text = run("hello\nwhat is your name\n")
    assert "== Sam (victim, en) · Tiny case" in text
    assert "Your role: Inspector" in text
    assert "Sam: Hello." in text
    assert "Sam: I am Sam." in text
    assert "Debrief: Sam" in text
    assert "1 of 3" in text


def test_why_explains_the_last_answer() -> None:
    text = run("hello\n/why\n")
    assert "rule: greet (matched: @greeting)" in text
    assert "changes: trust 3 -> 4" in text
    assert "question type: other" in text


def test_why_shows_typo_corrections_and_runners_up() -> None:
    text = run("what is your name\nwhere is your pasport\n/why\n")
    assert "rule: passport_low" in text
    assert "typos read as: pasport -> passport" in text


def test_state_command_and_end_command() -> None:
    text = run("what is your name\n/state\n/end\nhello\n")
    assert "topic: work" in text
    assert "disclosed: name" in text
    assert "Sam: Hello." not in text  # nothing is answered after /end


def test_blank_lines_are_skipped() -> None:
    text = run("\n   \nhello\n")
    assert text.count("Sam: Hello.") == 1


def test_persona_ending_stops_the_interview() -> None:
    text = run("goodbye\nhello\n")
    assert "[the interview has ended: rule:bye]" in text
    assert "Hello." not in text.split("[the interview has ended")[1]


def test_json_prints_one_object_per_turn() -> None:
    out = io.StringIO()
    play(compiled(), io.StringIO("hello\nwhat is your name\n"), out, as_json=True, clock=StepClock())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["input"] for r in rows] == [None, "hello", "what is your name"]
    assert rows[1]["rule"] == "greet"
    assert rows[1]["state"] == {"trust": 4, "fear": 7, "patience": 2}
    assert rows[2]["disclosed"] == ["name"]
    assert rows[2]["topic"] == "work"
    assert set(rows[1]) >= {"input", "replies", "rule", "topic", "disclosed", "state", "question_type", "cue"}


def test_json_treats_slash_lines_as_utterances() -> None:
    out = io.StringIO()
    play(compiled(), io.StringIO("/why\n"), out, as_json=True, clock=StepClock())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[1]["input"] == "/why"
    assert rows[1]["rule"] is None


def test_same_seed_same_transcript() -> None:
    assert run("blah\nhello\n", seed=5) == run("blah\nhello\n", seed=5)


def test_seed_picks_the_opening_variant() -> None:
    assert "Sam: Yes? What do you want?" in run("", seed=3)
    assert "Sam: Who are you?" in run("", seed=1)
