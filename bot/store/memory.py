"""The in-memory twin of :class:`~bot.store.sqlite.SqliteStore`, for tests and the terminal interview.

It passes the same contract suite. Data survive :meth:`MemoryStore.close` and a later
:meth:`MemoryStore.open` of the same instance, as a file would. Values are copied through JSON on the way in
and out, so callers can never mutate stored state and non-JSON values fail here exactly as in SQLite.

:meth:`MemoryStore.fail_next_write` makes the next write raise a given error without writing anything, so
the session service's handling of StoreBusy can be tested without a real lock. The update inbox's writes
neither trigger nor consume it: they happen in the background of every update, and the fault is meant for
the write the test is about.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.errors import NotFound, StoreError
from bot.store.base import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PAGE_SIZE,
    INBOX_KEEP,
    SPEAKER_TRAINEE,
    SUPERSEDED,
    Clock,
    NewTurn,
    Note,
    SessionFilter,
    SessionRecord,
    Store,
    StoreStats,
    Trainee,
    TurnRecord,
    build_turn,
    check_batch,
    check_page,
    dump_json,
    to_utc,
    utc_now,
)


@dataclass
class _Session:
    """The mutable row behind a SessionRecord."""

    id: int
    trainee_id: int
    chat_id: int
    persona_id: str
    persona_version: str
    persona_language: str
    started_at: datetime
    last_activity_at: datetime
    state_json: str
    ended_at: datetime | None = None
    end_reason: str | None = None
    turns: int = 0
    log: list[TurnRecord] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass
class _InboxEntry:
    """One fetched update in the inbox."""

    raw: str
    stored_at: datetime
    done_at: datetime | None = None


def _matches(session: _Session, filters: SessionFilter | None) -> bool:
    if filters is None:
        return True
    checks = (
        filters.trainee_id is None or session.trainee_id == filters.trainee_id,
        filters.chat_id is None or session.chat_id == filters.chat_id,
        filters.persona_id is None or session.persona_id == filters.persona_id,
        filters.status is None or (filters.status == "open") == (session.ended_at is None),
        filters.started_after is None or session.started_at >= to_utc(filters.started_after),
        filters.started_before is None or session.started_at < to_utc(filters.started_before),
    )
    return all(checks)


class MemoryStore(Store):
    """A Store kept in dictionaries; behaves like SqliteStore."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        """Create an empty store."""
        self.clock = clock
        self._open = False
        self._trainees: dict[int, Trainee] = {}
        self._sessions: dict[int, _Session] = {}
        self._last_session_id = 0
        self._persona_sources: dict[str, tuple[str, str]] = {}
        self._meta: dict[str, str] = {}
        self._inbox: dict[int, _InboxEntry] = {}
        self._failure: StoreError | None = None

    def fail_next_write(self, error: StoreError) -> None:
        """Make the next write raise ``error`` without writing anything (fault injection for tests)."""
        self._failure = error

    # -- plumbing --------------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._open:
            raise StoreError("the transcript store is not open")

    def _begin_write(self) -> None:
        self._check_open()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _now(self) -> datetime:
        return to_utc(self.clock())

    def _row(self, session_id: int) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise NotFound(f"no session {session_id}")
        return session

    def _record(self, session: _Session) -> SessionRecord:
        trainee = self._trainees.get(session.trainee_id)
        return SessionRecord(
            id=session.id,
            trainee_id=session.trainee_id,
            chat_id=session.chat_id,
            persona_id=session.persona_id,
            persona_version=session.persona_version,
            persona_language=session.persona_language,
            started_at=session.started_at,
            last_activity_at=session.last_activity_at,
            ended_at=session.ended_at,
            end_reason=session.end_reason,
            state=json.loads(session.state_json),
            turns=session.turns,
            notes=list(session.notes),
            trainee_name=None if trainee is None else trainee.display_name,
        )

    @staticmethod
    def _build(
        session: _Session, turns: Sequence[NewTurn], now: datetime, update_id: int | None
    ) -> list[TurnRecord]:
        first = len(session.log) + 1
        return [build_turn(session.id, first + i, turn, now, update_id) for i, turn in enumerate(turns)]

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Mark the store open; harmless when open."""
        self._open = True

    async def close(self) -> None:
        """Mark the store closed, keeping its data; harmless when closed."""
        self._open = False

    # -- trainees --------------------------------------------------------------------------------------------

    async def upsert_trainee(
        self, trainee_id: int, display_name: str | None = None, language: str | None = None
    ) -> Trainee:
        """Create the trainee or update its name and language; None keeps the stored value."""
        self._begin_write()
        known = self._trainees.get(trainee_id)
        if known is None:
            trainee = Trainee(trainee_id, display_name, language, self._now())
        else:
            trainee = Trainee(
                trainee_id,
                known.display_name if display_name is None else display_name,
                known.language if language is None else language,
                known.created_at,
            )
        self._trainees[trainee_id] = trainee
        return trainee

    async def get_trainee(self, trainee_id: int) -> Trainee | None:
        """Return the trainee, or None if unknown."""
        self._check_open()
        return self._trainees.get(trainee_id)

    # -- sessions --------------------------------------------------------------------------------------------

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
        """Start a session with its initial state and opening turns, superseding the chat's open one."""
        state_json = dump_json(state, "engine state")
        self._begin_write()
        now = self._now()
        session = _Session(
            id=self._last_session_id + 1,
            trainee_id=trainee_id,
            chat_id=chat_id,
            persona_id=persona_id,
            persona_version=persona_version,
            persona_language=persona_language,
            started_at=now,
            last_activity_at=now,
            state_json=state_json,
        )
        session.log = self._build(session, opening, now, None)
        # Everything that can fail has run; now mutate.
        self._trainees.setdefault(trainee_id, Trainee(trainee_id, None, None, now))
        for other in self._sessions.values():
            if other.chat_id == chat_id and other.ended_at is None:
                other.ended_at = now
                other.end_reason = SUPERSEDED
        self._last_session_id = session.id
        self._sessions[session.id] = session
        return self._record(session)

    async def get_session(self, session_id: int) -> SessionRecord:
        """Return the session with its notes; raise NotFound if it does not exist."""
        self._check_open()
        return self._record(self._row(session_id))

    async def get_open_session(self, chat_id: int) -> SessionRecord | None:
        """Return the chat's open session, or None."""
        self._check_open()
        for session in self._sessions.values():
            if session.chat_id == chat_id and session.ended_at is None:
                return self._record(session)
        return None

    async def record_exchange(
        self,
        session_id: int,
        trainee_turn: NewTurn,
        persona_turns: Sequence[NewTurn],
        new_state: dict[str, Any],
        *,
        end_reason: str | None = None,
    ) -> list[TurnRecord]:
        """Store a trainee turn, the replies and the new state in one transaction; return the stored turns."""
        if trainee_turn.speaker != SPEAKER_TRAINEE:
            raise StoreError(f"an exchange starts with a trainee turn, not {trainee_turn.speaker!r}")
        state_json = dump_json(new_state, "engine state")
        self._begin_write()
        now = self._now()
        session = self._row(session_id)
        if trainee_turn.update_id is not None:
            earlier = [turn for turn in session.log if turn.update_id == trainee_turn.update_id]
            if any(turn.speaker == SPEAKER_TRAINEE for turn in earlier):
                return earlier
        if session.ended_at is not None:
            raise StoreError(f"session {session_id} has ended ({session.end_reason})")
        records = self._build(session, [trainee_turn, *persona_turns], now, trainee_turn.update_id)
        session.log.extend(records)
        session.state_json = state_json
        session.turns += 1
        session.last_activity_at = now
        if end_reason is not None:
            session.ended_at = now
            session.end_reason = end_reason
        return records

    async def find_exchange(self, session_id: int, update_id: int) -> list[TurnRecord]:
        """Return the turns recorded for a Telegram update in this session (empty if none)."""
        self._check_open()
        session = self._sessions.get(session_id)
        if session is None:
            return []
        return [turn for turn in session.log if turn.update_id == update_id]

    async def record_event(self, session_id: int, turn: NewTurn) -> TurnRecord:
        """Store one turn that does not advance the engine (a sticker, an edit, a system note); return it."""
        self._begin_write()
        now = self._now()
        session = self._row(session_id)
        (record,) = self._build(session, [turn], now, None)
        session.log.append(record)
        session.last_activity_at = now
        return record

    async def end_session(
        self,
        session_id: int,
        reason: str,
        state: dict[str, Any] | None = None,
        closing: Sequence[NewTurn] = (),
    ) -> SessionRecord:
        """End the session (optionally storing a final state and closing turns) and return it."""
        state_json = None if state is None else dump_json(state, "engine state")
        self._begin_write()
        now = self._now()
        session = self._row(session_id)
        if session.ended_at is not None:
            return self._record(session)
        session.log.extend(self._build(session, closing, now, None))
        session.ended_at = now
        session.end_reason = reason
        session.last_activity_at = now
        if state_json is not None:
            session.state_json = state_json
        return self._record(session)

    async def list_sessions(
        self, limit: int = DEFAULT_PAGE_SIZE, offset: int = 0, filters: SessionFilter | None = None
    ) -> list[SessionRecord]:
        """Return sessions, newest start first (ties: higher id first)."""
        check_page(limit, offset)
        self._check_open()
        chosen = [session for session in self._sessions.values() if _matches(session, filters)]
        chosen.sort(key=lambda session: (session.started_at, session.id), reverse=True)
        return [self._record(session) for session in chosen[offset : offset + limit]]

    async def count_sessions(self, filters: SessionFilter | None = None) -> int:
        """Return how many sessions match."""
        self._check_open()
        return sum(1 for session in self._sessions.values() if _matches(session, filters))

    async def iter_sessions(
        self, filters: SessionFilter | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> AsyncIterator[SessionRecord]:
        """Yield matching sessions by ascending id."""
        check_batch(batch_size)
        self._check_open()
        last_id = 0
        while True:
            # Re-scan per batch like SQLite's keyset pagination, so deletions while iterating behave the same.
            batch = sorted(
                (s for s in self._sessions.values() if s.id > last_id and _matches(s, filters)),
                key=lambda s: s.id,
            )[:batch_size]
            for session in batch:
                yield self._record(session)
            if len(batch) < batch_size:
                return
            last_id = batch[-1].id

    async def get_turns(self, session_id: int) -> list[TurnRecord]:
        """Return the session's turns in order; raise NotFound for an unknown session."""
        self._check_open()
        return list(self._row(session_id).log)

    async def iter_turns(
        self, session_id: int, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> AsyncIterator[TurnRecord]:
        """Yield the session's turns in order."""
        check_batch(batch_size)
        self._check_open()
        for turn in list(self._row(session_id).log):
            yield turn

    # -- notes and retention ---------------------------------------------------------------------------------

    async def add_note(self, session_id: int, author: str, text: str) -> Note:
        """Attach an instructor note to a session; raise NotFound for an unknown session."""
        self._begin_write()
        session = self._row(session_id)
        note = Note(session_id, self._now(), author, text)
        session.notes.append(note)
        return note

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete sessions last active before ``cutoff`` with their turns and notes; return the count."""
        self._begin_write()
        limit = to_utc(cutoff)
        doomed = [sid for sid, session in self._sessions.items() if session.last_activity_at < limit]
        for sid in doomed:
            del self._sessions[sid]
        active = {session.trainee_id for session in self._sessions.values()}
        for tid in [tid for tid, t in self._trainees.items() if t.created_at < limit and tid not in active]:
            del self._trainees[tid]
        return len(doomed)

    # -- persona sources and metadata ------------------------------------------------------------------------

    async def store_persona_source(self, version: str, persona_id: str, text: str) -> None:
        """Keep a version's exact persona text (first write wins) so a resumed session can recompile it."""
        self._begin_write()
        self._persona_sources.setdefault(version, (persona_id, text))

    async def get_persona_source(self, version: str) -> str | None:
        """Return the persona file text stored for a version, or None."""
        self._check_open()
        found = self._persona_sources.get(version)
        return None if found is None else found[1]

    async def meta_get(self, key: str) -> str | None:
        """Return a metadata value, or None."""
        self._check_open()
        return self._meta.get(key)

    async def meta_setdefault(self, key: str, value: str) -> str:
        """Store the value if the key is absent; return the value now stored."""
        self._begin_write()
        return self._meta.setdefault(key, value)

    async def stats(self) -> StoreStats:
        """Return row counts."""
        self._check_open()
        sessions = list(self._sessions.values())
        return StoreStats(
            trainees=len(self._trainees),
            sessions=len(sessions),
            open_sessions=sum(1 for session in sessions if session.ended_at is None),
            turns=sum(len(session.log) for session in sessions),
            notes=sum(len(session.notes) for session in sessions),
        )

    # -- update inbox ----------------------------------------------------------------------------------------

    async def inbox_put(
        self, updates: Sequence[tuple[int, str]], *, confirmed_below: int | None = None
    ) -> list[int]:
        """Keep fetched updates until handled; return the given ids already handled (see Store)."""
        self._check_open()
        now = self._now()
        if confirmed_below is not None:
            stale = now - INBOX_KEEP
            for update_id in [
                uid
                for uid, entry in self._inbox.items()
                if entry.done_at is not None and (uid < confirmed_below or entry.done_at < stale)
            ]:
                del self._inbox[update_id]
        for update_id, raw in updates:
            self._inbox.setdefault(update_id, _InboxEntry(raw, now))
        return sorted({uid for uid, _ in updates if self._inbox[uid].done_at is not None})

    async def inbox_done(self, update_ids: Sequence[int]) -> None:
        """Mark updates handled, so they are not replayed; unknown ids are ignored."""
        if not update_ids:
            return
        self._check_open()
        now = self._now()
        for update_id in update_ids:
            entry = self._inbox.get(update_id)
            if entry is not None and entry.done_at is None:
                entry.done_at = now

    async def inbox_pending(self, limit: int, after: int | None = None) -> list[tuple[int, str]]:
        """Return up to ``limit`` updates not yet handled, oldest first, with ids above ``after``."""
        check_page(limit)
        self._check_open()
        pending = sorted(
            (uid, entry.raw)
            for uid, entry in self._inbox.items()
            if entry.done_at is None and (after is None or uid > after)
        )
        return pending[:limit]
