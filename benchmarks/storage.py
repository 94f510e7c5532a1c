"""Storage benchmark: turns written per second with SQLite in WAL mode, and exporting many sessions.

Run with ``make bench`` or ``.venv/bin/python -m benchmarks.storage [--quick]``.

Writes. A real interview is played once through the session service and the engine (a shipped persona,
questions from ``tests/data/questions.tsv``); its opening, exchanges and engine state are then written again
and again through the public store API: ``start_session`` once per session, then ``record_exchange`` per
question (one transaction holding the trainee turn, the persona turns and the new state, as the bot does).
The same writes go to :class:`~bot.store.sqlite.SqliteStore` (WAL, ``synchronous=NORMAL``, the shipped
settings) and to the in-memory twin :class:`~bot.store.memory.MemoryStore`, the peer that costs no I/O, in
the same run:

- sequential: one session after another, each exchange awaited before the next;
- concurrent: every session is its own task, as a thousand chats are in the bot (one connection; the store
  serialises its transactions);
- several processes: ``--processes`` bot processes, each with its own connection, writing to one file (WAL
  lets readers run beside the writer; writers queue on SQLite's lock with the busy timeout).

Exports. A database of N sessions is built by recording the same interview once through the store and
cloning its rows with SQL (fast, and every session is a real one). Then ``understudy transcripts export``
runs in a fresh process per format and size, through :func:`bot.review.transcripts.cmd_export` (CSV: one
file; HTML: one report per session with its debrief, then ``index.html``), and the child reports its time
and peak memory (VmHWM). The exports stream sessions from the store, so peak memory should stay flat from
1,000 to 10,000 sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.persona.loader import LoadedPersona, load_persona_text
from bot.session import OutcomeKind, SessionService
from bot.store.base import SPEAKER_PERSONA, SPEAKER_TRAINEE, NewTurn, Store
from bot.store.memory import MemoryStore
from bot.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parent.parent
PERSONAS_DIR = ROOT / "personas"
QUESTIONS_TSV = ROOT / "tests" / "data" / "questions.tsv"

DEFAULT_PERSONA = "construction_victim_en"
DEFAULT_QUESTIONS = 20
DEFAULT_WRITE_SESSIONS = 200
DEFAULT_PROCESSES = 2
DEFAULT_EXPORT_SIZES = (1000, 10000)
QUICK_WRITE_SESSIONS = 40
QUICK_EXPORT_SIZES = (100, 1000)
DEFAULT_ROUNDS = 2
"""Each write variant runs this many times; the best round counts (machine noise only ever slows a run)."""
UNLIMITED_RATE = 10**9
TRAINEES_PER_SESSION_GROUP = 10
"""Cloned sessions share a trainee per this many sessions, as a cohort replays personas."""
EXPORT_FORMATS = ("csv", "html")
SEED = 7
START_GRACE = 5.0
"""Seconds the writer processes get to start up before they all begin writing at once."""


# -- the interview that gets written -----------------------------------------------------------------------


class OneCatalog:
    """A catalogue holding one loaded persona (what the session service needs of a catalogue)."""

    def __init__(self, loaded: LoadedPersona) -> None:
        self.loaded = loaded

    def get(self, persona_id: str) -> LoadedPersona:
        """Return the persona; the benchmark only ever asks for this one."""
        return self.loaded

    def entries(self) -> list[LoadedPersona]:
        """Return the one persona."""
        return [self.loaded]


@dataclass
class Template:
    """A recorded interview ready to be written again: opening, exchanges and engine state."""

    loaded: LoadedPersona
    opening: list[NewTurn]
    exchanges: list[tuple[NewTurn, list[NewTurn]]]
    state: dict[str, Any]

    @property
    def turns_per_session(self) -> int:
        """Return the turns one session writes."""
        return len(self.opening) + sum(1 + len(replies) for _, replies in self.exchanges)


def questions(lang: str, count: int, seed: int = SEED) -> list[str]:
    """Return ``count`` questions in a language from the labelled question set."""
    with QUESTIONS_TSV.open(encoding="utf-8", newline="") as fh:
        pool = [row["text"] for row in csv.DictReader(fh, delimiter="\t") if row["lang"] == lang]
    rng = random.Random(seed)
    return [rng.choice(pool) for _ in range(count)]


async def record_template(persona_id: str, count: int) -> Template:
    """Play one interview through the session service into a MemoryStore and return it as a template."""
    path = PERSONAS_DIR / f"{persona_id}.yaml"
    loaded = load_persona_text(path.read_text(encoding="utf-8"), str(path))
    store = MemoryStore()
    await store.open()
    service = SessionService(store, OneCatalog(loaded), seed_source=lambda: SEED, rate_limit=UNLIMITED_RATE)
    chat = 1
    started = await service.begin(chat, chat, persona_id)
    assert started.session is not None
    for update_id, text in enumerate(questions(loaded.persona.language, count), start=1):
        outcome = await service.say(chat, chat, text, update_id)
        if outcome.kind is not OutcomeKind.replies:
            break  # the persona ended the interview; what was recorded is the template
    session = await store.get_session(started.session.id)
    records = await store.get_turns(session.id)
    await store.close()
    opening: list[NewTurn] = []
    exchanges: list[tuple[NewTurn, list[NewTurn]]] = []
    for record in records:
        turn = NewTurn.from_record(record, keep_time=False)
        if record.speaker == SPEAKER_TRAINEE:
            exchanges.append((turn, []))
        elif record.speaker == SPEAKER_PERSONA:
            (exchanges[-1][1] if exchanges else opening).append(turn)
    return Template(loaded, opening, exchanges, session.state)


# -- writes ------------------------------------------------------------------------------------------------


async def write_sessions(store: Store, template: Template, ids: Sequence[int], concurrent: bool) -> None:
    """Write one session per id, sequentially or as concurrent tasks."""
    persona = template.loaded.persona

    async def one(i: int) -> None:
        session = await store.start_session(
            trainee_id=i,
            chat_id=i,
            persona_id=persona.id,
            persona_version=template.loaded.version,
            persona_language=persona.language,
            state=template.state,
            opening=template.opening,
        )
        for k, (trainee, replies) in enumerate(template.exchanges):
            turn = replace(trainee, update_id=i * 1000 + k)
            await store.record_exchange(session.id, turn, replies, template.state)

    if concurrent:
        await asyncio.gather(*(one(i) for i in ids))
    else:
        for i in ids:
            await one(i)


@dataclass
class WriteResult:
    """One write variant's best round."""

    label: str
    seconds: float
    turns: int
    transactions: int

    @property
    def turns_per_second(self) -> float:
        """Return turns written per second."""
        return self.turns / self.seconds

    @property
    def transactions_per_second(self) -> float:
        """Return write transactions (session starts and exchanges) per second."""
        return self.transactions / self.seconds


async def time_store(
    label: str,
    make: Callable[[Path], Store],
    template: Template,
    sessions: int,
    concurrent: bool,
    tmp: Path,
    rounds: int,
) -> WriteResult:
    """Write ``sessions`` sessions into a fresh store, ``rounds`` times; return the best round."""
    best = float("inf")
    for n in range(rounds):
        db = tmp / f"write-{label.replace(' ', '-')}-{n}.sqlite3"
        store = make(db)
        await store.open()
        try:
            t0 = time.perf_counter()
            await write_sessions(store, template, range(1, sessions + 1), concurrent)
            best = min(best, time.perf_counter() - t0)
        finally:
            await store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    transactions = sessions * (1 + len(template.exchanges))
    return WriteResult(label, best, sessions * template.turns_per_session, transactions)


def time_processes(processes: int, sessions: int, args: argparse.Namespace, tmp: Path) -> WriteResult:
    """Write ``sessions`` sessions from ``processes`` processes, each with its own connection, to one file."""
    best = float("inf")
    turns = transactions = 0
    for n in range(args.rounds):
        db = tmp / f"write-processes-{n}.sqlite3"
        asyncio.run(_create(db))
        share = sessions // processes
        start_at = time.time() + START_GRACE
        argv = [sys.executable, "-m", "benchmarks.storage", "--persona", args.persona, "--questions"]
        children = [
            subprocess.Popen(
                [
                    *argv,
                    str(args.questions),
                    "--child-write",
                    str(db),
                    str(p * share + 1),
                    str(share),
                    str(start_at),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for p in range(processes)
        ]
        reports = [json.loads(child.communicate()[0]) for child in children]
        # The children wait for a common moment to start, so the last one to finish ends the run.
        start = min(r["start"] for r in reports)
        best = min(best, max(r["end"] for r in reports) - start)
        turns = sum(r["turns"] for r in reports)
        transactions = sum(r["transactions"] for r in reports)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    return WriteResult(f"SqliteStore, {processes} processes x concurrent", best, turns, transactions)


async def _create(db: Path) -> None:
    async with SqliteStore(db):
        pass


async def child_write(
    db: Path, first: int, count: int, start_at: float, persona_id: str, question_count: int
) -> dict[str, Any]:
    """Write ``count`` sessions from id ``first`` as concurrent tasks, from ``start_at`` (wall clock) on."""
    template = await record_template(persona_id, question_count)
    async with SqliteStore(db) as store:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        start = time.time()
        await write_sessions(store, template, range(first, first + count), concurrent=True)
        end = time.time()
    return {
        "start": start,
        "end": end,
        "turns": count * template.turns_per_session,
        "transactions": count * (1 + len(template.exchanges)),
    }


# -- exports -----------------------------------------------------------------------------------------------


async def build_export_db(db: Path, template: Template, sessions: int) -> int:
    """Record the template once through the store, then clone it with SQL into ``sessions`` sessions.

    Return the number of turns in the database.
    """
    persona = template.loaded.persona
    async with SqliteStore(db) as store:
        await store.store_persona_source(template.loaded.version, persona.id, template.loaded.source)
        await store.upsert_trainee(1, "Trainee 1", persona.language)
        await write_sessions(store, template, [1], concurrent=False)
        first = (await store.list_sessions(limit=1))[0]
        await store.end_session(first.id, "trainee")
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO trainees (id, display_name, language, created_at)"
                " SELECT ?, ?, language, created_at FROM trainees WHERE id = 1",
                [(t, f"Trainee {t}") for t in range(2, sessions // TRAINEES_PER_SESSION_GROUP + 2)],
            )
            conn.executemany(
                "INSERT INTO sessions (id, trainee_id, chat_id, persona_id, persona_version,"
                " persona_language, started_at, last_activity_at, ended_at, end_reason, state, turns)"
                " SELECT ?, ?, ?, persona_id, persona_version, persona_language, started_at,"
                " last_activity_at, ended_at, end_reason, state, turns FROM sessions WHERE id = ?",
                [
                    (i, i // TRAINEES_PER_SESSION_GROUP + 1, i, first.id)
                    for i in range(first.id + 1, first.id + sessions)
                ],
            )
            conn.executemany(
                "INSERT INTO turns (session_id, seq, at, speaker, text, rule, disclosed, changes,"
                " question_type, cue, event, extra, update_id) SELECT ?, seq, at, speaker, text, rule,"
                " disclosed, changes, question_type, cue, event, extra, update_id FROM turns"
                " WHERE session_id = ?",
                [(i, first.id) for i in range(first.id + 1, first.id + sessions)],
            )
        (turns,) = conn.execute("SELECT count(*) FROM turns").fetchone()
    finally:
        conn.close()
    return int(turns)


def vm_status() -> dict[str, int]:
    """Return this process's VmRSS and VmHWM in bytes."""
    out: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


async def child_export(db: Path, fmt: str, out_dir: Path) -> dict[str, Any]:
    """Export every session of ``db`` in ``fmt`` the way the CLI does; report time and memory."""
    from bot.review.report import stored_persona_lookup
    from bot.review.transcripts import cmd_export, find_exporter

    find_exporter(fmt)  # import the exporter's module (Jinja2 for HTML) before the baseline
    async with SqliteStore(db) as store:
        lookup = stored_persona_lookup(store) if fmt == "html" else None
        baseline = vm_status()["VmRSS"]
        t0 = time.perf_counter()
        result = await cmd_export(store, out_dir, fmt, personas_lookup=lookup)
        seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in result.paths)
    return {
        "seconds": seconds,
        "sessions": result.sessions,
        "files": len(result.paths),
        "bytes": size,
        "baseline": baseline,
        "peak": vm_status()["VmHWM"],
    }


@dataclass
class ExportResult:
    """One export run measured in its own process."""

    fmt: str
    sessions: int
    turns: int
    seconds: float
    files: int
    size: int
    baseline: int
    peak: int


def time_export(db: Path, fmt: str, sessions: int, turns: int, tmp: Path) -> ExportResult:
    """Run one export in a fresh process and collect its report."""
    out_dir = tmp / f"export-{fmt}-{sessions}"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.storage", "--child-export", str(db), fmt, str(out_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    shutil.rmtree(out_dir, ignore_errors=True)
    if report["sessions"] != sessions:
        raise RuntimeError(f"{fmt} export wrote {report['sessions']} sessions, expected {sessions}")
    return ExportResult(
        fmt,
        sessions,
        turns,
        report["seconds"],
        report["files"],
        report["bytes"],
        report["baseline"],
        report["peak"],
    )


# -- reporting ---------------------------------------------------------------------------------------------


def mib(size: float) -> str:
    """Format bytes as MiB."""
    return f"{size / 2**20:.1f} MiB"


def load_average() -> str:
    """Return the 1-minute load average as text."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def render(
    args: argparse.Namespace,
    template: Template,
    writes: Sequence[WriteResult],
    peer: dict[str, WriteResult],
    exports: Sequence[ExportResult],
    journal: str,
    command: str,
    load: str,
) -> str:
    """Render the results as Markdown."""
    lines = [
        "## Storage",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores "
        f"(shared; load average before the run {load}), Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, journal mode {journal}.",
        "",
        f"Command: `{command}`",
        "",
        f"### Writes: {args.write_sessions} sessions of `{args.persona}`, {template.turns_per_session} "
        f"turns each ({len(template.opening)} opening, {len(template.exchanges)} exchanges), "
        f"best of {args.rounds} rounds",
        "",
        "| store, writers | turns/s | transactions/s | relative to MemoryStore, same writers |",
        "|---|---:|---:|---:|",
    ]
    for w in writes:
        ref = peer.get(w.label)
        ratio = f"{w.turns_per_second / ref.turns_per_second:.2f}x" if ref is not None else ""
        lines.append(f"| {w.label} | {w.turns_per_second:,.0f} | {w.transactions_per_second:,.0f} | {ratio} |")
    lines += [
        "",
        "A transaction is `start_session` (the opening) or `record_exchange` (trainee turn, persona turns "
        "and state together), as the bot writes them.",
        "",
        "### Exports (`transcripts export`, each in a fresh process)",
        "",
        "| format | sessions | turns | time | sessions/s | files | output | peak memory (VmHWM) "
        "| growth during the export |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in exports:
        lines.append(
            f"| {e.fmt} | {e.sessions:,} | {e.turns:,} | {e.seconds:.1f} s | {e.sessions / e.seconds:,.0f} "
            f"| {e.files:,} | {mib(e.size)} | {mib(e.peak)} | {mib(e.peak - e.baseline)} |"
        )
    by_fmt: dict[str, list[ExportResult]] = {}
    for e in exports:
        by_fmt.setdefault(e.fmt, []).append(e)
    lines.append("")
    for fmt, runs in by_fmt.items():
        if len(runs) >= 2:
            small, big = runs[0], runs[-1]
            lines.append(
                f"- {fmt}: {big.sessions // small.sessions}x the sessions took "
                f"{big.seconds / small.seconds:.1f}x the time and {big.peak / small.peak:.2f}x the peak "
                "memory."
            )
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------------------


async def run_writes(
    args: argparse.Namespace, template: Template, tmp: Path
) -> tuple[list[WriteResult], dict[str, WriteResult], str]:
    """Time every write variant against SQLite and the MemoryStore peer."""
    results: list[WriteResult] = []
    peer: dict[str, WriteResult] = {}

    def sqlite(db: Path) -> Store:
        return SqliteStore(db)

    def memory(db: Path) -> Store:
        return MemoryStore()

    for concurrent in (False, True):
        mode = "concurrent tasks" if concurrent else "sequential"
        mem = await time_store(
            f"MemoryStore, {mode}", memory, template, args.write_sessions, concurrent, tmp, args.rounds
        )
        lite = await time_store(
            f"SqliteStore, {mode}", sqlite, template, args.write_sessions, concurrent, tmp, args.rounds
        )
        peer[lite.label] = mem
        results += [mem, lite]
    async with SqliteStore(tmp / "journal.sqlite3") as store:
        journal = await store.journal_mode()
    return results, peer, journal


async def run_exports(args: argparse.Namespace, template: Template, tmp: Path) -> list[ExportResult]:
    """Build a database per size and time every export format on it."""
    results: list[ExportResult] = []
    for fmt in EXPORT_FORMATS:
        for size in args.export_sizes:
            db = tmp / f"export-{size}.sqlite3"
            if not db.exists():
                turns = await build_export_db(db, template, size)
                (db.parent / f"{db.name}.turns").write_text(str(turns), encoding="ascii")
            turns = int((db.parent / f"{db.name}.turns").read_text(encoding="ascii"))
            results.append(await asyncio.to_thread(time_export, db, fmt, size, turns, tmp))
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--write-sessions", type=int, default=None, help="sessions per write variant")
    parser.add_argument("--export-sizes", type=int, nargs="+", default=None, help="database sizes (sessions) to export")
    parser.add_argument("--processes", type=int, default=DEFAULT_PROCESSES, help="writer processes (0: skip)")
    parser.add_argument("--persona", default=DEFAULT_PERSONA, help="shipped persona the interview is played with")
    parser.add_argument("--questions", type=int, default=DEFAULT_QUESTIONS, help="questions per interview")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds per write variant")
    parser.add_argument("--output", metavar="PATH", help="also write the Markdown report to PATH")
    parser.add_argument("--child-write", nargs=4, metavar=("DB", "FIRST", "COUNT", "START_AT"), help=argparse.SUPPRESS)
    parser.add_argument("--child-export", nargs=3, metavar=("DB", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_sessions is None:
        args.write_sessions = QUICK_WRITE_SESSIONS if args.quick else DEFAULT_WRITE_SESSIONS
    if args.export_sizes is None:
        args.export_sizes = list(QUICK_EXPORT_SIZES if args.quick else DEFAULT_EXPORT_SIZES)
    return args


async def run(args: argparse.Namespace, command: str) -> str:
    """Run the write and export benchmarks and return the report."""
    load = load_average()
    template = await record_template(args.persona, args.questions)
    with tempfile.TemporaryDirectory(prefix="understudy-storage-") as name:
        tmp = Path(name)
        writes, peer, journal = await run_writes(args, template, tmp)
        if args.processes > 1:
            multi = await asyncio.to_thread(time_processes, args.processes, args.write_sessions, args, tmp)
            peer[multi.label] = next(w for w in writes if w.label == "MemoryStore, concurrent tasks")
            writes.append(multi)
        exports = await run_exports(args, template, tmp)
    return render(args, template, writes, peer, exports, journal, command, load)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or one of its child jobs) and print the Markdown report."""
    args = parse_args(argv)
    job: Awaitable[Any]
    if args.child_write:
        db, first, count, start_at = args.child_write
        job = child_write(Path(db), int(first), int(count), float(start_at), args.persona, args.questions)
        print(json.dumps(asyncio.run(job)))
        return 0
    if args.child_export:
        db, fmt, out = args.child_export
        print(json.dumps(asyncio.run(child_export(Path(db), fmt, Path(out)))))
        return 0
    shown = list(argv) if argv is not None else sys.argv[1:]
    command = " ".join([".venv/bin/python -m benchmarks.storage", *shown])
    text = asyncio.run(run(args, command))
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
