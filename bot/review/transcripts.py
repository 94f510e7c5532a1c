"""Instructor review from the command line: ``understudy transcripts list|show|export|note|purge``.

Each ``cmd_*`` coroutine takes an open :class:`~bot.store.base.Store` and an output stream, so it is
testable with a MemoryStore and ``StringIO``; :func:`run_cli` opens the configured SQLite store and
dispatches.

Rendering rules:

- **Markdown** (``render_markdown``; also what Telegram's ``/transcript`` sends): every stored text (trainee
  and persona turns, names, notes) goes through :func:`escape_markdown`, so it renders as the characters
  typed: inline specials are backslash-escaped (CommonMark allows that for any ASCII punctuation), raw HTML
  cannot pass, and no line can start a heading, list, quote, table, code fence or thematic break. Each turn
  sits in a blockquote.
- **Terminal** (``render_text``, used by ``show``): control characters are made visible, so trainee text
  cannot move the cursor or recolour the terminal.
- **CSV**: one row per turn, streamed; a cell starting with ``= + - @`` (or tab/CR) gets a leading ``'`` so
  a spreadsheet never evaluates it as a formula (OWASP CSV-injection advice). This is the one place text is
  not exported verbatim.
- **JSON**: one file per session, the stored values verbatim.

Exports stream session by session through :meth:`Store.iter_sessions`, so memory stays flat however many
sessions there are. Formats are looked up in :data:`EXPORTERS`; :func:`register_exporter` adds one (the HTML
report does).

Pseudonymisation (``--pseudonymize``) replaces the trainee's name and Telegram id by ``Trainee-<8 hex>``,
the chat id by ``Chat-<8 hex>`` and note authors by ``Instructor-<8 hex>``: an HMAC-SHA256 keyed with a
random salt kept in the database's ``meta`` table. The same trainee gets the same pseudonym in every export
from that database, and without the database a pseudonym cannot be turned back into an id (Telegram ids are
few enough to enumerate, which an unkeyed hash would allow). The trainee's name and ids inside turn texts
and notes are replaced too, and event payloads are reduced to their ``kind``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import hmac
import importlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot.errors import ConfigError, NotFound, UnderstudyError
from bot.store.base import Note, SessionRecord, Store, TurnRecord, to_utc

LOGGER = logging.getLogger(__name__)

EXIT_OK = 0
DEFAULT_LIST_LIMIT = 50
CLI_NOTE_AUTHOR = "cli"
SALT_META_KEY = "pseudonym_salt"
SALT_BYTES = 32
PSEUDONYM_HEX_DIGITS = 8  # 4 billion values: collisions stay unlikely for tens of thousands of trainees
MIN_NAME_PART = 3  # shorter name parts ("Li", "Jo") would also match ordinary words
MAX_AGE_DAYS = 365 * 100
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"
CLOCK_FORMAT = "%H:%M:%S"
SESSION_FILE = "session-{id:06d}.{ext}"
CSV_FILE = "turns.csv"
CHANGE_PAIR = 2  # the engine records a variable change as [old, new]

AGE_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
AGE_RE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)

# Markdown: characters escaped wherever they appear, and line starts that would open a block.
MARKDOWN_INLINE_SPECIALS = frozenset("\\`*_{}[]()<>#!|~&")
MARKDOWN_LINE_START = re.compile(r"^(\s*)([-+=:]|\d+(?=[.)]))")
# C0 and C1 controls other than tab and newline, plus DEL.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "session_id",
    "trainee",
    "chat",
    "persona_id",
    "persona_version",
    "persona_language",
    "seq",
    "at",
    "speaker",
    "text",
    "rule",
    "disclosed",
    "changes",
    "question_type",
    "cue",
    "event",
)

PersonaLookup = Callable[[str, str], object | None]
"""Given a persona id and version, return something an exporter can use to name facts (or None)."""


# -- the session as exporters see it -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One session ready to render: the record, its turns and how to name the trainee and chat.

    When pseudonymised, ``session.trainee_id`` and ``session.chat_id`` are 0 and ``session.trainee_name`` is
    the pseudonym; renderers should print ``trainee`` / ``trainee_ref`` / ``chat_ref``, never the raw ids.
    """

    session: SessionRecord
    turns: list[TurnRecord]
    trainee: str
    trainee_ref: str
    chat_ref: str
    pseudonymized: bool = False


class Exporter(Protocol):
    """Write sessions into ``out_dir`` and return the files written."""

    def __call__(
        self, items: AsyncIterator[ExportItem], out_dir: Path, personas: PersonaLookup | None
    ) -> Awaitable[list[Path]]:
        """Export the items."""
        ...


def plain_item(session: SessionRecord, turns: list[TurnRecord]) -> ExportItem:
    """Return the item for a session shown with its real name and ids."""
    label = session.trainee_name or f"#{session.trainee_id}"
    return ExportItem(session, turns, label, str(session.trainee_id), str(session.chat_id))


class Pseudonymizer:
    """Stable, keyed pseudonyms for trainees, chats and note authors."""

    def __init__(self, salt: bytes) -> None:
        """Use ``salt`` as the HMAC key."""
        self._salt = salt

    @classmethod
    async def for_store(cls, store: Store) -> Pseudonymizer:
        """Return the pseudonymizer of a database, creating its salt on first use."""
        salt = await store.meta_setdefault(SALT_META_KEY, secrets.token_hex(SALT_BYTES))
        return cls(bytes.fromhex(salt))

    def _tag(self, kind: str, value: str) -> str:
        digest = hmac.new(self._salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_HEX_DIGITS]

    def trainee(self, trainee_id: int) -> str:
        """Return the trainee's pseudonym."""
        return f"Trainee-{self._tag('trainee', str(trainee_id))}"

    def chat(self, chat_id: int) -> str:
        """Return the chat's pseudonym."""
        return f"Chat-{self._tag('chat', str(chat_id))}"

    def author(self, author: str) -> str:
        """Return a note author's pseudonym."""
        return f"Instructor-{self._tag('author', author)}"

    def item(self, session: SessionRecord, turns: list[TurnRecord]) -> ExportItem:
        """Return the session with names and ids replaced, in the record and inside its texts."""
        alias = self.trainee(session.trainee_id)
        scrub = _scrubber(session, alias)
        notes = [
            Note(note.session_id, note.at, self.author(note.author), scrub(note.text))
            for note in session.notes
        ]
        masked = dataclasses.replace(session, trainee_id=0, chat_id=0, trainee_name=alias, notes=notes)
        masked_turns = [
            dataclasses.replace(
                turn,
                text=scrub(turn.text),
                cue=None if turn.cue is None else scrub(turn.cue),
                event=None if turn.event is None else {"kind": turn.event.get("kind")},
                extra=_scrub_json(turn.extra, scrub),
            )
            for turn in turns
        ]
        return ExportItem(masked, masked_turns, alias, alias, self.chat(session.chat_id), pseudonymized=True)


def _scrub_json(value: Any, scrub: Callable[[str], str]) -> Any:
    """Return a JSON value with every string (keys included) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrub_json(item, scrub) for item in value]
    if isinstance(value, dict):
        return {scrub(str(key)): _scrub_json(item, scrub) for key, item in value.items()}
    return value


def _scrubber(session: SessionRecord, alias: str) -> Callable[[str], str]:
    """Return a function replacing the trainee's name, name parts and ids inside a text."""
    needles: list[str] = []
    if session.trainee_name:
        name = session.trainee_name.strip()
        needles.append(name)
        needles += [part for part in re.split(r"\s+", name) if len(part) >= MIN_NAME_PART]
    needles += [str(session.trainee_id), str(session.chat_id)]
    # Longest first, so "Anna Smith" is replaced before "Anna"; whole words, any case ("anna" too): in a
    # pseudonymised export a name that is also a word ("Rose") is better lost than leaked.
    alternatives = "|".join(
        re.escape(needle) for needle in sorted(set(needles), key=len, reverse=True) if needle
    )
    if not alternatives:
        return lambda text: text
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return lambda text: pattern.sub(alias, text)


# -- escaping and formatting ---------------------------------------------------------------------------------


def escape_markdown(text: str) -> str:
    """Return text that Markdown renders literally, one source line per output line, none opening a block."""
    lines = []
    for raw in CONTROL_CHARS.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n"):
        line = "".join("\\" + char if char in MARKDOWN_INLINE_SPECIALS else char for char in raw)
        match = MARKDOWN_LINE_START.match(line)
        if match is not None:
            indent, opener = match.group(1), match.group(2)
            if opener.isdigit():
                # "1." or "1)" would start an ordered list: escape the delimiter after the digits.
                rest = line[match.end() :]
                line = f"{indent}{opener}\\{rest}"
            else:
                line = f"{indent}\\{line[len(indent) :]}"
        lines.append(line)
    return "\n".join(lines)


def visible_controls(text: str) -> str:
    """Return text with control characters shown as ``\\xNN`` so a terminal cannot interpret them."""
    return CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def csv_safe(text: str) -> str:
    """Return text a spreadsheet will not evaluate as a formula."""
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def format_time(moment: datetime | None) -> str:
    """Return a UTC timestamp for people, or an empty string."""
    return "" if moment is None else to_utc(moment).strftime(TIME_FORMAT)


def _status(session: SessionRecord) -> str:
    return "open" if session.is_open else f"ended ({session.end_reason})"


def _annotations(turn: TurnRecord) -> list[str]:
    parts = []
    if turn.event is not None:
        parts.append(f"event {turn.event.get('kind', '?')}")
    if turn.question_type:
        parts.append(f"question {turn.question_type}" + (f" (cue: {turn.cue})" if turn.cue else ""))
    if turn.rule:
        parts.append(f"rule {turn.rule}")
    if turn.disclosed:
        parts.append("disclosed " + ", ".join(turn.disclosed))
    for name, change in turn.changes.items():
        if isinstance(change, list) and len(change) == CHANGE_PAIR:
            parts.append(f"{name} {change[0]}→{change[1]}")
        else:
            parts.append(f"{name} {change}")
    return parts


def session_summary(item: ExportItem) -> dict[str, Any]:
    """Return the JSON summary of a session (as ``list --json`` and the JSON export print it)."""
    session = item.session
    return {
        "id": session.id,
        "trainee": item.trainee,
        "trainee_id": item.trainee_ref,
        "chat_id": item.chat_ref,
        "persona_id": session.persona_id,
        "persona_version": session.persona_version,
        "persona_language": session.persona_language,
        "started_at": session.started_at.isoformat(),
        "ended_at": None if session.ended_at is None else session.ended_at.isoformat(),
        "end_reason": session.end_reason,
        "status": session.status,
        "turns": session.turns,
        "notes": len(session.notes),
    }


def turn_json(turn: TurnRecord) -> dict[str, Any]:
    """Return a turn as a JSON object."""
    return {
        "seq": turn.seq,
        "at": turn.at.isoformat(),
        "speaker": turn.speaker,
        "text": turn.text,
        "rule": turn.rule,
        "disclosed": turn.disclosed,
        "changes": turn.changes,
        "question_type": turn.question_type,
        "cue": turn.cue,
        "event": turn.event,
        "extra": turn.extra,
    }


def render_markdown(item: ExportItem) -> str:
    """Return the session transcript as a Markdown document with every stored text escaped."""
    session = item.session
    out = [
        f"# Session {session.id}: {escape_markdown(session.persona_id)}",
        "",
        f"- **Trainee:** {escape_markdown(item.trainee)} (id {escape_markdown(item.trainee_ref)})",
        f"- **Chat:** {escape_markdown(item.chat_ref)}",
        f"- **Persona:** {escape_markdown(session.persona_id)},"
        f" version {escape_markdown(session.persona_version)},"
        f" language {escape_markdown(session.persona_language)}",
        f"- **Started:** {format_time(session.started_at)}",
        f"- **Status:** {escape_markdown(_status(session))}"
        + (f", {format_time(session.ended_at)}" if session.ended_at else ""),
        f"- **Trainee turns:** {session.turns}",
        "",
        "## Transcript",
        "",
    ]
    for turn in item.turns:
        notes = _annotations(turn)
        heading = f"**{turn.speaker.capitalize()}** · {turn.at.strftime(CLOCK_FORMAT)}"
        if notes:
            heading += " · " + escape_markdown("; ".join(notes))
        out.append(heading)
        out.append("")
        body = escape_markdown(turn.text) if turn.text else "*\\(no text\\)*"
        out += [f"> {line}" if line else ">" for line in body.split("\n")]
        out.append("")
    if session.notes:
        out += ["## Instructor notes", ""]
        for note in session.notes:
            text = escape_markdown(note.text).replace("\n", "  \n  ")
            out.append(f"- {format_time(note.at)}, {escape_markdown(note.author)}: {text}")
        out.append("")
    return "\n".join(out)


def render_text(item: ExportItem) -> str:
    """Return the session transcript for a terminal, with control characters made visible."""
    session = item.session
    lines = [
        f"Session {session.id} · {session.persona_id}"
        f" (version {session.persona_version}, {session.persona_language})",
        f"Trainee: {item.trainee} ({item.trainee_ref}) · chat {item.chat_ref}",
        f"Started {format_time(session.started_at)} · {_status(session)}"
        + (f" {format_time(session.ended_at)}" if session.ended_at else "")
        + f" · trainee turns: {session.turns}",
        "",
    ]
    for turn in item.turns:
        prefix = f"[{turn.at.strftime(CLOCK_FORMAT)}] {turn.speaker}: "
        text_lines = turn.text.split("\n") if turn.text else [""]
        lines.append(prefix + text_lines[0])
        lines += [" " * len(prefix) + extra for extra in text_lines[1:]]
        notes = _annotations(turn)
        if notes:
            lines.append(" " * len(prefix) + "↳ " + " · ".join(notes))
    if session.notes:
        lines += ["", "Notes:"]
        lines += [f"- {format_time(note.at)} {note.author}: {note.text}" for note in session.notes]
    return visible_controls("\n".join(lines)) + "\n"


# -- exporters -----------------------------------------------------------------------------------------------


def _session_path(out_dir: Path, session_id: int, ext: str) -> Path:
    return out_dir / SESSION_FILE.format(id=session_id, ext=ext)


async def export_markdown(
    items: AsyncIterator[ExportItem], out_dir: Path, personas: PersonaLookup | None = None
) -> list[Path]:
    """Write one Markdown transcript per session."""
    written = []
    async for item in items:
        path = _session_path(out_dir, item.session.id, "md")
        path.write_text(render_markdown(item), encoding="utf-8")
        written.append(path)
    return written


async def export_json(
    items: AsyncIterator[ExportItem], out_dir: Path, personas: PersonaLookup | None = None
) -> list[Path]:
    """Write one JSON document per session: summary, final engine state, notes and turns."""
    written = []
    async for item in items:
        document = {
            "session": session_summary(item),
            "state": item.session.state,
            "notes": [
                {"at": note.at.isoformat(), "author": note.author, "text": note.text}
                for note in item.session.notes
            ],
            "turns": [turn_json(turn) for turn in item.turns],
        }
        path = _session_path(out_dir, item.session.id, "json")
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def csv_rows(item: ExportItem) -> Iterable[list[str]]:
    """Yield the CSV rows (one per turn) of a session."""
    session = item.session
    for turn in item.turns:
        yield [
            str(session.id),
            csv_safe(item.trainee),
            csv_safe(item.chat_ref),
            session.persona_id,
            session.persona_version,
            session.persona_language,
            str(turn.seq),
            turn.at.isoformat(),
            turn.speaker,
            csv_safe(turn.text),
            turn.rule or "",
            ";".join(turn.disclosed),
            json.dumps(turn.changes, ensure_ascii=False) if turn.changes else "",
            turn.question_type or "",
            csv_safe(turn.cue or ""),
            "" if turn.event is None else json.dumps(turn.event, ensure_ascii=False),
        ]


async def export_csv(
    items: AsyncIterator[ExportItem], out_dir: Path, personas: PersonaLookup | None = None
) -> list[Path]:
    """Write every turn of every session into one CSV file, a session at a time."""
    path = out_dir / CSV_FILE
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        async for item in items:
            writer.writerows(csv_rows(item))
    return [path]


EXPORTERS: dict[str, Exporter] = {"md": export_markdown, "json": export_json, "csv": export_csv}
"""Export formats by name; ``understudy transcripts export --format NAME`` looks them up here."""


EXPORTER_MODULES: dict[str, str] = {"html": "bot.review.report"}
"""Formats whose module registers its exporter when imported, on first use (keeps Jinja2 out of the rest)."""


def find_exporter(fmt: str) -> Exporter:
    """Return the exporter of a format, importing its module if needed; raise ConfigError if there is none."""
    if fmt not in EXPORTERS and fmt in EXPORTER_MODULES:
        importlib.import_module(EXPORTER_MODULES[fmt])
    exporter = EXPORTERS.get(fmt)
    if exporter is None:
        known = ", ".join(sorted(set(EXPORTERS) | set(EXPORTER_MODULES)))
        raise ConfigError(f"no exporter for format {fmt!r} (available: {known})")
    return exporter


def register_exporter(fmt: str, exporter: Exporter) -> None:
    """Make ``exporter`` available as ``--format fmt`` (the HTML report registers itself this way)."""
    EXPORTERS[fmt] = exporter


# -- commands ------------------------------------------------------------------------------------------------


def parse_age(text: str) -> timedelta:
    """Parse an age such as ``90d``, ``12h`` or ``2w``; raise ConfigError for anything else."""
    match = AGE_RE.match(text)
    if match is None:
        raise ConfigError(f"cannot read the age {text!r}: use a whole number and h, d or w, e.g. 90d")
    count, unit = int(match.group(1)), match.group(2).lower()
    age = AGE_UNITS[unit] * count if count <= MAX_AGE_DAYS * 24 else timedelta(days=MAX_AGE_DAYS + 1)
    if count == 0 or age > timedelta(days=MAX_AGE_DAYS):
        raise ConfigError(f"the age {text!r} must be more than zero and at most {MAX_AGE_DAYS} days")
    return age


async def cmd_list(store: Store, out: TextIO, as_json: bool = False, limit: int = DEFAULT_LIST_LIMIT) -> int:
    """Print the most recent sessions, newest first, as a table or a JSON array."""
    sessions = await store.list_sessions(limit=limit)
    items = [plain_item(session, []) for session in sessions]
    if as_json:
        json.dump([session_summary(item) for item in items], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return EXIT_OK
    if not items:
        out.write("No sessions stored yet.\n")
        return EXIT_OK
    header = ("ID", "STARTED (UTC)", "STATUS", "TURNS", "PERSONA", "TRAINEE")
    rows = [
        (
            str(item.session.id),
            format_time(item.session.started_at).removesuffix(" UTC"),
            _status(item.session),
            str(item.session.turns),
            item.session.persona_id,
            f"{item.trainee} ({item.trainee_ref})",
        )
        for item in items
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write(visible_controls("  ".join([*cells, row[-1]])) + "\n")
    total = await store.count_sessions()
    if total > len(items):
        out.write(f"({len(items)} of {total} sessions shown; use --limit to see more)\n")
    return EXIT_OK


async def cmd_show(store: Store, out: TextIO, session_id: int) -> int:
    """Print one session's transcript with its annotations and notes; raise NotFound for an unknown id."""
    session = await store.get_session(session_id)
    turns = await store.get_turns(session_id)
    out.write(render_text(plain_item(session, turns)))
    return EXIT_OK


async def _chosen_sessions(store: Store, session_ids: Sequence[int] | None) -> AsyncIterator[SessionRecord]:
    if session_ids is None:
        async for session in store.iter_sessions():
            yield session
        return
    for session_id in session_ids:
        yield await store.get_session(session_id)


async def iter_export_items(
    store: Store, pseudonymizer: Pseudonymizer | None = None, session_ids: Sequence[int] | None = None
) -> AsyncIterator[ExportItem]:
    """Yield the sessions (all, or the given ids) with their turns, one at a time, pseudonymised if asked."""
    async for session in _chosen_sessions(store, session_ids):
        turns = [turn async for turn in store.iter_turns(session.id)]
        yield plain_item(session, turns) if pseudonymizer is None else pseudonymizer.item(session, turns)


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote."""

    paths: list[Path]
    sessions: int


async def _counted(items: AsyncIterator[ExportItem], seen: list[int]) -> AsyncIterator[ExportItem]:
    async for item in items:
        seen.append(item.session.id)
        yield item


async def cmd_export(
    store: Store,
    out_dir: Path,
    fmt: str,
    pseudonymize: bool = False,
    personas_lookup: PersonaLookup | None = None,
    session_ids: Sequence[int] | None = None,
) -> ExportResult:
    """Export every session (or the given ids) in ``fmt`` into ``out_dir``, created if needed."""
    exporter = find_exporter(fmt)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UnderstudyError(f"cannot create {out_dir}: {exc}") from exc
    pseudonymizer = await Pseudonymizer.for_store(store) if pseudonymize else None
    seen: list[int] = []
    items = _counted(iter_export_items(store, pseudonymizer, session_ids), seen)
    try:
        written = await exporter(items, out_dir, personas_lookup)
    except OSError as exc:
        raise UnderstudyError(f"cannot write the export into {out_dir}: {exc}") from exc
    LOGGER.debug("exported %s sessions as %s into %s", len(seen), fmt, out_dir)
    return ExportResult(written, len(seen))


async def markdown_transcript(store: Store, session_id: int, pseudonymize: bool = False) -> str:
    """Return one session's Markdown transcript (what Telegram's ``/transcript ID`` sends as a document)."""
    session = await store.get_session(session_id)
    turns = await store.get_turns(session_id)
    if pseudonymize:
        return render_markdown((await Pseudonymizer.for_store(store)).item(session, turns))
    return render_markdown(plain_item(session, turns))


async def cmd_note(
    store: Store, out: TextIO, session_id: int, text: str, author: str = CLI_NOTE_AUTHOR
) -> int:
    """Attach a note to a session and confirm it; raise NotFound for an unknown id."""
    if not text.strip():
        raise ConfigError("the note is empty")
    await store.add_note(session_id, author, text)
    out.write(f"Note added to session {session_id}.\n")
    return EXIT_OK


async def cmd_purge(store: Store, out: TextIO, older_than: str, now: datetime | None = None) -> int:
    """Delete sessions last active longer ago than ``older_than`` (e.g. ``90d``) and say how many."""
    age = parse_age(older_than)
    cutoff = to_utc(now if now is not None else store.clock()) - age
    purged = await store.purge_older_than(cutoff)
    noun = "session" if purged == 1 else "sessions"
    out.write(f"Purged {purged} {noun} last active before {format_time(cutoff)}.\n")
    return EXIT_OK


async def run_cli(args: argparse.Namespace, out: TextIO, store: Store | None = None) -> int:
    """Run ``understudy transcripts ACTION`` from parsed arguments on the configured (or given) store."""
    if store is None:
        from bot.config import load_settings
        from bot.store.sqlite import SqliteStore

        db_path = load_settings().db_path
        if not db_path.exists():
            if args.action in ("show", "note"):
                raise NotFound(f"no session {args.id}: there is no transcript database at {db_path} yet")
            out.write(f"No transcript database at {db_path} yet; nothing to {args.action}.\n")
            return EXIT_OK
        store = SqliteStore(db_path)
    async with store:
        return await _dispatch(store, args, out)


async def _dispatch(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "list":
        return await cmd_list(store, out, as_json=args.json, limit=getattr(args, "limit", DEFAULT_LIST_LIMIT))
    if args.action == "show":
        return await cmd_show(store, out, args.id)
    if args.action == "export":
        # Importing the report module registers the html exporter; the lookup gives each session the exact persona
        # version it ran on, so reports name the facts even after a persona file changed.
        from bot.config import load_settings
        from bot.persona.catalog import load_catalog
        from bot.review.report import stored_persona_lookup

        out_dir = Path(args.out)
        lookup = stored_persona_lookup(store, load_catalog(load_settings().personas_dir))
        result = await cmd_export(
            store, out_dir, args.format, pseudonymize=args.pseudonymize, personas_lookup=lookup
        )
        noun = "session" if result.sessions == 1 else "sessions"
        files = "file" if len(result.paths) == 1 else "files"
        out.write(
            f"Exported {result.sessions} {noun} as {args.format} into {out_dir}"
            f" ({len(result.paths)} {files}).\n"
        )
        return EXIT_OK
    if args.action == "note":
        return await cmd_note(store, out, args.id, args.text)
    if args.action == "purge":
        return await cmd_purge(store, out, args.older_than)
    raise ConfigError(f"unknown transcripts action {args.action!r}")
