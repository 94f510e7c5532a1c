"""The store fails on commit (another writer holds the lock; the disk is full): the trainee must repeat.

Each failure must give the trainee the "please repeat in a moment" message instead of silence, log one line,
crash nothing, and leave the stored engine state where it was, so the repeated message gets the answer the
first one would have got.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.i18n import t
from bot.store.base import SPEAKER_TRAINEE
from bot.store.sqlite import SqliteStore
from tests.channels.conftest import Trainee
from tests.fakes.botapi import FakeBotApi
from tests.faults.conftest import Bot, faulty_bot

VICTIM = "tiny_victim_en"
BUSY_TIMEOUT_MS = 200
BUSY = t("en", "store_busy")

pytestmark = pytest.mark.timeout(60)


class FullableStore(SqliteStore):
    """A SqliteStore whose disk can be made full: SQLite refuses to grow the file past its current size."""

    async def fill_disk(self) -> None:
        """Cap the database at its current pages, so the next write needing a page fails as SQLITE_FULL."""
        async with self._read() as conn:
            rows = list(await conn.execute_fetchall("PRAGMA page_count"))
            await conn.execute(f"PRAGMA max_page_count = {int(rows[0][0]):d}")

    async def free_disk(self) -> None:
        """Lift the cap."""
        async with self._read() as conn:
            await conn.execute("PRAGMA max_page_count = 1073741823")


@contextmanager
def second_writer(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the database's write lock from another connection, as a second process would."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def _trainee_texts(bot: Bot, chat_id: int) -> list[str]:
    session = await bot.store.get_open_session(chat_id)
    assert session is not None
    turns = await bot.store.get_turns(session.id)
    return [x.text for x in turns if x.speaker == SPEAKER_TRAINEE and x.event is None]


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.levelname} {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_locked_database_asks_to_repeat_and_keeps_the_state(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteStore(tmp_path / "understudy.sqlite3", busy_timeout_ms=BUSY_TIMEOUT_MS)
    async with faulty_bot(api, tmp_path, store=store) as bot:
        anna = Trainee(api, 701)
        anna.send(f"/start {VICTIM}")
        await anna.texts(5)
        before = await bot.store.get_open_session(anna.chat_id)
        assert before is not None
        caplog.clear()
        with second_writer(tmp_path / "understudy.sqlite3"):
            anna.send("Where is your passport?")
            assert await anna.texts(1) == [BUSY]
            assert len(_problems(caplog)) == 1, _problems(caplog)
            assert "database is locked" in _problems(caplog)[0]
            during = await bot.store.get_open_session(anna.chat_id)
            assert during is not None
            assert (during.turns, during.state) == (before.turns, before.state)
        anna.send("Where is your passport?")
        assert await anna.texts(2) == ["The foreman has my passport.", "He says it is safer."]
        after = await bot.store.get_open_session(anna.chat_id)
        assert after is not None and after.turns == 1 and after.state["turn"] == 1
        assert await _trainee_texts(bot, anna.chat_id) == ["Where is your passport?"]
    assert [p for p in _problems(caplog) if p.startswith(("ERROR", "CRITICAL"))] == []


async def test_a_locked_database_at_start_asks_to_repeat(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteStore(tmp_path / "understudy.sqlite3", busy_timeout_ms=BUSY_TIMEOUT_MS)
    async with faulty_bot(api, tmp_path, store=store) as bot:
        boris = Trainee(api, 702)
        caplog.clear()
        with second_writer(tmp_path / "understudy.sqlite3"):
            boris.send(f"/start {VICTIM}")
            assert await boris.texts(1) == [BUSY]
            assert len(_problems(caplog)) == 1, _problems(caplog)
            assert "database is locked" in _problems(caplog)[0]
        assert await bot.store.get_open_session(boris.chat_id) is None
        boris.send(f"/start {VICTIM}")
        assert len(await boris.texts(5)) == 5
        boris.send("hello")
        assert await boris.texts(1) == ["Hi. I am Mira."]


async def test_a_full_disk_asks_to_repeat_and_keeps_the_state(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FullableStore(tmp_path / "understudy.sqlite3")
    long_question = "hello, " + "tell me about your day and the people around you " * 60
    async with faulty_bot(api, tmp_path, store=store) as bot:
        anna = Trainee(api, 703)
        anna.send(f"/start {VICTIM}")
        await anna.texts(5)
        before = await bot.store.get_open_session(anna.chat_id)
        assert before is not None
        await store.fill_disk()
        caplog.clear()
        anna.send(long_question)
        assert await anna.texts(1) == [BUSY]
        assert len(_problems(caplog)) == 1, _problems(caplog)
        assert "disk is full" in _problems(caplog)[0]
        during = await bot.store.get_open_session(anna.chat_id)
        assert during is not None
        assert (during.turns, during.state) == (before.turns, before.state)
        await store.free_disk()
        anna.send(long_question)
        assert await anna.texts(1) == ["Hi. I am Mira."]
        after = await bot.store.get_open_session(anna.chat_id)
        assert after is not None and after.turns == 1 and after.state["vars"]["trust"] == 6
        assert await _trainee_texts(bot, anna.chat_id) == [long_question]
    assert [p for p in _problems(caplog) if p.startswith(("ERROR", "CRITICAL"))] == []
