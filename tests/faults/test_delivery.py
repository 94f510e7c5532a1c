"""Bot API faults: 429, 5xx, slow answers and dropped connections on sendMessage and getUpdates.

The claim under test (docs/delivery.md): the bot backs off and retries; when Telegram answered (429, 5xx) or
the request never arrived (a dropped connection before the server read it), every reply arrives exactly
once and in order; when a request was processed but its answer was lost (a read timeout), the reply arrives
at least once. In every case the turn is recorded exactly once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.channels import telegram
from bot.i18n import t
from bot.store.base import SPEAKER_TRAINEE
from tests.channels.conftest import Trainee
from tests.fakes.botapi import FakeBotApi, Fault
from tests.faults.conftest import Bot, faulty_bot

VICTIM = "tiny_victim_en"
PASSPORT_REPLIES = ["The foreman has my passport.", "He says it is safer."]
FIRST_REPLY = PASSPORT_REPLIES[0]
INSTRUCTOR = 590
SHORT_READ_TIMEOUT = 1.0
"""Read timeout of the bot in the timeout tests: loopback calls take milliseconds, even on a busy machine."""
LATE_SECONDS = 2.5
"""How late the fake server is in those tests: well past the read timeout."""

pytestmark = pytest.mark.timeout(60)


def _is_first_reply(params: dict[str, Any]) -> bool:
    return params.get("text") == FIRST_REPLY


async def _begin(trainee: Trainee) -> None:
    trainee.send(f"/start {VICTIM}")
    await trainee.texts(5)


async def _trainee_turns(bot: Bot, chat_id: int) -> list[tuple[str, int | None]]:
    """Return (text, update_id) of every trainee utterance stored for the chat's sessions."""
    sessions = await bot.store.list_sessions()
    out: list[tuple[str, int | None]] = []
    for session in sessions:
        if session.chat_id == chat_id:
            out += [
                (turn.text, turn.update_id)
                for turn in await bot.store.get_turns(session.id)
                if turn.speaker == SPEAKER_TRAINEE and turn.event is None
            ]
    return out


SEND_FAULTS = [
    pytest.param(Fault("sendMessage", status=429, retry_after=1, when=_is_first_reply), id="429-retry-after"),
    pytest.param(Fault("sendMessage", status=500, times=2, when=_is_first_reply), id="500-twice"),
    pytest.param(Fault("sendMessage", status=502, times=2, when=_is_first_reply), id="502-twice"),
    pytest.param(Fault("sendMessage", drop=True, times=2, when=_is_first_reply), id="dropped-twice"),
    pytest.param(Fault("sendMessage", delay=1.0, when=_is_first_reply), id="slow-within-timeout"),
    pytest.param(Fault("sendChatAction", status=500, times=3), id="typing-500"),
    pytest.param(Fault("sendChatAction", drop=True, times=10), id="typing-always-dropped"),
]


@pytest.mark.parametrize("fault", SEND_FAULTS)
async def test_send_faults_lose_and_repeat_nothing(
    api: FakeBotApi, tmp_path: Path, fault: Fault, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shorter backoff keeps the test quick; the schedule's shape is what is exercised.
    monkeypatch.setattr(telegram, "BACKOFF_FIRST_SECONDS", 0.05)
    async with faulty_bot(api, tmp_path) as bot:
        anna = Trainee(api, 501)
        await _begin(anna)
        api.add_fault(fault)
        anna.send("Where is your passport?")
        assert await anna.texts(2) == PASSPORT_REPLIES
        anna.send("Are you paid?")
        assert await anna.texts(1) == ["They have not paid me since spring."]
        assert await anna.settle() == []  # nothing arrives twice, late
        assert fault.times == 0 or fault.method == "sendChatAction"
        assert [text for text, _ in await _trainee_turns(bot, anna.chat_id)] == [
            "Where is your passport?",
            "Are you paid?",
        ]


POLL_FAULTS = [
    pytest.param(Fault("getUpdates", status=429, retry_after=1), id="429-retry-after"),
    pytest.param(Fault("getUpdates", status=500, times=2), id="500-twice"),
    pytest.param(Fault("getUpdates", status=502, times=2), id="502-twice"),
    pytest.param(Fault("getUpdates", drop=True, times=2), id="dropped-twice"),
    pytest.param(Fault("getUpdates", delay=1.5, times=2), id="slow"),
]


@pytest.mark.parametrize("fault", POLL_FAULTS)
async def test_poll_faults_lose_and_repeat_nothing(
    api: FakeBotApi, tmp_path: Path, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    async with faulty_bot(api, tmp_path) as bot:
        anna = Trainee(api, 502)
        await _begin(anna)
        api.add_fault(fault)
        anna.send("Where is your passport?")
        boris = Trainee(api, 503)
        boris.send(f"/start {VICTIM}")
        assert await anna.texts(2) == PASSPORT_REPLIES
        assert len(await boris.texts(5)) == 5
        assert await anna.settle() == []
        assert fault.times == 0
        assert [text for text, _ in await _trainee_turns(bot, anna.chat_id)] == ["Where is your passport?"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []  # a failed poll is a one-line warning, not a traceback


async def test_a_lost_answer_after_delivery_gives_at_least_once(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The server sends the message, then answers later than the bot waits: the bot cannot know the message
    # went out, retries, and the trainee reads it twice. That is the documented at-least-once case.
    async with faulty_bot(api, tmp_path, read_timeout=SHORT_READ_TIMEOUT) as bot:
        anna = Trainee(api, 504)
        await _begin(anna)
        api.add_fault(Fault("sendMessage", answer_delay=LATE_SECONDS, when=_is_first_reply))
        anna.send("Where is your passport?")
        assert await anna.settle() == [FIRST_REPLY, *PASSPORT_REPLIES]
        assert [text for text, _ in await _trainee_turns(bot, anna.chat_id)] == ["Where is your passport?"]
    assert any("it may arrive twice" in r.getMessage() for r in caplog.records)


async def test_a_timeout_before_the_server_acts_gives_exactly_once(api: FakeBotApi, tmp_path: Path) -> None:
    # The same timeout, but the server had not acted yet when the bot gave up on the call: one copy.
    async with faulty_bot(api, tmp_path, read_timeout=SHORT_READ_TIMEOUT) as bot:
        anna = Trainee(api, 507)
        await _begin(anna)
        api.add_fault(Fault("sendMessage", delay=LATE_SECONDS, when=_is_first_reply))
        anna.send("Where is your passport?")
        assert await anna.settle() == PASSPORT_REPLIES
        assert [text for text, _ in await _trainee_turns(bot, anna.chat_id)] == ["Where is your passport?"]


async def test_a_reply_that_keeps_failing_is_given_up_and_the_chat_goes_on(
    api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(telegram, "BACKOFF_FIRST_SECONDS", 0.01)
    async with faulty_bot(api, tmp_path) as bot:
        anna = Trainee(api, 505)
        await _begin(anna)
        fault = Fault("sendMessage", status=500, times=100, when=_is_first_reply)
        api.add_fault(fault)
        anna.send("Where is your passport?")
        await api.wait_for(lambda: 100 - fault.times == telegram.SEND_ATTEMPTS)
        fault.times = 0
        # The given-up reply is gone (the error handler says so once the API answers again), its turn is
        # stored, and the next turn works.
        assert await anna.settle() == [t("en", "error_generic")]
        anna.send("Are you paid?")
        assert await anna.texts(1) == ["They have not paid me since spring."]
        assert [text for text, _ in await _trainee_turns(bot, anna.chat_id)] == [
            "Where is your passport?",
            "Are you paid?",
        ]
    unreachable = [r for r in caplog.records if "Bot API unreachable" in r.getMessage()]
    assert len(unreachable) == 1
    assert all(r.exc_info is None for r in unreachable)


async def test_a_redelivered_update_is_recorded_once(api: FakeBotApi, tmp_path: Path) -> None:
    async with faulty_bot(api, tmp_path) as bot:
        anna = Trainee(api, 506)
        await _begin(anna)
        first = anna.send("Where is your passport?")
        assert await anna.texts(2) == PASSPORT_REPLIES
        # Telegram delivering the same update again (as after a crash before confirming it).
        api.queue_raw(dict(first, update_id=first["update_id"] + 1000))
        api.queue_raw(dict(first))
        await anna.settle()
        turns = await _trainee_turns(bot, anna.chat_id)
        assert [text for text, _ in turns].count("Where is your passport?") == 2
        assert len({update_id for _, update_id in turns}) == 2


async def test_a_transcript_document_survives_gateway_errors(
    api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram, "BACKOFF_FIRST_SECONDS", 0.05)
    async with faulty_bot(api, tmp_path, instructors=[INSTRUCTOR]) as bot:
        anna = Trainee(api, 508)
        await _begin(anna)
        session = await bot.store.get_open_session(anna.chat_id)
        assert session is not None
        teacher = Trainee(api, INSTRUCTOR)
        fault = Fault("sendDocument", status=502, times=2)
        api.add_fault(fault)
        teacher.send(f"/transcript {session.id}")
        (document,) = await teacher.receive(1)
        assert document.document is not None and document.document[0] == f"session-{session.id}.html"
        assert await teacher.settle() == []
        assert fault.times == 0
