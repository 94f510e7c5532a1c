"""The storage contract: record dataclasses and the abstract async :class:`Store`.

Every implementation (``SqliteStore``, ``MemoryStore``) passes the same contract suite in ``tests/store``.

Invariants every implementation keeps:

- All timestamps are aware UTC ``datetime`` values from the injected ``clock``, unless the caller
  supplies one on a :class:`NewTurn`.
- At most one open session per chat: :meth:`Store.start_session` ends any open session of the same chat with
  ``end_reason="superseded"`` in the same transaction.
- :meth:`Store.record_exchange` writes the trainee turn, the persona turns and the new engine state in ONE
  transaction; on any error nothing of it is stored. The session service calls it before sending the replies.
- Turn ``seq`` numbers are 1-based, dense and ordered per session; the store assigns them.
- The update inbox (:meth:`Store.inbox_put`, :meth:`Store.inbox_done`, :meth:`Store.inbox_pending`) keeps
  every fetched Telegram update until its handler has finished; an update is stored once however often
  it is put, and a handled update is forgotten once Telegram can no longer deliver it again.
- Transient failures (database locked or busy, disk full) raise :class:`bot.errors.StoreBusy`; a missing
  session raises :class:`bot.errors.NotFound`; anything else raises :class:`bot.errors.StoreError`.
  No driver exception leaks.
"""

from __future__ import annotations

import abc
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self

from bot.errors import StoreError

Clock = Callable[[], datetime]
"""A callable returning the current time as an aware UTC datetime; injected so tests are deterministic."""

Speaker = Literal["trainee", "persona", "system"]

SPEAKER_TRAINEE: Speaker = "trainee"
SPEAKER_PERSONA: Speaker = "persona"
SPEAKER_SYSTEM: Speaker = "system"
SPEAKERS: tuple[Speaker, ...] = (SPEAKER_TRAINEE, SPEAKER_PERSONA, SPEAKER_SYSTEM)

SUPERSEDED = "superseded"
"""End reason given to an open session when a new one starts in the same chat."""

DEFAULT_PAGE_SIZE = 50
DEFAULT_BATCH_SIZE = 200
INBOX_KEEP = timedelta(days=1)
"""Handled updates older than this are forgotten whatever the offset: Telegram keeps an update 24 hours."""


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (the default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Trainee:
    """A person who plays interviews: a Telegram user id, or a local id for the terminal."""

    id: int
    display_name: str | None
    language: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Note:
    """An instructor's note attached to a session."""

    session_id: int
    at: datetime
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class NewTurn:
    """A turn to be recorded; the store assigns ``session_id``, ``seq`` and (if None) ``at``.

    ``event`` marks a non-text message or other happening: ``{"kind": "sticker"}``, ``{"kind": "edited"}``.
    ``extra`` is free JSON for per-turn engine details not worth a column (topic, fallback_level, ending,
    contaminated facts, a vars snapshot, matched terms...).
    ``update_id`` is the Telegram update that caused the turn, so a redelivered update is recognised.
    """

    speaker: Speaker
    text: str
    rule: str | None = None
    disclosed: Sequence[str] = ()
    changes: dict[str, Any] = field(default_factory=dict)
    question_type: str | None = None
    cue: str | None = None
    event: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    update_id: int | None = None
    at: datetime | None = None

    @classmethod
    def from_record(cls, turn: TurnRecord, *, keep_time: bool = True) -> NewTurn:
        """Return the turn that writes a stored turn again (in another session or store); not its update id."""
        return cls(
            turn.speaker,
            turn.text,
            rule=turn.rule,
            disclosed=tuple(turn.disclosed),
            changes=dict(turn.changes),
            question_type=turn.question_type,
            cue=turn.cue,
            event=turn.event,
            extra=dict(turn.extra),
            at=turn.at if keep_time else None,
        )


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """A stored turn of a session."""

    session_id: int
    seq: int
    at: datetime
    speaker: Speaker
    text: str
    rule: str | None = None
    disclosed: list[str] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    question_type: str | None = None
    cue: str | None = None
    event: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    update_id: int | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored interview session.

    ``turns`` counts the trainee utterances answered through :meth:`Store.record_exchange` (not events).
    ``last_activity_at`` is the time of the last write to the session; retention purges by it.
    """

    id: int
    trainee_id: int
    chat_id: int
    persona_id: str
    persona_version: str
    persona_language: str
    started_at: datetime
    last_activity_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    turns: int = 0
    notes: list[Note] = field(default_factory=list)
    trainee_name: str | None = None

    @property
    def is_open(self) -> bool:
        """Return True while the session has not ended."""
        return self.ended_at is None

    @property
    def status(self) -> str:
        """Return ``"open"`` or ``"ended"``."""
        return "open" if self.ended_at is None else "ended"


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Optional criteria for listing sessions; ``None`` fields do not filter."""

    trainee_id: int | None = None
    chat_id: int | None = None
    persona_id: str | None = None
    status: Literal["open", "ended"] | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Row counts, for benchmarks and health checks."""

    trainees: int
    sessions: int
    open_sessions: int
    turns: int
    notes: int


class Store(abc.ABC):
    """The async transcript store; open it in ``post_init`` and close it in ``post_shutdown``."""

    clock: Clock

    async def __aenter__(self) -> Self:
        """Open the store for an ``async with`` block."""
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the store at the end of an ``async with`` block."""
        await self.close()

    # -- lifecycle -------------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date; calling it twice is harmless."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection; calling it twice is harmless."""

    # -- trainees --------------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def upsert_trainee(
        self, trainee_id: int, display_name: str | None = None, language: str | None = None
    ) -> Trainee:
        """Create the trainee or update its name and language; None keeps the stored value."""

    @abc.abstractmethod
    async def get_trainee(self, trainee_id: int) -> Trainee | None:
        """Return the trainee, or None if unknown."""

    # -- sessions --------------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def start_session(
        self,
        *,
        trainee_id: int,
        chat_id: int,
        persona_id: str,
        persona_version: str,
        persona_language: str,
        state: dict[str, Any],
        opening: Sequence[NewTurn] = (),
    ) -> SessionRecord:
        """Start a session with its initial engine state and opening turns, superseding the chat's open one.

        The trainee row is created if missing (without a name). One transaction.
        """

    @abc.abstractmethod
    async def get_session(self, session_id: int) -> SessionRecord:
        """Return the session with its notes; raise NotFound if it does not exist."""

    @abc.abstractmethod
    async def get_open_session(self, chat_id: int) -> SessionRecord | None:
        """Return the chat's open session, or None."""

    @abc.abstractmethod
    async def record_exchange(
        self,
        session_id: int,
        trainee_turn: NewTurn,
        persona_turns: Sequence[NewTurn],
        new_state: dict[str, Any],
        *,
        end_reason: str | None = None,
    ) -> list[TurnRecord]:
        """Store a trainee turn, the replies and the new state in one transaction; return the stored turns.

        With ``end_reason`` the session also ends in the same transaction. If ``trainee_turn.update_id`` was
        already recorded for this session, nothing is written and the turns stored for it then are returned
        (idempotent redelivery). Raise NotFound for an unknown session and StoreError for an ended one.
        """

    @abc.abstractmethod
    async def find_exchange(self, session_id: int, update_id: int) -> list[TurnRecord]:
        """Return the turns recorded for a Telegram update in this session (empty if none)."""

    @abc.abstractmethod
    async def record_event(self, session_id: int, turn: NewTurn) -> TurnRecord:
        """Store one turn that does not advance the engine (a sticker, an edit, a system note); return it."""

    @abc.abstractmethod
    async def end_session(
        self,
        session_id: int,
        reason: str,
        state: dict[str, Any] | None = None,
        closing: Sequence[NewTurn] = (),
    ) -> SessionRecord:
        """End the session (optionally storing a final state and closing turns) and return it.

        Ending an already ended session changes nothing and returns it as stored.
        """

    @abc.abstractmethod
    async def list_sessions(
        self, limit: int = DEFAULT_PAGE_SIZE, offset: int = 0, filters: SessionFilter | None = None
    ) -> list[SessionRecord]:
        """Return sessions, newest start first (ties: higher id first)."""

    @abc.abstractmethod
    async def count_sessions(self, filters: SessionFilter | None = None) -> int:
        """Return how many sessions match."""

    @abc.abstractmethod
    def iter_sessions(
        self, filters: SessionFilter | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> AsyncIterator[SessionRecord]:
        """Yield matching sessions by ascending id, fetching ``batch_size`` at a time (flat memory)."""

    @abc.abstractmethod
    async def get_turns(self, session_id: int) -> list[TurnRecord]:
        """Return the session's turns in order; raise NotFound for an unknown session."""

    @abc.abstractmethod
    def iter_turns(self, session_id: int, batch_size: int = DEFAULT_BATCH_SIZE) -> AsyncIterator[TurnRecord]:
        """Yield the session's turns in order, ``batch_size`` at a time."""

    # -- notes and retention ---------------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_note(self, session_id: int, author: str, text: str) -> Note:
        """Attach an instructor note to a session; raise NotFound for an unknown session."""

    @abc.abstractmethod
    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete sessions last active before ``cutoff`` with their turns and notes; return the count.

        Trainees left without sessions are deleted too, so no names outlive the retention period.
        """

    # -- persona sources and metadata ------------------------------------------------------------------------

    @abc.abstractmethod
    async def store_persona_source(self, version: str, persona_id: str, text: str) -> None:
        """Keep a version's exact persona text (first write wins) so a resumed session can recompile it."""

    @abc.abstractmethod
    async def get_persona_source(self, version: str) -> str | None:
        """Return the persona file text stored for a version, or None."""

    @abc.abstractmethod
    async def meta_get(self, key: str) -> str | None:
        """Return a metadata value, or None."""

    @abc.abstractmethod
    async def meta_setdefault(self, key: str, value: str) -> str:
        """Store the value if the key is absent; return the value now stored (atomic)."""

    @abc.abstractmethod
    async def stats(self) -> StoreStats:
        """Return row counts."""

    # -- update inbox ----------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def inbox_put(
        self, updates: Sequence[tuple[int, str]], *, confirmed_below: int | None = None
    ) -> list[int]:
        """Keep fetched updates ``(update_id, raw JSON)`` until handled; return the given ids already handled.

        An id already in the inbox keeps its first text (idempotent). With ``confirmed_below`` (the offset of
        the getUpdates call that fetched them), handled updates below it are forgotten: Telegram will not
        deliver them again. Handled updates older than :data:`INBOX_KEEP` are forgotten too. One transaction.
        """

    @abc.abstractmethod
    async def inbox_done(self, update_ids: Sequence[int]) -> None:
        """Mark updates handled, so they are not replayed; unknown ids are ignored."""

    @abc.abstractmethod
    async def inbox_pending(self, limit: int, after: int | None = None) -> list[tuple[int, str]]:
        """Return up to ``limit`` updates not yet handled, oldest (lowest id) first, with ids above ``after``."""


def to_utc(moment: datetime) -> datetime:
    """Return the moment as an aware UTC datetime; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_speaker(speaker: str) -> Speaker:
    """Return the speaker if it is one of SPEAKERS; raise StoreError otherwise."""
    for known in SPEAKERS:
        if speaker == known:
            return known
    raise StoreError(f"unknown speaker {speaker!r}; expected one of {', '.join(SPEAKERS)}")


def dump_json(value: Any, what: str) -> str:
    """Encode a value as compact JSON; raise StoreError naming ``what`` if it is not JSON-serialisable."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON-serialisable: {exc}") from exc


def json_copy(value: Any, what: str) -> Any:
    """Return a deep copy of a value as it reads back from JSON (tuples become lists)."""
    return json.loads(dump_json(value, what))


def build_turn(session_id: int, seq: int, turn: NewTurn, now: datetime, update_id: int | None) -> TurnRecord:
    """Return the record a store keeps for a new turn: JSON-normalised, timestamped and numbered."""
    return TurnRecord(
        session_id=session_id,
        seq=seq,
        at=to_utc(turn.at) if turn.at is not None else to_utc(now),
        speaker=check_speaker(turn.speaker),
        text=turn.text,
        rule=turn.rule,
        disclosed=[str(fact) for fact in turn.disclosed],
        changes=json_copy(turn.changes, "turn changes"),
        question_type=turn.question_type,
        cue=turn.cue,
        event=None if turn.event is None else json_copy(turn.event, "turn event"),
        extra=json_copy(turn.extra, "turn extra"),
        update_id=turn.update_id if turn.update_id is not None else update_id,
    )


def check_page(limit: int, offset: int = 0) -> None:
    """Raise StoreError unless ``limit`` and ``offset`` are zero or more."""
    if limit < 0 or offset < 0:
        raise StoreError(f"limit and offset must be zero or more, not {limit} and {offset}")


def check_batch(batch_size: int) -> None:
    """Raise StoreError unless ``batch_size`` is at least one."""
    if batch_size < 1:
        raise StoreError(f"batch size must be at least 1, not {batch_size}")
