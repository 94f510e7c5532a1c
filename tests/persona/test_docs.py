"""The examples in docs/persona-format.md work: the persona is clean and its conversation test passes."""

from __future__ import annotations

import re
from pathlib import Path

from bot.engine.matcher import CompiledPersona
from bot.persona.loader import LoadedPersona, parse_persona_bytes
from bot.persona.testing import run_file

DOC = Path(__file__).resolve().parents[2] / "docs" / "persona-format.md"
EXAMPLE_RE = re.compile(
    r"<!-- example-persona: begin -->\n```yaml\n(.*?)```\n<!-- example-persona: end -->", re.S
)
TEST_RE = re.compile(r"## Conversation tests\n.*?```yaml\n(.*?)```", re.S)


def example() -> LoadedPersona:
    """Load the documented example persona."""
    match = EXAMPLE_RE.search(DOC.read_text(encoding="utf-8"))
    assert match is not None
    result = parse_persona_bytes(match.group(1).encode("utf-8"), "docs/persona-format.md#example")
    assert [d.format() for d in result.diagnostics] == []
    assert result.loaded is not None
    return result.loaded


def test_documented_example_is_clean() -> None:
    assert example().persona.id == "example_packer_en"


def test_documented_conversation_test_passes(tmp_path: Path) -> None:
    match = TEST_RE.search(DOC.read_text(encoding="utf-8"))
    assert match is not None
    path = tmp_path / "example_packer_en.yaml"
    path.write_text(match.group(1), encoding="utf-8")
    loaded = example()
    compiled = CompiledPersona(loaded.persona, loaded.version)
    result = run_file(path, lambda pid: compiled)
    assert (result.failures, result.hit_rate) == ([], 1.0)
