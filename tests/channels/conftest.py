"""Run the real Telegram ``Application`` against the fake Bot API server, the way ``run_polling`` would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.channels.telegram import build_application
from bot.config import Settings
from bot.i18n import t
from bot.session import SessionService
from bot.store.base import Store
from bot.store.sqlite import SqliteStore
from tests.factories import FixedClock
from tests.fakes import telegram_factories as tf
from tests.fakes.botapi import TEST_TOKEN, BotMessage, FakeBotApi
from tests.fakes.personas import TinyCatalog, tiny_catalog

POLL_TIMEOUT_SECONDS = 1
WAIT_SECONDS = 15.0


@dataclass
class Bot:
    """A running bot under test, with what it was built from."""

    api: FakeBotApi
    app: Application[Any, Any, Any, Any, Any, Any]
    store: Store
    settings: Settings
    catalog: TinyCatalog
    clock: FixedClock


@asynccontextmanager
async def running_bot(
    api: FakeBotApi,
    tmp_path: Path,
    *,
    instructors: Iterable[int] = (),
    store: Store | None = None,
    catalog: TinyCatalog | None = None,
    delay_scale: float = 0.0,
    service_factory: type[SessionService] | None = None,
) -> AsyncIterator[Bot]:
    """Build the application and drive its lifecycle in run_polling's order, on this test's event loop."""
    settings = Settings(
        token=TEST_TOKEN,
        api_base_url=api.base_url,
        db_path=tmp_path / "understudy.sqlite3",
        personas_dir=tmp_path / "personas",
        instructors=frozenset(instructors),
        delay_scale=delay_scale,
    )
    clock = FixedClock()
    store = store or SqliteStore(settings.db_path, clock=clock)
    catalog = catalog or tiny_catalog()
    service = (service_factory or SessionService)(store, catalog, clock, seed_source=lambda: 1)
    app = build_application(settings, store, catalog, clock=clock, service=service)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None and app.updater is not None
    await app.post_init(app)
    await app.updater.start_polling(
        poll_interval=0.0, timeout=POLL_TIMEOUT_SECONDS, allowed_updates=Update.ALL_TYPES
    )
    await app.start()
    try:
        yield Bot(api, app, store, settings, catalog, clock)
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)


@dataclass
class Trainee:
    """A person in a private chat with the bot: sends updates and reads the bot's new messages."""

    api: FakeBotApi
    user_id: int
    language_code: str | None = "en"
    first_name: str = "Anna"
    seen: int = 0
    language_code_ui: str = "en"
    user: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.user = tf.user(self.user_id, self.first_name, self.language_code)

    @property
    def chat_id(self) -> int:
        return self.user_id

    def send(self, text: str) -> dict[str, Any]:
        """Send a text message (or command)."""
        return self.api.queue(tf.text_update(self.user, text))

    def send_kind(self, kind: str) -> dict[str, Any]:
        """Send a non-text message."""
        return self.api.queue(tf.non_text_update(self.user, kind))

    def press(self, message: BotMessage, data: str) -> dict[str, Any]:
        """Press an inline button of a bot message."""
        assert data in [d for _, d in message.buttons], f"no button {data!r} in {message.buttons!r}"
        return self.api.queue(tf.callback_update(self.user, data, message.message_id))

    async def receive(self, count: int, timeout: float = WAIT_SECONDS) -> list[BotMessage]:
        """Wait for ``count`` new bot messages in this chat and return them."""
        messages = await self.api.wait_messages(self.chat_id, self.seen + count, timeout)
        new = messages[self.seen : self.seen + count]
        self.seen += count
        return new

    async def texts(self, count: int, timeout: float = WAIT_SECONDS) -> list[str]:
        """Wait for ``count`` new bot messages and return their texts."""
        return [m.text or m.caption or "" for m in await self.receive(count, timeout)]

    async def settle(self, timeout: float = WAIT_SECONDS) -> list[str]:
        """Send /help as a probe and return what the bot said before answering it.

        Updates of one chat are handled in order, so everything the bot was going to say about earlier
        updates has been sent once the probe's answer arrives.
        """
        probe = t(self.language_code_ui, "help")
        self.send("/help")

        def answered() -> bool:
            return any(x.startswith(probe) for x in self.api.texts(self.chat_id)[self.seen :])

        await self.api.wait_for(answered, timeout)
        texts = self.api.texts(self.chat_id)[self.seen :]
        self.seen += len(texts)
        return [x for x in texts if not x.startswith(probe)]
