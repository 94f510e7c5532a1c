"""The session service on the memory store and tiny personas: turns, pinning, busy store, throttling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.errors import StoreBusy
from bot.session import (
    END_RESTART,
    OutcomeKind,
    SessionService,
)
from bot.store.memory import MemoryStore
from tests.factories import FixedClock
from tests.fakes.personas import TINY_VICTIM_EN, TinyCatalog, tiny_catalog

CHAT = 700
TRAINEE = 700
VICTIM = "tiny_victim_en"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def store(clock: FixedClock) -> AsyncIterator[MemoryStore]:
    async with MemoryStore(clock=clock) as opened:
        yield opened


@pytest.fixture
def catalog() -> TinyCatalog:
    return tiny_catalog()


@pytest.fixture
def service(store: MemoryStore, catalog: TinyCatalog, clock: FixedClock) -> SessionService:
    return SessionService(store, catalog, clock, seed_source=lambda: 7)


async def test_begin_records_the_opening_and_pins_the_version(
    service: SessionService, store: MemoryStore, catalog: TinyCatalog
) -> None:
    outcome = await service.begin(CHAT, TRAINEE, VICTIM)
    assert (outcome.kind, outcome.replies) == (OutcomeKind.replies, ["Hello.", "Who are you?"])
    session = await store.get_open_session(CHAT)
    assert session is not None
    version = catalog.get(VICTIM).version
    assert (session.persona_id, session.persona_version, session.state["seed"]) == (VICTIM, version, 7)
    assert [(t.speaker, t.text) for t in await store.get_turns(session.id)] == [
        ("persona", "Hello."),
        ("persona", "Who are you?"),
    ]
    assert await store.get_persona_source(version) == TINY_VICTIM_EN


async def test_unknown_persona(service: SessionService) -> None:
    assert (await service.begin(CHAT, TRAINEE, "nobody")).kind is OutcomeKind.unknown_persona


async def test_say_answers_and_records_the_exchange_in_order(
    service: SessionService, store: MemoryStore
) -> None:
    await service.begin(CHAT, TRAINEE, VICTIM)
    outcome = await service.say(CHAT, TRAINEE, "Where is your passport?", update_id=11)
    assert (outcome.kind, outcome.replies) == (
        OutcomeKind.replies,
        ["The foreman has my passport.", "He says it is safer."],
    )
    assert outcome.events is not None and outcome.events.disclosed == ["passport_kept"]
    session = await store.get_open_session(CHAT)
    assert session is not None
    turns = await store.get_turns(session.id)
    assert [(t.speaker, t.text, t.rule, list(t.disclosed)) for t in turns[2:]] == [
        ("trainee", "Where is your passport?", "passport", ["passport_kept"]),
        ("persona", "The foreman has my passport.", None, []),
        ("persona", "He says it is safer.", None, []),
    ]
    assert (session.turns, session.state["turn"]) == (1, 1)


async def test_text_without_a_session(service: SessionService) -> None:
    assert (await service.say(CHAT, TRAINEE, "hello")).kind is OutcomeKind.no_session


async def test_a_redelivered_update_gets_the_stored_replies_once(
    service: SessionService, store: MemoryStore
) -> None:
    await service.begin(CHAT, TRAINEE, VICTIM)
    first = await service.say(CHAT, TRAINEE, "hello", update_id=5)
    again = await service.say(CHAT, TRAINEE, "hello", update_id=5)
    assert again.replies == first.replies == ["Hi. I am Mira."]
    session = await store.get_open_session(CHAT)
    assert session is not None and session.turns == 1


async def test_store_busy_does_not_advance_the_state(service: SessionService, store: MemoryStore) -> None:
    await service.begin(CHAT, TRAINEE, VICTIM)
    store.fail_next_write(StoreBusy("database is locked"))
    busy = await service.say(CHAT, TRAINEE, "Where is your passport?")
    assert busy.kind is OutcomeKind.busy
    session = await store.get_open_session(CHAT)
    assert session is not None and (session.turns, session.state["turn"], session.state["ledger"]) == (
        0,
        0,
        {},
    )
    retried = await service.say(CHAT, TRAINEE, "Where is your passport?")
    assert retried.kind is OutcomeKind.replies
    session = await store.get_open_session(CHAT)
    assert session is not None and (session.turns, list(session.state["ledger"])) == (1, ["passport_kept"])


async def test_the_persona_ends_the_interview_with_a_debrief(
    service: SessionService, store: MemoryStore, clock: FixedClock
) -> None:
    await service.begin(CHAT, TRAINEE, VICTIM)
    clock.advance(seconds=30)
    await service.say(CHAT, TRAINEE, "are you paid?")
    clock.advance(seconds=45)
    outcome = await service.say(CHAT, TRAINEE, "ok, bye")
    assert (outcome.kind, outcome.replies) == (OutcomeKind.ended, ["Goodbye."])
    assert outcome.session is not None and outcome.session.end_reason == "rule:bye"
    debrief = outcome.debrief
    assert debrief is not None
    assert (debrief.persona_id, debrief.facts_total, [f.id for f in debrief.disclosed]) == (
        VICTIM,
        3,
        ["wages_held"],
    )
    assert (debrief.indicators_found, debrief.indicators_missed) == (
        ("withholding_of_wages",),
        ("retention_of_documents", "abusive_working_living_conditions"),
    )
    assert (debrief.turns, debrief.duration, debrief.end_reason) == (2, timedelta(seconds=75), "rule:bye")
    assert await store.get_open_session(CHAT) is None
    assert (await service.say(CHAT, TRAINEE, "hello?")).kind is OutcomeKind.no_session


async def test_end_closes_with_a_debrief(service: SessionService, store: MemoryStore) -> None:
    assert (await service.end(CHAT)).kind is OutcomeKind.no_session
    await service.begin(CHAT, TRAINEE, VICTIM)
    await service.say(CHAT, TRAINEE, "where do you sleep")
    outcome = await service.end(CHAT)
    assert outcome.kind is OutcomeKind.closed
    assert outcome.debrief is not None
    assert ([f.id for f in outcome.debrief.disclosed], outcome.debrief.turns, outcome.debrief.end_reason) == (
        ["lives_on_site"],
        1,
        "trainee",
    )
    assert await store.get_open_session(CHAT) is None


async def test_restart_ends_the_old_session_and_begins_again(
    service: SessionService, store: MemoryStore
) -> None:
    first = await service.begin(CHAT, TRAINEE, VICTIM)
    await service.say(CHAT, TRAINEE, "hello")
    again = await service.restart(CHAT, TRAINEE)
    assert (again.kind, again.replies) == (OutcomeKind.replies, ["Hello.", "Who are you?"])
    assert first.session is not None and again.session is not None
    assert (await store.get_session(first.session.id)).end_reason == END_RESTART
    assert again.session.id != first.session.id


async def test_a_burst_is_throttled_without_engine_work(
    service: SessionService, store: MemoryStore, clock: FixedClock
) -> None:
    await service.begin(CHAT, TRAINEE, VICTIM)
    kinds = [(await service.say(CHAT, TRAINEE, f"number {i}")).kind for i in range(9)]
    limit = service.limiter.limit
    assert kinds == [OutcomeKind.replies] * limit + [OutcomeKind.slow_down] + [OutcomeKind.throttled] * (
        8 - limit
    )
    session = await store.get_open_session(CHAT)
    assert session is not None and session.turns == limit
    turns = await store.get_turns(session.id)
    assert [t.event for t in turns if t.event] == [{"kind": "throttled"}] * (9 - limit)
    clock.advance(seconds=service.limiter.window)
    assert (await service.say(CHAT, TRAINEE, "hello")).kind is OutcomeKind.replies


async def test_events_are_recorded_only_in_an_open_session(
    service: SessionService, store: MemoryStore
) -> None:
    assert await service.record_event(CHAT, {"kind": "sticker"}) is False
    await service.begin(CHAT, TRAINEE, VICTIM)
    assert await service.record_event(CHAT, {"kind": "sticker"}, update_id=3) is True
    assert await service.record_event(CHAT, {"kind": "edited", "message_id": 4}, "where is it", 4) is True
    session = await store.get_open_session(CHAT)
    assert session is not None
    turns = await store.get_turns(session.id)
    assert [(t.speaker, t.text, t.event) for t in turns[2:]] == [
        ("trainee", "", {"kind": "sticker"}),
        ("trainee", "where is it", {"kind": "edited", "message_id": 4}),
    ]
    assert session.turns == 0


async def test_a_resumed_session_keeps_its_persona_version(
    store: MemoryStore, catalog: TinyCatalog, clock: FixedClock
) -> None:
    first_service = SessionService(store, catalog, clock, seed_source=lambda: 1)
    await first_service.begin(CHAT, TRAINEE, VICTIM)
    catalog.replace(VICTIM, TINY_VICTIM_EN.replace("Hi. I am Mira.", "Hello, I am Mira, version two."))
    # A new service is what a restarted process has: no compiled cache, a catalogue with the new version.
    restarted = SessionService(store, catalog, clock, seed_source=lambda: 1)
    assert (await restarted.say(CHAT, TRAINEE, "hello")).replies == ["Hi. I am Mira."]
    await restarted.begin(CHAT + 1, TRAINEE + 1, VICTIM)
    assert (await restarted.say(CHAT + 1, TRAINEE + 1, "hello")).replies == ["Hello, I am Mira, version two."]


async def test_language_is_picked_once_and_changed_on_request(
    service: SessionService, store: MemoryStore
) -> None:
    assert await service.greet(TRAINEE, "Anna", "ru-RU") == "ru"
    assert await service.greet(TRAINEE, "Anna", "en") == "ru"
    assert await service.set_language(TRAINEE, "Anna", "en") == "en"
    fresh = SessionService(store, tiny_catalog())
    assert await fresh.language(TRAINEE, "ru") == "en"
    trainee = await store.get_trainee(TRAINEE)
    assert trainee is not None and (trainee.display_name, trainee.language) == ("Anna", "en")


def test_personas_are_grouped_by_case(service: SessionService) -> None:
    assert [p.id for p in service.personas()] == ["tiny_victim_en", "tiny_witness_ru"]
