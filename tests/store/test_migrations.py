"""Versioned migrations of the SQLite store: fresh database, re-open, upgrade, failure and guard rails."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.store.sqlite import Migration, SqliteStore, load_migrations, split_statements
from tests.factories import FixedClock, make_session

V2_SQL = """
-- adds a column and a table, with a comment at the end
ALTER TABLE trainees ADD COLUMN cohort TEXT;
CREATE TABLE cohorts (name TEXT PRIMARY KEY);  -- trailing comment; with a semicolon
-- done
"""


def _versions(path: Path) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()


def _tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_packaged_migrations_are_numbered_from_one() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].label == "0001_initial"


async def test_a_fresh_database_gets_every_migration(db_path: Path, clock: FixedClock) -> None:
    async with SqliteStore(db_path, clock=clock) as store:
        assert await store.schema_version() == len(load_migrations())
    assert _versions(db_path) == [(m.version, m.name) for m in load_migrations()]
    expected = {
        "schema_version",
        "meta",
        "trainees",
        "sessions",
        "turns",
        "notes",
        "persona_sources",
        "inbox",
    }
    assert expected <= _tables(db_path)


async def test_reopening_applies_nothing_twice_and_keeps_data(db_path: Path, clock: FixedClock) -> None:
    async with SqliteStore(db_path, clock=clock) as store:
        session = await make_session(store, exchanges=[("q", "a")])
    async with SqliteStore(db_path, clock=clock) as store:
        assert await store.get_session(session.id) == session
    assert _versions(db_path) == [(m.version, m.name) for m in load_migrations()]


async def test_a_version_1_database_is_upgraded_in_place(db_path: Path, clock: FixedClock) -> None:
    v1 = load_migrations()[:1]
    async with SqliteStore(db_path, clock=clock, migrations=v1) as store:
        session = await make_session(store, exchanges=[("q", "a")])
        assert await store.schema_version() == 1
    v2 = [*v1, Migration(2, "cohorts", V2_SQL)]
    async with SqliteStore(db_path, clock=clock, migrations=v2) as store:
        assert await store.schema_version() == 2
        assert await store.get_session(session.id) == session
    assert "cohorts" in _tables(db_path)
    with closing(sqlite3.connect(db_path)) as conn:
        assert "cohort" in [row[1] for row in conn.execute("PRAGMA table_info(trainees)")]


async def test_a_version_1_database_gets_the_inbox(db_path: Path, clock: FixedClock) -> None:
    v1 = load_migrations()[:1]
    async with SqliteStore(db_path, clock=clock, migrations=v1) as store:
        session = await make_session(store, exchanges=[("q", "a")])
    assert "inbox" not in _tables(db_path)
    async with SqliteStore(db_path, clock=clock) as store:
        assert await store.schema_version() == 2
        assert await store.get_session(session.id) == session
        assert await store.get_turns(session.id) != []
        assert await store.inbox_pending(10) == []
        await store.inbox_put([(5, '{"update_id": 5}')])
        assert await store.inbox_pending(10) == [(5, '{"update_id": 5}')]
    assert _versions(db_path) == [(1, "initial"), (2, "inbox")]


async def test_a_failing_migration_leaves_the_previous_version_intact(
    db_path: Path, clock: FixedClock
) -> None:
    v1 = load_migrations()[:1]
    async with SqliteStore(db_path, clock=clock, migrations=v1):
        pass
    broken = Migration(
        2, "broken", "CREATE TABLE half_done (x INTEGER);\nALTER TABLE no_such_table ADD COLUMN y;\n"
    )
    with pytest.raises(StoreError, match="migration 0002_broken failed"):
        await SqliteStore(db_path, clock=clock, migrations=[*v1, broken]).open()
    assert _versions(db_path) == [(1, "initial")]
    assert "half_done" not in _tables(db_path)


async def test_a_database_newer_than_the_code_is_refused(db_path: Path, clock: FixedClock) -> None:
    v1 = load_migrations()[:1]
    async with SqliteStore(
        db_path, clock=clock, migrations=[*v1, Migration(2, "future", "CREATE TABLE f (x);")]
    ):
        pass
    with pytest.raises(StoreError, match="schema version 2"):
        await SqliteStore(db_path, clock=clock, migrations=v1).open()


@pytest.mark.parametrize(
    ("names", "error"),
    [
        (["0001_a.sql", "0003_c.sql"], "without gaps"),
        (["0002_b.sql"], "without gaps"),
        (["0001_a.sql", "0001_b.sql"], "two migrations with version 0001"),
    ],
)
def test_badly_numbered_migrations_are_refused(tmp_path: Path, names: list[str], error: str) -> None:
    for name in names:
        (tmp_path / name).write_text("CREATE TABLE t (x);\n", encoding="utf-8")
    (tmp_path / "README.txt").write_text("ignored\n", encoding="utf-8")
    with pytest.raises(StoreError, match=error):
        load_migrations(tmp_path)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("CREATE TABLE a (x);\nCREATE TABLE b (y);\n", ["CREATE TABLE a (x);", "CREATE TABLE b (y);"]),
        ("-- only a comment\n", []),
        (
            "CREATE TABLE a (\n  x TEXT -- a; comment\n);\n-- tail\n",
            ["CREATE TABLE a (\n  x TEXT -- a; comment\n);"],
        ),
        (
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM b;\n  DELETE FROM c;\nEND;\n",
            ["CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM b;\n  DELETE FROM c;\nEND;"],
        ),
    ],
)
def test_split_statements(script: str, expected: list[str]) -> None:
    assert split_statements(script) == expected


def test_split_statements_refuses_an_unfinished_statement() -> None:
    with pytest.raises(StoreError, match="incomplete SQL statement"):
        split_statements("CREATE TABLE a (x);\nCREATE TABLE b (y)\n")
