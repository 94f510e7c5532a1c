"""The Telegram channel: a python-telegram-bot v22 ``Application`` that speaks for the session service.

Handlers only translate: an ``Update`` becomes a chat id, a trainee id and text; the :class:`SessionService`
answers; the :class:`Outcome` becomes messages. No dialogue logic lives here.

Order and concurrency. PTB runs updates concurrently but has no per-chat ordering, so
:class:`PerChatUpdateProcessor` keeps one ``asyncio.Lock`` per chat: updates of one chat run strictly in the
order they were fetched, updates of different chats run concurrently. The fetcher creates one task per update
in arrival order and a task reaches the lock without suspending first, so the lock's FIFO queue is the arrival
order. Typing delays are ``asyncio.sleep`` inside the chat's lock: they hold up that chat only.

Delivery (the full statement, with what the tests prove, is ``docs/delivery.md``).

- *Turns.* A turn is committed by the service before any reply is sent, so every reply a trainee saw is in
  the database. The store records each turn with its ``update_id``: an update handled twice (a replay from
  the inbox, Telegram redelivering it) is answered from the stored replies and recorded once.
- *Updates in: the update inbox.* PTB confirms a fetched batch with its next ``getUpdates`` call, before
  the updates are handled, and Telegram never sends a confirmed update again. So :class:`TolerantBot` puts
  every fetched batch (raw JSON) in the store's inbox before ``get_updates`` returns, which is before PTB can
  confirm it; :class:`PerChatUpdateProcessor` marks an update done once its handlers have finished, still
  inside its chat's lock (:class:`InboxMarks`, one transaction for the marks of many chats); at start-up,
  before polling, :func:`replay_inbox` handles the pending ones through the same processor, in order per
  chat. A process killed with updates in flight (even SIGKILL) thus loses none: each trainee message is
  recorded exactly once (turns are idempotent on ``update_id``) and answered. Replies are *at-least-once*
  for the one update per chat that was being handled at the kill: if its turn was committed, its stored
  replies are sent again in full, so the ones the trainee already read arrive a second time (never a
  third). Replayed commands and buttons are harmless: a Begin press, deep link or ``/restart`` that
  already began the open session says its stored opening again instead of beginning another (the opening
  turns carry the ``update_id``), an event is recorded once, ``/end`` finds no open session, the rest only
  show a message again. Updates Telegram delivers again after a restart (fetched, not yet confirmed) are
  known to the inbox as handled and dropped. Done entries are forgotten once a later offset has confirmed
  them (or after a day), so the inbox holds little more than the updates in flight. If the store cannot
  write the inbox (locked, disk full) the batch is served anyway, without this protection, and one line
  is logged per outage (:class:`InboxHealth`).
- A failed ``getUpdates`` (429, 5xx, timeout, lost connection) confirms nothing and is retried by PTB's
  polling loop with its backoff (:func:`on_polling_error` logs it). A malformed update is logged and
  skipped (:class:`TolerantBot`, :meth:`TelegramChannel.on_any_update`).
- *Replies out.* Every Bot API call goes through :meth:`TelegramChannel._deliver`: 429 waits ``retry_after``;
  5xx answers, lost connections and timeouts are retried with exponential backoff (0.5 s doubling, capped
  at 8 s, :data:`SEND_ATTEMPTS` tries in all); 400/403 are final. Telegram has no idempotency key, so when a
  call was sent and no answer came back (a read timeout, a connection lost mid-request) the retry may
  deliver the message a second time: *at-least-once* on those ambiguous failures, *exactly-once* when
  Telegram refused the call (429; a 5xx answer is assumed to mean the same, which the Bot API does not
  document) or the request never left (connect or pool failures). A typing action that
  keeps failing is skipped; a reply that keeps failing is given up after about 7.5 s of backoff and logged,
  and its turn stays recorded.

Persona reload. With a :class:`~bot.session.LiveCatalog` (what ``serve`` builds), instructors can send
``/reload`` and a background task polls the persona files' mtime and size every
:data:`PERSONA_WATCH_SECONDS`; either reloads the catalogue in a worker thread. New sessions get the new
versions, running ones keep theirs, and a broken file keeps its persona's last good version.

Security. The token is redacted from every log record (:func:`install_token_redaction`) and httpx, which logs
full request URLs at INFO, is set to WARNING.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.config import ENV_TOKEN, Settings
from bot.errors import ChannelError, ConfigError, NotFound, PersonaNotFound, StoreBusy, StoreError
from bot.i18n import SUPPORTED_LANGUAGES, language_name, pick_language, t
from bot.persona.model import Persona
from bot.review.debrief import render_debrief_text
from bot.review.report import cohort_index_html, session_report_html, stored_persona_lookup
from bot.review.transcripts import plain_item, render_markdown
from bot.session import (
    EVENT_EDITED,
    CatalogEntry,
    LiveCatalog,
    Outcome,
    OutcomeKind,
    PersonaCatalog,
    ReloadReport,
    SessionService,
)
from bot.store.base import Clock, Store, utc_now

logger = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 1024
"""Updates in flight at once. High, because an update waiting for its chat's lock holds one slot."""
MAX_TEXT_CHARS = 4096
TYPING_BASE_SECONDS = 0.4
TYPING_SECONDS_PER_CHAR = 0.025
TYPING_MAX_SECONDS = 4.0
"""Telegram shows 'typing…' for about five seconds; longer pauses would need the action repeated."""
SEND_ATTEMPTS = 5
"""Tries of one Bot API call (the first and four retries) before a reply is given up."""
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_FACTOR = 2.0
BACKOFF_MAX_SECONDS = 8.0
"""Waits between tries grow 0.5, 1, 2, 4 s (capped): about 7.5 s in all before a call is given up."""
RETRY_AFTER_MAX_SECONDS = 60.0
"""A longer flood wait is not sat out: the chat's lock would hold its later messages for too long."""
SEND_READ_TIMEOUT_SECONDS = 5.0
"""How long a send waits for Telegram's answer; after it the outcome is unknown (see Delivery)."""
SEND_POOL_SIZE = 256
"""Connections for sending; PTB's own default, kept when the bot is built here rather than by the builder."""
SESSIONS_LISTED = 15
CALLBACK_DATA_BYTES = 64

REPLAY_BATCH = 256
"""Inbox updates replayed at once at start-up (below MAX_CONCURRENT_UPDATES, so order is kept)."""

GUARD_GROUP = -1
"""Handler group of the update guard, tried before every other handler."""

CB_CHOOSE = "p:"
CB_BEGIN = "b:"
CB_LANGUAGE = "l:"
CB_NOOP = "noop"

TRAINEE_COMMANDS = ("start", "personas", "end", "restart", "help", "language")
INSTRUCTOR_COMMANDS = ("sessions", "transcript", "cohort", "note", "reload")
PERSONA_WATCH_SECONDS = 3.0
"""How often the persona directory is checked for changed files (mtime and size; no extra dependency)."""
NATIVE_LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}

NON_TEXT_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
    "invoice",
)

Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]

# -- logging ------------------------------------------------------------------------------------------------

_secrets: set[str] = set()
_base_factory: Callable[..., logging.LogRecord] | None = None
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    """Replace every registered secret in ``text``."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


def install_token_redaction(token: str) -> None:
    """Redact ``token`` from every log record created from now on, whatever logger or handler.

    A record factory is used rather than a handler filter because filters on a logger do not see records
    propagated from child loggers, and handlers (pytest's included) come and go.
    """
    global _base_factory
    if token:
        _secrets.add(token)
    if _base_factory is not None:
        return
    base = logging.getLogRecordFactory()
    _base_factory = base

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        if not _secrets:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break logging; leave it for the handler to report
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)


def quiet_http_logs() -> None:
    """Keep httpx from logging request URLs, which carry the token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for name in PTB_BOT_LOGGERS:
        bot_logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietParseFailure) for f in bot_logger.filters):
            bot_logger.addFilter(_QuietParseFailure())


# -- ordering -----------------------------------------------------------------------------------------------


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Run updates of one chat strictly in order and updates of different chats concurrently.

    With ``on_done``, each update's id is handed to it (and awaited) once its handlers have finished, still
    inside the chat's lock: the update inbox marks it done before the chat's next update starts, so at a
    crash at most one handled update per chat is still pending (see :class:`InboxMarks`).
    """

    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        on_done: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self._on_done = on_done

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise  # not handled: the inbox keeps it for the replay at the next start
        except Exception:
            # PTB hands handler errors to the error handler; what escapes it would fail again on replay.
            await self._done(update)
            raise
        await self._done(update)

    async def _done(self, update: object) -> None:
        if self._on_done is not None and isinstance(update, Update):
            await self._on_done(update.update_id)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's coroutine while holding its chat's lock, then report it done."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await self._handle(update, coroutine)
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await self._handle(update, coroutine)
        finally:
            # Drop the lock when no update of the chat is waiting, so memory follows the active chats.
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release; PTB waits for the updates in flight before calling this."""


# -- update inbox ------------------------------------------------------------------------------------------


class InboxHealth:
    """Log the update inbox's write failures once per outage, at INFO.

    The inbox fails only when the store does (locked, disk full); the handlers then meet the same trouble
    and log it as the warning of record, so one line per outage here says what it costs: crash protection.
    """

    def __init__(self) -> None:
        self.failing = False

    def failed(self, what: str, exc: StoreError) -> None:
        """Note a failed inbox write; log the first of an outage."""
        if not self.failing:
            self.failing = True
            logger.info("update inbox unavailable (%s), updates are not protected against a crash: %s", what, exc)

    def ok(self) -> None:
        """Note a successful inbox write; log the end of an outage."""
        if self.failing:
            self.failing = False
            logger.info("update inbox works again")


class InboxMarks:
    """Mark handled updates done in the store's inbox, many in one transaction (group commit).

    :meth:`mark` waits until its id is committed. While one write runs, the ids of other chats' finished
    updates gather and go out together in the next, so a burst costs few transactions and a quiet bot
    still marks each update at once. A failed write is logged and its updates stay pending: they are
    replayed at the next start (at-least-once, see the module docstring).
    """

    def __init__(self, store: Store, health: InboxHealth | None = None) -> None:
        self.store = store
        self.health = health or InboxHealth()
        self._ids: list[int] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._writer: asyncio.Task[None] | None = None
        self._unmarked: list[int] = []

    async def mark(self, update_id: int) -> None:
        """Mark one update done; return once that is committed (or has failed and been logged)."""
        waiter = asyncio.get_running_loop().create_future()
        self._ids.append(update_id)
        self._waiters.append(waiter)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="understudy:inbox-marks")
        # Shielded: a cancelled handler must not cancel the write that other chats wait for.
        await asyncio.shield(waiter)

    async def _write(self) -> None:
        while self._ids:
            ids, waiters = self._ids, self._waiters
            self._ids, self._waiters = [], []
            try:
                await self.store.inbox_done([*self._unmarked, *ids])
                self._unmarked.clear()
                self.health.ok()
            except StoreError as exc:
                # Retried with the next marks: a pending update of a chat that has moved on would be
                # replayed out of place after a restart. Until then its chat is not held up.
                self._unmarked.extend(ids)
                self.health.failed(f"{len(self._unmarked)} updates not marked done", exc)
            finally:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def drain(self) -> None:
        """Wait for the marks still being written, and retry failed ones once (before the store closes)."""
        writer = self._writer
        if writer is not None:
            await asyncio.shield(writer)
        if self._unmarked:
            with contextlib.suppress(StoreError):
                await self.store.inbox_done(self._unmarked)
                self._unmarked.clear()


async def replay_inbox(app: Application[Any, Any, Any, Any, Any, Any], store: Store) -> int:
    """Handle the updates a previous process fetched but did not finish, in order; return how many.

    They go through the update processor like fetched updates (per-chat order, marked done when handled),
    before polling starts. Telegram may deliver some of them again; the inbox then knows them as handled.
    """
    bot = app.bot
    replayed = 0
    after: int | None = None
    while True:
        try:
            batch = await store.inbox_pending(REPLAY_BATCH, after)
        except StoreError as exc:
            logger.warning("could not read the update inbox; pending updates are not replayed: %s", exc)
            return replayed
        if not batch:
            return replayed
        after = batch[-1][0]
        updates: list[Update] = []
        for update_id, raw in batch:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
            update = bot.parse_one(data) if isinstance(bot, TolerantBot) else Update.de_json(data, bot)
            if update is None:
                with contextlib.suppress(StoreError):
                    await store.inbox_done([update_id])
                continue
            updates.append(update)
        processor = app.update_processor
        # Tasks are created in update order and reach their chat's FIFO lock without suspending first.
        tasks = [
            asyncio.create_task(
                processor.process_update(u, app.process_update(u)), name=f"understudy:replay:{u.update_id}"
            )
            for u in updates
        ]
        await asyncio.gather(*tasks)
        replayed += len(updates)


# -- malformed updates -------------------------------------------------------------------------------------

PTB_PARSE_FAILURE = "Error while parsing updates!"
PTB_BOT_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot")
MALFORMED_MARK = "understudy_malformed"
"""Key in ``api_kwargs`` of the stand-in for an update that could not be parsed (already logged)."""
HANDLED_MARK = "understudy_handled"
"""Key in ``api_kwargs`` of the stand-in for an update the inbox says was handled before (a redelivery)."""


class _QuietParseFailure(logging.Filter):
    """Drop PTB's CRITICAL dump of a batch that failed to parse; :class:`TolerantBot` logs one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but PTB's parse-failure dump."""
        return not (isinstance(record.msg, str) and record.msg.startswith(PTB_PARSE_FAILURE))


class TolerantBot(ExtBot[None]):
    """An ``ExtBot`` whose ``getUpdates`` survives malformed updates.

    PTB parses a whole batch at once; one malformed update (a message without ``chat`` or ``date``) makes it
    log the batch, skip it *without* confirming it, and fetch the same batch again, forever: the bot stops
    serving everybody. Here, when a batch fails to parse, each update is parsed on its own; a bad one is
    logged in one line and replaced by an empty update with the same ``update_id``, so polling confirms it
    and moves on. The first parse is PTB's own, so the common path costs nothing extra.
    """

    __slots__ = ("_confirmed", "_health", "_inbox", "_raw_updates")
    _raw_updates: list[Any]
    _inbox: Store | None
    _health: InboxHealth
    _confirmed: int

    def use_inbox(self, store: Store, health: InboxHealth | None = None) -> None:
        """Keep every fetched batch in ``store``'s update inbox before it is handed to PTB (and confirmed)."""
        self._inbox = store
        self._health = health or InboxHealth()
        self._confirmed = 0

    async def _post(self, endpoint: str, *args: Any, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, *args, **kwargs)
        if endpoint == "getUpdates":
            self._raw_updates = result if isinstance(result, list) else []
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """Fetch updates like PTB; on a batch that fails to parse, parse each update alone."""
        self._raw_updates = []
        try:
            updates = await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise
        except Exception:  # PTB's parser failed on some update of the batch; find it below
            updates = tuple(u for u in map(self.parse_one, self._raw_updates) if u is not None)
            for update in updates:
                self.insert_callback_data(update)
        offset = kwargs.get("offset", args[0] if args else None)
        return await self._keep(updates, offset if isinstance(offset, int) else None)

    async def _keep(self, updates: tuple[Update, ...], offset: int | None) -> tuple[Update, ...]:
        """Put the fetched batch in the inbox; replace updates handled before a restart by stand-ins.

        This runs before ``get_updates`` returns, and PTB confirms a batch only with its next call's offset,
        so every update Telegram forgets is in the inbox first. A call with ``offset`` has confirmed every
        update below it, so the inbox may forget those that were handled.
        """
        inbox = getattr(self, "_inbox", None)
        if inbox is None:
            return updates
        rows = [
            (raw["update_id"], json.dumps(raw, ensure_ascii=False, separators=(",", ":")))
            for raw in self._raw_updates
            if isinstance(raw, dict) and isinstance(raw.get("update_id"), int)
        ]
        confirmed = offset if offset is not None and offset > self._confirmed else None
        if not rows and confirmed is None:
            return updates
        try:
            handled = set(await inbox.inbox_put(rows, confirmed_below=confirmed))
        except StoreError as exc:
            # Serving matters more than crash protection: the handlers will meet the same store trouble
            # and ask the trainees to repeat, which beats silence.
            self._health.failed(f"{len(rows)} updates not kept", exc)
            return updates
        self._health.ok()
        if confirmed is not None:
            self._confirmed = confirmed
        if not handled:
            return updates
        logger.info("skipped %d updates handled before a restart: %s", len(handled), sorted(handled))
        return tuple(
            Update(u.update_id, api_kwargs={HANDLED_MARK: True}) if u.update_id in handled else u for u in updates
        )

    def parse_one(self, raw: Any) -> Update | None:
        """Parse one raw update; a malformed one becomes a logged stand-in, one without an id None."""
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int):
            logger.warning("ignored an update without an update_id: %.200r", raw)
            return None
        try:
            return Update.de_json(raw, self)
        except Exception as exc:  # any parse failure of one update: skip that update only
            kinds = ", ".join(k for k in raw if k != "update_id") or "nothing"
            logger.warning("ignored malformed update %s (%s): %s", update_id, kinds, type(exc).__name__)
            # An empty stand-in, so polling confirms the id; the guard handler drops it without a word.
            return Update(update_id, api_kwargs={MALFORMED_MARK: True})


def update_kinds(update: Update) -> list[str]:
    """Return the kinds of content an update carries that PTB knows (``message``, ``callback_query``...)."""
    return [kind for kind in Update.ALL_TYPES if getattr(update, kind, None) is not None]


def malformation(update: Update) -> str | None:
    """Return what a parsed update lacks that the handlers rely on, or None when it is well formed.

    PTB parses leniently: a message without ``chat``, ``date`` or ``message_id`` becomes a ``Message`` with
    ``None`` there, which every filter and handler would trip over.
    """
    message = update.effective_message
    if message is not None:
        chat = getattr(message, "chat", None)
        if chat is None or getattr(chat, "id", None) is None or getattr(chat, "type", None) is None:
            return "no chat"
        if getattr(message, "message_id", None) is None:
            return "no message_id"
        if getattr(message, "date", None) is None:
            return "no date"
        if chat.type == ChatType.PRIVATE and update.effective_user is None:
            return "no sender"
        for field_name in ("text", "caption"):
            value = getattr(message, field_name, None)
            if value is not None and not isinstance(value, str):
                return f"{field_name} is not a string"
    query = update.callback_query
    if query is not None and getattr(query, "from_user", None) is None:
        return "no sender"
    return None


# -- rendering ----------------------------------------------------------------------------------------------


def persona_label(persona: Persona, lang: str) -> tuple[str, str, str]:
    """Return (name, role, language) of a persona in the catalogue language, for buttons and cards."""
    return persona.name, t(lang, f"role_{persona.role}"), language_name(lang, persona.language)


def utc(moment: datetime) -> str:
    """Format a timestamp for instructors: UTC, to the minute."""
    return moment.strftime("%Y-%m-%d %H:%M")


def typing_delay(text: str, scale: float) -> float:
    """Return the simulated typing time for a reply: proportional to its length, capped, times ``scale``."""
    if scale <= 0:
        return 0.0
    return min(TYPING_BASE_SECONDS + TYPING_SECONDS_PER_CHAR * len(text), TYPING_MAX_SECONDS) * scale


def persona_token(persona_id: str) -> str:
    """Return a persona id that fits a callback payload (ids are at most 64 characters; payloads 64 bytes)."""
    limit = CALLBACK_DATA_BYTES - max(len(CB_CHOOSE), len(CB_BEGIN))
    return persona_id if len(persona_id.encode()) <= limit else persona_id[:limit]


def catalogue_markup(personas: Sequence[Persona], lang: str) -> InlineKeyboardMarkup | None:
    """Build the persona catalogue keyboard: one button per persona, under case headers if several cases."""
    if not personas:
        return None
    several_cases = len({p.case.id for p in personas}) > 1
    rows: list[list[InlineKeyboardButton]] = []
    current_case = None
    for persona in personas:
        if several_cases and persona.case.id != current_case:
            current_case = persona.case.id
            header = t(lang, "catalogue_case", title=persona.case.title)
            rows.append([InlineKeyboardButton(f"— {header} —", callback_data=CB_NOOP)])
        name, role, language = persona_label(persona, lang)
        label = t(lang, "catalogue_button", name=name, role=role, language=language)
        rows.append([InlineKeyboardButton(label, callback_data=CB_CHOOSE + persona_token(persona.id))])
    return InlineKeyboardMarkup(rows)


def briefing_text(persona: Persona, lang: str) -> str:
    """Render the briefing card: situation, the trainee's role, objectives and how to end."""
    name, role, language = persona_label(persona, lang)
    brief = persona.briefing
    objectives = "\n".join(f"• {item}" for item in brief.objectives)
    return "\n\n".join(
        [
            t(lang, "briefing_title", name=name, role=role, language=language)
            + "\n"
            + f"{t(lang, 'briefing_case')}: {persona.case.title}",
            f"{t(lang, 'briefing_role')}: {brief.role}",
            f"{t(lang, 'briefing_situation')}: {brief.situation}",
            f"{t(lang, 'briefing_objectives')}:\n{objectives}",
            t(lang, "briefing_how_to_end"),
        ]
    )


class _CatalogFinder:
    """Adapt the session service's catalogue to the report's ``find`` lookup (None instead of an error)."""

    def __init__(self, catalog: PersonaCatalog) -> None:
        self.catalog = catalog

    def find(self, persona_id: str) -> CatalogEntry | None:
        """Return the current version of a persona, or None."""
        try:
            return self.catalog.get(persona_id)
        except PersonaNotFound:
            return None


def command_list(lang: str, instructor: bool) -> list[BotCommand]:
    """Return the commands to register for a language, with the instructor ones if asked."""
    names = TRAINEE_COMMANDS + (INSTRUCTOR_COMMANDS if instructor else ())
    return [BotCommand(name, t(lang, f"cmd_{name}")) for name in names]


def _non_text_kind(message: Message) -> str:
    for kind in NON_TEXT_KINDS:
        if getattr(message, kind, None):
            return kind
    return "other"


# -- the channel --------------------------------------------------------------------------------------------


class TelegramChannel:
    """The handlers of the bot, bound to the settings and the session service."""

    def __init__(self, settings: Settings, service: SessionService) -> None:
        self.settings = settings
        self.service = service
        self._groups_told: set[int] = set()
        self._reload_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    # -- plumbing ----------------------------------------------------------------------------------------

    async def on_any_update(self, update: Update, context: Context) -> None:
        """Stop updates no handler can use safely: unknown types, and messages missing what handlers need."""
        if update.api_kwargs.get(MALFORMED_MARK) or update.api_kwargs.get(HANDLED_MARK):
            raise ApplicationHandlerStop  # TolerantBot has logged it already
        kinds = update_kinds(update)
        if not kinds:
            unknown = ", ".join(sorted(update.api_kwargs)) or "nothing"
            logger.info("ignored update %s of an unknown type (%s)", update.update_id, unknown)
            raise ApplicationHandlerStop
        problem = malformation(update)
        if problem is not None:
            logger.info("ignored malformed update %s (%s): %s", update.update_id, ", ".join(kinds), problem)
            raise ApplicationHandlerStop

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add every handler to the application, in the order they must be tried."""
        private = filters.ChatType.PRIVATE
        app.add_handler(TypeHandler(Update, self.on_any_update), group=GUARD_GROUP)
        app.add_handler(MessageHandler(~private & ~filters.UpdateType.CHANNEL_POSTS, self.on_group))
        app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, self.on_edited))
        commands: dict[str, Callable[[Update, Context], Coroutine[Any, Any, None]]] = {
            "start": self.on_start,
            "personas": self.on_personas,
            "end": self.on_end,
            "restart": self.on_restart,
            "help": self.on_help,
            "language": self.on_language,
            "sessions": self.on_sessions,
            "transcript": self.on_transcript,
            "cohort": self.on_cohort,
            "note": self.on_note,
            "reload": self.on_reload,
        }
        for name, callback in commands.items():
            app.add_handler(CommandHandler(name, callback, filters=private & filters.UpdateType.MESSAGE))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(MessageHandler(private & filters.COMMAND, self.on_unknown_command))
        app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE, self.on_non_text))
        app.add_error_handler(self.on_error)

    async def _deliver(
        self, send: Callable[[], Awaitable[Any]], what: str = "sendMessage", *, essential: bool = True
    ) -> Any:
        """Call the Bot API, retrying flood limits and network failures with bounded backoff.

        A blocked chat is logged, not raised. When every try fails, an ``essential`` call raises (the error
        handler logs it); a cosmetic one (a typing action) is logged and skipped so the reply still goes out.
        See the module docstring (Delivery) for what a retry can and cannot promise.
        """
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await send()
            except Forbidden:
                logger.info("the trainee blocked the bot; %s dropped", what)
                return None
            except TelegramError as exc:
                wait = retry_delay(exc, attempt)
                if wait is None or attempt == SEND_ATTEMPTS:
                    if essential:
                        raise
                    if wait is None:  # final by nature (e.g. 400 "message is not modified")
                        logger.info("%s failed, not retried: %s", what, redact(str(exc)))
                    else:
                        logger.warning("%s given up after %d tries: %s", what, attempt, redact(str(exc)))
                    return None
                if is_ambiguous(exc):
                    logger.warning(
                        "%s: no answer from the Bot API (%s); retrying in %.1f s, it may arrive twice",
                        what,
                        redact(str(exc)) or type(exc).__name__,
                        wait,
                    )
                else:
                    logger.warning(
                        "%s failed (%s); retry %d of %d in %.1f s",
                        what,
                        redact(str(exc)) or type(exc).__name__,
                        attempt,
                        SEND_ATTEMPTS - 1,
                        wait,
                    )
                await asyncio.sleep(wait)
        return None

    async def _send(
        self, context: Context, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        result = await self._deliver(lambda: context.bot.send_message(chat_id, text, reply_markup=markup))
        return result if isinstance(result, Message) else None

    async def _say_replies(self, context: Context, chat_id: int, replies: Sequence[str]) -> None:
        """Send persona replies in order, each after a typing action and a pause in step with its length.

        With the delay off (scale 0) only the first reply gets a typing action: with no pause after it, a typing
        indicator per message shows the trainee nothing and costs a Bot API call each.
        """
        for index, reply in enumerate(replies):
            delay = typing_delay(reply, self.settings.delay_scale)
            if delay or index == 0:
                await self._deliver(
                    lambda: context.bot.send_chat_action(chat_id, ChatAction.TYPING),
                    "sendChatAction",
                    essential=False,
                )
            if delay:
                await asyncio.sleep(delay)
            await self._send(context, chat_id, reply)

    async def _lang(self, update: Update) -> str:
        user = update.effective_user
        if user is None:
            return "en"
        return await self.service.language(user.id, user.language_code)

    async def _show_catalogue(
        self, context: Context, chat_id: int, lang: str, lead: str | None = None
    ) -> None:
        personas = self.service.personas()
        markup = catalogue_markup(personas, lang)
        title = t(lang, "catalogue_title") if markup is not None else t(lang, "catalogue_empty")
        await self._send(context, chat_id, f"{lead}\n\n{title}" if lead else title, markup)

    @staticmethod
    def _ids(update: Update) -> tuple[int, int, str | None]:
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None and user is not None  # handlers are registered for private messages only
        return chat.id, user.id, user.full_name

    # -- trainee commands --------------------------------------------------------------------------------

    async def on_start(self, update: Update, context: Context) -> None:
        """Welcome the trainee and show the catalogue; with a deep-link argument, brief and begin at once."""
        chat_id, user_id, name = self._ids(update)
        user = update.effective_user
        lang = await self.service.greet(user_id, name, user.language_code if user else None)
        first = user.first_name if user else ""
        welcome = (
            t(lang, "welcome", name_part=f", {first}" if first else "")
            + "\n\n"
            + t(lang, "transcripts_notice")
        )
        if not context.args:
            await self._send(context, chat_id, welcome)
            await self._show_catalogue(context, chat_id, lang)
            return
        persona_id = context.args[0]
        persona = self.service.find_persona(persona_id)
        await self._send(context, chat_id, welcome)
        if persona is None:
            await self._show_catalogue(
                context, chat_id, lang, t(lang, "unknown_persona", persona_id=persona_id[:64])
            )
            return
        await self._send(context, chat_id, briefing_text(persona, lang))
        await self._begin(context, chat_id, user_id, persona.id, lang, update.update_id)

    async def _begin(
        self, context: Context, chat_id: int, user_id: int, persona_id: str, lang: str, update_id: int
    ) -> None:
        previous = await self.service.open_session(chat_id)
        outcome = await self.service.begin(chat_id, user_id, persona_id, update_id)
        if outcome.redelivered:
            previous = None  # this update began the open session before a restart; say its opening again
        if outcome.kind is OutcomeKind.unknown_persona:
            await self._show_catalogue(context, chat_id, lang, t(lang, "persona_unavailable"))
            return
        if outcome.kind is OutcomeKind.busy:
            await self._send(context, chat_id, t(lang, "store_busy"))
            return
        if previous is not None and previous.turns:
            previous_persona = self.service.find_persona(previous.persona_id)
            name = previous_persona.name if previous_persona else previous.persona_id
            await self._send(context, chat_id, t(lang, "previous_closed", name=name))
        assert outcome.persona is not None
        await self._send(context, chat_id, t(lang, "interview_begins", name=outcome.persona.name))
        await self._say_replies(context, chat_id, outcome.replies)

    async def on_personas(self, update: Update, context: Context) -> None:
        """Show the persona catalogue."""
        chat_id, _, _ = self._ids(update)
        await self._show_catalogue(context, chat_id, await self._lang(update))

    async def on_end(self, update: Update, context: Context) -> None:
        """End the interview and show the debrief."""
        chat_id, _, _ = self._ids(update)
        lang = await self._lang(update)
        outcome = await self.service.end(chat_id)
        if outcome.kind is OutcomeKind.no_session:
            await self._show_catalogue(context, chat_id, lang, t(lang, "end_no_session"))
        elif outcome.kind is OutcomeKind.busy:
            await self._send(context, chat_id, t(lang, "store_busy"))
        else:
            if outcome.debrief is not None:
                await self._send(context, chat_id, render_debrief_text(outcome.debrief, lang))
            await self._show_catalogue(context, chat_id, lang, t(lang, "interview_over"))

    async def on_restart(self, update: Update, context: Context) -> None:
        """End the interview and begin the same persona again."""
        chat_id, user_id, _ = self._ids(update)
        lang = await self._lang(update)
        outcome = await self.service.restart(chat_id, user_id, update.update_id)
        if outcome.kind is OutcomeKind.no_session:
            await self._show_catalogue(context, chat_id, lang, t(lang, "restart_no_session"))
        elif outcome.kind is OutcomeKind.unknown_persona:
            await self._show_catalogue(context, chat_id, lang, t(lang, "persona_unavailable"))
        elif outcome.kind is OutcomeKind.busy:
            await self._send(context, chat_id, t(lang, "store_busy"))
        else:
            assert outcome.persona is not None
            await self._send(context, chat_id, t(lang, "restart_done", name=outcome.persona.name))
            await self._say_replies(context, chat_id, outcome.replies)

    async def on_help(self, update: Update, context: Context) -> None:
        """Explain the commands (and the instructor ones to instructors)."""
        chat_id, user_id, _ = self._ids(update)
        lang = await self._lang(update)
        text = t(lang, "help")
        if self.settings.is_instructor(user_id):
            text += "\n\n" + t(lang, "help_instructor")
        await self._send(context, chat_id, text)

    async def on_language(self, update: Update, context: Context) -> None:
        """Offer the catalogue languages as buttons."""
        chat_id, _, _ = self._ids(update)
        lang = await self._lang(update)
        buttons = [
            InlineKeyboardButton(NATIVE_LANGUAGE_NAMES.get(code, code), callback_data=CB_LANGUAGE + code)
            for code in SUPPORTED_LANGUAGES
        ]
        await self._send(context, chat_id, t(lang, "language_prompt"), InlineKeyboardMarkup([buttons]))

    async def on_unknown_command(self, update: Update, context: Context) -> None:
        """Point at /help."""
        chat_id, _, _ = self._ids(update)
        await self._send(context, chat_id, t(await self._lang(update), "unknown_command"))

    # -- buttons -----------------------------------------------------------------------------------------

    async def on_callback(self, update: Update, context: Context) -> None:
        """Handle the catalogue, Begin and language buttons."""
        query = update.callback_query
        assert query is not None
        data = query.data or ""
        user = query.from_user
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            await self._deliver(lambda: query.answer(), "answerCallbackQuery", essential=False)
            return
        chat_id = message.chat.id
        lang = await self.service.language(user.id, user.language_code)
        if data.startswith(CB_CHOOSE):
            await self._deliver(lambda: query.answer(), "answerCallbackQuery", essential=False)
            persona = self._persona_for_token(data[len(CB_CHOOSE) :])
            if persona is None:
                await self._show_catalogue(context, chat_id, lang, t(lang, "persona_unavailable"))
                return
            begin = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            t(lang, "begin_button"), callback_data=CB_BEGIN + persona_token(persona.id)
                        )
                    ]
                ]
            )
            await self._send(context, chat_id, briefing_text(persona, lang), begin)
        elif data.startswith(CB_BEGIN):
            await self._deliver(lambda: query.answer(), "answerCallbackQuery", essential=False)
            # Remove the button so it cannot be pressed again; a press already queued is caught below.
            await self._deliver(
                lambda: context.bot.edit_message_reply_markup(chat_id, message.message_id),
                "editMessageReplyMarkup",
                essential=False,
            )
            persona = self._persona_for_token(data[len(CB_BEGIN) :])
            if persona is None:
                await self._show_catalogue(context, chat_id, lang, t(lang, "persona_unavailable"))
                return
            current = await self.service.open_session(chat_id)
            replayed = await self.service.redelivered_opening(chat_id, update.update_id) is not None
            if not replayed and current is not None and current.persona_id == persona.id and current.turns == 0:
                return  # a double press: this interview has just begun
            await self._begin(context, chat_id, user.id, persona.id, lang, update.update_id)
        elif data.startswith(CB_LANGUAGE):
            chosen = await self.service.set_language(user.id, user.full_name, data[len(CB_LANGUAGE) :])
            await self._deliver(lambda: query.answer(), "answerCallbackQuery", essential=False)
            await self._deliver(
                lambda: context.bot.edit_message_text(t(chosen, "language_set"), chat_id, message.message_id),
                "editMessageText",
                essential=False,
            )
        elif data == CB_NOOP:
            await self._deliver(lambda: query.answer(), "answerCallbackQuery", essential=False)
        else:
            await self._deliver(
                lambda: query.answer(t(lang, "callback_stale")), "answerCallbackQuery", essential=False
            )

    def _persona_for_token(self, token: str) -> Persona | None:
        persona = self.service.find_persona(token)
        if persona is not None:
            return persona
        matches = [p for p in self.service.personas() if persona_token(p.id) == token]
        return matches[0] if len(matches) == 1 else None

    # -- free text and other messages --------------------------------------------------------------------

    async def on_text(self, update: Update, context: Context) -> None:
        """Pass the trainee's words to the persona and send its replies at a human pace."""
        chat_id, user_id, _ = self._ids(update)
        message = update.effective_message
        assert message is not None and message.text is not None
        text = message.text
        lang = await self._lang(update)
        if not text.strip():
            await self._send(context, chat_id, t(lang, "empty_text"))
            return
        if len(text) > MAX_TEXT_CHARS:
            await self.service.record_event(
                chat_id, {"kind": "too_long", "length": len(text)}, text[:MAX_TEXT_CHARS], update.update_id
            )
            await self._send(context, chat_id, t(lang, "too_long", length=len(text), limit=MAX_TEXT_CHARS))
            return
        outcome = await self.service.say(chat_id, user_id, text, update.update_id)
        await self._answer(context, chat_id, lang, outcome)

    async def _answer(self, context: Context, chat_id: int, lang: str, outcome: Outcome) -> None:
        kind = outcome.kind
        if kind is OutcomeKind.throttled:
            return
        if kind is OutcomeKind.slow_down:
            await self._send(context, chat_id, t(lang, "slow_down"))
        elif kind is OutcomeKind.no_session:
            await self._show_catalogue(context, chat_id, lang, t(lang, "no_session"))
        elif kind is OutcomeKind.busy:
            await self._send(context, chat_id, t(lang, "store_busy"))
        else:
            await self._say_replies(context, chat_id, outcome.replies)
            if kind is OutcomeKind.ended:
                text = t(lang, "persona_ended")
                if outcome.debrief is not None:
                    text += "\n\n" + render_debrief_text(outcome.debrief, lang)
                await self._send(context, chat_id, text)
                await self._show_catalogue(context, chat_id, lang)

    async def on_non_text(self, update: Update, context: Context) -> None:
        """Ask for typed text when a sticker, photo, voice note or the like arrives; record it as an event."""
        chat_id, user_id, _ = self._ids(update)
        message = update.effective_message
        assert message is not None
        lang = await self._lang(update)
        if message.text is not None:  # an empty text from a non-standard server
            await self._send(context, chat_id, t(lang, "empty_text"))
            return
        kind = _non_text_kind(message)
        await self.service.record_event(chat_id, {"kind": kind}, message.caption or "", update.update_id)
        # Stickers count towards the rate limit too, so a sticker storm gets one note, not one reply each.
        throttle = self.service.limiter.check(user_id)
        if throttle is OutcomeKind.throttled:
            return
        await self._send(context, chat_id, t(lang, "slow_down" if throttle else "non_text"))

    async def on_edited(self, update: Update, context: Context) -> None:
        """Record an edited message without answering it (see the session module for why)."""
        chat_id, _, _ = self._ids(update)
        message = update.effective_message
        assert message is not None
        await self.service.record_event(
            chat_id,
            {"kind": EVENT_EDITED, "message_id": message.message_id},
            message.text or message.caption or "",
            update.update_id,
        )

    async def on_group(self, update: Update, context: Context) -> None:
        """Tell a group once that the bot works in private chats only; store nothing."""
        chat = update.effective_chat
        if chat is None or chat.id in self._groups_told or update.message is None:
            return
        self._groups_told.add(chat.id)
        user = update.effective_user
        await self._send(
            context, chat.id, t(pick_language(user.language_code if user else None), "group_only")
        )

    # -- instructors -------------------------------------------------------------------------------------

    async def _instructor(self, update: Update, context: Context) -> tuple[int, str] | None:
        chat_id, user_id, _ = self._ids(update)
        lang = await self._lang(update)
        if not self.settings.is_instructor(user_id):
            logger.info("user %s tried an instructor command", user_id)
            await self._send(context, chat_id, t(lang, "not_available"))
            return None
        return chat_id, lang

    async def on_sessions(self, update: Update, context: Context) -> None:
        """List recent sessions for an instructor."""
        allowed = await self._instructor(update, context)
        if allowed is None:
            return
        chat_id, lang = allowed
        sessions = await self.service.store.list_sessions(limit=SESSIONS_LISTED)
        if not sessions:
            await self._send(context, chat_id, t(lang, "sessions_empty"))
            return
        rows = [
            t(
                lang,
                "sessions_row",
                id=s.id,
                trainee=s.trainee_name or s.trainee_id,
                persona=s.persona_id,
                started=utc(s.started_at),
                turns=s.turns,
                status=t(lang, f"status_{s.status}"),
            )
            for s in sessions
        ]
        await self._send(context, chat_id, t(lang, "sessions_title") + "\n" + "\n".join(rows))

    async def on_transcript(self, update: Update, context: Context) -> None:
        """Send an instructor a session's annotated HTML report, or its Markdown transcript with ``md``."""
        allowed = await self._instructor(update, context)
        if allowed is None:
            return
        chat_id, lang = allowed
        session_id = _session_arg(context.args)
        markdown = bool(context.args) and len(context.args or ()) > 1 and (context.args or [""])[1].lower() == "md"
        if session_id is None:
            await self._send(context, chat_id, t(lang, "transcript_usage"))
            return
        store = self.service.store
        try:
            if markdown:
                session = await store.get_session(session_id)
                turns = await store.get_turns(session_id)
                document = render_markdown(plain_item(session, turns)).encode("utf-8")
            else:
                lookup = stored_persona_lookup(store, _CatalogFinder(self.service.catalog))
                html = await session_report_html(store, session_id, lookup, language=lang)
                document = html.encode("utf-8")
        except NotFound:
            await self._send(context, chat_id, t(lang, "transcript_not_found", id=session_id))
            return
        await self._deliver(
            lambda: context.bot.send_document(
                chat_id,
                document=document,
                filename=f"session-{session_id}.{'md' if markdown else 'html'}",
                caption=t(lang, "transcript_caption", id=session_id),
            ),
            "sendDocument",
        )

    async def on_cohort(self, update: Update, context: Context) -> None:
        """Send an instructor the cohort index: every session with its question quality and facts found."""
        allowed = await self._instructor(update, context)
        if allowed is None:
            return
        chat_id, lang = allowed
        store = self.service.store
        if await store.count_sessions() == 0:
            await self._send(context, chat_id, t(lang, "sessions_empty"))
            return
        lookup = stored_persona_lookup(store, _CatalogFinder(self.service.catalog))
        document = (await cohort_index_html(store, lookup, language=lang)).encode("utf-8")
        await self._deliver(
            lambda: context.bot.send_document(
                chat_id, document=document, filename="cohort.html", caption=t(lang, "cohort_caption")
            ),
            "sendDocument",
        )

    async def on_note(self, update: Update, context: Context) -> None:
        """Attach an instructor's note to a session."""
        allowed = await self._instructor(update, context)
        if allowed is None:
            return
        chat_id, lang = allowed
        args = context.args or []
        session_id = _session_arg(args[:1])
        text = " ".join(args[1:]).strip()
        if session_id is None or not text:
            await self._send(context, chat_id, t(lang, "note_usage"))
            return
        user = update.effective_user
        author = f"{user.full_name} ({user.id})" if user else "instructor"
        try:
            await self.service.store.add_note(session_id, author, text)
        except NotFound:
            await self._send(context, chat_id, t(lang, "transcript_not_found", id=session_id))
            return
        await self._send(context, chat_id, t(lang, "note_saved", id=session_id))

    async def on_reload(self, update: Update, context: Context) -> None:
        """Reload the persona files for an instructor and say what changed and which files failed."""
        allowed = await self._instructor(update, context)
        if allowed is None:
            return
        chat_id, lang = allowed
        report = await self.reload_personas()
        if report is None:
            await self._send(context, chat_id, t(lang, "reload_unavailable"))
            return
        await self._send(context, chat_id, reload_text(report, lang)[:MAX_TEXT_CHARS])

    # -- persona reload ----------------------------------------------------------------------------------

    async def reload_personas(self) -> ReloadReport | None:
        """Reload the catalogue in a worker thread (parsing is CPU work); None if it cannot reload."""
        catalog = self.service.catalog
        if not isinstance(catalog, LiveCatalog):
            return None
        async with self._reload_lock:
            return await asyncio.to_thread(catalog.reload)

    async def watch_personas(self, interval: float) -> None:
        """Reload the catalogue whenever a persona file's mtime or size changes; poll every ``interval`` s."""
        catalog = self.service.catalog
        if not isinstance(catalog, LiveCatalog):
            return
        while True:
            await asyncio.sleep(interval)
            try:
                stamp = await asyncio.to_thread(catalog.file_stamps)
                if stamp != catalog.stamp:
                    await self.reload_personas()
            except Exception:  # the watch must outlive any one bad reload; the next change retries
                logger.exception("persona file watch: reload failed")

    def start_watch(self, interval: float | None) -> None:
        """Start the persona file watch in the background (no-op without an interval or a live catalogue)."""
        if interval and isinstance(self.service.catalog, LiveCatalog) and self._watch is None:
            self._watch = asyncio.create_task(self.watch_personas(interval), name="understudy:persona-watch")

    async def stop_watch(self) -> None:
        """Stop the persona file watch."""
        task, self._watch = self._watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- errors ------------------------------------------------------------------------------------------

    async def on_error(self, update: object, context: Context) -> None:
        """Log a handler error (the token is redacted) and tell the trainee, never crashing the bot."""
        error = context.error
        if update is None and isinstance(error, TelegramError):
            on_polling_error(error)
            return
        update_id = update.update_id if isinstance(update, Update) else None
        if isinstance(error, StoreBusy):
            logger.warning("update %s not stored, the trainee is asked to repeat: %s", update_id, error)
        elif isinstance(error, NetworkError) and not isinstance(error, BadRequest):
            # The retries in _deliver are spent; a traceback would add nothing to the one line.
            logger.warning("Bot API unreachable while handling update %s: %s", update_id, redact(str(error)))
        else:
            logger.error("error while handling update %s", update_id, exc_info=error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        chat = update.effective_chat
        if chat.type != ChatType.PRIVATE:
            return
        key = "store_busy" if isinstance(error, StoreBusy) else "error_generic"
        try:
            await context.bot.send_message(chat.id, t(await self._lang(update), key))
        except Exception:  # the error path must never raise; the first error is already logged
            logger.warning("could not tell chat %s about the error", chat.id)


def backoff_seconds(attempt: int) -> float:
    """Return the wait after failed try number ``attempt`` (1-based): exponential, capped."""
    return float(min(BACKOFF_FIRST_SECONDS * BACKOFF_FACTOR ** (attempt - 1), BACKOFF_MAX_SECONDS))


def retry_delay(error: TelegramError, attempt: int) -> float | None:
    """Return how long to wait before retrying a failed Bot API call, or None when a retry cannot help.

    429 waits what Telegram asks (unless absurdly long); 5xx answers, lost connections and timeouts back off
    exponentially. 400 (our request is wrong), 401/403/404 and 409 are final.
    """
    if isinstance(error, RetryAfter):
        wait = _retry_seconds(error)
        return wait if wait <= RETRY_AFTER_MAX_SECONDS else None
    if isinstance(error, BadRequest):  # a subclass of NetworkError in PTB, but final
        return None
    if isinstance(error, NetworkError):  # 5xx answers, dropped connections, timeouts
        return backoff_seconds(attempt)
    return None


def is_ambiguous(error: TelegramError) -> bool:
    """Say whether Telegram may have acted on a call that failed: no answer arrived after it was sent.

    A pool or connect timeout and a refused connection mean the request never left; a 429 or 5xx answer
    means Telegram answered. A read timeout or a connection lost mid-request leaves it unknown.
    """
    if not isinstance(error, NetworkError) or isinstance(error, BadRequest):
        return False
    cause = error.__cause__
    if isinstance(cause, (httpx.PoolTimeout, httpx.ConnectTimeout, httpx.ConnectError)):
        return False
    return isinstance(error, TimedOut) or isinstance(
        cause, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
    )


def on_polling_error(error: TelegramError) -> None:
    """Log a failed getUpdates in one line; PTB's polling loop retries it with its own backoff.

    PTB waits ``retry_after`` (+0.5 s) after a 429, retries at once after a timeout, and waits 1 s growing
    by 1.5x up to 30 s after other errors (5xx, lost connections). Updates are confirmed only by the next
    successful call, so a failed poll loses nothing.
    """
    logger.warning("getUpdates failed, polling retries: %s", redact(str(error)) or type(error).__name__)


def reload_text(report: ReloadReport, lang: str) -> str:
    """Render a reload report for the instructor: counts, changes, and every file that failed and why."""
    none = t(lang, "reload_none")
    text = t(
        lang,
        "reload_done",
        count=len(report.loaded),
        added=", ".join(report.added) or none,
        updated=", ".join(report.updated) or none,
        removed=", ".join(report.removed) or none,
    )
    if report.failed:
        failures = "\n".join(f"• {line}" for line in report.failed)
        text += "\n\n" + t(lang, "reload_failed", kept=", ".join(report.kept) or none, failures=failures)
    return text


def _retry_seconds(exc: RetryAfter) -> float:
    """Return a flood-limit wait in seconds, whether PTB reports it as a number or a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form is deprecated; both forms are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _session_arg(args: Sequence[str] | None) -> int | None:
    if not args:
        return None
    match = re.fullmatch(r"#?(\d{1,18})", args[0].strip())
    return int(match.group(1)) if match else None


# -- assembly -----------------------------------------------------------------------------------------------


def _describe_failures(failures: Sequence[str]) -> str:
    return "; ".join(failures) if failures else "none"


def build_application(
    settings: Settings,
    store: Store,
    catalog: PersonaCatalog,
    *,
    failures: Sequence[str] = (),
    clock: Clock = utc_now,
    seed_source: Callable[[], int] | None = None,
    service: SessionService | None = None,
    read_timeout: float = SEND_READ_TIMEOUT_SECONDS,
    watch_interval: float | None = PERSONA_WATCH_SECONDS,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the bot: handlers, per-chat ordering, the store opened in post_init, closed in post_shutdown."""
    token = settings.require_token()
    install_token_redaction(token)
    quiet_http_logs()
    if service is None:
        service = (
            SessionService(store, catalog, clock, seed_source)
            if seed_source is not None
            else SessionService(store, catalog, clock)
        )
    channel = TelegramChannel(settings, service)
    health = InboxHealth()
    marks = InboxMarks(store, health)
    bot = build_bot(settings, read_timeout)
    bot.use_inbox(store, health)

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await store.open()
        await register_commands(app.bot, settings)
        # Before polling starts: what a killed process fetched but did not finish is handled first.
        replayed = await replay_inbox(app, store)
        if replayed:
            logger.info("replayed %d updates fetched but not finished before the last stop", replayed)
        logger.info(
            "Understudy ready: %d personas loaded, failed: %s; database %s",
            len(catalog.entries()),
            _describe_failures(failures),
            settings.db_path,
        )
        channel.start_watch(watch_interval)

    async def post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await channel.stop_watch()
        await marks.drain()
        await store.close()
        logger.info("store closed")

    app = (
        Application.builder()
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor(on_done=marks.mark))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data["channel"] = channel
    channel.register(app)
    return app


def build_bot(settings: Settings, read_timeout: float = SEND_READ_TIMEOUT_SECONDS) -> TolerantBot:
    """Build the Bot API client: the tolerant bot, PTB's pool sizes, ``read_timeout`` for every call."""
    kwargs: dict[str, Any] = {}
    if settings.api_base_url:
        # PTB appends the token to base_url, so "<root>/bot" gives "<root>/bot<token>/<method>".
        kwargs = {
            "base_url": f"{settings.api_base_url}/bot",
            "base_file_url": f"{settings.api_base_url}/file/bot",
        }
    return TolerantBot(
        settings.require_token(),
        request=HTTPXRequest(connection_pool_size=SEND_POOL_SIZE, read_timeout=read_timeout),
        # getUpdates adds the long-poll time to its read timeout itself; its pool is one connection.
        get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=read_timeout),
        **kwargs,
    )


async def register_commands(bot: Any, settings: Settings) -> None:
    """Register trainee commands for everyone and instructor commands in each instructor's chat."""
    for lang in SUPPORTED_LANGUAGES:
        code = None if lang == "en" else lang
        await bot.set_my_commands(
            command_list(lang, False), scope=BotCommandScopeDefault(), language_code=code
        )
    for instructor in sorted(settings.instructors):
        try:
            for lang in SUPPORTED_LANGUAGES:
                code = None if lang == "en" else lang
                await bot.set_my_commands(
                    command_list(lang, True), scope=BotCommandScopeChat(instructor), language_code=code
                )
        except TelegramError as exc:
            # An instructor who never opened a chat with the bot cannot get chat-scoped commands yet.
            logger.warning("could not register instructor commands for %s: %s", instructor, exc)


def serve(settings: Settings) -> int:
    """Run the bot with long polling until SIGINT or SIGTERM; return the exit code."""
    from bot.store.sqlite import SqliteStore

    token = settings.require_token()
    install_token_redaction(token)
    quiet_http_logs()
    # Opt in to PTB's timedelta periods now rather than log its deprecation warning on every flood limit.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    catalog = LiveCatalog(settings.personas_dir)
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(settings.db_path)
    failures = [d.format() for d in catalog.errors()]
    app = build_application(settings, store, catalog, failures=failures)
    # run_polling stops on SIGINT/SIGTERM; Application.stop waits for the updates in flight, then
    # post_shutdown closes the store.
    try:
        # run_polling hands getUpdates errors to on_error with no update; it passes them to on_polling_error.
        app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
    except InvalidToken:
        # PTB's own message quotes the token; never let it reach a traceback or a log.
        raise ConfigError(f"the Bot API server rejected {ENV_TOKEN}; check it with @BotFather") from None
    except TelegramError as exc:
        where = settings.api_base_url or "api.telegram.org"
        raise ChannelError(f"cannot start serving through {where}: {redact(str(exc))}") from None
    return 0


__all__ = [
    "InboxMarks",
    "PerChatUpdateProcessor",
    "TelegramChannel",
    "build_application",
    "install_token_redaction",
    "register_commands",
    "replay_inbox",
    "serve",
]
