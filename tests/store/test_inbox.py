"""The update inbox contract, run against every Store implementation (the ``store`` fixture)."""

from __future__ import annotations

import pytest

from bot.errors import StoreError
from bot.store.base import INBOX_KEEP, Store
from tests.factories import FixedClock


def _raw(update_id: int) -> str:
    return f'{{"update_id": {update_id}, "message": {{"text": "q{update_id}"}}}}'


async def test_put_updates_are_pending_oldest_first(store: Store) -> None:
    assert await store.inbox_put([(12, _raw(12)), (10, _raw(10)), (11, _raw(11))]) == []
    assert await store.inbox_pending(10) == [(10, _raw(10)), (11, _raw(11)), (12, _raw(12))]


@pytest.mark.parametrize(
    ("limit", "after", "expected"),
    [
        (2, None, [1, 2]),
        (10, 2, [3, 4]),
        (1, 3, [4]),
        (0, None, []),
        (10, 4, []),
    ],
)
async def test_pending_pages_by_id(store: Store, limit: int, after: int | None, expected: list[int]) -> None:
    await store.inbox_put([(i, _raw(i)) for i in range(1, 5)])
    assert [uid for uid, _ in await store.inbox_pending(limit, after)] == expected


async def test_put_is_idempotent_and_keeps_the_first_text(store: Store) -> None:
    await store.inbox_put([(1, _raw(1))])
    assert await store.inbox_put([(1, "changed"), (2, _raw(2))]) == []
    assert await store.inbox_pending(10) == [(1, _raw(1)), (2, _raw(2))]


async def test_done_updates_are_not_pending_and_are_reported_when_put_again(store: Store) -> None:
    await store.inbox_put([(1, _raw(1)), (2, _raw(2)), (3, _raw(3))])
    await store.inbox_done([1, 3, 99])  # 99 was never put: ignored
    assert await store.inbox_pending(10) == [(2, _raw(2))]
    # Telegram delivering 1 and 3 again (not confirmed before a crash): the inbox says they were handled.
    assert await store.inbox_put([(1, _raw(1)), (2, _raw(2)), (3, _raw(3)), (4, _raw(4))]) == [1, 3]
    assert await store.inbox_pending(10) == [(2, _raw(2)), (4, _raw(4))]


async def test_done_twice_and_done_of_nothing_are_harmless(store: Store) -> None:
    await store.inbox_put([(1, _raw(1))])
    await store.inbox_done([1])
    await store.inbox_done([1])
    await store.inbox_done([])
    assert await store.inbox_put([(1, _raw(1))]) == [1]


async def test_confirmed_handled_updates_are_forgotten_pending_ones_kept(store: Store) -> None:
    await store.inbox_put([(i, _raw(i)) for i in range(1, 6)])
    await store.inbox_done([1, 2, 4])
    # The getUpdates call with offset 4 confirmed 1..3: handled 1 and 2 go, pending 3 stays; 4 is not
    # confirmed yet, so it is still known as handled.
    assert await store.inbox_put([], confirmed_below=4) == []
    assert await store.inbox_put([(1, _raw(1)), (2, _raw(2)), (4, _raw(4))]) == [4]
    # Forgotten means new again: 1 and 2 are pending now, as a fresh update would be.
    assert [uid for uid, _ in await store.inbox_pending(10)] == [1, 2, 3, 5]


async def test_handled_updates_older_than_a_day_are_forgotten(store: Store, clock: FixedClock) -> None:
    await store.inbox_put([(100, _raw(100)), (101, _raw(101))])
    await store.inbox_done([100])
    clock.advance(seconds=INBOX_KEEP.total_seconds() + 1)
    await store.inbox_done([101])
    await store.inbox_put([], confirmed_below=1)
    assert await store.inbox_put([(100, _raw(100)), (101, _raw(101))]) == [101]
    assert await store.inbox_pending(10) == [(100, _raw(100))]


async def test_the_inbox_survives_close_and_reopen(store: Store) -> None:
    await store.inbox_put([(7, _raw(7)), (8, _raw(8))])
    await store.inbox_done([7])
    await store.close()
    await store.open()
    assert await store.inbox_pending(10) == [(8, _raw(8))]
    assert await store.inbox_put([(7, _raw(7))]) == [7]


async def test_a_negative_limit_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="zero or more"):
        await store.inbox_pending(-1)


async def test_a_closed_store_refuses_the_inbox(store: Store) -> None:
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        await store.inbox_put([(1, _raw(1))])
