"""The transcripts command line: list, show, export (md, json, csv, pseudonymised), note and purge."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ConfigError, NotFound
from bot.review import transcripts as t
from bot.store.base import NewTurn, Store
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore
from tests.factories import (
    EPOCH,
    FixedClock,
    SessionSpec,
    engine_state,
    make_session,
    persona_turn,
    trainee_turn,
)

NASTY = "<script>alert('x')</script> **bold** [link](javascript:alert(1)) `code` &lt; | a | ~~s~~ \\"
NAME = "Olga Petrova"
TRAINEE_ID = 987654321
FLAT_MEMORY_TOLERANCE = 1.5  # four times the sessions may not cost 1.5 times the memory


@pytest.fixture
def clock() -> FixedClock:
    """Return a clock that moves only when the test says so."""
    return FixedClock()


@pytest.fixture
async def store(clock: FixedClock) -> AsyncIterator[Store]:
    """Yield an open in-memory store."""
    async with MemoryStore(clock=clock) as memory:
        yield memory


async def _interview(store: Store, clock: FixedClock, trainee_id: int = TRAINEE_ID, name: str = NAME) -> int:
    """Store a session with annotated turns, an event, nasty text and a note; return its id."""
    session = await make_session(
        store, spec=SessionSpec(trainee_id=trainee_id, display_name=name, opening=("Hello.",))
    )
    clock.advance(seconds=20)
    await store.record_exchange(
        session.id,
        trainee_turn(
            f"Hi, I am {name.split()[0]}, inspector #{trainee_id}.",
            question_type="other",
            cue="greeting",
            extra={"matched": [name.split()[0].lower(), "inspector"]},
        ),
        [
            persona_turn(
                "Hello. I am Aziz.", rule="greet", disclosed=("name_origin",), changes={"trust": [3, 4]}
            )
        ],
        engine_state(1),
    )
    clock.advance(seconds=20)
    await store.record_exchange(session.id, trainee_turn(NASTY), [persona_turn("What?")], engine_state(2))
    await store.record_event(session.id, NewTurn("trainee", "", event={"kind": "location", "latitude": 55.7}))
    await store.add_note(session.id, "instructor:4242", f"{name} built rapport well.")
    return session.id


# -- escaping ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain words", "plain words"),
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("  * item", "  \\* item"),
        ("1. first", "1\\. first"),
        ("12) twelfth", "12\\) twelfth"),
        ("> quoted", "\\> quoted"),
        ("---", "\\---"),
        ("===", "\\==="),
        ("```", "\\`\\`\\`"),
        ("<b>x</b>", "\\<b\\>x\\</b\\>"),
        ("[a](b)", "\\[a\\]\\(b\\)"),
        ("a_b*c", "a\\_b\\*c"),
        ("&amp;", "\\&amp;"),
        ("back\\slash", "back\\\\slash"),
        ("| a | b |", "\\| a \\| b \\|"),
        ("line one\n# two\r\n- three", "line one\n\\# two\n\\- three"),
        ("bell\x07 and esc\x1b[2J", "bell\ufffd and esc\ufffd\\[2J"),
        ("e-mail 3.5 ok", "e-mail 3.5 ok"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert t.escape_markdown(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-x", "'-x"),
        ("@a", "'@a"),
        ("\tx", "'\tx"),
        ("ok = 1", "ok = 1"),
    ],
)
def test_csv_safe(text: str, expected: str) -> None:
    assert t.csv_safe(text) == expected


def test_visible_controls() -> None:
    assert t.visible_controls("a\x1b[31mred\x07\nnext\tcol") == "a\\x1b[31mred\\x07\nnext\tcol"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        (" 3D ", timedelta(days=3)),
    ],
)
def test_parse_age(text: str, expected: timedelta) -> None:
    assert t.parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "90", "d", "-5d", "1.5d", "90 days", "0d", "99999999999w", "3m"])
def test_parse_age_refuses(text: str) -> None:
    with pytest.raises(ConfigError):
        t.parse_age(text)


# -- markdown rendering --------------------------------------------------------------------------------------


async def test_markdown_transcript_keeps_trainee_text_inert(store: Store, clock: FixedClock) -> None:
    session_id = await _interview(store, clock)
    document = await t.markdown_transcript(store, session_id)
    assert "<script>" not in document
    assert "\\<script\\>alert\\('x'\\)\\</script\\> \\*\\*bold\\*\\*" in document
    body = document.split("## Transcript", 1)[1]
    # Every line of a turn is inside a blockquote; only the renderer's own lines start otherwise.
    for line in body.splitlines():
        assert line == "" or line.startswith((">", "**", "- ", "## ")), line
    assert "**Trainee** · 09:00:20 · question other \\(cue: greeting\\)" in document
    assert "rule greet; disclosed name\\_origin; trust 3→4" in document
    assert "event location" in document
    assert f"- **Trainee:** {NAME} (id {TRAINEE_ID})" in document
    assert "instructor:4242: Olga Petrova built rapport well." in document


async def test_markdown_multiline_text_stays_in_the_quote(store: Store, clock: FixedClock) -> None:
    session = await make_session(store, exchanges=[("first\n# not a heading\n\n- not a list", "ok")])
    document = await t.markdown_transcript(store, session.id)
    assert "> first\n> \\# not a heading\n>\n> \\- not a list\n" in document


# -- list and show -------------------------------------------------------------------------------------------


async def test_list_prints_a_table_newest_first(store: Store, clock: FixedClock) -> None:
    first = await _interview(store, clock)
    clock.advance(minutes=5)
    second = await make_session(store, trainee_id=5, display_name="Bob")
    await store.end_session(second.id, "trainee")
    out = io.StringIO()
    assert await t.cmd_list(store, out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["ID", "STARTED", "(UTC)", "STATUS", "TURNS", "PERSONA", "TRAINEE"]
    assert lines[1].startswith(f"{second.id}  ") and "ended (trainee)" in lines[1] and "Bob (5)" in lines[1]
    assert lines[2].startswith(f"{first}  ") and " open " in lines[2] and f"{NAME} ({TRAINEE_ID})" in lines[2]


async def test_list_json_and_limit(store: Store, clock: FixedClock) -> None:
    session_id = await _interview(store, clock)
    await make_session(store, trainee_id=5)
    out = io.StringIO()
    await t.cmd_list(store, out, as_json=True, limit=5)
    listed = json.loads(out.getvalue())
    assert [row["id"] for row in listed] == [session_id + 1, session_id]
    assert listed[1] == {
        "id": session_id,
        "trainee": NAME,
        "trainee_id": str(TRAINEE_ID),
        "chat_id": str(TRAINEE_ID),
        "persona_id": "construction_victim_en",
        "persona_version": "v-0001",
        "persona_language": "en",
        "started_at": EPOCH.isoformat(),
        "ended_at": None,
        "end_reason": None,
        "status": "open",
        "turns": 2,
        "notes": 1,
    }
    out = io.StringIO()
    await t.cmd_list(store, out, limit=1)
    assert out.getvalue().splitlines()[-1] == "(1 of 2 sessions shown; use --limit to see more)"


async def test_list_says_when_there_is_nothing(store: Store) -> None:
    out = io.StringIO()
    await t.cmd_list(store, out)
    assert out.getvalue() == "No sessions stored yet.\n"
    out = io.StringIO()
    await t.cmd_list(store, out, as_json=True)
    assert json.loads(out.getvalue()) == []


async def test_show_prints_the_transcript_with_controls_visible(store: Store, clock: FixedClock) -> None:
    session = await make_session(store, exchanges=[("red \x1b[31malert\x07", "fine")])
    await store.add_note(session.id, "cli", "watch this")
    out = io.StringIO()
    assert await t.cmd_show(store, out, session.id) == 0
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert "[09:00:00] trainee: red \\x1b[31malert\\x07" in text
    assert "[09:00:00] persona: fine" in text
    assert text.splitlines()[-1] == "- 2026-01-05 09:00:00 UTC cli: watch this"


async def test_show_of_an_unknown_session_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await t.cmd_show(store, io.StringIO(), 404)


# -- note and purge ------------------------------------------------------------------------------------------


async def test_note_is_stored_and_confirmed(store: Store) -> None:
    session = await make_session(store)
    out = io.StringIO()
    assert await t.cmd_note(store, out, session.id, "Asked good open questions.") == 0
    assert out.getvalue() == f"Note added to session {session.id}.\n"
    assert [(n.author, n.text) for n in (await store.get_session(session.id)).notes] == [
        ("cli", "Asked good open questions.")
    ]


@pytest.mark.parametrize(("session_id", "text", "error"), [(1, "  ", ConfigError), (404, "x", NotFound)])
async def test_note_refuses_empty_text_and_unknown_sessions(
    store: Store, session_id: int, text: str, error: type[Exception]
) -> None:
    await make_session(store)
    with pytest.raises(error):
        await t.cmd_note(store, io.StringIO(), session_id, text)


async def test_purge_deletes_and_says_how_many(store: Store, clock: FixedClock) -> None:
    await make_session(store, trainee_id=1)
    await make_session(store, trainee_id=2)
    clock.advance(days=95)
    kept = await make_session(store, trainee_id=3)
    out = io.StringIO()
    assert await t.cmd_purge(store, out, "90d") == 0
    assert out.getvalue() == "Purged 2 sessions last active before 2026-01-10 09:00:00 UTC.\n"
    assert [s.id for s in await store.list_sessions()] == [kept.id]
    out = io.StringIO()
    await t.cmd_purge(store, out, "90d")
    assert out.getvalue().startswith("Purged 0 sessions")


# -- exports -------------------------------------------------------------------------------------------------


async def test_export_markdown_writes_one_file_per_session(
    store: Store, clock: FixedClock, tmp_path: Path
) -> None:
    first = await _interview(store, clock)
    second = (await make_session(store, trainee_id=2)).id
    result = await t.cmd_export(store, tmp_path / "out", "md")
    assert result.sessions == 2
    assert [p.name for p in result.paths] == [f"session-{first:06d}.md", f"session-{second:06d}.md"]
    assert result.paths[0].read_text(encoding="utf-8") == await t.markdown_transcript(store, first)


async def test_export_json_is_verbatim(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    session_id = await _interview(store, clock)
    result = await t.cmd_export(store, tmp_path, "json")
    document = json.loads(result.paths[0].read_text(encoding="utf-8"))
    assert document["session"]["trainee"] == NAME
    assert document["state"] == engine_state(2)
    assert [turn["speaker"] for turn in document["turns"]] == [
        "persona",
        "trainee",
        "persona",
        "trainee",
        "persona",
        "trainee",
    ]
    assert document["turns"][3]["text"] == NASTY
    assert document["turns"][2]["disclosed"] == ["name_origin"]
    assert document["turns"][5]["event"] == {"kind": "location", "latitude": 55.7}
    assert document["notes"] == [
        {
            "at": EPOCH.replace(second=40).isoformat(),
            "author": "instructor:4242",
            "text": f"{NAME} built rapport well.",
        }
    ]
    assert session_id == document["session"]["id"]


async def test_export_csv_has_one_row_per_turn(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    await _interview(store, clock)
    await make_session(store, trainee_id=2, exchanges=[('=HYPERLINK("http://x")', "line one\nline two")])
    result = await t.cmd_export(store, tmp_path, "csv")
    assert [p.name for p in result.paths] == ["turns.csv"]
    with result.paths[0].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 + 3
    assert list(rows[0]) == list(t.CSV_COLUMNS)
    assert rows[3]["text"] == NASTY
    assert rows[2]["disclosed"] == "name_origin" and json.loads(rows[2]["changes"]) == {"trust": [3, 4]}
    assert rows[7]["text"] == '\'=HYPERLINK("http://x")'
    assert rows[8]["text"] == "line one\nline two"
    assert [r["seq"] for r in rows[6:]] == ["1", "2", "3"]


async def test_pseudonymised_exports_contain_no_name_or_id(
    store: Store, clock: FixedClock, tmp_path: Path
) -> None:
    await _interview(store, clock)
    for fmt in ("md", "json", "csv"):
        result = await t.cmd_export(store, tmp_path / fmt, fmt, pseudonymize=True)
        for path in result.paths:
            content = path.read_text(encoding="utf-8")
            for secret in ("Olga", "Petrova", str(TRAINEE_ID), "4242", "55.7"):
                assert secret not in content, (fmt, secret)
            assert re.search(r"Trainee-[0-9a-f]{8}", content), fmt
    document = json.loads(next((tmp_path / "json").iterdir()).read_text(encoding="utf-8"))
    alias = document["session"]["trainee"]
    assert document["session"]["trainee_id"] == alias
    assert re.fullmatch(r"Chat-[0-9a-f]{8}", document["session"]["chat_id"])
    assert document["turns"][1]["text"] == f"Hi, I am {alias}, inspector #{alias}."
    assert document["turns"][1]["extra"] == {"matched": [alias, "inspector"]}
    assert document["notes"][0]["author"].startswith("Instructor-")
    assert document["notes"][0]["text"] == f"{alias} built rapport well."


async def test_pseudonyms_are_stable_per_database_and_distinct_per_trainee(
    tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "db.sqlite3"
    async with SqliteStore(path, clock=clock) as store:
        await _interview(store, clock)
        await _interview(store, clock, trainee_id=111, name="Ivan Sidorov")
        first = await t.cmd_export(store, tmp_path / "a", "json", pseudonymize=True)
    async with SqliteStore(path, clock=clock) as store:
        second = await t.cmd_export(store, tmp_path / "b", "json", pseudonymize=True)
        salt = await store.meta_get(t.SALT_META_KEY)

    def aliases(paths: list[Path]) -> list[str]:
        return [json.loads(p.read_text(encoding="utf-8"))["session"]["trainee"] for p in paths]

    assert aliases(first.paths) == aliases(second.paths)
    assert len(set(aliases(first.paths))) == 2
    assert salt is not None and len(bytes.fromhex(salt)) == t.SALT_BYTES
    # A different database (salt) gives different pseudonyms for the same trainee.
    async with MemoryStore(clock=clock) as other:
        await _interview(other, clock)
        third = await t.cmd_export(other, tmp_path / "c", "json", pseudonymize=True)
    assert aliases(third.paths)[0] != aliases(first.paths)[0]


async def test_export_streams_across_batches(tmp_path: Path, clock: FixedClock) -> None:
    count = 250  # more than one batch of iter_sessions
    async with SqliteStore(tmp_path / "db.sqlite3", clock=clock) as store:
        for n in range(count):
            await make_session(store, trainee_id=n + 1, opening=("Hi.",))
        result = await t.cmd_export(store, tmp_path / "out", "csv")
    with result.paths[0].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert result.sessions == count
    assert [int(r["session_id"]) for r in rows] == list(range(1, count + 1))


async def test_export_of_an_unknown_format_names_the_known_ones(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="available: csv, html, json, md"):
        await t.cmd_export(store, tmp_path, "pdf")


async def test_a_registered_exporter_is_used(
    store: Store, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    async def fake_html(items: AsyncIterator[t.ExportItem], out_dir: Path, personas: Any) -> list[Path]:
        async for item in items:
            seen.append(item.session.id)
        return [out_dir / "index.html"]

    monkeypatch.setitem(t.EXPORTERS, "html", fake_html)
    session_id = await _interview(store, clock)
    result = await t.cmd_export(store, tmp_path, "html")
    assert (seen, result.sessions, result.paths) == ([session_id], 1, [tmp_path / "index.html"])


async def test_export_of_chosen_sessions(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    await make_session(store, trainee_id=1)
    second = await make_session(store, trainee_id=2)
    result = await t.cmd_export(store, tmp_path, "md", session_ids=[second.id])
    assert [p.name for p in result.paths] == [f"session-{second.id:06d}.md"]


# -- run_cli -------------------------------------------------------------------------------------------------


def _args(action: str, **fields: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {
        "json": False,
        "limit": 50,
        "format": "md",
        "out": "exports",
        "pseudonymize": False,
    }
    return argparse.Namespace(action=action, **{**defaults, **fields})


async def test_run_cli_dispatches_every_action(store: Store, clock: FixedClock, tmp_path: Path) -> None:
    session_id = await _interview(store, clock)
    cases = [
        (_args("list"), "ID"),
        (_args("show", id=session_id), f"Session {session_id}"),
        (_args("note", id=session_id, text="Good."), "Note added"),
        (_args("export", format="csv", out=str(tmp_path)), "Exported 1 session as csv"),
        (_args("purge", older_than="1w"), "Purged 0 sessions"),
    ]
    for args, expected in cases:
        out = io.StringIO()
        await store.open()  # run_cli closes the store it was given
        assert await t.run_cli(args, out, store=store) == 0
        assert out.getvalue().startswith(expected), out.getvalue()


async def test_run_cli_without_a_database_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNDERSTUDY_DB", str(tmp_path / "none.sqlite3"))
    out = io.StringIO()
    assert await t.run_cli(_args("list"), out) == 0
    assert out.getvalue() == f"No transcript database at {tmp_path / 'none.sqlite3'} yet; nothing to list.\n"
    with pytest.raises(NotFound, match="no transcript database"):
        await t.run_cli(_args("show", id=1), out)
    assert not (tmp_path / "none.sqlite3").exists()


async def test_run_cli_opens_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    path = tmp_path / "db.sqlite3"
    async with SqliteStore(path, clock=clock) as store:
        session_id = await _interview(store, clock)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNDERSTUDY_DB", str(path))
    out = io.StringIO()
    assert await t.run_cli(_args("list", json=True), out) == 0
    assert [row["id"] for row in json.loads(out.getvalue())] == [session_id]


async def _export_peak(tmp_path: Path, clock: FixedClock, sessions: int) -> int:
    """Return the peak memory (bytes) of a CSV export of ``sessions`` sessions."""
    async with SqliteStore(tmp_path / f"db{sessions}.sqlite3", clock=clock) as store:
        for n in range(sessions):
            await make_session(
                store, trainee_id=n + 1, exchanges=[("Where do you sleep?", "In the container.")]
            )
        tracemalloc.start()
        try:
            await t.cmd_export(store, tmp_path / f"out{sessions}", "csv")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


async def test_export_memory_stays_flat_as_sessions_grow(tmp_path: Path, clock: FixedClock) -> None:
    # Both sizes exceed one iter_sessions batch, so a streaming export peaks at about the same memory.
    small = await _export_peak(tmp_path, clock, 250)
    large = await _export_peak(tmp_path, clock, 1000)
    assert large < small * FLAT_MEMORY_TOLERANCE


async def test_the_html_format_is_loaded_on_first_use(
    store: Store, clock: FixedClock, tmp_path: Path
) -> None:
    await _interview(store, clock)
    result = await t.cmd_export(store, tmp_path, "html", pseudonymize=True)
    assert "index.html" in [p.name for p in result.paths]
    assert result.sessions == 1
    assert NAME not in "".join(p.read_text(encoding="utf-8") for p in result.paths)
