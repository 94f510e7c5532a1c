"""Fixtures for the store tests: a fake clock and each Store implementation, fresh per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.base import Store
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore
from tests.factories import FixedClock

# Short, so a test of a held lock fails over to StoreBusy quickly.
TEST_BUSY_TIMEOUT_MS = 50


@pytest.fixture
def clock() -> FixedClock:
    """Return a clock that moves only when the test says so."""
    return FixedClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Return a fresh database path in a directory that does not exist yet."""
    return tmp_path / "transcripts" / "understudy.sqlite3"


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, clock: FixedClock, db_path: Path) -> AsyncIterator[Store]:
    """Yield an open store of each implementation; the contract suite runs against both."""
    impl: Store
    if request.param == "memory":
        impl = MemoryStore(clock=clock)
    else:
        impl = SqliteStore(db_path, clock=clock, busy_timeout_ms=TEST_BUSY_TIMEOUT_MS)
    await impl.open()
    yield impl
    await impl.close()


@pytest.fixture
async def sqlite_store(clock: FixedClock, db_path: Path) -> AsyncIterator[SqliteStore]:
    """Yield an open SQLite store on a file."""
    impl = SqliteStore(db_path, clock=clock, busy_timeout_ms=TEST_BUSY_TIMEOUT_MS)
    await impl.open()
    yield impl
    await impl.close()
