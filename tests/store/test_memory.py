"""MemoryStore-only behaviour: fault injection for the session service's tests."""

from __future__ import annotations

import pytest

from bot.errors import StoreBusy
from bot.store.memory import MemoryStore
from tests.factories import FixedClock, engine_state, make_session, persona_turn, trainee_turn


async def test_fail_next_write_fails_once_and_writes_nothing(clock: FixedClock) -> None:
    async with MemoryStore(clock=clock) as store:
        session = await make_session(store)
        store.fail_next_write(StoreBusy("simulated lock"))
        with pytest.raises(StoreBusy, match="simulated lock"):
            await store.record_exchange(session.id, trainee_turn(), [persona_turn()], engine_state(1))
        assert await store.get_session(session.id) == session
        await store.record_exchange(session.id, trainee_turn(), [persona_turn()], engine_state(1))
        assert (await store.get_session(session.id)).turns == 1
