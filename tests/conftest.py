"""Fixtures shared across the suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.botapi import FakeBotApi


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """Serve a fresh fake Bot API on loopback for one test."""
    async with FakeBotApi() as server:
        yield server
