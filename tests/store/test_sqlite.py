"""SQLite-only behaviour: WAL, atomicity, locked and full databases, error translation, concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from bot.errors import StoreBusy, StoreError
from bot.store.sqlite import SqliteStore, translate_error
from tests.factories import FixedClock, engine_state, make_session, persona_turn, trainee_turn

BIG_TEXT = "x" * 200_000


@contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock from a second connection, as another process would."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield other
        finally:
            other.execute("ROLLBACK")


async def test_wal_mode_foreign_keys_and_busy_timeout_are_on(sqlite_store: SqliteStore) -> None:
    assert await sqlite_store.journal_mode() == "wal"
    conn = sqlite_store._require()  # the test inspects the live connection's pragmas
    assert list(await conn.execute_fetchall("PRAGMA foreign_keys")) == [(1,)]
    assert list(await conn.execute_fetchall("PRAGMA busy_timeout")) == [(50,)]


async def test_the_database_directory_is_created(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "a" / "b" / "db.sqlite3"
    async with SqliteStore(path, clock=clock):
        pass
    assert path.exists()


async def test_an_error_mid_transaction_rolls_everything_back(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    session = await make_session(sqlite_store)
    # A trigger makes SQLite itself fail on the exchange's second insert, after the trainee turn is written.
    with closing(sqlite3.connect(db_path)) as other:
        other.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON turns WHEN NEW.text = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
        )
        other.commit()
    with pytest.raises(StoreError, match="simulated failure") as caught:
        await sqlite_store.record_exchange(
            session.id, trainee_turn("fine"), [persona_turn("boom")], engine_state(1)
        )
    assert not isinstance(caught.value, StoreBusy)
    assert len(await sqlite_store.get_turns(session.id)) == 1
    assert await sqlite_store.get_session(session.id) == session
    # The connection is usable again at once.
    await sqlite_store.record_exchange(
        session.id, trainee_turn("fine"), [persona_turn("ok")], engine_state(1)
    )
    assert (await sqlite_store.get_session(session.id)).turns == 1


async def test_a_write_lock_held_elsewhere_gives_store_busy_and_writes_nothing(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    session = await make_session(sqlite_store)
    with write_lock_held(db_path):
        with pytest.raises(StoreBusy, match="locked"):
            await sqlite_store.record_exchange(session.id, trainee_turn(), [persona_turn()], engine_state(1))
        # Reads still work under WAL while another connection writes.
        assert (await sqlite_store.get_session(session.id)).turns == 0
    assert await sqlite_store.get_session(session.id) == session
    await sqlite_store.record_exchange(session.id, trainee_turn(), [persona_turn()], engine_state(1))
    assert (await sqlite_store.get_session(session.id)).turns == 1


async def test_a_full_disk_gives_store_busy_and_writes_nothing(sqlite_store: SqliteStore) -> None:
    session = await make_session(sqlite_store)
    conn = sqlite_store._require()  # cap the file at its current size to simulate a full disk
    ((pages,),) = list(await conn.execute_fetchall("PRAGMA page_count"))
    await conn.execute(f"PRAGMA max_page_count = {int(pages)}")
    with pytest.raises(StoreBusy, match="full"):
        await sqlite_store.record_exchange(
            session.id, trainee_turn(BIG_TEXT), [persona_turn()], engine_state(1)
        )
    assert await sqlite_store.get_session(session.id) == session
    assert len(await sqlite_store.get_turns(session.id)) == 1
    await conn.execute("PRAGMA max_page_count = 1073741823")
    await sqlite_store.record_exchange(session.id, trainee_turn(BIG_TEXT), [persona_turn()], engine_state(1))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sqlite3.OperationalError("database is locked"), StoreBusy),
        (sqlite3.OperationalError("database table is locked"), StoreBusy),
        (sqlite3.OperationalError("database or disk is full"), StoreBusy),
        (sqlite3.OperationalError("no such table: turns"), StoreError),
        (sqlite3.IntegrityError("UNIQUE constraint failed"), StoreError),
        (sqlite3.DatabaseError("file is not a database"), StoreError),
    ],
)
def test_translate_error(error: sqlite3.Error, expected: type[StoreError]) -> None:
    translated = translate_error(error)
    assert type(translated) is expected
    assert str(error) in str(translated)


async def test_a_file_that_is_not_a_database_gives_store_error(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a database"):
        await SqliteStore(path, clock=clock).open()


async def test_concurrent_exchanges_of_many_chats_are_all_stored(sqlite_store: SqliteStore) -> None:
    chats = 30
    exchanges = 5
    sessions = [await make_session(sqlite_store, trainee_id=100 + n) for n in range(chats)]

    async def talk(session_id: int) -> None:
        for n in range(1, exchanges + 1):
            await sqlite_store.record_exchange(
                session_id, trainee_turn(f"q{n}"), [persona_turn(f"a{n}")], engine_state(n)
            )

    await asyncio.gather(*(talk(s.id) for s in sessions))
    for session in sessions:
        turns = await sqlite_store.get_turns(session.id)
        assert [t.seq for t in turns] == list(range(1, 2 + 2 * exchanges))
        assert [t.text for t in turns[1::2]] == [f"q{n}" for n in range(1, exchanges + 1)]
        assert (await sqlite_store.get_session(session.id)).state["turn"] == exchanges


async def test_an_abandoned_stream_does_not_block_writers(sqlite_store: SqliteStore) -> None:
    for n in range(5):
        await make_session(sqlite_store, trainee_id=n + 1)
    stream = sqlite_store.iter_sessions(batch_size=2)
    first = await anext(stream)
    await make_session(sqlite_store, trainee_id=99)  # the lock is not held between batches
    await stream.aclose()
    assert first.id == 1


async def test_purged_text_does_not_survive_in_the_database_files(
    sqlite_store: SqliteStore, db_path: Path, clock: FixedClock
) -> None:
    marker = "UNIQUE-PURGE-MARKER-7f3a"
    await make_session(sqlite_store, exchanges=[(marker * 50, "reply")])
    clock.advance(days=100)
    assert await sqlite_store.purge_older_than(clock.now) == 1
    leftovers = [p.name for p in db_path.parent.iterdir() if marker.encode() in p.read_bytes()]
    assert leftovers == []
