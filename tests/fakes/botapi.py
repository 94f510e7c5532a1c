"""A small fake Telegram Bot API HTTP server for end-to-end tests (aiohttp, 127.0.0.1, a random port).

The real ``Application`` talks to it through ``TELEGRAM_API_BASE_URL``: every call arrives as
``POST /bot<token>/<method>``. PTB encodes parameters as form fields (strings as they are, other values
JSON-encoded) and uploads as multipart; both are decoded here into plain Python values.

A test plays a trainee:

- ``api.queue(update)`` (or :meth:`FakeBotApi.send_text` and friends) puts an update in the queue that
  ``getUpdates`` long-polls; the server assigns ``update_id`` and missing ``message_id`` values;
- ``await api.wait_messages(chat_id, n)`` waits until the bot has sent ``n`` messages to the chat;
- ``api.calls`` records every request (method, decoded params, uploaded files) in arrival order.

Fault injection for the fault tests: :meth:`FakeBotApi.add_fault` makes the next ``times`` calls of a method
answer 429 with ``retry_after``, a 5xx status, arrive late (``delay``: before the server acts on them), be
answered late (``answer_delay``: after it acted), or lose their connection before the server reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TEST_TOKEN = "123456789:TESTtokenABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdef"
BOT_USER: dict[str, Any] = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Understudy",
    "username": "understudy_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Longest a getUpdates call is held open, whatever the bot asks for, so shutdown is never slow.
MAX_LONG_POLL_SECONDS = 1.0

# Form fields that are text even when they look like JSON (a message "42" must stay a string).
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "action",
        "callback_query_id",
        "language_code",
        "url",
        "file_name",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
        "emoji",
    }
)


@dataclass
class ApiCall:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class BotMessage:
    """A message the bot sent (and may later have edited)."""

    chat_id: int
    message_id: int
    text: str | None
    reply_markup: dict[str, Any] | None = None
    document: tuple[str, bytes] | None = None
    caption: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """Return the inline keyboard as (text, callback_data) pairs, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class Fault:
    """A fault to inject into the next ``times`` calls of ``method`` that satisfy ``when``."""

    method: str
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    answer_delay: float = 0.0
    """Process the call first, then hold the answer this long (the work is done even if the bot gives up)."""
    times: int = 1
    when: Callable[[dict[str, Any]], bool] | None = None


def _decode(value: str, name: str) -> Any:
    if name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotApi:
    """The fake Bot API server; use it as ``async with FakeBotApi() as api``."""

    def __init__(self, token: str = TEST_TOKEN) -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self.messages: list[BotMessage] = []
        self.faults: list[Fault] = []
        self.confirmed_offset = 0
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Release long polls and stop listening."""
        self._closing.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Return the root to put in TELEGRAM_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}"

    # -- test side: updates in ----------------------------------------------------------------------------

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; assign update_id and missing message ids; return it."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        for key in ("message", "edited_message"):
            msg = update.get(key)
            if msg is not None:
                self._chats[msg["chat"]["id"]] = msg["chat"]
                if "message_id" not in msg:
                    msg["message_id"] = self._next_message_id(msg["chat"]["id"])
        query = update.get("callback_query")
        if query is not None and "message" in query:
            self._chats.setdefault(query["message"]["chat"]["id"], query["message"]["chat"])
        self._updates.append(update)
        self._wake()
        return update

    def queue_raw(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update as given, malformed ones too; only a missing ``update_id`` is assigned."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._wake()
        return update

    def _wake(self) -> None:
        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        with contextlib.suppress(RuntimeError):
            task = asyncio.get_running_loop().create_task(notify())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def pending_updates(self) -> int:
        """Return how many queued updates the bot has not confirmed yet."""
        return sum(1 for u in self._updates if u["update_id"] >= self.confirmed_offset)

    # -- test side: what the bot did ----------------------------------------------------------------------

    def sent(self, chat_id: int) -> list[BotMessage]:
        """Return the messages the bot sent to a chat, in order."""
        return [m for m in self.messages if m.chat_id == chat_id]

    def texts(self, chat_id: int) -> list[str]:
        """Return the texts (or captions) of the bot's messages to a chat, in order."""
        return [m.text if m.text is not None else (m.caption or "") for m in self.sent(chat_id)]

    def calls_of(self, method: str) -> list[ApiCall]:
        """Return the recorded calls of one method."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checking after every call; raise TimeoutError otherwise."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_messages(self, chat_id: int, count: int, timeout: float = 10.0) -> list[BotMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat; return all of them."""
        try:
            await self.wait_for(lambda: len(self.sent(chat_id)) >= count, timeout)
        except TimeoutError:
            raise AssertionError(
                f"chat {chat_id}: expected {count} bot messages, got {self.texts(chat_id)!r}"
            ) from None
        return self.sent(chat_id)

    async def wait_confirmed(self, timeout: float = 10.0) -> None:
        """Wait until the bot has fetched and confirmed every queued update."""
        await self.wait_for(lambda: self.pending_updates() == 0, timeout)

    def add_fault(self, fault: Fault) -> None:
        """Inject a fault into coming calls of ``fault.method``."""
        self.faults.append(fault)

    # -- HTTP side ----------------------------------------------------------------------------------------

    async def _read(self, request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            return dict(body), files
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = (value.filename, value.file.read())
            else:
                params[name] = _decode(str(value), name)
        params.update({k: _decode(v, k) for k, v in request.query.items()})
        return params, files

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0 and (fault.when is None or fault.when(params)):
                fault.times -= 1
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params, files = await self._read(request)
        fault = self._take_fault(method, params)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
                if request.transport is None or request.transport.is_closing():
                    return web.Response()  # the bot gave up waiting before the server acted: nothing done
            if fault.drop:
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            if fault.status is not None:
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": fault.status,
                    "description": f"Injected fault {fault.status}",
                }
                if fault.retry_after is not None:
                    body["parameters"] = {"retry_after": fault.retry_after}
                    body["description"] = f"Too Many Requests: retry after {fault.retry_after}"
                return web.json_response(body, status=fault.status)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            self._record(ApiCall(method, params, files))
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        if method != "getUpdates":
            self._record(ApiCall(method, params, files))
        try:
            result = await handler(params, files)
        except _ApiError as exc:
            return web.json_response({"ok": False, "error_code": 400, "description": str(exc)}, status=400)
        if fault is not None and fault.answer_delay:
            await asyncio.sleep(fault.answer_delay)
        return web.json_response({"ok": True, "result": result})

    def _record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self._wake()

    # -- methods ------------------------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any], files: object) -> Any:
        return BOT_USER

    async def _m_getUpdates(self, params: dict[str, Any], files: object) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), MAX_LONG_POLL_SECONDS)
        if offset:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._wake()

        def ready() -> bool:
            return self._closing.is_set() or any(u["update_id"] >= offset for u in self._updates)

        if not ready() and timeout > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(ready)
        self._record(ApiCall("getUpdates", params))
        return [u for u in self._updates if u["update_id"] >= offset][:limit]

    async def _m_deleteWebhook(self, params: dict[str, Any], files: object) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any], files: object) -> Any:
        return True

    async def _m_logOut(self, params: dict[str, Any], files: object) -> Any:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], files: object) -> Any:
        return True

    async def _m_deleteMyCommands(self, params: dict[str, Any], files: object) -> Any:
        return True

    async def _m_sendChatAction(self, params: dict[str, Any], files: object) -> Any:
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: object) -> Any:
        return True

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if not isinstance(chat_id, int):
            raise _ApiError("Bad Request: chat not found")
        return self._chats.get(chat_id, {"id": chat_id, "type": "private", "first_name": "Trainee"})

    def _message_json(self, msg: BotMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": int(time.time()),
            "chat": self._chat(msg.chat_id),
            "from": BOT_USER,
        }
        if msg.text is not None:
            out["text"] = msg.text
        if msg.caption is not None:
            out["caption"] = msg.caption
        if msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        if msg.document is not None:
            out["document"] = {
                "file_id": f"doc-{msg.message_id}",
                "file_unique_id": f"udoc-{msg.message_id}",
                "file_name": msg.document[0],
                "file_size": len(msg.document[1]),
            }
        return out

    async def _m_sendMessage(self, params: dict[str, Any], files: object) -> Any:
        chat = self._chat(params.get("chat_id"))
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError("Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError("Bad Request: message is too long")
        msg = BotMessage(chat["id"], self._next_message_id(chat["id"]), text, params.get("reply_markup"))
        self.messages.append(msg)
        return self._message_json(msg)

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> Any:
        chat = self._chat(params.get("chat_id"))
        document = files.get("document")
        if document is None:
            raise _ApiError("Bad Request: there is no document in the request")
        msg = BotMessage(
            chat["id"],
            self._next_message_id(chat["id"]),
            None,
            params.get("reply_markup"),
            document=document,
            caption=params.get("caption"),
        )
        self.messages.append(msg)
        return self._message_json(msg)

    def _find(self, params: dict[str, Any]) -> BotMessage:
        for msg in self.messages:
            if msg.chat_id == params.get("chat_id") and msg.message_id == params.get("message_id"):
                return msg
        raise _ApiError("Bad Request: message to edit not found")

    async def _m_editMessageText(self, params: dict[str, Any], files: object) -> Any:
        msg = self._find(params)
        msg.edits.append({"text": msg.text, "reply_markup": msg.reply_markup})
        msg.text = params.get("text")
        msg.reply_markup = params.get("reply_markup")
        return self._message_json(msg)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: object) -> Any:
        msg = self._find(params)
        msg.edits.append({"text": msg.text, "reply_markup": msg.reply_markup})
        msg.reply_markup = params.get("reply_markup")
        return self._message_json(msg)


class _ApiError(Exception):
    """A 400 Bad Request answer."""
