"""The default :class:`~bot.store.base.Store`: SQLite through aiosqlite.

- WAL journal, ``synchronous=NORMAL``: a committed transaction survives a process crash (even SIGKILL); only a
  power cut can lose the last commits. Readers (an export in another process) never block the bot.
- Foreign keys on; deleting a session deletes its turns and notes.
- Versioned migrations (``bot/store/migrations/NNNN_name.sql``) are applied at :meth:`SqliteStore.open`,
  each in its own ``BEGIN IMMEDIATE`` transaction together with its ``schema_version`` row, so a crash
  mid-migration leaves the previous version intact and two processes opening the same file at once apply each
  migration once.
- One connection; an asyncio lock serialises its transactions. Writes start with ``BEGIN IMMEDIATE`` so a lock
  held by another process is met (and waited for, up to ``busy_timeout``) before anything is written.
- Every driver error is translated: locked, busy and disk full become :class:`~bot.errors.StoreBusy`, the rest
  :class:`~bot.errors.StoreError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from bot.errors import NotFound, StoreBusy, StoreError
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
    check_speaker,
    dump_json,
    to_utc,
    utc_now,
)

LOGGER = logging.getLogger(__name__)

MEMORY_PATH = ":memory:"
DEFAULT_BUSY_TIMEOUT_MS = 5000
MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

# Primary result codes (the low byte of an extended code) that mean "try again in a moment".
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_FULL = 13
TRANSIENT_CODES = frozenset({SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL})
PRIMARY_CODE_MASK = 0xFF
TRANSIENT_MESSAGES = ("database is locked", "database is busy", "table is locked", "disk is full")
# SQLite allows at least 32766 host parameters; stay far below for IN (...) lists.
MAX_IN_PARAMS = 500

SESSION_SELECT = (
    "SELECT s.id, s.trainee_id, s.chat_id, s.persona_id, s.persona_version, s.persona_language, s.started_at,"
    " s.last_activity_at, s.ended_at, s.end_reason, s.state, s.turns, t.display_name"
    " FROM sessions AS s JOIN trainees AS t ON t.id = s.trainee_id"
)
TRAINEE_SELECT = "SELECT id, display_name, language, created_at FROM trainees WHERE id = ?"
TURN_SELECT = (
    "SELECT session_id, seq, at, speaker, text, rule, disclosed, changes, question_type, cue, event, extra,"
    " update_id FROM turns"
)
TURN_INSERT = (
    "INSERT INTO turns (session_id, seq, at, speaker, text, rule, disclosed, changes, question_type, cue,"
    " event, extra, update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class _Position(NamedTuple):
    """Where a session stands before a write."""

    is_open: bool
    end_reason: str | None
    last_seq: int
    answered: bool  # a trainee turn of the given update_id is already stored


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema migration: the version it brings the database to, a name and its SQL statements."""

    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """Return ``NNNN_name`` for messages."""
        return f"{self.version:04d}_{self.name}"


def load_migrations(directory: Traversable | Path | None = None) -> list[Migration]:
    """Read ``NNNN_name.sql`` files (default: the packaged ``migrations`` directory) in version order."""
    root: Traversable | Path = (
        directory if directory is not None else resources.files("bot.store") / "migrations"
    )
    found: dict[int, Migration] = {}
    for entry in root.iterdir():
        match = MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        version = int(match["version"])
        if version in found:
            raise StoreError(
                f"two migrations with version {version:04d}: {found[version].label}, {entry.name}"
            )
        found[version] = Migration(version, match["name"], entry.read_text(encoding="utf-8"))
    ordered = [found[version] for version in sorted(found)]
    expected = list(range(1, len(ordered) + 1))
    if [m.version for m in ordered] != expected:
        raise StoreError(
            f"migrations must be numbered 0001.. without gaps, found {[m.label for m in ordered]}"
        )
    return ordered


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements, so each runs inside one explicit transaction.

    ``executescript`` would commit first and so cannot be part of a transaction we control.
    """
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    leftover = "\n".join(line for line in buffer.splitlines() if not line.strip().startswith("--")).strip()
    if leftover:
        raise StoreError(f"incomplete SQL statement at the end of a migration: {leftover[:60]!r}")
    return statements


def translate_error(exc: sqlite3.Error) -> StoreError:
    """Map a driver error to StoreBusy (transient: locked, busy, disk full) or StoreError."""
    code = getattr(exc, "sqlite_errorcode", None)
    message = str(exc)
    transient = (isinstance(code, int) and code & PRIMARY_CODE_MASK in TRANSIENT_CODES) or any(
        marker in message.lower() for marker in TRANSIENT_MESSAGES
    )
    if transient:
        return StoreBusy(f"transcript store is busy: {message}")
    return StoreError(f"transcript store failed: {message}")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Re-raise driver errors as StoreError/StoreBusy; let the project's own errors through."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate_error(exc) from exc


def _ts(moment: datetime) -> str:
    """Return the text form of a moment; fixed width, so text order is time order."""
    return to_utc(moment).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text))


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


def _session(row: Sequence[Any], notes: list[Note]) -> SessionRecord:
    return SessionRecord(
        id=row[0],
        trainee_id=row[1],
        chat_id=row[2],
        persona_id=row[3],
        persona_version=row[4],
        persona_language=row[5],
        started_at=_dt(row[6]),
        last_activity_at=_dt(row[7]),
        ended_at=_opt_dt(row[8]),
        end_reason=row[9],
        state=json.loads(row[10]),
        turns=row[11],
        notes=notes,
        trainee_name=row[12],
    )


def _trainee(row: Sequence[Any]) -> Trainee:
    return Trainee(row[0], row[1], row[2], _dt(row[3]))


def _turn(row: Sequence[Any]) -> TurnRecord:
    return TurnRecord(
        session_id=row[0],
        seq=row[1],
        at=_dt(row[2]),
        speaker=check_speaker(row[3]),
        text=row[4],
        rule=row[5],
        disclosed=json.loads(row[6]),
        changes=json.loads(row[7]),
        question_type=row[8],
        cue=row[9],
        event=None if row[10] is None else json.loads(row[10]),
        extra=json.loads(row[11]),
        update_id=row[12],
    )


def _turn_row(turn: TurnRecord) -> tuple[Any, ...]:
    return (
        turn.session_id,
        turn.seq,
        _ts(turn.at),
        turn.speaker,
        turn.text,
        turn.rule,
        dump_json(turn.disclosed, "disclosed facts"),
        dump_json(turn.changes, "turn changes"),
        turn.question_type,
        turn.cue,
        None if turn.event is None else dump_json(turn.event, "turn event"),
        dump_json(turn.extra, "turn extra"),
        turn.update_id,
    )


def _where(filters: SessionFilter | None) -> tuple[str, list[Any]]:
    """Return a WHERE clause (possibly empty) of fixed fragments and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if filters is not None:
        if filters.trainee_id is not None:
            clauses.append("s.trainee_id = ?")
            params.append(filters.trainee_id)
        if filters.chat_id is not None:
            clauses.append("s.chat_id = ?")
            params.append(filters.chat_id)
        if filters.persona_id is not None:
            clauses.append("s.persona_id = ?")
            params.append(filters.persona_id)
        if filters.status == "open":
            clauses.append("s.ended_at IS NULL")
        elif filters.status == "ended":
            clauses.append("s.ended_at IS NOT NULL")
        if filters.started_after is not None:
            clauses.append("s.started_at >= ?")
            params.append(_ts(filters.started_after))
        if filters.started_before is not None:
            clauses.append("s.started_at < ?")
            params.append(_ts(filters.started_before))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqliteStore(Store):
    """The transcript store in one SQLite file (or ``:memory:``)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock = utc_now,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        migrations: Sequence[Migration] | None = None,
    ) -> None:
        """Prepare a store for ``path``; nothing is touched until :meth:`open`."""
        self.path = str(path)
        self.clock = clock
        self.busy_timeout_ms = int(busy_timeout_ms)
        self._migrations = list(migrations) if migrations is not None else None
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    # -- plumbing --------------------------------------------------------------------------------------------

    def _require(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError("the transcript store is not open")
        return self._conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialise a read with the writes of this connection, so it never sees half a transaction."""
        conn = self._require()
        async with self._lock:
            with translated():
                yield conn

    @contextlib.asynccontextmanager
    async def _write(self, secure_delete: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block in one ``BEGIN IMMEDIATE`` transaction; roll back on any exception.

        With ``secure_delete`` SQLite zeroes the pages it frees, so deleted text does not linger in the file.
        """
        conn = self._require()
        async with self._lock:
            with translated():
                if secure_delete:
                    await conn.execute("PRAGMA secure_delete = ON")
                try:
                    await conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                        await conn.execute("COMMIT")
                    except BaseException:
                        await self._rollback(conn)
                        raise
                finally:
                    if secure_delete:
                        await conn.execute("PRAGMA secure_delete = OFF")

    @staticmethod
    async def _rollback(conn: aiosqlite.Connection) -> None:
        if not conn.in_transaction:
            return
        try:
            await conn.execute("ROLLBACK")
        except sqlite3.Error:
            # The original error matters more; SQLite has already rolled back on some failures.
            LOGGER.debug("rollback failed after an error", exc_info=True)

    @staticmethod
    async def _fetchone(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
        # execute_fetchall is one hop to the connection thread; a cursor's execute/fetchone/close is three.
        rows = list(await conn.execute_fetchall(sql, params))
        return rows[0] if rows else None

    @staticmethod
    async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await conn.execute_fetchall(sql, params))

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, set WAL/foreign keys/busy timeout and apply pending migrations; harmless when open."""
        if self._conn is not None:
            return
        migrations = self._migrations if self._migrations is not None else load_migrations()
        if self.path != MEMORY_PATH:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory of {self.path}: {exc}") from exc
        with translated():
            conn = await aiosqlite.connect(self.path, isolation_level=None)
            try:
                # PRAGMA values cannot be bound as parameters; the timeout is an int by construction.
                await conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms:d}")
                await conn.execute("PRAGMA foreign_keys = ON")
                await conn.execute("PRAGMA journal_mode = WAL")
                await conn.execute("PRAGMA synchronous = NORMAL")
                await self._migrate(conn, migrations)
            except BaseException:
                await conn.close()
                raise
        self._conn = conn
        LOGGER.debug("transcript store open at %s", self.path)

    async def _migrate(self, conn: aiosqlite.Connection, migrations: Sequence[Migration]) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        newest = migrations[-1].version if migrations else 0
        for migration in migrations:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                # Read the version inside the write lock: another process may have migrated meanwhile.
                row = await self._fetchone(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version")
                current = int(row[0])
                if current > newest:
                    raise StoreError(
                        f"{self.path} has schema version {current}; this Understudy knows up to {newest}"
                    )
                if current < migration.version:
                    for statement in split_statements(migration.sql):
                        await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                        (migration.version, migration.name, _ts(self.clock())),
                    )
                    LOGGER.info("transcript store migrated to %s", migration.label)
                await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback(conn)
                if isinstance(translate_error(exc), StoreBusy):
                    raise
                raise StoreError(f"migration {migration.label} failed: {exc}") from exc
            except BaseException:
                await self._rollback(conn)
                raise

    async def close(self) -> None:
        """Close the connection; harmless when closed."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        async with self._lock:
            with translated():
                await conn.close()

    async def schema_version(self) -> int:
        """Return the applied schema version."""
        async with self._read() as conn:
            row = await self._fetchone(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(row[0])

    async def journal_mode(self) -> str:
        """Return SQLite's journal mode (``wal`` for a file database)."""
        async with self._read() as conn:
            row = await self._fetchone(conn, "PRAGMA journal_mode")
        return str(row[0])

    # -- trainees --------------------------------------------------------------------------------------------

    async def upsert_trainee(
        self, trainee_id: int, display_name: str | None = None, language: str | None = None
    ) -> Trainee:
        """Create the trainee or update its name and language; None keeps the stored value."""
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO trainees (id, display_name, language, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET"
                " display_name = COALESCE(excluded.display_name, display_name),"
                " language = COALESCE(excluded.language, language)",
                (trainee_id, display_name, language, _ts(self.clock())),
            )
            row = await self._fetchone(conn, TRAINEE_SELECT, (trainee_id,))
        return _trainee(row)

    async def get_trainee(self, trainee_id: int) -> Trainee | None:
        """Return the trainee, or None if unknown."""
        async with self._read() as conn:
            row = await self._fetchone(conn, TRAINEE_SELECT, (trainee_id,))
        return None if row is None else _trainee(row)

    # -- sessions --------------------------------------------------------------------------------------------

    async def _session_in(self, conn: aiosqlite.Connection, session_id: int) -> SessionRecord:
        row = await self._fetchone(conn, SESSION_SELECT + " WHERE s.id = ?", (session_id,))
        if row is None:
            raise NotFound(f"no session {session_id}")
        return (await self._sessions_from(conn, [row]))[0]

    async def _notes_for(
        self, conn: aiosqlite.Connection, session_ids: Sequence[int]
    ) -> dict[int, list[Note]]:
        notes: dict[int, list[Note]] = {}
        for chunk in _chunks(session_ids, MAX_IN_PARAMS):
            marks = ", ".join("?" for _ in chunk)
            rows = await self._fetchall(
                conn,
                f"SELECT session_id, at, author, text FROM notes WHERE session_id IN ({marks}) ORDER BY id",
                list(chunk),
            )
            for row in rows:
                notes.setdefault(row[0], []).append(Note(row[0], _dt(row[1]), row[2], row[3]))
        return notes

    async def _sessions_from(self, conn: aiosqlite.Connection, rows: list[Any]) -> list[SessionRecord]:
        notes = await self._notes_for(conn, [row[0] for row in rows])
        return [_session(row, notes.get(row[0], [])) for row in rows]

    async def _position(
        self, conn: aiosqlite.Connection, session_id: int, update_id: int | None = None
    ) -> _Position:
        """Return where the session stands, in one query; raise NotFound for an unknown session."""
        row = await self._fetchone(
            conn,
            "SELECT s.ended_at IS NULL, s.end_reason,"
            " (SELECT COALESCE(MAX(seq), 0) FROM turns WHERE session_id = s.id),"
            " EXISTS (SELECT 1 FROM turns WHERE session_id = s.id AND update_id = ? AND speaker = ?)"
            " FROM sessions AS s WHERE s.id = ?",
            (update_id, SPEAKER_TRAINEE, session_id),
        )
        if row is None:
            raise NotFound(f"no session {session_id}")
        return _Position(bool(row[0]), row[1], int(row[2]), bool(row[3]))

    @staticmethod
    async def _insert_turns(
        conn: aiosqlite.Connection,
        session_id: int,
        first_seq: int,
        turns: Sequence[NewTurn],
        now: datetime,
        update_id: int | None = None,
    ) -> list[TurnRecord]:
        if not turns:
            return []
        records = [
            build_turn(session_id, first_seq + i, turn, now, update_id) for i, turn in enumerate(turns)
        ]
        await conn.executemany(TURN_INSERT, [_turn_row(record) for record in records])
        return records

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
        now = to_utc(self.clock())
        stamp = _ts(now)
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO trainees (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (trainee_id, stamp),
            )
            await conn.execute(
                # Superseding is not activity of the old session: retention still counts from its last turn.
                "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE chat_id = ? AND ended_at IS NULL",
                (stamp, SUPERSEDED, chat_id),
            )
            cursor = await conn.execute(
                "INSERT INTO sessions (trainee_id, chat_id, persona_id, persona_version, persona_language,"
                " started_at, last_activity_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    trainee_id,
                    chat_id,
                    persona_id,
                    persona_version,
                    persona_language,
                    stamp,
                    stamp,
                    state_json,
                ),
            )
            session_id = cursor.lastrowid
            await cursor.close()
            if session_id is None:
                raise StoreError("the new session got no id")
            await self._insert_turns(conn, session_id, 1, opening, now)
            return await self._session_in(conn, session_id)

    async def get_session(self, session_id: int) -> SessionRecord:
        """Return the session with its notes; raise NotFound if it does not exist."""
        async with self._read() as conn:
            return await self._session_in(conn, session_id)

    async def get_open_session(self, chat_id: int) -> SessionRecord | None:
        """Return the chat's open session, or None."""
        async with self._read() as conn:
            row = await self._fetchone(
                conn, SESSION_SELECT + " WHERE s.chat_id = ? AND s.ended_at IS NULL", (chat_id,)
            )
            if row is None:
                return None
            return (await self._sessions_from(conn, [row]))[0]

    async def _turns_for_update(
        self, conn: aiosqlite.Connection, session_id: int, update_id: int
    ) -> list[TurnRecord]:
        rows = await self._fetchall(
            conn,
            TURN_SELECT + " WHERE session_id = ? AND update_id = ? ORDER BY seq",
            (session_id, update_id),
        )
        return [_turn(row) for row in rows]

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
        now = to_utc(self.clock())
        async with self._write() as conn:
            position = await self._position(conn, session_id, trainee_turn.update_id)
            if position.answered and trainee_turn.update_id is not None:
                return await self._turns_for_update(conn, session_id, trainee_turn.update_id)
            if not position.is_open:
                raise StoreError(f"session {session_id} has ended ({position.end_reason})")
            turns = [trainee_turn, *persona_turns]
            records = await self._insert_turns(
                conn, session_id, position.last_seq + 1, turns, now, trainee_turn.update_id
            )
            stamp = _ts(now)
            await conn.execute(
                "UPDATE sessions SET state = ?, turns = turns + 1, last_activity_at = ?,"
                " ended_at = CASE WHEN ? IS NULL THEN NULL ELSE ? END, end_reason = ? WHERE id = ?",
                (state_json, stamp, end_reason, stamp, end_reason, session_id),
            )
        return records

    async def find_exchange(self, session_id: int, update_id: int) -> list[TurnRecord]:
        """Return the turns recorded for a Telegram update in this session (empty if none)."""
        async with self._read() as conn:
            return await self._turns_for_update(conn, session_id, update_id)

    async def record_event(self, session_id: int, turn: NewTurn) -> TurnRecord:
        """Store one turn that does not advance the engine (a sticker, an edit, a system note); return it."""
        now = to_utc(self.clock())
        async with self._write() as conn:
            position = await self._position(conn, session_id)
            (record,) = await self._insert_turns(conn, session_id, position.last_seq + 1, [turn], now)
            await conn.execute(
                "UPDATE sessions SET last_activity_at = ? WHERE id = ?", (_ts(now), session_id)
            )
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
        now = to_utc(self.clock())
        stamp = _ts(now)
        async with self._write() as conn:
            position = await self._position(conn, session_id)
            if not position.is_open:
                return await self._session_in(conn, session_id)
            await self._insert_turns(conn, session_id, position.last_seq + 1, closing, now)
            await conn.execute(
                "UPDATE sessions SET ended_at = ?, end_reason = ?, last_activity_at = ?,"
                " state = COALESCE(?, state) WHERE id = ?",
                (stamp, reason, stamp, state_json, session_id),
            )
            return await self._session_in(conn, session_id)

    async def list_sessions(
        self, limit: int = DEFAULT_PAGE_SIZE, offset: int = 0, filters: SessionFilter | None = None
    ) -> list[SessionRecord]:
        """Return sessions, newest start first (ties: higher id first)."""
        check_page(limit, offset)
        where, params = _where(filters)
        async with self._read() as conn:
            rows = await self._fetchall(
                conn,
                SESSION_SELECT + where + " ORDER BY s.started_at DESC, s.id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            return await self._sessions_from(conn, rows)

    async def count_sessions(self, filters: SessionFilter | None = None) -> int:
        """Return how many sessions match."""
        where, params = _where(filters)
        async with self._read() as conn:
            row = await self._fetchone(conn, "SELECT COUNT(*) FROM sessions AS s" + where, params)
        return int(row[0])

    async def iter_sessions(
        self, filters: SessionFilter | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> AsyncIterator[SessionRecord]:
        """Yield matching sessions by ascending id, fetching ``batch_size`` at a time (flat memory)."""
        check_batch(batch_size)
        where, params = _where(filters)
        keyset = (" AND " if where else " WHERE ") + "s.id > ?"
        last_id = 0
        while True:
            # Keyset pagination, and the lock is released between batches so the bot keeps writing.
            async with self._read() as conn:
                rows = await self._fetchall(
                    conn,
                    SESSION_SELECT + where + keyset + " ORDER BY s.id LIMIT ?",
                    [*params, last_id, batch_size],
                )
                batch = await self._sessions_from(conn, rows)
            del rows
            full = len(batch) == batch_size
            if batch:
                last_id = batch[-1].id
            # Hand sessions out by popping, so an exported session is freed before the next batch arrives.
            batch.reverse()
            while batch:
                yield batch.pop()
            if not full:
                return

    async def get_turns(self, session_id: int) -> list[TurnRecord]:
        """Return the session's turns in order; raise NotFound for an unknown session."""
        async with self._read() as conn:
            await self._session_in(conn, session_id)
            rows = await self._fetchall(
                conn, TURN_SELECT + " WHERE session_id = ? ORDER BY seq", (session_id,)
            )
        return [_turn(row) for row in rows]

    async def iter_turns(
        self, session_id: int, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> AsyncIterator[TurnRecord]:
        """Yield the session's turns in order, ``batch_size`` at a time."""
        check_batch(batch_size)
        async with self._read() as conn:
            await self._position(conn, session_id)
        last_seq = 0
        while True:
            async with self._read() as conn:
                rows = await self._fetchall(
                    conn,
                    TURN_SELECT + " WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                    (session_id, last_seq, batch_size),
                )
            full = len(rows) == batch_size
            if rows:
                last_seq = int(rows[-1][1])
            for row in rows:
                yield _turn(row)
            del rows  # before the next batch arrives
            if not full:
                return

    # -- notes and retention ---------------------------------------------------------------------------------

    async def add_note(self, session_id: int, author: str, text: str) -> Note:
        """Attach an instructor note to a session; raise NotFound for an unknown session."""
        now = to_utc(self.clock())
        async with self._write() as conn:
            await self._session_in(conn, session_id)
            await conn.execute(
                "INSERT INTO notes (session_id, at, author, text) VALUES (?, ?, ?, ?)",
                (session_id, _ts(now), author, text),
            )
        return Note(session_id, now, author, text)

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete sessions last active before ``cutoff`` with their turns and notes; return the count.

        Freed pages are zeroed and the WAL is checkpointed, so purged text does not survive in the files.
        """
        stamp = _ts(cutoff)
        async with self._write(secure_delete=True) as conn:
            cursor = await conn.execute("DELETE FROM sessions WHERE last_activity_at < ?", (stamp,))
            purged = cursor.rowcount
            await cursor.close()
            await conn.execute(
                "DELETE FROM trainees WHERE created_at < ?"
                " AND NOT EXISTS (SELECT 1 FROM sessions AS s WHERE s.trainee_id = trainees.id)",
                (stamp,),
            )
        if purged:
            async with self._read() as conn:
                # Best effort: a reader elsewhere may keep part of the WAL alive until its next checkpoint.
                await conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        LOGGER.info("purged %s sessions last active before %s", purged, stamp)
        return purged

    # -- persona sources and metadata ------------------------------------------------------------------------

    async def store_persona_source(self, version: str, persona_id: str, text: str) -> None:
        """Keep a version's exact persona text (first write wins) so a resumed session can recompile it."""
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO persona_sources (version, persona_id, text, stored_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (version) DO NOTHING",
                (version, persona_id, text, _ts(self.clock())),
            )

    async def get_persona_source(self, version: str) -> str | None:
        """Return the persona file text stored for a version, or None."""
        async with self._read() as conn:
            row = await self._fetchone(conn, "SELECT text FROM persona_sources WHERE version = ?", (version,))
        return None if row is None else str(row[0])

    async def meta_get(self, key: str) -> str | None:
        """Return a metadata value, or None."""
        async with self._read() as conn:
            row = await self._fetchone(conn, "SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def meta_setdefault(self, key: str, value: str) -> str:
        """Store the value if the key is absent; return the value now stored (atomic)."""
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value)
            )
            row = await self._fetchone(conn, "SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0])

    async def stats(self) -> StoreStats:
        """Return row counts."""
        async with self._read() as conn:
            row = await self._fetchone(
                conn,
                "SELECT (SELECT COUNT(*) FROM trainees), (SELECT COUNT(*) FROM sessions),"
                " (SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL), (SELECT COUNT(*) FROM turns),"
                " (SELECT COUNT(*) FROM notes)",
            )
        return StoreStats(*(int(value) for value in row))

    # -- update inbox ----------------------------------------------------------------------------------------

    async def inbox_put(
        self, updates: Sequence[tuple[int, str]], *, confirmed_below: int | None = None
    ) -> list[int]:
        """Keep fetched updates until handled; return the given ids already handled (see Store)."""
        now = to_utc(self.clock())
        ids = [update_id for update_id, _ in updates]
        handled: list[int] = []
        async with self._write() as conn:
            if confirmed_below is not None:
                await conn.execute(
                    "DELETE FROM inbox WHERE done_at IS NOT NULL AND (update_id < ? OR done_at < ?)",
                    (confirmed_below, _ts(now - INBOX_KEEP)),
                )
            if not updates:
                return handled
            await conn.executemany(
                "INSERT INTO inbox (update_id, raw, stored_at) VALUES (?, ?, ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                [(update_id, raw, _ts(now)) for update_id, raw in updates],
            )
            for chunk in _chunks(ids, MAX_IN_PARAMS):
                marks = ", ".join("?" for _ in chunk)
                rows = await self._fetchall(
                    conn,
                    f"SELECT update_id FROM inbox WHERE done_at IS NOT NULL AND update_id IN ({marks})",
                    list(chunk),
                )
                handled.extend(int(row[0]) for row in rows)
        return sorted(handled)

    async def inbox_done(self, update_ids: Sequence[int]) -> None:
        """Mark updates handled, so they are not replayed; unknown ids are ignored."""
        if not update_ids:
            return
        stamp = _ts(self.clock())
        async with self._write() as conn:
            for chunk in _chunks(list(update_ids), MAX_IN_PARAMS):
                marks = ", ".join("?" for _ in chunk)
                await conn.execute(
                    f"UPDATE inbox SET done_at = ? WHERE done_at IS NULL AND update_id IN ({marks})",
                    [stamp, *chunk],
                )

    async def inbox_pending(self, limit: int, after: int | None = None) -> list[tuple[int, str]]:
        """Return up to ``limit`` updates not yet handled, oldest first, with ids above ``after``."""
        check_page(limit)
        async with self._read() as conn:
            rows = await self._fetchall(
                conn,
                "SELECT update_id, raw FROM inbox WHERE done_at IS NULL AND update_id > ?"
                " ORDER BY update_id LIMIT ?",
                (after if after is not None else -(2**63), limit),
            )
        return [(int(row[0]), str(row[1])) for row in rows]
