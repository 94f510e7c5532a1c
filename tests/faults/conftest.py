"""Run the real Telegram ``Application`` against the fake Bot API server with faults injected."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.channels.telegram import SEND_READ_TIMEOUT_SECONDS, build_application, on_polling_error
from bot.config import Settings
from bot.session import PersonaCatalog, SessionService
from bot.store.base import Store
from bot.store.sqlite import SqliteStore
from tests.factories import FixedClock
from tests.fakes.botapi import TEST_TOKEN, FakeBotApi
from tests.fakes.personas import tiny_catalog

POLL_TIMEOUT_SECONDS = 1
INBOX_CHECK_SECONDS = 0.02


async def inbox_settled(db: Path, timeout: float = 10.0) -> None:
    """Wait until the bot has marked every fetched update done, so a kill now replays nothing.

    A test that kills the bot right after seeing a reply and expects no repeat after the restart needs
    this: the done mark is committed a moment after the last reply was sent (see docs/delivery.md).
    """
    async with asyncio.timeout(timeout):
        while True:
            with closing(sqlite3.connect(db)) as conn:
                (pending,) = conn.execute("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL").fetchone()
            if pending == 0:
                return
            await asyncio.sleep(INBOX_CHECK_SECONDS)


@pytest.fixture(autouse=True)
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta periods as ``serve`` does, so a 429 raises no deprecation warning."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@dataclass
class Bot:
    """A running bot under test, with what it was built from (the persona file watch is off by default)."""

    api: FakeBotApi
    app: Application[Any, Any, Any, Any, Any, Any]
    store: Store
    service: SessionService
    settings: Settings


@asynccontextmanager
async def faulty_bot(
    api: FakeBotApi,
    tmp_path: Path,
    *,
    store: Store | None = None,
    catalog: PersonaCatalog | None = None,
    instructors: Iterable[int] = (),
    read_timeout: float = SEND_READ_TIMEOUT_SECONDS,
    watch_interval: float | None = None,
) -> AsyncIterator[Bot]:
    """Build the application and drive its lifecycle the way ``serve`` does, polling errors included."""
    settings = Settings(
        token=TEST_TOKEN,
        api_base_url=api.base_url,
        db_path=tmp_path / "understudy.sqlite3",
        personas_dir=tmp_path / "personas",
        instructors=frozenset(instructors),
        delay_scale=0.0,
    )
    clock = FixedClock()
    store = store or SqliteStore(settings.db_path, clock=clock)
    catalog = catalog or tiny_catalog()
    service = SessionService(store, catalog, clock, seed_source=lambda: 1)
    app = build_application(
        settings,
        store,
        catalog,
        clock=clock,
        service=service,
        read_timeout=read_timeout,
        watch_interval=watch_interval,
    )
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None and app.updater is not None
    await app.post_init(app)
    await app.updater.start_polling(
        poll_interval=0.0,
        timeout=POLL_TIMEOUT_SECONDS,
        allowed_updates=Update.ALL_TYPES,
        error_callback=on_polling_error,
    )
    await app.start()
    try:
        yield Bot(api, app, store, service, settings)
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)
