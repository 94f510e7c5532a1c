"""Transcript storage: the async :class:`Store` contract, its SQLite default and an in-memory twin."""

from bot.store.base import (
    SPEAKER_PERSONA,
    SPEAKER_SYSTEM,
    SPEAKER_TRAINEE,
    Clock,
    NewTurn,
    Note,
    SessionFilter,
    SessionRecord,
    Speaker,
    Store,
    StoreStats,
    Trainee,
    TurnRecord,
    utc_now,
)
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore

__all__ = [
    "SPEAKER_PERSONA",
    "SPEAKER_SYSTEM",
    "SPEAKER_TRAINEE",
    "Clock",
    "MemoryStore",
    "NewTurn",
    "Note",
    "SessionFilter",
    "SessionRecord",
    "Speaker",
    "SqliteStore",
    "Store",
    "StoreStats",
    "Trainee",
    "TurnRecord",
    "utc_now",
]
