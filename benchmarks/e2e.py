"""End-to-end benchmark: the real ``understudy serve`` on the fake Bot API server, an echo bot as the floor.

Run with ``make bench`` or ``.venv/bin/python -m benchmarks.e2e [--chats N] [--questions N] [--quick]``.

What runs where. This process hosts the fake Bot API server (``tests/fakes/botapi.py``, aiohttp, 127.0.0.1)
and the simulated trainees. The bot under test is a separate process: first ``python -m
benchmarks.echo_bot`` (a bare python-telegram-bot application: a typing action and one message per update),
then ``python -m bot serve`` with ``UNDERSTUDY_DELAY_SCALE=0``, a fresh temporary database and the shipped
personas. Both get the same chats, the same updates, the same pacing, on the same server, in the same run.

Each chat starts a persona by deep link (``/start <persona_id>``: welcome, briefing, "the interview begins"
and the opening, no button to press) and then asks ``--questions`` questions taken from the labelled
question set in ``tests/data/questions.tsv`` (in the persona's language), each only after the whole answer
to the previous one has arrived. If an interview ends on its own (the persona walks out, or a goodbye), the
chat starts the persona again and goes on, as a trainee would.

How the trainee knows the whole answer has arrived. A turn is committed before its first reply is sent, so
when the first message of an answer arrives this process reads the database (read-only queries, WAL) for the
number of persona turns stored for that ``update_id`` and whether the session ended, and waits for exactly
that many messages (plus the two closing messages of an ended interview). Latency is measured from queuing
the update to the first message of the answer (what the trainee sees first) and to the last.

Pacing. The bot answers at most ``DEFAULT_RATE_LIMIT`` messages per ``DEFAULT_RATE_WINDOW`` seconds per
trainee and throttles the rest, so a chat never asks its next question sooner than ``MIN_QUESTION_INTERVAL``
after its previous one. That caps throughput at ``chats / MIN_QUESTION_INTERVAL`` questions per second for
both bots; the report prints the cap and says when a run was bound by it.

After the run the database is checked turn by turn against what the trainees sent and received.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import os
import platform
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.session import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW
from tests.fakes import telegram_factories as tf
from tests.fakes.botapi import TEST_TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parent.parent
PERSONAS_DIR = ROOT / "personas"
QUESTIONS_TSV = ROOT / "tests" / "data" / "questions.tsv"

DEFAULT_CHATS = 1000
DEFAULT_QUESTIONS = 20
QUICK_CHATS = 200
QUICK_QUESTIONS = 5
FIRST_CHAT_ID = 10_000_000
MIN_QUESTION_INTERVAL = DEFAULT_RATE_WINDOW / (DEFAULT_RATE_LIMIT - 1) + 0.02
"""Seconds between two questions of one chat: six questions then span a rate window, so none is throttled."""
START_SYSTEM_MESSAGES = 3
"""Welcome, briefing and "the interview begins", sent before the opening."""
ENDED_SYSTEM_MESSAGES = 2
"""After an interview ends: the end notice with the debrief, then the catalogue."""
STARTUP_TIMEOUT = 180.0
ANSWER_TIMEOUT = 120.0
EXIT_TIMEOUT = 120.0
SETTLE_SECONDS = 1.0
"""Pause after the bot's warm-up before reading its baseline memory."""
WARM_UP_QUESTIONS = 1
PACING_BOUND_SHARE = 0.9
"""A run reaching this share of the pacing cap was limited by pacing, not by the bot."""
LISTEN_BACKLOG = 4096
CLIENT_MAX_SIZE = 64 * 1024 * 1024
SERVER_BOUND_SHARE = 0.85
"""Driver-process CPU above this share of one core means the fake server may be limiting the run."""


# -- the fake server, instrumented -------------------------------------------------------------------------


class BenchBotApi(FakeBotApi):
    """The fake Bot API server with a per-chat inbox the trainees can wait on in O(1) per message.

    The base class keeps every call and re-checks waiters' predicates on every call, which is right for tests
    and quadratic for a thousand chats, so calls are only counted here.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inbox: dict[int, list[tuple[float, str]]] = {}
        self.waiting: dict[int, tuple[int, asyncio.Future[None]]] = {}
        self.counts: Counter[str] = Counter()

    async def start(self) -> None:
        """Listen on 127.0.0.1 with a listen backlog that takes a whole burst of new connections.

        aiohttp's default backlog of 128 drops the SYNs of a bot opening hundreds of connections at once, and
        the retransmits (1 s, 3 s, 7 s later) would show up as latency that belongs to neither bot.
        """
        app = web.Application(client_max_size=CLIENT_MAX_SIZE)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=LISTEN_BACKLOG)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def reset(self) -> None:
        """Forget chats and counts between two bots."""
        self.inbox.clear()
        self.waiting.clear()
        self.counts.clear()
        self.messages.clear()
        self.calls.clear()

    def _record(self, call: Any) -> None:
        self.counts[call.method] += 1

    async def _m_sendMessage(self, params: dict[str, Any], files: object) -> Any:
        result = await super()._m_sendMessage(params, files)
        self.messages.clear()  # nothing reads them here; keep the server's memory flat
        chat_id = result["chat"]["id"]
        box = self.inbox.setdefault(chat_id, [])
        box.append((time.perf_counter(), result.get("text", "")))
        waiter = self.waiting.get(chat_id)
        if waiter is not None and len(box) >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)
        return result

    async def wait_inbox(self, chat_id: int, count: int, timeout: float) -> list[tuple[float, str]]:
        """Wait until the chat's inbox holds ``count`` messages; return the inbox."""
        box = self.inbox.setdefault(chat_id, [])
        if len(box) < count:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.waiting[chat_id] = (count, future)
            try:
                await asyncio.wait_for(future, timeout)
            finally:
                self.waiting.pop(chat_id, None)
        return box


# -- the bot process ---------------------------------------------------------------------------------------


def read_status(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM of a process in bytes (from /proc/<pid>/status)."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5) (utime, stime); the split above starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class BotProcess:
    """A bot running as a subprocess, with what is needed to measure and stop it."""

    name: str
    process: asyncio.subprocess.Process
    log: Path
    baseline_rss: int = 0


async def start_bot(name: str, argv: Sequence[str], env: dict[str, str], api: BenchBotApi, workdir: Path) -> BotProcess:
    """Start a bot process and wait until it polls."""
    log = workdir / f"{name}.log"
    polls = api.counts["getUpdates"]
    with log.open("wb") as fh:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=fh, stderr=fh,
            start_new_session=True,
        )  # fmt: skip
    bot = BotProcess(name, process, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while api.counts["getUpdates"] <= polls:
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start; see its log:\n{log.read_text(errors='replace')[-3000:]}")
        await asyncio.sleep(0.05)
    return bot


async def stop_bot(bot: BotProcess) -> int:
    """Stop a bot with SIGTERM, as a service manager would, and return its exit code."""
    if bot.process.returncode is None:
        bot.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(bot.process.wait(), EXIT_TIMEOUT)
        except TimeoutError:
            bot.process.kill()
            await bot.process.wait()
    return bot.process.returncode if bot.process.returncode is not None else -1


def bot_env(api: BenchBotApi, extra: dict[str, str]) -> dict[str, str]:
    """Return the environment of a bot process: the test token and the fake server's URL."""
    env = dict(os.environ)
    env.update(TELEGRAM_BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_BASE_URL=api.base_url, PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


# -- the trainees ------------------------------------------------------------------------------------------


def load_questions(path: Path = QUESTIONS_TSV) -> dict[str, list[str]]:
    """Return the labelled question set's texts by language."""
    by_lang: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            by_lang.setdefault(row["lang"], []).append(row["text"])
    return by_lang


def shipped_personas(directory: Path = PERSONAS_DIR) -> list[tuple[str, str]]:
    """Return (persona id, language) of every shipped persona, from its file name ``<case>_<role>_<lang>``."""
    return [(p.stem, p.stem.rsplit("_", 1)[1]) for p in sorted(directory.glob("*.yaml"))]


@dataclass
class ChatLog:
    """What one simulated trainee sent and received."""

    chat_id: int
    persona_id: str
    questions: list[tuple[int, str]] = field(default_factory=list)
    """(update_id, text) of every question, in order."""
    persona_replies: list[str] = field(default_factory=list)
    """Every message the trainee got that the database should hold as a persona turn, in order."""
    latencies_first: list[float] = field(default_factory=list)
    latencies_last: list[float] = field(default_factory=list)
    start_latencies: list[float] = field(default_factory=list)
    starts: int = 0
    ended: int = 0
    unexpected: int = 0
    error: str | None = None


class Counts:
    """Read how many messages the bot will send for an update, from what it committed before the first one."""

    def __init__(self, db: Path) -> None:
        self.conn = sqlite3.connect(db, timeout=30.0, isolation_level=None)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def open_session(self, chat_id: int) -> tuple[int, int] | None:
        """Return (session id, opening persona turns) of the chat's open session."""
        row = self.conn.execute("SELECT id FROM sessions WHERE chat_id = ? AND ended_at IS NULL", (chat_id,)).fetchone()
        if row is None:
            return None
        (count,) = self.conn.execute(
            "SELECT count(*) FROM turns WHERE session_id = ? AND speaker = 'persona'", (row[0],)
        ).fetchone()
        return int(row[0]), int(count)

    def answer(self, session_id: int, update_id: int) -> tuple[bool, int, bool]:
        """Return (trainee turn stored, persona turns stored, session ended) for an update."""
        rows = self.conn.execute(
            "SELECT speaker, event FROM turns WHERE session_id = ? AND update_id = ?", (session_id, update_id)
        ).fetchall()
        stored = any(speaker == "trainee" and event is None for speaker, event in rows)
        replies = sum(1 for speaker, _ in rows if speaker == "persona")
        (ended_at,) = self.conn.execute("SELECT ended_at FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return stored, replies, ended_at is not None


@dataclass
class Workload:
    """What every chat does; the same for both bots."""

    chats: int
    questions: int
    personas: list[tuple[str, str]]
    lines: dict[str, list[str]]
    seed: int = 1

    def persona_of(self, index: int) -> tuple[str, str]:
        """Return the persona (id, language) chat ``index`` interviews: round robin over the shipped ones."""
        return self.personas[index % len(self.personas)]

    def script(self, index: int) -> list[str]:
        """Return the questions chat ``index`` asks, drawn from the question set in the persona's language."""
        rng = random.Random(self.seed * 1_000_003 + index)
        _, lang = self.persona_of(index)
        pool = self.lines.get(lang) or self.lines["en"]
        return [rng.choice(pool) for _ in range(self.questions)]


async def paced(last_question: float) -> None:
    """Sleep until a chat may ask its next question without being throttled."""
    wait = last_question + MIN_QUESTION_INTERVAL - time.perf_counter()
    if wait > 0:
        await asyncio.sleep(wait)


async def echo_chat(api: BenchBotApi, work: Workload, index: int) -> ChatLog:
    """Play one chat against the echo bot: every update gets exactly one message."""
    persona_id, lang = work.persona_of(index)
    log = ChatLog(FIRST_CHAT_ID + index, persona_id)
    user = tf.user(log.chat_id, f"Trainee{index}", lang)
    try:
        t0 = time.perf_counter()
        api.queue(tf.text_update(user, f"/start {persona_id}"))
        box = await api.wait_inbox(log.chat_id, 1, ANSWER_TIMEOUT)
        log.start_latencies.append(box[0][0] - t0)
        log.starts += 1
        last = 0.0
        for text in work.script(index):
            await paced(last)
            seen = len(box)
            last = time.perf_counter()
            update = api.queue(tf.text_update(user, text))
            log.questions.append((update["update_id"], text))
            box = await api.wait_inbox(log.chat_id, seen + 1, ANSWER_TIMEOUT)
            log.latencies_first.append(box[seen][0] - last)
            log.latencies_last.append(box[seen][0] - last)
    except TimeoutError:
        log.error = f"chat {log.chat_id}: no answer within {ANSWER_TIMEOUT} s"
    return log


async def understudy_start(
    api: BenchBotApi, counts: Counts, log: ChatLog, user: dict[str, Any]
) -> tuple[int, list[tuple[float, str]]]:
    """Start the chat's persona by deep link and wait for the whole opening; return the session id."""
    box = api.inbox.setdefault(log.chat_id, [])
    seen = len(box)
    t0 = time.perf_counter()
    api.queue(tf.text_update(user, f"/start {log.persona_id}"))
    box = await api.wait_inbox(log.chat_id, seen + START_SYSTEM_MESSAGES, ANSWER_TIMEOUT)
    opened = counts.open_session(log.chat_id)
    if opened is None:
        raise RuntimeError(f"chat {log.chat_id}: /start {log.persona_id} opened no session")
    session_id, opening = opened
    total = seen + START_SYSTEM_MESSAGES + opening
    box = await api.wait_inbox(log.chat_id, total, ANSWER_TIMEOUT)
    log.start_latencies.append(box[total - 1][0] - t0)
    log.persona_replies.extend(text for _, text in box[seen + START_SYSTEM_MESSAGES : total])
    log.starts += 1
    return session_id, box


async def understudy_chat(api: BenchBotApi, counts: Counts, work: Workload, index: int) -> ChatLog:
    """Play one chat against Understudy: start the persona, then ask every question after the last answer."""
    persona_id, lang = work.persona_of(index)
    log = ChatLog(FIRST_CHAT_ID + index, persona_id)
    user = tf.user(log.chat_id, f"Trainee{index}", lang)
    try:
        session_id, box = await understudy_start(api, counts, log, user)
        last = 0.0
        for text in work.script(index):
            await paced(last)
            seen = len(box)
            last = time.perf_counter()
            update = api.queue(tf.text_update(user, text))
            update_id = update["update_id"]
            box = await api.wait_inbox(log.chat_id, seen + 1, ANSWER_TIMEOUT)
            first = box[seen][0]
            stored, replies, ended = counts.answer(session_id, update_id)
            if not stored or not replies:
                # Throttled, busy or no session: one notice, nothing the transcript should hold as a turn.
                log.unexpected += 1
                log.latencies_first.append(first - last)
                log.latencies_last.append(first - last)
                continue
            log.questions.append((update_id, text))
            total = seen + replies + (ENDED_SYSTEM_MESSAGES if ended else 0)
            box = await api.wait_inbox(log.chat_id, total, ANSWER_TIMEOUT)
            log.persona_replies.extend(t for _, t in box[seen : seen + replies])
            log.latencies_first.append(first - last)
            log.latencies_last.append(box[seen + replies - 1][0] - last)
            if ended:
                log.ended += 1
                session_id, box = await understudy_start(api, counts, log, user)
    except TimeoutError:
        log.error = f"chat {log.chat_id}: no complete answer within {ANSWER_TIMEOUT} s"
    except RuntimeError as exc:
        log.error = str(exc)
    return log


# -- measuring ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """The measurements of one bot under the workload."""

    name: str
    chats: int
    updates: int
    questions: int
    wall: float
    first: list[float]
    last: list[float]
    starts: list[float]
    baseline_rss: int
    peak_rss: int
    bot_cpu: float
    driver_cpu: float
    errors: list[str]
    logs: list[ChatLog]
    warm_up: list[ChatLog]
    end_rss: int
    api_calls: int
    polls: int
    exit_code: int = 0

    @property
    def updates_per_second(self) -> float:
        """Return updates answered per second (starts and questions)."""
        return self.updates / self.wall

    @property
    def questions_per_second(self) -> float:
        """Return questions answered per second."""
        return self.questions / self.wall

    @property
    def per_session(self) -> float:
        """Return the peak memory growth per open chat, in bytes."""
        return (self.peak_rss - self.baseline_rss) / max(self.chats, 1)

    @property
    def per_session_after(self) -> float:
        """Return the memory growth per open chat once the burst is over (VmRSS at the end), in bytes."""
        return (self.end_rss - self.baseline_rss) / max(self.chats, 1)


async def drive(name: str, api: BenchBotApi, bot: BotProcess, work: Workload, counts: Counts | None) -> RunResult:
    """Warm the bot up, then run every chat concurrently against it and measure it.

    The warm-up (one short interview per persona, on chats outside the measured ones) pays the one-off costs,
    such as compiling each persona on first use, before the baseline memory is read.
    """
    pid = bot.process.pid

    async def play(workload: Workload, indexes: range) -> list[ChatLog]:
        if counts is None:
            return list(await asyncio.gather(*(echo_chat(api, workload, i) for i in indexes)))
        return list(await asyncio.gather(*(understudy_chat(api, counts, workload, i) for i in indexes)))

    warm = await play(replace(work, questions=WARM_UP_QUESTIONS), range(-len(work.personas), 0))
    await asyncio.sleep(SETTLE_SECONDS)
    bot.baseline_rss = read_status(pid)["VmRSS"]
    calls0 = Counter(api.counts)
    cpu0, driver0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    logs = await play(work, range(work.chats))
    wall = time.perf_counter() - t0
    bot_cpu, driver_cpu = cpu_seconds(pid) - cpu0, time.process_time() - driver0
    calls = Counter(api.counts)
    calls.subtract(calls0)
    status = read_status(pid)
    peak, end_rss = status["VmHWM"], status["VmRSS"]
    questions = sum(len(log.latencies_first) for log in logs)
    return RunResult(
        name=name,
        chats=work.chats,
        updates=questions + sum(log.starts for log in logs),
        questions=questions,
        wall=wall,
        first=[x for log in logs for x in log.latencies_first],
        last=[x for log in logs for x in log.latencies_last],
        starts=[x for log in logs for x in log.start_latencies],
        baseline_rss=bot.baseline_rss,
        peak_rss=peak,
        bot_cpu=bot_cpu,
        driver_cpu=driver_cpu,
        errors=[log.error for log in [*warm, *logs] if log.error],
        logs=logs,
        warm_up=warm,
        end_rss=end_rss,
        api_calls=sum(n for method, n in calls.items() if method != "getUpdates"),
        polls=calls["getUpdates"],
    )


# -- the database check ------------------------------------------------------------------------------------


@dataclass
class DbCheck:
    """The database compared turn by turn with what the trainees sent and received."""

    sessions: int = 0
    trainee_turns: int = 0
    persona_turns: int = 0
    expected_trainee: int = 0
    expected_persona: int = 0
    duplicate_updates: int = 0
    event_turns: int = 0
    chats_differing: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Say whether every turn is stored exactly once."""
        return (
            not self.chats_differing
            and not self.duplicate_updates
            and self.trainee_turns == self.expected_trainee
            and self.persona_turns == self.expected_persona
        )


def check_database(db: Path, logs: Sequence[ChatLog]) -> DbCheck:
    """Compare every chat's stored trainee and persona turns, in order, with what was sent and received."""
    check = DbCheck()
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT s.chat_id, t.speaker, t.text, t.update_id, t.event FROM turns t"
            " JOIN sessions s ON s.id = t.session_id ORDER BY s.chat_id, s.id, t.seq"
        ).fetchall()
        (check.sessions,) = conn.execute("SELECT count(*) FROM sessions").fetchone()
        (check.duplicate_updates,) = conn.execute(
            "SELECT count(*) FROM (SELECT update_id FROM turns WHERE speaker = 'trainee'"
            " AND update_id IS NOT NULL GROUP BY update_id HAVING count(*) > 1)"
        ).fetchone()
    finally:
        conn.close()
    trainee: dict[int, list[tuple[int, str]]] = {}
    persona: dict[int, list[str]] = {}
    for chat_id, speaker, text, update_id, event in rows:
        if event is not None:
            check.event_turns += 1
        elif speaker == "trainee":
            trainee.setdefault(chat_id, []).append((update_id, text))
            check.trainee_turns += 1
        elif speaker == "persona":
            persona.setdefault(chat_id, []).append(text)
            check.persona_turns += 1
    for log in logs:
        check.expected_trainee += len(log.questions)
        check.expected_persona += len(log.persona_replies)
        if trainee.get(log.chat_id, []) != log.questions or persona.get(log.chat_id, []) != log.persona_replies:
            check.chats_differing.append(log.chat_id)
    return check


# -- reporting ---------------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: int) -> float:
    """Return the q-th percentile (inclusive method), or NaN for no values."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def ms(seconds: float) -> str:
    """Format seconds as milliseconds."""
    return f"{seconds * 1000:.0f} ms"


def mib(size: float) -> str:
    """Format bytes as MiB."""
    return f"{size / 2**20:.1f} MiB"


def kib(size: float) -> str:
    """Format bytes as KiB."""
    return f"{size / 1024:.1f} KiB"


def report(work: Workload, echo: RunResult | None, us: RunResult, check: DbCheck, command: str, load: str) -> str:
    """Render the results as Markdown."""
    cap = work.chats / MIN_QUESTION_INTERVAL
    lines = [
        f"## End to end: {work.chats} chats x {work.questions} questions",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores "
        f"(shared; load average before the run {load}), Python {platform.python_version()}.",
        "",
        f"Command: `{command}`",
        "",
        "| | " + (" echo bot (floor) |" if echo else "") + " Understudy |",
        "|---|" + ("---:|" if echo else "") + "---:|",
    ]
    runs = [r for r in (echo, us) if r is not None]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("updates answered (starts + questions)", [f"{r.updates}" for r in runs])
    row("Bot API calls per update (getUpdates aside)", [f"{r.api_calls / r.updates:.2f}" for r in runs])
    row("updates per getUpdates call", [f"{r.updates / max(r.polls, 1):.1f}" for r in runs])
    row("wall time", [f"{r.wall:.1f} s" for r in runs])
    row("**updates per second**", [f"**{r.updates_per_second:.0f}**" for r in runs])
    row("questions (turns) per second", [f"{r.questions_per_second:.0f}" for r in runs])
    row("p50 update -> first reply", [ms(pct(r.first, 50)) for r in runs])
    row("p99 update -> first reply", [ms(pct(r.first, 99)) for r in runs])
    row("p50 update -> last reply of the turn", [ms(pct(r.last, 50)) for r in runs])
    row("p99 update -> last reply of the turn", [ms(pct(r.last, 99)) for r in runs])
    row(
        "p50 / p99 /start -> whole opening",
        [f"{ms(pct(r.starts, 50))} / {ms(pct(r.starts, 99))}" for r in runs],
    )
    row("bot memory after startup and warm-up (VmRSS)", [mib(r.baseline_rss) for r in runs])
    row("bot peak memory (VmHWM)", [mib(r.peak_rss) for r in runs])
    row("**memory per open chat** (peak - baseline) / chats", [f"**{kib(r.per_session)}**" for r in runs])
    row(
        "memory per open chat after the run (VmRSS - baseline) / chats",
        [kib(r.per_session_after) for r in runs],
    )
    row("bot CPU (share of one core)", [f"{r.bot_cpu / r.wall:.0%}" for r in runs])
    row("bot CPU per update", [ms(r.bot_cpu / r.updates) for r in runs])
    row("Bot API calls per second", [f"{r.api_calls / r.wall:.0f}" for r in runs])
    row("driver + fake server CPU (share of one core)", [f"{r.driver_cpu / r.wall:.0%}" for r in runs])
    row("chats that failed", [str(len(r.errors)) for r in runs])
    lines.append("")
    if echo is not None:
        ratio = us.updates_per_second / echo.updates_per_second
        verdict = "meets" if ratio >= 0.8 else "MISSES"
        lines.append(f"**Throughput ratio Understudy / echo bot: {ratio:.2f}x** ({verdict} the goal of >= 0.8x).")
    verdict = "meets" if us.per_session < 50 * 1024 else "MISSES"
    lines.append(f"**Memory per open session: {kib(us.per_session)}** ({verdict} the goal of < 50 KiB).")
    lines.append("")
    for r in runs:
        if r.questions_per_second >= PACING_BOUND_SHARE * cap:
            lines.append(
                f"Note: {r.name} reached {r.questions_per_second:.0f} of the {cap:.0f} questions/s the "
                "pacing allows; it was bound by pacing, so the ratio understates the difference."
            )
        if r.driver_cpu / r.wall >= SERVER_BOUND_SHARE:
            lines.append(
                f"Note: the driver and fake server used {r.driver_cpu / r.wall:.0%} of a core during the "
                f"{r.name} run; they may have limited it."
            )
    lines += [
        "",
        "Database check (after a clean SIGTERM shutdown, every chat's turns compared in order with what "
        "its trainee sent and received):",
        "",
        "| sessions | trainee turns stored / expected | persona turns stored / expected "
        "| duplicated update ids | event turns (throttled, busy) | chats differing | result |",
        "|---:|---:|---:|---:|---:|---:|---|",
        f"| {check.sessions} | {check.trainee_turns} / {check.expected_trainee} "
        f"| {check.persona_turns} / {check.expected_persona} | {check.duplicate_updates} "
        f"| {check.event_turns} | {len(check.chats_differing)} | {'OK' if check.ok else 'FAILED'} |",
        "",
        f"Interviews that ended on their own and were started again: {sum(log.ended for log in us.logs)}; "
        f"answers that were a notice instead of a turn: {sum(log.unexpected for log in us.logs)}; "
        f"Understudy exit code after SIGTERM: {us.exit_code}.",
        "",
        f"Pacing: a chat asks at most one question per {MIN_QUESTION_INTERVAL:.2f} s (the rate limit is "
        f"{DEFAULT_RATE_LIMIT} per {DEFAULT_RATE_WINDOW:.0f} s), which caps both bots at "
        f"{cap:.0f} questions/s.",
    ]
    for r in runs:
        for error in r.errors[:5]:
            lines.append(f"- {r.name}: {error}")
    return "\n".join(lines)


def load_average() -> str:
    """Return the 1-minute load average as text."""
    with contextlib.suppress(OSError):
        return f"{os.getloadavg()[0]:.2f}"
    return "unknown"


# -- main --------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, command: str) -> tuple[str, bool]:
    """Run the echo floor, then Understudy, on one fake server; return the report and whether all is well."""
    work = Workload(args.chats, args.questions, shipped_personas(Path(args.personas)), load_questions(), args.seed)
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="understudy-e2e-") as tmp:
        workdir = Path(tmp)
        api = BenchBotApi()
        await api.start()
        try:
            echo: RunResult | None = None
            if not args.no_echo:
                bot = await start_bot(
                    "echo", python(args, "echo", "benchmarks.echo_bot"), bot_env(api, {}), api, workdir
                )
                try:
                    echo = await drive("echo bot", api, bot, work, None)
                finally:
                    echo_exit = await stop_bot(bot)
                if echo is not None:
                    echo.exit_code = echo_exit
                if args.keep_log:
                    Path(f"{args.keep_log}.echo").write_bytes(bot.log.read_bytes())
                api.reset()
            db = workdir / "understudy.sqlite3"
            argv = [*python(args, "understudy", "bot"), "serve"]
            env = bot_env(
                api,
                {
                    "UNDERSTUDY_DB": str(db),
                    "UNDERSTUDY_PERSONAS": str(Path(args.personas).resolve()),
                    "UNDERSTUDY_DELAY_SCALE": "0",
                    "UNDERSTUDY_INSTRUCTORS": "",
                },
            )
            bot = await start_bot("understudy", argv, env, api, workdir)
            counts = Counts(db)
            try:
                us = await drive("Understudy", api, bot, work, counts)
            finally:
                counts.close()
                us_exit = await stop_bot(bot)
            us.exit_code = us_exit
            if args.keep_log:
                Path(args.keep_log).write_bytes(bot.log.read_bytes())
        finally:
            await api.stop()
        check = check_database(db, [*us.warm_up, *us.logs])
    text = report(work, echo, us, check, command, load)
    ok = check.ok and not us.errors and (echo is None or not echo.errors) and us.exit_code == 0
    return text, ok


def python(args: argparse.Namespace, name: str, module: str) -> list[str]:
    """Return the command running ``module``, under cProfile (stats in ``<--profile>.<name>``) if asked."""
    if not args.profile:
        return [sys.executable, "-m", module]
    stats = f"{Path(args.profile).resolve()}.{name}"
    return [sys.executable, "-m", "cProfile", "-o", stats, "-m", module]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=None, help=f"concurrent chats (default {DEFAULT_CHATS})")
    parser.add_argument("--questions", type=int, default=None, help=f"questions per chat (default {DEFAULT_QUESTIONS})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smaller run: {QUICK_CHATS} chats x {QUICK_QUESTIONS} questions",
    )
    parser.add_argument("--no-echo", action="store_true", help="skip the echo-bot floor")
    parser.add_argument("--personas", default=str(PERSONAS_DIR), help="personas directory (default: shipped)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the question scripts")
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="run the bots under cProfile; stats go to PATH.echo and PATH.understudy",
    )
    parser.add_argument("--keep-log", metavar="PATH", help="copy the bots' logs to PATH and PATH.echo")
    parser.add_argument("--output", metavar="PATH", help="also write the Markdown report to PATH")
    args = parser.parse_args(argv)
    if args.chats is None:
        args.chats = QUICK_CHATS if args.quick else DEFAULT_CHATS
    if args.questions is None:
        args.questions = QUICK_QUESTIONS if args.quick else DEFAULT_QUESTIONS
    if args.chats < 1 or args.questions < 0:
        parser.error("--chats must be >= 1 and --questions >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the Markdown report; exit 1 if a chat failed or a turn is missing."""
    args = parse_args(argv)
    shown = list(argv) if argv is not None else sys.argv[1:]
    command = " ".join([".venv/bin/python -m benchmarks.e2e", *shown])
    text, ok = asyncio.run(run(args, command))
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
