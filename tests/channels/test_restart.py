"""Restart: ``understudy serve`` as a subprocess, SIGKILLed mid-interview, then started again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.store.sqlite import SqliteStore
from tests.channels.conftest import Trainee
from tests.fakes.botapi import TEST_TOKEN, FakeBotApi
from tests.fakes.personas import TINY_VICTIM_EN, write_tiny_personas
from tests.faults.conftest import inbox_settled

VICTIM = "tiny_victim_en"
STARTUP_SECONDS = 60.0
EXIT_SECONDS = 30.0


@asynccontextmanager
async def serving(
    api: FakeBotApi, workdir: Path, log_name: str, base_url: str | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``python -m bot serve`` against the fake server; kill it on the way out if it is still running."""
    env = dict(os.environ)
    env.update(
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_BASE_URL=base_url or api.base_url,
        UNDERSTUDY_DB=str(workdir / "db" / "understudy.sqlite3"),
        UNDERSTUDY_PERSONAS=str(workdir / "personas"),
        UNDERSTUDY_INSTRUCTORS="",
        UNDERSTUDY_DELAY_SCALE="0",
    )
    with (workdir / log_name).open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve",
            cwd=workdir, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _stored(workdir: Path) -> tuple[list[tuple[str, str]], dict[str, object], int]:
    async with SqliteStore(workdir / "db" / "understudy.sqlite3") as store:
        sessions = await store.list_sessions()
        assert len(sessions) >= 1
        first = sessions[-1]
        turns = [(t.speaker, t.text) for t in await store.get_turns(first.id)]
        return turns, first.state, len(sessions)


async def test_a_session_survives_sigkill_and_keeps_its_persona_version(
    api: FakeBotApi, tmp_path: Path
) -> None:
    write_tiny_personas(tmp_path / "personas", VICTIM)
    anna = Trainee(api, 301)

    async with serving(api, tmp_path, "first.log") as first:
        anna.send(f"/start {VICTIM}")
        await anna.texts(5, timeout=STARTUP_SECONDS)
        anna.send("hello")
        assert await anna.texts(1) == ["Hi. I am Mira."]
        anna.send("your passport?")
        assert await anna.texts(2) == ["The foreman has my passport.", "He says it is safer."]
        await api.wait_confirmed()
        # The done mark lands just after the last reply; killing before it would rightly replay that update.
        await inbox_settled(tmp_path / "db" / "understudy.sqlite3")
        first.send_signal(signal.SIGKILL)
        await first.wait()

    # The persona file changes while the bot is down: the running session must keep the version it began on.
    (tmp_path / "personas" / f"{VICTIM}.yaml").write_text(
        TINY_VICTIM_EN.replace("Hi. I am Mira.", "Hello again, this is version two."), encoding="utf-8"
    )
    boris = Trainee(api, 302)
    async with serving(api, tmp_path, "second.log") as second:
        anna.send("are you paid?")
        assert await anna.texts(1, timeout=STARTUP_SECONDS) == ["They have not paid me since spring."]
        anna.send("hello")
        assert await anna.texts(1) == ["Hi. I am Mira."]
        boris.send(f"/start {VICTIM}")
        await boris.texts(5)
        boris.send("hello")
        assert await boris.texts(1) == ["Hello again, this is version two."]
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), EXIT_SECONDS) == 0

    turns, state, count = await _stored(tmp_path)
    assert count == 2
    assert turns == [
        ("persona", "Hello."),
        ("persona", "Who are you?"),
        ("trainee", "hello"),
        ("persona", "Hi. I am Mira."),
        ("trainee", "your passport?"),
        ("persona", "The foreman has my passport."),
        ("persona", "He says it is safer."),
        ("trainee", "are you paid?"),
        ("persona", "They have not paid me since spring."),
        ("trainee", "hello"),
        ("persona", "Hi. I am Mira."),
    ]
    assert (state["turn"], sorted(state["ledger"])) == (4, ["passport_kept", "wages_held"])
    logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    assert TEST_TOKEN not in logs
    assert "Understudy ready: 1 personas loaded, failed: none" in logs
    assert "store closed" in (tmp_path / "second.log").read_text()


async def test_a_rejected_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    write_tiny_personas(tmp_path / "personas", VICTIM)
    async with (
        FakeBotApi(token="999:" + "z" * 35) as other,
        serving(other, tmp_path, "rejected.log") as process,
    ):
        assert await asyncio.wait_for(process.wait(), STARTUP_SECONDS) == 2
    log = (tmp_path / "rejected.log").read_text()
    # PTB logs its own traceback (redacted); what the operator reads last is one line.
    assert TEST_TOKEN not in log
    assert (
        log.splitlines()[-1]
        == "understudy: the Bot API server rejected TELEGRAM_BOT_TOKEN; check it with @BotFather"
    )


async def test_an_unreachable_server_is_one_line(api: FakeBotApi, tmp_path: Path) -> None:
    write_tiny_personas(tmp_path / "personas", VICTIM)
    async with serving(api, tmp_path, "unreachable.log", base_url="http://127.0.0.1:9") as process:
        assert await asyncio.wait_for(process.wait(), STARTUP_SECONDS) == 1
    log = (tmp_path / "unreachable.log").read_text()
    assert TEST_TOKEN not in log
    assert log.splitlines()[-1].startswith("understudy: cannot start serving through http://127.0.0.1:9: ")
