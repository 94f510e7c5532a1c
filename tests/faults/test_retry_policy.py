"""The retry policy of Bot API calls, as a table: what is retried, after how long, and what is ambiguous."""

from __future__ import annotations

import datetime as dtm
from collections.abc import Callable

import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.telegram import (
    BACKOFF_MAX_SECONDS,
    RETRY_AFTER_MAX_SECONDS,
    backoff_seconds,
    is_ambiguous,
    retry_delay,
)


def _caused(error: TelegramError, cause: BaseException) -> TelegramError:
    error.__cause__ = cause
    return error


REQUEST = httpx.Request("POST", "http://127.0.0.1/bot/sendMessage")


@pytest.fixture(autouse=True)
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, BACKOFF_MAX_SECONDS), (30, BACKOFF_MAX_SECONDS)],
)
def test_backoff_doubles_and_is_capped(attempt: int, expected: float) -> None:
    assert backoff_seconds(attempt) == expected


@pytest.mark.parametrize(
    ("make_error", "expected"),
    [
        (lambda: RetryAfter(dtm.timedelta(seconds=3)), 3.0),
        (lambda: RetryAfter(dtm.timedelta(seconds=RETRY_AFTER_MAX_SECONDS + 1)), None),
        (lambda: NetworkError("Injected fault 500"), 1.0),
        (lambda: NetworkError("Bad Gateway"), 1.0),
        (lambda: TimedOut(), 1.0),
        (lambda: BadRequest("Bad Request: message text is empty"), None),
        (lambda: Forbidden("Forbidden: bot was blocked by the user"), None),
        (lambda: InvalidToken(), None),
        (lambda: EndPointNotFound("Not Found"), None),
        (lambda: Conflict("Conflict"), None),
        (lambda: ChatMigrated(42), None),
    ],
)
def test_retry_delay(make_error: Callable[[], TelegramError], expected: float | None) -> None:
    assert retry_delay(make_error(), 2) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_caused(TimedOut(), httpx.ReadTimeout("read", request=REQUEST)), True),
        (_caused(TimedOut(), httpx.PoolTimeout("pool")), False),
        (_caused(TimedOut(), httpx.ConnectTimeout("connect")), False),
        (_caused(NetworkError("x"), httpx.ConnectError("refused")), False),
        (_caused(NetworkError("x"), httpx.RemoteProtocolError("Server disconnected")), True),
        (_caused(NetworkError("x"), httpx.ReadError("reset")), True),
        (NetworkError("Injected fault 502"), False),
        (BadRequest("Bad Request"), False),
        (Forbidden("Forbidden"), False),
    ],
)
def test_ambiguous_failures_are_those_sent_without_an_answer(error: TelegramError, expected: bool) -> None:
    assert is_ambiguous(error) == expected
