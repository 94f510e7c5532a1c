"""Malformed updates (missing fields, unknown types) are logged and skipped; the bot keeps serving."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from tests.channels.conftest import Trainee
from tests.fakes import telegram_factories as tf
from tests.fakes.botapi import FakeBotApi
from tests.faults.conftest import faulty_bot

VICTIM = "tiny_victim_en"

pytestmark = pytest.mark.timeout(60)

USER = tf.user(611, "Nadia")
CHAT = tf.private_chat(USER)
NOW = int(time.time())


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


GOOD_MESSAGE = {"message_id": 9001, "date": NOW, "chat": CHAT, "from": USER, "text": "hello"}

MALFORMED = [
    pytest.param({"message": _without(GOOD_MESSAGE, "chat")}, id="message-without-chat"),
    pytest.param({"message": _without(GOOD_MESSAGE, "date")}, id="message-without-date"),
    pytest.param({"message": _without(GOOD_MESSAGE, "message_id")}, id="message-without-id"),
    pytest.param({"message": _without(GOOD_MESSAGE, "from")}, id="private-message-without-sender"),
    pytest.param({"message": dict(GOOD_MESSAGE, chat={"id": 611})}, id="chat-without-type"),
    pytest.param({"message": dict(GOOD_MESSAGE, text=42)}, id="text-is-a-number"),
    pytest.param({"message": dict(GOOD_MESSAGE, text=None, caption=["x"])}, id="caption-is-a-list"),
    pytest.param({"message": dict(GOOD_MESSAGE, entities=[{"type": "bot_command"}])}, id="broken-entity"),
    pytest.param({"message": "not an object"}, id="message-is-a-string"),
    pytest.param({"message": None}, id="message-is-null"),
    pytest.param(
        {"callback_query": {"id": "q1", "chat_instance": "c", "data": "p:x"}},
        id="query-without-sender",
    ),
    pytest.param({"edited_message": {"date": NOW}}, id="edit-without-anything"),
    pytest.param({"some_future_update": {"id": 1, "payload": [1, 2, 3]}}, id="unknown-type"),
    pytest.param({}, id="empty-update"),
]


@pytest.mark.parametrize("raw", MALFORMED)
async def test_a_malformed_update_is_logged_and_skipped(
    api: FakeBotApi, tmp_path: Path, raw: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with faulty_bot(api, tmp_path) as bot:
        nadia = Trainee(api, 611, first_name="Nadia")
        nadia.send(f"/start {VICTIM}")
        await nadia.texts(5)
        bad = api.queue_raw(raw)
        nadia.send("hello")
        assert await nadia.texts(1) == ["Hi. I am Mira."]
        await api.wait_confirmed()
        session = await bot.store.get_open_session(nadia.chat_id)
        assert session is not None and session.turns == 1
    lines = [r.getMessage() for r in caplog.records if f"update {bad['update_id']}" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("ignored"), lines
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_batch_with_a_malformed_update_serves_the_good_ones(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with faulty_bot(api, tmp_path):
        olga, pavel = Trainee(api, 612), Trainee(api, 613)
        olga.send(f"/start {VICTIM}")
        api.queue_raw({"message": {"text": "no chat, no date, no id"}})
        pavel.send(f"/start {VICTIM}")
        assert len(await olga.texts(5)) == 5
        assert len(await pavel.texts(5)) == 5
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.CRITICAL] == []
