"""The Store contract, run against every implementation (the ``store`` fixture is parametrised)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import NotFound, StoreError
from bot.store.base import SUPERSEDED, NewTurn, SessionFilter, Store, StoreStats, Trainee
from tests.factories import (
    DEFAULT_PERSONA,
    EPOCH,
    FixedClock,
    SessionSpec,
    engine_state,
    make_session,
    persona_turn,
    seed_sessions,
    trainee_turn,
)

# -- lifecycle -----------------------------------------------------------------------------------------------


async def test_open_and_close_are_idempotent(store: Store) -> None:
    await store.open()
    await store.close()
    await store.close()
    await store.open()
    assert await store.stats() == StoreStats(0, 0, 0, 0, 0)


async def test_data_survive_close_and_reopen(store: Store) -> None:
    session = await make_session(store, exchanges=[("Hi", "Hello")])
    await store.close()
    await store.open()
    assert await store.get_session(session.id) == session


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_session(1),
        lambda s: s.upsert_trainee(1, "A"),
        lambda s: s.stats(),
        lambda s: s.meta_get("k"),
    ],
)
async def test_a_closed_store_raises_store_error(store: Store, call: Any) -> None:
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        await call(store)


# -- trainees ------------------------------------------------------------------------------------------------


async def test_upsert_trainee_creates_then_updates_and_keeps_first_sighting(
    store: Store, clock: FixedClock
) -> None:
    first = await store.upsert_trainee(7, "Anna", "en")
    clock.advance(hours=1)
    renamed = await store.upsert_trainee(7, "Anna K.", None)
    assert first == Trainee(7, "Anna", "en", EPOCH)
    assert renamed == Trainee(7, "Anna K.", "en", EPOCH)
    assert await store.get_trainee(7) == renamed
    assert await store.get_trainee(8) is None


# -- sessions ------------------------------------------------------------------------------------------------


async def test_start_session_records_everything_and_numbers_opening_turns(store: Store) -> None:
    session = await store.start_session(
        trainee_id=42,
        chat_id=4200,
        persona_id="p_en",
        persona_version="abc123",
        persona_language="en",
        state={"turn": 0, "vars": {"trust": 2}},
        opening=[persona_turn("One."), persona_turn("Two.")],
    )
    assert (session.trainee_id, session.chat_id, session.persona_id) == (42, 4200, "p_en")
    assert (session.persona_version, session.persona_language) == ("abc123", "en")
    assert (session.started_at, session.last_activity_at, session.ended_at) == (EPOCH, EPOCH, None)
    assert (session.state, session.turns, session.notes, session.is_open) == (
        {"turn": 0, "vars": {"trust": 2}},
        0,
        [],
        True,
    )
    assert session.trainee_name is None  # the trainee row was created without a name
    turns = await store.get_turns(session.id)
    assert [(t.seq, t.speaker, t.text, t.at) for t in turns] == [
        (1, "persona", "One.", EPOCH),
        (2, "persona", "Two.", EPOCH),
    ]
    assert await store.get_trainee(42) == Trainee(42, None, None, EPOCH)


async def test_a_new_session_supersedes_the_open_one_of_the_same_chat_only(
    store: Store, clock: FixedClock
) -> None:
    old = await make_session(store, trainee_id=1)
    other_chat = await make_session(store, trainee_id=2)
    clock.advance(minutes=5)
    new = await make_session(store, trainee_id=1)
    superseded = await store.get_session(old.id)
    assert (superseded.end_reason, superseded.ended_at) == (SUPERSEDED, clock.now)
    assert await store.get_open_session(1) == new
    assert (await store.get_session(other_chat.id)).is_open


async def test_get_session_of_unknown_id_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_session(999)


async def test_get_open_session_is_none_without_one(store: Store) -> None:
    session = await make_session(store)
    await store.end_session(session.id, "trainee")
    assert await store.get_open_session(session.chat_id) is None
    assert await store.get_open_session(123456) is None


async def test_record_exchange_appends_turns_and_advances_state_together(
    store: Store, clock: FixedClock
) -> None:
    session = await make_session(store)
    clock.advance(seconds=30)
    stored = await store.record_exchange(
        session.id,
        trainee_turn("Where is your passport?", question_type="directive", cue="wh:where"),
        [
            persona_turn(
                "The boss keeps it.",
                rule="ask_passport",
                disclosed=("passport_held",),
                changes={"trust": [3, 4]},
            ),
            persona_turn("He says it is safer."),
        ],
        engine_state(1, vars={"trust": 4}),
    )
    assert [(t.seq, t.speaker) for t in stored] == [(2, "trainee"), (3, "persona"), (4, "persona")]
    assert stored[1].disclosed == ["passport_held"]  # tuples come back as lists, as from JSON
    assert stored[1].changes == {"trust": [3, 4]}
    assert (stored[0].question_type, stored[0].cue, stored[0].at) == ("directive", "wh:where", clock.now)
    assert await store.get_turns(session.id) == [*(await store.get_turns(session.id))[:1], *stored]
    after = await store.get_session(session.id)
    assert (after.turns, after.state["turn"], after.last_activity_at) == (1, 1, clock.now)


async def test_record_exchange_can_end_the_session_in_the_same_transaction(store: Store) -> None:
    session = await make_session(store)
    await store.record_exchange(
        session.id, trainee_turn(), [persona_turn("Goodbye.")], engine_state(1), end_reason="ending:left"
    )
    after = await store.get_session(session.id)
    assert (after.is_open, after.end_reason, after.turns) == (False, "ending:left", 1)
    assert await store.get_open_session(session.chat_id) is None


async def test_a_redelivered_update_is_recorded_once(store: Store) -> None:
    session = await make_session(store)
    first = await store.record_exchange(
        session.id, trainee_turn("Hi", update_id=77), [persona_turn("Hello")], engine_state(1)
    )
    again = await store.record_exchange(
        session.id, trainee_turn("Hi", update_id=77), [persona_turn("Other")], engine_state(9)
    )
    assert again == first
    assert [t.update_id for t in first] == [77, 77]
    assert await store.find_exchange(session.id, 77) == first
    assert await store.find_exchange(session.id, 78) == []
    after = await store.get_session(session.id)
    assert (after.turns, after.state["turn"]) == (1, 1)


@pytest.mark.parametrize(
    ("first", "replies", "state", "error"),
    [
        (persona_turn(), [], {}, "trainee turn"),
        (trainee_turn(), [], {"bad": object()}, "not JSON-serialisable"),
        (trainee_turn(), [NewTurn(speaker="narrator", text="x")], {}, "unknown speaker"),  # type: ignore[arg-type]
        (trainee_turn(), [persona_turn(changes={"x": {1, 2}})], {}, "not JSON-serialisable"),
    ],
)
async def test_a_failed_exchange_writes_nothing(
    store: Store, first: NewTurn, replies: list[NewTurn], state: dict[str, Any], error: str
) -> None:
    session = await make_session(store)
    before = await store.get_turns(session.id)
    with pytest.raises(StoreError, match=error):
        await store.record_exchange(session.id, first, replies, state)
    assert await store.get_turns(session.id) == before
    assert await store.get_session(session.id) == session


async def test_record_exchange_rejects_unknown_and_ended_sessions(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.record_exchange(404, trainee_turn(), [], {})
    session = await make_session(store)
    await store.end_session(session.id, "trainee")
    with pytest.raises(StoreError, match="has ended"):
        await store.record_exchange(session.id, trainee_turn(), [], {})


async def test_record_event_stores_a_turn_without_counting_an_exchange(
    store: Store, clock: FixedClock
) -> None:
    session = await make_session(store)
    clock.advance(seconds=5)
    event = await store.record_event(
        session.id, NewTurn("trainee", "", event={"kind": "sticker", "emoji": "👍"})
    )
    assert (event.seq, event.event, event.at) == (2, {"kind": "sticker", "emoji": "👍"}, clock.now)
    after = await store.get_session(session.id)
    assert (after.turns, after.last_activity_at) == (0, clock.now)
    with pytest.raises(NotFound):
        await store.record_event(999, NewTurn("system", "x"))


async def test_end_session_is_idempotent_and_keeps_the_first_reason(store: Store, clock: FixedClock) -> None:
    session = await make_session(store)
    clock.advance(minutes=3)
    ended = await store.end_session(
        session.id, "trainee", engine_state(4, ended=True), [NewTurn("system", "Ended.")]
    )
    clock.advance(minutes=3)
    again = await store.end_session(session.id, "superseded", engine_state(9))
    assert ended == again
    assert (ended.end_reason, ended.ended_at, ended.state["turn"]) == (
        "trainee",
        EPOCH + timedelta(minutes=3),
        4,
    )
    assert [t.text for t in await store.get_turns(session.id)][-1] == "Ended."


async def test_end_session_without_state_keeps_the_stored_state(store: Store) -> None:
    session = await make_session(store, exchanges=[("Hi", "Hello")])
    ended = await store.end_session(session.id, "trainee")
    assert ended.state == session.state


async def test_returned_state_is_a_copy(store: Store) -> None:
    session = await make_session(store)
    session.state["vars"]["trust"] = 99
    assert (await store.get_session(session.id)).state["vars"]["trust"] == 3


async def test_a_turn_keeps_its_own_time_and_extra(store: Store) -> None:
    session = await make_session(store)
    at = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
    stored = await store.record_event(
        session.id, NewTurn("system", "note", at=at, extra={"topic": "work", "vars": {"trust": 5}})
    )
    assert (stored.at, stored.extra) == (at, {"topic": "work", "vars": {"trust": 5}})
    assert (await store.get_turns(session.id))[-1] == stored


async def test_text_is_stored_verbatim(store: Store) -> None:
    nasty = "<script>alert(1)</script> # *bold* `x` \u0000 '; DROP TABLE turns; -- ёЁ 🙂\n2nd line"
    session = await make_session(store, exchanges=[(nasty, nasty)])
    assert [t.text for t in await store.get_turns(session.id)][1:] == [nasty, nasty]


# -- listing and streaming -----------------------------------------------------------------------------------


async def _three_sessions(store: Store, clock: FixedClock) -> list[int]:
    ids = []
    for trainee, persona in [(1, "a_en"), (2, "b_ru"), (1, "b_ru")]:
        clock.advance(minutes=10)
        ids.append(
            (
                await make_session(
                    store, trainee_id=trainee, chat_id=trainee * 10 + len(ids), persona_id=persona
                )
            ).id
        )
    await store.end_session(ids[0], "trainee")
    return ids


async def test_list_sessions_newest_first_with_paging(store: Store, clock: FixedClock) -> None:
    ids = await _three_sessions(store, clock)
    assert [s.id for s in await store.list_sessions()] == ids[::-1]
    assert [s.id for s in await store.list_sessions(limit=1, offset=1)] == [ids[1]]
    listed = (await store.list_sessions(limit=1))[0]
    assert (listed.trainee_name, listed.persona_id) == ("Anna Trainee", "b_ru")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SessionFilter(trainee_id=1), [2, 0]),
        (SessionFilter(persona_id="b_ru"), [2, 1]),
        (SessionFilter(status="open"), [2, 1]),
        (SessionFilter(status="ended"), [0]),
        (SessionFilter(chat_id=21), [1]),
        (SessionFilter(started_after=EPOCH + timedelta(minutes=20)), [2, 1]),
        (SessionFilter(started_before=EPOCH + timedelta(minutes=20)), [0]),
        (SessionFilter(trainee_id=1, status="open"), [2]),
        (SessionFilter(persona_id="nobody"), []),
    ],
)
async def test_list_and_count_with_filters(
    store: Store, clock: FixedClock, filters: SessionFilter, expected: list[int]
) -> None:
    ids = await _three_sessions(store, clock)
    assert [s.id for s in await store.list_sessions(filters=filters)] == [ids[i] for i in expected]
    assert await store.count_sessions(filters) == len(expected)
    streamed = [s.id async for s in store.iter_sessions(filters, batch_size=1)]
    assert streamed == sorted(ids[i] for i in expected)


@pytest.mark.parametrize("batch_size", [1, 2, 5, 7, 100])
async def test_iter_sessions_streams_every_session_once_in_id_order(store: Store, batch_size: int) -> None:
    ids = await seed_sessions(store, 7, exchanges=1)
    streamed = [s async for s in store.iter_sessions(batch_size=batch_size)]
    assert [s.id for s in streamed] == ids
    assert streamed == [await store.get_session(i) for i in ids]


@pytest.mark.parametrize("batch_size", [1, 3, 200])
async def test_iter_turns_streams_turns_in_order(store: Store, batch_size: int) -> None:
    session = await make_session(store, exchanges=[(f"q{n}", f"a{n}") for n in range(4)])
    streamed = [t async for t in store.iter_turns(session.id, batch_size=batch_size)]
    assert streamed == await store.get_turns(session.id)
    assert [t.seq for t in streamed] == list(range(1, 10))


async def test_turns_of_an_unknown_session_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_turns(5)
    with pytest.raises(NotFound):
        [t async for t in store.iter_turns(5)]


# -- notes, retention, persona sources, meta -----------------------------------------------------------------


async def test_notes_are_attached_in_order(store: Store, clock: FixedClock) -> None:
    session = await make_session(store)
    first = await store.add_note(session.id, "instructor:9", "Good rapport.")
    clock.advance(minutes=1)
    second = await store.add_note(session.id, "cli", "Missed the passport.")
    assert (await store.get_session(session.id)).notes == [first, second]
    assert (await store.list_sessions())[0].notes == [first, second]
    assert second.at == clock.now
    with pytest.raises(NotFound):
        await store.add_note(404, "cli", "x")


async def test_purge_deletes_old_sessions_turns_notes_and_orphan_trainees(
    store: Store, clock: FixedClock
) -> None:
    old = await make_session(store, trainee_id=1, exchanges=[("q", "a")])
    await store.add_note(old.id, "cli", "old note")
    shared_trainee_old = await make_session(store, trainee_id=2)
    clock.advance(days=100)
    recent = await make_session(store, trainee_id=3, exchanges=[("q", "a")])
    await make_session(store, trainee_id=2)  # trainee 2 is still active, so kept
    purged = await store.purge_older_than(clock.now - timedelta(days=90))
    assert purged == 2
    with pytest.raises(NotFound):
        await store.get_session(old.id)
    with pytest.raises(NotFound):
        await store.get_session(shared_trainee_old.id)
    assert await store.get_trainee(1) is None
    assert await store.get_trainee(2) is not None
    assert await store.stats() == StoreStats(trainees=2, sessions=2, open_sessions=2, turns=4, notes=0)
    assert (await store.get_session(recent.id)).turns == 1
    assert await store.purge_older_than(clock.now - timedelta(days=90)) == 0


async def test_purge_counts_by_last_activity_not_start(store: Store, clock: FixedClock) -> None:
    session = await make_session(store)
    clock.advance(days=100)
    await store.record_exchange(session.id, trainee_turn(), [persona_turn()], engine_state(1))
    assert await store.purge_older_than(clock.now - timedelta(days=90)) == 0


async def test_session_ids_are_not_reused_after_a_purge(store: Store, clock: FixedClock) -> None:
    ids = await seed_sessions(store, 2)
    clock.advance(days=1)
    assert await store.purge_older_than(clock.now) == 2
    fresh = await make_session(store)
    assert fresh.id > max(ids)


async def test_persona_source_first_write_wins(store: Store) -> None:
    await store.store_persona_source("hash1", DEFAULT_PERSONA, "id: one\n")
    await store.store_persona_source("hash1", DEFAULT_PERSONA, "id: changed\n")
    assert await store.get_persona_source("hash1") == "id: one\n"
    assert await store.get_persona_source("hash2") is None


async def test_meta_setdefault_keeps_the_first_value(store: Store) -> None:
    assert await store.meta_get("salt") is None
    assert await store.meta_setdefault("salt", "aa") == "aa"
    assert await store.meta_setdefault("salt", "bb") == "aa"
    assert await store.meta_get("salt") == "aa"


async def test_stats_count_rows(store: Store) -> None:
    session = await make_session(store, exchanges=[("q", "a")])
    await store.add_note(session.id, "cli", "n")
    await make_session(store, spec=SessionSpec(trainee_id=2, opening=()))
    assert await store.stats() == StoreStats(trainees=2, sessions=2, open_sessions=2, turns=3, notes=1)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.list_sessions(limit=-1),
        lambda s: s.list_sessions(offset=-1),
        lambda s: anext(s.iter_sessions(batch_size=0)),
        lambda s: anext(s.iter_turns(1, batch_size=0)),
    ],
)
async def test_negative_pages_and_empty_batches_are_refused(store: Store, call: Any) -> None:
    await make_session(store)
    with pytest.raises(StoreError, match="must be"):
        await call(store)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.end_session(404, "trainee"),
        lambda s: s.record_event(404, NewTurn("system", "x")),
        lambda s: s.add_note(404, "cli", "x"),
        lambda s: s.get_turns(404),
    ],
)
async def test_writes_to_an_unknown_session_raise_not_found(store: Store, call: Any) -> None:
    with pytest.raises(NotFound):
        await call(store)
    assert await store.stats() == StoreStats(0, 0, 0, 0, 0)
