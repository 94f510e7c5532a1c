"""Persona files change or break while sessions run: /reload and the file watch.

Running sessions keep the version they began with, new sessions get the new one, and a broken file never
replaces a good one: the previous good version stays, the diagnostics are logged once, and /reload tells the
instructor which files failed and why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.i18n import t
from bot.session import LiveCatalog
from tests.channels.conftest import Trainee
from tests.channels.test_restart import serving
from tests.fakes.botapi import FakeBotApi
from tests.fakes.personas import TINY_VICTIM_EN, write_tiny_personas
from tests.faults.conftest import faulty_bot

VICTIM = "tiny_victim_en"
INSTRUCTOR = 950
V1 = "Hi. I am Mira."
V2 = "Hello again, this is version two."
BROKEN = TINY_VICTIM_EN.replace("variables:\n", "variables: [unclosed\n")
WATCH_SECONDS = 0.1
WAIT_SECONDS = 10.0
STARTUP_SECONDS = 60.0

pytestmark = pytest.mark.timeout(60)

_mtime = [1_700_000_000]


def write_persona(directory: Path, text: str) -> Path:
    """Write the victim's file with a fresh mtime, so the watch sees the change even within one clock tick."""
    path = directory / f"{VICTIM}.yaml"
    path.write_text(text, encoding="utf-8")
    _mtime[0] += 10
    os.utime(path, (_mtime[0], _mtime[0]))
    return path


async def _interview(trainee: Trainee) -> str:
    trainee.send(f"/start {VICTIM}")
    await trainee.texts(5)
    trainee.send("hello")
    (reply,) = await trainee.texts(1)
    return reply


async def _until(predicate: Callable[[], bool], what: str) -> None:
    """Wait until ``predicate()`` holds; ``what`` names it in the failure."""
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while not predicate():
                await asyncio.sleep(WATCH_SECONDS / 2)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def _diagnostic_logs(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return [line for line in lines if str(path) in line]


async def test_reload_command_updates_new_sessions_and_keeps_good_versions(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = write_tiny_personas(tmp_path / "personas")
    catalog = LiveCatalog(directory)
    async with faulty_bot(api, tmp_path, catalog=catalog, instructors=[INSTRUCTOR]):
        teacher = Trainee(api, INSTRUCTOR, first_name="Tamara")
        anna = Trainee(api, 801)
        assert await _interview(anna) == V1

        write_persona(directory, TINY_VICTIM_EN.replace(V1, V2))
        teacher.send("/reload")
        (text,) = await teacher.texts(1)
        assert text == t("en", "reload_done", count=2, added="none", updated=VICTIM, removed="none")
        anna.send("hello")
        assert await anna.texts(1) == [V1]  # the running session keeps its version
        boris = Trainee(api, 802)
        assert await _interview(boris) == V2  # a new session gets the new one

        path = write_persona(directory, BROKEN)
        caplog.clear()
        teacher.send("/reload")
        (text,) = await teacher.texts(1)
        assert text.startswith(t("en", "reload_done", count=2, added="none", updated="none", removed="none"))
        failures = text.split("\n\n", 1)[1]
        assert failures.startswith(t("en", "reload_failed", kept=VICTIM, failures="").rstrip())
        assert f"• {path}:" in failures  # file, then line and column
        assert len(_diagnostic_logs(caplog, path)) == 1
        carl = Trainee(api, 803)
        assert await _interview(carl) == V2  # the broken file did not replace the good version
        anna.send("hello")
        assert await anna.texts(1) == [V1]
        boris.send("hello")
        assert await boris.texts(1) == [V2]


async def test_reload_is_for_instructors_only(api: FakeBotApi, tmp_path: Path) -> None:
    directory = write_tiny_personas(tmp_path / "personas")
    catalog = LiveCatalog(directory)
    async with faulty_bot(api, tmp_path, catalog=catalog, instructors=[INSTRUCTOR]):
        write_persona(directory, TINY_VICTIM_EN.replace(V1, V2))
        mallory = Trainee(api, 804)
        mallory.send("/reload")
        assert await mallory.texts(1) == [t("en", "not_available")]
        assert await _interview(mallory) == V1


async def test_the_file_watch_reloads_and_never_takes_a_broken_file(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = write_tiny_personas(tmp_path / "personas")
    catalog = LiveCatalog(directory)
    first_version = catalog.get(VICTIM).version
    async with faulty_bot(api, tmp_path, catalog=catalog, watch_interval=WATCH_SECONDS):
        anna = Trainee(api, 811)
        assert await _interview(anna) == V1

        write_persona(directory, TINY_VICTIM_EN.replace(V1, V2))
        await _until(lambda: catalog.get(VICTIM).version != first_version, "the new version")
        second_version = catalog.get(VICTIM).version
        boris = Trainee(api, 812)
        assert await _interview(boris) == V2

        caplog.clear()
        path = write_persona(directory, BROKEN)
        await _until(lambda: catalog.stamp == catalog.file_stamps(), "the broken file seen")
        await asyncio.sleep(WATCH_SECONDS * 5)  # several more polls: the diagnostics are not repeated
        assert catalog.get(VICTIM).version == second_version
        assert len(_diagnostic_logs(caplog, path)) == 1
        carl = Trainee(api, 813)
        assert await _interview(carl) == V2
        anna.send("hello")
        assert await anna.texts(1) == [V1]

        path.unlink()  # a deleted file takes its persona out of the catalogue; running sessions go on
        await _until(lambda: VICTIM not in [e.persona.id for e in catalog.entries()], "the removal")
        boris.send("hello")
        assert await boris.texts(1) == [V2]


async def test_serve_watches_the_persona_directory(api: FakeBotApi, tmp_path: Path) -> None:
    directory = write_tiny_personas(tmp_path / "personas", VICTIM)
    async with serving(api, tmp_path, "watch.log") as process:
        anna = Trainee(api, 821)
        anna.send(f"/start {VICTIM}")
        await anna.texts(5, timeout=STARTUP_SECONDS)
        write_persona(directory, TINY_VICTIM_EN.replace(V1, V2))
        log = tmp_path / "watch.log"
        await _until(lambda: "personas reloaded" in log.read_text(), "the watch to reload")
        boris = Trainee(api, 822)
        assert await _interview(boris) == V2
        anna.send("hello")
        assert await anna.texts(1) == [V1]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), STARTUP_SECONDS) == 0
