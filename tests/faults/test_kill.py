"""SIGKILL in a burst of 50 chats, then restart: every reply a trainee saw is stored, every chat goes on."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.i18n import t
from bot.store.base import SPEAKER_PERSONA, SPEAKER_TRAINEE
from bot.store.sqlite import SqliteStore
from tests.channels.conftest import Trainee
from tests.channels.test_restart import serving
from tests.fakes.botapi import FakeBotApi
from tests.fakes.personas import write_tiny_personas

VICTIM = "tiny_victim_en"
CHATS = 50
FIRST_CHAT = 5000
QUESTIONS = ["hello", "your passport?", "are you paid?"]
ANSWERS = {
    "Hi. I am Mira.",
    "The foreman has my passport.",
    "He says it is safer.",
    "They have not paid me since spring.",
}
PROBE, PROBE_ANSWER = "where do you live?", "In a container behind the crane."
KNOWN = ANSWERS | {PROBE_ANSWER}
KILL_AFTER_ANSWERS = 60
"""Persona answers sent before the kill: about a third of the burst's, so many turns are in flight."""
STARTUP_SECONDS = 60.0
WAIT_SECONDS = 60.0
EXIT_SECONDS = 30.0

pytestmark = pytest.mark.timeout(240)


async def _stored(db: Path) -> dict[int, tuple[list[str], list[int | None], bool]]:
    """Return, per chat: persona replies after the opening, trainee update ids, whether a session is open."""
    out: dict[int, tuple[list[str], list[int | None], bool]] = {}
    async with SqliteStore(db) as store:
        async for session in store.iter_sessions():
            turns = await store.get_turns(session.id)
            replies = [x.text for x in turns if x.speaker == SPEAKER_PERSONA and x.text in KNOWN]
            updates = [x.update_id for x in turns if x.speaker == SPEAKER_TRAINEE and x.event is None]
            old = out.get(session.chat_id, ([], [], False))
            out[session.chat_id] = (old[0] + replies, old[1] + updates, old[2] or session.is_open)
    return out


def _answers_sent(api: FakeBotApi) -> int:
    return sum(1 for call in api.calls_of("sendMessage") if call.params.get("text") in ANSWERS)


def _received(api: FakeBotApi, chat_id: int) -> list[str]:
    return [x for x in api.texts(chat_id) if x in KNOWN]


async def test_sigkill_in_a_burst_loses_no_answered_turn(api: FakeBotApi, tmp_path: Path) -> None:
    write_tiny_personas(tmp_path / "personas", VICTIM)
    db = tmp_path / "db" / "understudy.sqlite3"
    trainees = [Trainee(api, FIRST_CHAT + i) for i in range(CHATS)]

    async with serving(api, tmp_path, "burst.log") as first:
        warm = trainees[0]
        warm.send(f"/start {VICTIM}")
        await warm.texts(5, timeout=STARTUP_SECONDS)  # the bot is up; now the burst
        for trainee in trainees[1:]:
            trainee.send(f"/start {VICTIM}")
        for question in QUESTIONS:
            for trainee in trainees:
                trainee.send(question)
        await api.wait_for(lambda: _answers_sent(api) >= KILL_AFTER_ANSWERS, WAIT_SECONDS)
        first.send_signal(signal.SIGKILL)
        await first.wait()

    before = {tr.chat_id: _received(api, tr.chat_id) for tr in trainees}
    stored = await _stored(db)
    # Every answer a trainee saw is in the database, in order (stored may hold more: committed, not sent).
    for chat_id, seen in before.items():
        replies = stored.get(chat_id, ([], [], False))[0]
        assert replies[: len(seen)] == seen, chat_id
    answered = sum(map(len, before.values()))
    assert 0 < answered < CHATS * len(ANSWERS)  # killed mid-burst

    async with serving(api, tmp_path, "restarted.log") as second:
        for trainee in trainees:
            trainee.send(PROBE)
        no_session = t("en", "no_session")

        def everyone_answered() -> bool:
            texts = [api.texts(tr.chat_id) for tr in trainees]
            return all(PROBE_ANSWER in x or any(y.startswith(no_session) for y in x) for x in texts)

        await api.wait_for(everyone_answered, STARTUP_SECONDS)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), EXIT_SECONDS) == 0

    stored = await _stored(db)
    for trainee in trainees:
        replies, updates, is_open = stored.get(trainee.chat_id, ([], [], False))
        seen = _received(api, trainee.chat_id)
        # A redelivered update is answered again from the stored replies, so a trainee may see an answer
        # twice (at-least-once), but never one that is not stored.
        assert set(seen) <= set(replies), trainee.chat_id
        assert len(updates) == len(set(updates)), trainee.chat_id  # no update recorded twice
        if is_open:
            assert PROBE_ANSWER in seen, trainee.chat_id  # the interview went on after the restart
    log = (tmp_path / "burst.log").read_text() + (tmp_path / "restarted.log").read_text()
    assert "Traceback" not in log
