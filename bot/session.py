"""The session service: the imperative shell around the pure dialogue engine.

Channels (Telegram, the terminal) call it with plain values (a chat id, a trainee id, the text) and get plain
values back (:class:`Outcome`: the replies in order, the engine events, and a debrief when the interview
ended). For every trainee utterance it:

1. throttles: more than ``rate_limit`` messages inside ``rate_window`` seconds from one trainee get one
   slow-down answer per window and no engine work (the text is still recorded as an event);
2. loads the chat's open session from the store and the compiled persona of the session's pinned version
   (from a cache keyed by version hash, else the catalogue, else the persona text stored for that version);
3. calls ``engine.step`` on the stored state;
4. records the trainee turn, the replies and the new state in ONE store transaction, and only then returns
   the replies. If the store is busy nothing is recorded, the state in the store does not advance, and the
   outcome asks the trainee to repeat in a moment. A redelivered Telegram update (same ``update_id``) gets
   the replies stored the first time instead of running the engine again.

The same ``update_id`` idempotency covers what an update can change besides a turn, so an update replayed
after a crash (the Telegram channel's update inbox) is never applied twice: a session begun by an update
carries its ``update_id`` on the opening turns, and :meth:`SessionService.begin` and
:meth:`SessionService.restart` answer a redelivered update with that opening instead of starting another
session; an event (sticker, edit, throttled text) is recorded once per update.

Non-text messages and edited messages are recorded as events of the open session and never reach the
engine. An edit is not answered: the persona already answered the original words, and answering again would
fork the interview, so the new text only goes into the transcript.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from bot.engine import dialogue
from bot.engine.dialogue import Events
from bot.engine.matcher import CompiledPersona
from bot.errors import EngineError, PersonaError, PersonaNotFound, StoreBusy
from bot.i18n import normalize_language, pick_language
from bot.lexicon import default_lexicon
from bot.persona.catalog import Catalog, load_catalog, persona_files
from bot.persona.lint import Diagnostic
from bot.persona.loader import LoadedPersona, load_persona_text
from bot.persona.model import Persona
from bot.review.debrief import Debrief, debrief_for_session
from bot.store.base import (
    SPEAKER_PERSONA,
    SPEAKER_TRAINEE,
    Clock,
    NewTurn,
    SessionRecord,
    Store,
    TurnRecord,
    utc_now,
)

logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT = 6
"""Messages one trainee may send inside DEFAULT_RATE_WINDOW seconds before getting a slow-down answer."""
DEFAULT_RATE_WINDOW = 5.0
SEED_BOUND = 2**31
FORGET_AFTER_TRAINEES = 4096
"""Counters kept before idle trainees' counters are dropped, so memory follows the active trainees."""

END_TRAINEE = "trainee"
END_RESTART = "restart"

EVENT_THROTTLED = "throttled"
EVENT_EDITED = "edited"


class OutcomeKind(StrEnum):
    """What happened to a request, so the channel knows what to say."""

    replies = "replies"
    """The persona answered; ``replies`` holds its messages in order."""
    ended = "ended"
    """The persona answered and ended the interview; ``debrief`` is set."""
    closed = "closed"
    """The trainee ended the interview (/end); ``debrief`` is set."""
    no_session = "no_session"
    """There is no open interview in this chat."""
    busy = "busy"
    """The store was busy; nothing was recorded and the trainee should repeat."""
    slow_down = "slow_down"
    """Too many messages too fast; answer once with a slow-down note."""
    throttled = "throttled"
    """Still too fast after the slow-down note; say nothing."""
    unknown_persona = "unknown_persona"
    """The requested persona id is not in the catalogue."""


class CatalogEntry(Protocol):
    """What the service needs to know of one loaded persona."""

    @property
    def persona(self) -> Persona:
        """The validated persona."""

    @property
    def version(self) -> str:
        """Hash of the persona file text."""

    @property
    def source(self) -> str:
        """The persona file text."""


class PersonaCatalog(Protocol):
    """The loaded personas, current versions only."""

    def get(self, persona_id: str) -> CatalogEntry:
        """Return the current version of a persona; raise PersonaNotFound."""

    def entries(self) -> Sequence[CatalogEntry]:
        """Return every loaded persona, in catalogue order."""


@dataclass(frozen=True)
class ReloadReport:
    """What a persona reload changed, and which files failed (their previous good version stays loaded)."""

    loaded: list[str]
    """Persona ids in the catalogue after the reload."""
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    """Ids whose file changed: new sessions get the new version, running ones keep theirs."""
    removed: list[str] = field(default_factory=list)
    """Ids whose file is gone; their running sessions go on from the stored source."""
    kept: list[str] = field(default_factory=list)
    """Ids whose file is now broken: the previous good version stays in the catalogue."""
    failed: list[str] = field(default_factory=list)
    """One diagnostic per broken file, ``path:line:col: error: message``."""

    @property
    def changed(self) -> bool:
        """Say whether the catalogue changed at all."""
        return bool(self.added or self.updated or self.removed)


FileStamp = tuple[str, int, int]
"""(file name, modification time in ns, size) of one persona file, for the file watch."""


class LiveCatalog:
    """The personas of a directory, reloadable while sessions run; a broken file never replaces a good one.

    Readers (:meth:`get`, :meth:`entries`) see one complete catalogue at a time: :meth:`reload` builds the
    new one aside and swaps it in with one assignment, so it may run in a worker thread. Sessions are pinned
    to a version by the session service, so a reload only changes what *new* sessions get.
    """

    def __init__(self, directory: Path, initial: Catalog | None = None) -> None:
        self.directory = directory
        catalog = initial if initial is not None else load_catalog(directory)
        self._entries: dict[str, LoadedPersona] = dict(catalog.personas)
        self._errors: list[Diagnostic] = catalog.errors()
        self.stamp: tuple[FileStamp, ...] = self.file_stamps()

    def get(self, persona_id: str) -> LoadedPersona:
        """Return the current version of a persona; raise PersonaNotFound."""
        found = self._entries.get(persona_id)
        if found is None:
            raise PersonaNotFound(f"no persona '{persona_id}'", str(self.directory))
        return found

    def entries(self) -> list[LoadedPersona]:
        """Return every loaded persona, in file-name order."""
        return sorted(self._entries.values(), key=lambda e: Path(e.path).name)

    def errors(self) -> list[Diagnostic]:
        """Return the error diagnostics of the last load (broken files, drift)."""
        return list(self._errors)

    def file_stamps(self) -> tuple[FileStamp, ...]:
        """Return name, mtime and size of every persona file: what the file watch compares."""
        stamps: list[FileStamp] = []
        try:
            files = persona_files(self.directory)
        except OSError:
            return ()
        for path in files:
            try:
                info = path.stat()
            except OSError:  # deleted between listing and stat: the next poll sees it gone
                continue
            stamps.append((path.name, info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def reload(self) -> ReloadReport:
        """Load the directory again and swap in the result, keeping the last good version of broken files."""
        stamp = self.file_stamps()
        fresh = load_catalog(self.directory)
        old = self._entries
        entries = dict(fresh.personas)
        broken = set(fresh.broken)
        kept = []
        for persona_id, entry in old.items():
            if persona_id not in entries and entry.path in broken:
                entries[persona_id] = entry
                kept.append(persona_id)
        failed = []
        for path in fresh.broken:
            first = next((d for d in fresh.errors() if d.path == path), None)
            failed.append(first.format() if first is not None else f"{path}: not loaded")
        report = ReloadReport(
            loaded=sorted(entries),
            added=sorted(set(entries) - set(old)),
            updated=sorted(i for i in entries if i in old and entries[i].version != old[i].version),
            removed=sorted(set(old) - set(entries)),
            kept=sorted(kept),
            failed=failed,
        )
        self._entries, self._errors, self.stamp = entries, fresh.errors(), stamp
        logger.info(
            "personas reloaded from %s: %d loaded; added %s; updated %s; removed %s; kept after errors %s",
            self.directory,
            len(entries),
            ", ".join(report.added) or "none",
            ", ".join(report.updated) or "none",
            ", ".join(report.removed) or "none",
            ", ".join(report.kept) or "none",
        )
        return report


SourceParser = Callable[[str, str], Persona]
"""Parse a stored persona text (text, persona id) into a Persona; raise PersonaError."""


def parse_stored_source(source: str, persona_id: str) -> Persona:
    """Parse the text of a stored persona version with the regular loader."""
    return load_persona_text(source, f"<stored version of {persona_id}>").persona


@dataclass
class Outcome:
    """The answer of the service to a channel."""

    kind: OutcomeKind
    replies: list[str] = field(default_factory=list)
    events: Events | None = None
    session: SessionRecord | None = None
    debrief: Debrief | None = None
    persona: Persona | None = None
    redelivered: bool = False
    """The update was handled before (a replay after a crash, a redelivery): ``replies`` are the stored ones."""


class RateLimiter:
    """A sliding-window message counter per trainee."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned_at: dict[int, float] = {}

    def check(self, trainee_id: int) -> OutcomeKind | None:
        """Count one message; return None if allowed, else slow_down (first time in a window) or throttled."""
        now = self._clock().timestamp()
        seen = self._seen.setdefault(trainee_id, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        seen.append(now)
        if len(self._seen) > FORGET_AFTER_TRAINEES:
            self.forget_idle()
        if len(seen) <= self.limit:
            return None
        warned = self._warned_at.get(trainee_id)
        if warned is not None and now - warned < self.window:
            return OutcomeKind.throttled
        self._warned_at[trainee_id] = now
        return OutcomeKind.slow_down

    def forget_idle(self) -> None:
        """Drop counters of trainees silent for a whole window, so memory stays bounded."""
        now = self._clock().timestamp()
        for trainee_id in [k for k, v in self._seen.items() if not v or now - v[-1] >= self.window]:
            self._seen.pop(trainee_id, None)
            self._warned_at.pop(trainee_id, None)


def _system_seed() -> int:
    return random.SystemRandom().randrange(SEED_BOUND)


class SessionService:
    """Load, advance and record interview sessions; see the module docstring for the turn protocol."""

    def __init__(
        self,
        store: Store,
        catalog: PersonaCatalog,
        clock: Clock = utc_now,
        seed_source: Callable[[], int] = _system_seed,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rate_window: float = DEFAULT_RATE_WINDOW,
        parse_source: SourceParser = parse_stored_source,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock
        self._seed_source = seed_source
        self._parse_source = parse_source
        self._compiled: dict[str, CompiledPersona] = {}
        self._stored_versions: set[str] = set()
        self._languages: dict[int, str] = {}
        self.limiter = RateLimiter(rate_limit, rate_window, clock)

    # -- trainees and language ------------------------------------------------------------------------------

    async def greet(self, trainee_id: int, display_name: str | None, language_code: str | None) -> str:
        """Record the trainee (name; language on first sight only) and return their catalogue language."""
        known = await self.store.get_trainee(trainee_id)
        stored = known.language if known else None
        lang = normalize_language(stored) if stored else pick_language(language_code)
        if known is None or known.display_name != display_name or known.language != lang:
            await self.store.upsert_trainee(trainee_id, display_name, lang)
        self._languages[trainee_id] = lang
        return lang

    async def language(self, trainee_id: int, language_code: str | None = None) -> str:
        """Return the trainee's catalogue language: the stored choice, else the Telegram language code's."""
        cached = self._languages.get(trainee_id)
        if cached is not None:
            return cached
        known = await self.store.get_trainee(trainee_id)
        stored = known.language if known else None
        lang = normalize_language(stored) if stored else pick_language(language_code)
        self._languages[trainee_id] = lang
        return lang

    async def set_language(self, trainee_id: int, display_name: str | None, lang: str) -> str:
        """Store the trainee's chosen catalogue language and return it."""
        lang = normalize_language(lang)
        await self.store.upsert_trainee(trainee_id, display_name, lang)
        self._languages[trainee_id] = lang
        return lang

    # -- personas -------------------------------------------------------------------------------------------

    def personas(self) -> list[Persona]:
        """Return the personas of the catalogue, grouped by case (cases in first-seen order)."""
        entries = [e.persona for e in self.catalog.entries()]
        order = {case: i for i, case in enumerate(dict.fromkeys(p.case.id for p in entries))}
        return sorted(entries, key=lambda p: order[p.case.id])

    def find_persona(self, persona_id: str) -> Persona | None:
        """Return the current version of a persona, or None."""
        try:
            return self.catalog.get(persona_id).persona
        except PersonaNotFound:
            return None

    def _compile(self, persona: Persona, version: str) -> CompiledPersona:
        cp = self._compiled.get(version)
        if cp is None:
            cp = CompiledPersona(persona, version, default_lexicon())
            self._compiled[version] = cp
        return cp

    async def _compiled_for(self, session: SessionRecord) -> CompiledPersona:
        """Return the compiled persona of the session's pinned version."""
        version = session.persona_version
        cp = self._compiled.get(version)
        if cp is not None:
            return cp
        try:
            entry = self.catalog.get(session.persona_id)
        except PersonaNotFound:
            entry = None
        if entry is not None and entry.version == version:
            return self._compile(entry.persona, version)
        source = await self.store.get_persona_source(version)
        if source is None:
            raise EngineError(f"persona {session.persona_id} version {version} is neither loaded nor stored")
        persona = self._parse_source(source, session.persona_id)
        logger.info(
            "recompiled persona %s at stored version %s for session %s",
            session.persona_id,
            version,
            session.id,
        )
        return self._compile(persona, version)

    # -- interview lifecycle -------------------------------------------------------------------------------

    async def open_session(self, chat_id: int) -> SessionRecord | None:
        """Return the chat's open session, or None."""
        return await self.store.get_open_session(chat_id)

    async def redelivered_opening(self, chat_id: int, update_id: int | None) -> Outcome | None:
        """Return the opening of the chat's open session if ``update_id`` began it, else None."""
        if update_id is None:
            return None
        session = await self.store.get_open_session(chat_id)
        if session is None:
            return None
        records = await self.store.find_exchange(session.id, update_id)
        if not records:
            return None
        persona = await self.persona_of(session)
        replies = [r.text for r in records if r.speaker == SPEAKER_PERSONA]
        logger.info("session %s: begun by update %s already; resending its opening", session.id, update_id)
        return Outcome(OutcomeKind.replies, replies, None, session, persona=persona, redelivered=True)

    async def begin(
        self, chat_id: int, trainee_id: int, persona_id: str, update_id: int | None = None
    ) -> Outcome:
        """Start an interview with the current version of a persona; the outcome holds its opening.

        If ``update_id`` already began the chat's open session (a replayed update), nothing starts and the
        outcome (``redelivered``) holds the stored opening.
        """
        again = await self.redelivered_opening(chat_id, update_id)
        if again is not None:
            return again
        try:
            entry = self.catalog.get(persona_id)
        except PersonaNotFound:
            return Outcome(OutcomeKind.unknown_persona)
        persona, version = entry.persona, entry.version
        cp = self._compile(persona, version)
        turn = dialogue.start(cp, seed=self._seed_source())
        try:
            if version not in self._stored_versions:
                await self.store.store_persona_source(version, persona.id, entry.source)
                self._stored_versions.add(version)
            session = await self.store.start_session(
                trainee_id=trainee_id,
                chat_id=chat_id,
                persona_id=persona.id,
                persona_version=version,
                persona_language=persona.language,
                state=turn.state,
                opening=[NewTurn(SPEAKER_PERSONA, text, update_id=update_id) for text in turn.replies],
            )
        except StoreBusy as exc:
            logger.warning("chat %s: %s not started, asked to repeat: %s", chat_id, persona_id, exc)
            return Outcome(OutcomeKind.busy, persona=persona)
        logger.info("session %s: chat %s began %s (version %s)", session.id, chat_id, persona.id, version)
        return Outcome(OutcomeKind.replies, turn.replies, turn.events, session, persona=persona)

    async def say(self, chat_id: int, trainee_id: int, text: str, update_id: int | None = None) -> Outcome:
        """Answer one trainee utterance in the chat's open session; record it before returning the replies."""
        throttle = self.limiter.check(trainee_id)
        if throttle is not None:
            # Recorded so the transcript shows what went unanswered, but the engine does no work.
            await self.record_event(chat_id, {"kind": EVENT_THROTTLED}, text, update_id)
            return Outcome(throttle)
        session = await self.store.get_open_session(chat_id)
        if session is None:
            return Outcome(OutcomeKind.no_session)
        if update_id is not None:
            already = await self.store.find_exchange(session.id, update_id)
            if already:
                return self._outcome_from_records(session, already)
        cp = await self._compiled_for(session)
        turn = dialogue.step(cp, session.state, text)
        ev = turn.events
        trainee_turn = NewTurn(
            SPEAKER_TRAINEE,
            text,
            rule=ev.rule,
            disclosed=tuple(ev.disclosed),
            changes=dict(ev.changes),
            question_type=ev.question_type,
            cue=ev.cue or None,
            extra={
                "topic": ev.topic,
                "previous_topic": ev.previous_topic,
                "fallback_level": ev.fallback_level,
                "contaminated": list(ev.contaminated),
                "matched": list(ev.matched),
                "ending": ev.ending,
                "vars": dict(turn.state.get("vars", {})),
            },
            update_id=update_id,
        )
        end_reason = (ev.end_reason or "persona_ended") if ev.ended else None
        try:
            await self.store.record_exchange(
                session.id,
                trainee_turn,
                [NewTurn(SPEAKER_PERSONA, reply) for reply in turn.replies],
                turn.state,
                end_reason=end_reason,
            )
        except StoreBusy as exc:
            # One line with the cause (locked or disk full); the state in the store did not advance.
            logger.warning("session %s: turn not stored, the trainee is asked to repeat: %s", session.id, exc)
            return Outcome(OutcomeKind.busy, session=session, persona=cp.persona)
        if end_reason is None:
            return Outcome(OutcomeKind.replies, turn.replies, ev, session, persona=cp.persona)
        ended = await self.store.get_session(session.id)
        debrief = await self._debrief(cp.persona, ended)
        return Outcome(OutcomeKind.ended, turn.replies, ev, ended, debrief, cp.persona)

    def _outcome_from_records(self, session: SessionRecord, records: Sequence[TurnRecord]) -> Outcome:
        """Rebuild the outcome of an exchange that was already recorded (a redelivered update)."""
        replies = [r.text for r in records if r.speaker == SPEAKER_PERSONA]
        logger.info("session %s: update already answered; resending %d replies", session.id, len(replies))
        return Outcome(OutcomeKind.replies, replies, None, session, redelivered=True)

    async def end(self, chat_id: int, reason: str = END_TRAINEE) -> Outcome:
        """End the chat's open interview and return its debrief."""
        session = await self.store.get_open_session(chat_id)
        if session is None:
            return Outcome(OutcomeKind.no_session)
        try:
            ended = await self.store.end_session(session.id, reason)
        except StoreBusy:
            return Outcome(OutcomeKind.busy, session=session)
        logger.info("session %s ended: %s", ended.id, reason)
        persona = await self.persona_of(ended)
        debrief = await self._debrief(persona, ended) if persona is not None else None
        return Outcome(OutcomeKind.closed, session=ended, debrief=debrief, persona=persona)

    async def restart(self, chat_id: int, trainee_id: int, update_id: int | None = None) -> Outcome:
        """End the open interview and begin the same persona again (its current version).

        A replayed ``update_id`` that already restarted the chat gets the stored opening (``redelivered``).
        """
        again = await self.redelivered_opening(chat_id, update_id)
        if again is not None:
            return again
        session = await self.store.get_open_session(chat_id)
        if session is None:
            return Outcome(OutcomeKind.no_session)
        try:
            await self.store.end_session(session.id, END_RESTART)
        except StoreBusy:
            return Outcome(OutcomeKind.busy, session=session)
        return await self.begin(chat_id, trainee_id, session.persona_id, update_id)

    async def record_event(
        self, chat_id: int, event: dict[str, Any], text: str = "", update_id: int | None = None
    ) -> bool:
        """Record a non-text message or an edit in the chat's open session; return whether it was stored."""
        session = await self.store.get_open_session(chat_id)
        if session is None:
            return False
        return await self._event_quietly(session, event, text, update_id)

    async def _event_quietly(
        self, session: SessionRecord, event: dict[str, Any], text: str, update_id: int | None
    ) -> bool:
        try:
            if update_id is not None and await self.store.find_exchange(session.id, update_id):
                return True  # a replayed update: its event is stored already
            await self.store.record_event(
                session.id, NewTurn(SPEAKER_TRAINEE, text, event=event, update_id=update_id)
            )
        except StoreBusy as exc:
            logger.warning("session %s: event %s not recorded: %s", session.id, event.get("kind"), exc)
            return False
        return True

    # -- review ---------------------------------------------------------------------------------------------

    async def _debrief(self, persona: Persona, session: SessionRecord) -> Debrief:
        """Build the debrief of a session from its stored turns, in the trainee's catalogue language."""
        turns = await self.store.get_turns(session.id)
        return debrief_for_session(persona, session, turns, await self.language(session.trainee_id))

    async def debrief(self, session_id: int) -> Debrief:
        """Build the debrief of any stored session."""
        session = await self.store.get_session(session_id)
        cp = await self._compiled_for(session)
        return await self._debrief(cp.persona, session)

    async def persona_of(self, session: SessionRecord) -> Persona | None:
        """Return the persona version a session ran on, or None if it cannot be found."""
        try:
            return (await self._compiled_for(session)).persona
        except (EngineError, PersonaError):
            return None
