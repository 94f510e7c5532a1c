"""The update inbox: updates fetched but not handled when the process dies are handled after the restart.

PTB confirms a batch to the Bot API (the next ``getUpdates`` offset) before handling it, so Telegram never
sends those updates again. Understudy keeps every fetched batch in the store's inbox first and replays what
was not finished at start-up. Semantics under test (``docs/delivery.md``): every trainee message is recorded
exactly once and answered; the replies of the one update per chat that was being handled at the kill may
arrive a second time (at-least-once), never a third.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import t
from bot.store.base import SPEAKER_TRAINEE
from bot.store.sqlite import SqliteStore
from tests.channels.conftest import Trainee
from tests.channels.test_restart import serving
from tests.fakes.botapi import FakeBotApi, Fault
from tests.fakes.personas import write_tiny_personas
from tests.faults.conftest import faulty_bot

VICTIM = "tiny_victim_en"
CHATS = 12
FIRST_CHAT = 6000
QUESTIONS = ["hello", "your passport?", "are you paid?"]
ANSWERS = [
    "Hi. I am Mira.",
    "The foreman has my passport.",
    "He says it is safer.",
    "They have not paid me since spring.",
]
PROBE, PROBE_ANSWER = "where do you live?", "In a container behind the crane."
EXPECTED = [*ANSWERS, PROBE_ANSWER]
KNOWN = set(EXPECTED)
MOST_REPLIES_OF_ONE_UPDATE = 2
SLOW_SEND_SECONDS = 1.0
"""Every sendMessage is held this long before the fake server acts, so most updates are in flight."""
SLOW_SENDS = 10_000
STARTUP_SECONDS = 60.0
WAIT_SECONDS = 60.0
EXIT_SECONDS = 30.0

pytestmark = pytest.mark.timeout(240)


def _received(api: FakeBotApi, chat_id: int) -> list[str]:
    return [x for x in api.texts(chat_id) if x in KNOWN]


def _at_least_once(received: Sequence[str], expected: Sequence[str]) -> bool:
    """Say whether ``received`` is ``expected`` with at most one update's replies repeated in place.

    A kill between sending replies and marking the update done makes the restart send that update's
    stored replies again: the trainee reads ``expected[:k] + expected[j:]`` with the repeated part inside
    one update's replies.
    """
    return any(
        list(received) == [*expected[:k], *expected[j:]]
        for k in range(len(expected) + 1)
        for j in range(max(0, k - MOST_REPLIES_OF_ONE_UPDATE), k + 1)
    )


async def _trainee_turns(db: Path) -> dict[int, list[tuple[str, int | None]]]:
    """Return, per chat, the trainee's text turns (text, update id) over all its sessions, in order."""
    out: dict[int, list[tuple[str, int | None]]] = {}
    async with SqliteStore(db) as store:
        async for session in store.iter_sessions():
            turns = await store.get_turns(session.id)
            out.setdefault(session.chat_id, []).extend(
                (x.text, x.update_id) for x in turns if x.speaker == SPEAKER_TRAINEE and x.event is None
            )
    return out


async def test_sigkill_with_updates_in_flight_loses_none(api: FakeBotApi, tmp_path: Path) -> None:
    write_tiny_personas(tmp_path / "personas", VICTIM)
    db = tmp_path / "db" / "understudy.sqlite3"
    trainees = [Trainee(api, FIRST_CHAT + i) for i in range(CHATS)]

    async with serving(api, tmp_path, "slow.log") as first:
        for trainee in trainees:
            trainee.send(f"/start {VICTIM}")
        for trainee in trainees:
            await trainee.texts(5, timeout=STARTUP_SECONDS)
        api.add_fault(Fault("sendMessage", delay=SLOW_SEND_SECONDS, times=SLOW_SENDS))
        sent: dict[int, list[int]] = {tr.chat_id: [] for tr in trainees}
        for question in QUESTIONS:
            for trainee in trainees:
                sent[trainee.chat_id].append(trainee.send(question)["update_id"])
        # Every question is fetched and confirmed to the Bot API (the old gap: PTB's confirmation came
        # before handling), and the first answers are trickling out: most updates are still in flight.
        await api.wait_confirmed(WAIT_SECONDS)
        await api.wait_for(lambda: any(_received(api, tr.chat_id) for tr in trainees), WAIT_SECONDS)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    api.faults.clear()

    assert api.pending_updates() == 0  # Telegram will not deliver any of them again
    before = sum(len(_received(api, tr.chat_id)) for tr in trainees)
    assert 0 < before < CHATS * len(ANSWERS)  # killed with answers still owed

    async with serving(api, tmp_path, "replayed.log") as second:
        await api.wait_for(
            lambda: all(len(set(_received(api, tr.chat_id))) == len(ANSWERS) for tr in trainees),
            STARTUP_SECONDS,
        )
        for trainee in trainees:
            sent[trainee.chat_id].append(trainee.send(PROBE)["update_id"])
        await api.wait_for(
            lambda: all(PROBE_ANSWER in _received(api, tr.chat_id) for tr in trainees), WAIT_SECONDS
        )
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), EXIT_SECONDS) == 0

    # After a clean stop nothing is pending, and handled updates are kept only until Telegram has
    # confirmed them: at most the last batch, the probes.
    rows = _inbox_rows(db)
    assert [uid for uid, done in rows if not done] == []
    assert len(rows) <= CHATS

    stored = await _trainee_turns(db)
    for trainee in trainees:
        chat = trainee.chat_id
        # Recorded exactly once each, in order, with the update that carried it.
        assert stored[chat] == list(zip([*QUESTIONS, PROBE], sent[chat], strict=True)), chat
        # Answered, in order; at most one update's replies twice.
        received = _received(api, chat)
        assert _at_least_once(received, EXPECTED), (chat, received)
    slow = (tmp_path / "slow.log").read_text()
    replayed = (tmp_path / "replayed.log").read_text()
    assert "replayed" in replayed and "updates fetched but not finished" in replayed
    assert "Traceback" not in slow + replayed


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (["a", "b", "c"], True),
        (["a", "a", "b", "c"], True),
        (["a", "b", "a", "b", "c"], True),
        (["a", "b", "b", "c"], True),
        (["a", "c"], False),
        (["a", "a", "a", "b", "c"], False),
        (["a", "b", "c", "a", "b", "c"], False),
    ],
)
def test_at_least_once_allows_one_repeat_of_one_update(received: list[str], expected: bool) -> None:
    assert _at_least_once(received, ["a", "b", "c"]) == expected


# -- replaying updates that were handled but not marked done (a kill right after handling) ------------------


def _inbox_rows(db: Path) -> list[tuple[int, bool]]:
    """Return every inbox row as (update id, handled)."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT update_id, done_at IS NOT NULL FROM inbox ORDER BY update_id").fetchall()
    return [(int(uid), bool(done)) for uid, done in rows]


def _pending_again(db: Path, updates: Sequence[dict[str, Any]]) -> None:
    """Put handled updates back in the inbox as pending, as a kill before their done mark leaves them."""
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "INSERT INTO inbox (update_id, raw, stored_at, done_at) VALUES (?, ?, '2026-01-01', NULL)"
            " ON CONFLICT (update_id) DO UPDATE SET done_at = NULL",
            [(u["update_id"], json.dumps(u)) for u in updates],
        )


async def _sessions(db: Path) -> list[tuple[int, str | None, int]]:
    async with SqliteStore(db) as store:
        return [(s.chat_id, s.end_reason, s.turns) async for s in store.iter_sessions()]


async def test_replayed_begin_press_does_not_start_a_second_session(api: FakeBotApi, tmp_path: Path) -> None:
    db = tmp_path / "understudy.sqlite3"
    anna = Trainee(api, 801)
    async with faulty_bot(api, tmp_path):
        anna.send("/start")
        _, catalogue = await anna.receive(2)
        anna.press(catalogue, "p:" + VICTIM)
        (briefing,) = await anna.receive(1)
        press = anna.press(briefing, "b:" + VICTIM)
        assert await anna.texts(3) == ["The interview begins: Mira.", "Hello.", "Who are you?"]
    _pending_again(db, [press])

    async with faulty_bot(api, tmp_path):
        # The opening is said again (its sending may not have finished), no other session begins.
        assert await anna.texts(3) == ["The interview begins: Mira.", "Hello.", "Who are you?"]
        anna.send("hello")
        assert await anna.texts(1) == ["Hi. I am Mira."]
    assert await _sessions(db) == [(anna.chat_id, None, 1)]


async def test_a_replayed_restart_begins_nothing_twice(api: FakeBotApi, tmp_path: Path) -> None:
    db = tmp_path / "understudy.sqlite3"
    anna = Trainee(api, 802)
    async with faulty_bot(api, tmp_path):
        anna.send(f"/start {VICTIM}")
        await anna.texts(5)
        anna.send("hello")
        await anna.texts(1)
        restart = anna.send("/restart")
        await anna.texts(3)
    _pending_again(db, [restart])

    async with faulty_bot(api, tmp_path):
        assert await anna.texts(3) == [t("en", "restart_done", name="Mira"), "Hello.", "Who are you?"]
        anna.send("hello")
        assert await anna.texts(1) == ["Hi. I am Mira."]
    assert await _sessions(db) == [(anna.chat_id, "restart", 1), (anna.chat_id, None, 1)]


async def test_a_replayed_end_is_harmless(api: FakeBotApi, tmp_path: Path) -> None:
    db = tmp_path / "understudy.sqlite3"
    anna = Trainee(api, 805)
    async with faulty_bot(api, tmp_path):
        anna.send(f"/start {VICTIM}")
        await anna.texts(5)
        end = anna.send("/end")
        await anna.texts(2)
    _pending_again(db, [end])

    async with faulty_bot(api, tmp_path):
        (reply,) = await anna.texts(1)
        assert reply.startswith(t("en", "end_no_session"))
    assert await _sessions(db) == [(anna.chat_id, "trainee", 0)]


async def test_replayed_text_and_sticker_are_recorded_once(api: FakeBotApi, tmp_path: Path) -> None:
    db = tmp_path / "understudy.sqlite3"
    anna = Trainee(api, 803)
    async with faulty_bot(api, tmp_path):
        anna.send(f"/start {VICTIM}")
        await anna.texts(5)
        question = anna.send("your passport?")
        await anna.texts(2)
        sticker = anna.send_kind("sticker")
        await anna.texts(1)
    _pending_again(db, [question, sticker])

    async with faulty_bot(api, tmp_path):
        # The stored replies again (the kill may have come before they were sent), then the sticker note.
        assert await anna.texts(3) == [
            "The foreman has my passport.",
            "He says it is safer.",
            t("en", "non_text"),
        ]
        anna.send("are you paid?")
        assert await anna.texts(1) == ["They have not paid me since spring."]
    async with SqliteStore(db) as store:
        (session,) = [s async for s in store.iter_sessions()]
        turns = await store.get_turns(session.id)
    trainee = [(x.text, x.event, x.update_id) for x in turns if x.speaker == SPEAKER_TRAINEE]
    assert trainee == [
        ("your passport?", None, question["update_id"]),
        ("", {"kind": "sticker"}, sticker["update_id"]),
        ("are you paid?", None, trainee[2][2]),
    ]
    assert session.turns == 2


async def test_updates_handled_before_a_restart_and_delivered_again_are_skipped(
    api: FakeBotApi, tmp_path: Path
) -> None:
    db = tmp_path / "understudy.sqlite3"
    anna = Trainee(api, 804)
    async with faulty_bot(api, tmp_path) as bot:
        anna.send(f"/start {VICTIM}")
        await anna.texts(5)
        question = anna.send("hello")
        await anna.texts(1)
        await anna.settle()
        # A kill before the confirming getUpdates: Telegram delivers the handled update again.
        await bot.store.inbox_put([(question["update_id"], json.dumps(question))])
        await bot.store.inbox_done([question["update_id"]])
    api.queue(question)

    async with faulty_bot(api, tmp_path):
        await api.wait_confirmed()
        await anna.settle()
        anna.send("your passport?")
        assert await anna.texts(2) == ["The foreman has my passport.", "He says it is safer."]
    async with SqliteStore(db) as store:
        (session,) = [s async for s in store.iter_sessions()]
    assert session.turns == 2
