"""The engine stays pure: no Telegram, storage, YAML, clock or other I/O modules inside bot/engine."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "bot" / "engine"
FORBIDDEN = {
    "telegram", "aiosqlite", "sqlite3", "yaml", "asyncio", "socket", "subprocess", "os", "io", "pathlib",
    "time", "datetime", "httpx", "aiohttp", "requests", "urllib", "logging", "shutil", "tempfile", "bot.store",
    "bot.channels", "bot.session", "bot.config", "bot.lexicon", "spellchecker",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_engine_module_imports_nothing_impure(path: Path) -> None:
    bad = {n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}
    assert bad == set()


def test_importing_the_engine_loads_no_io_library() -> None:
    code = (
        "import sys, bot.engine.dialogue, bot.engine.analysis;"
        "print(','.join(sorted(m for m in ('telegram','aiosqlite','yaml','sqlite3','httpx') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
