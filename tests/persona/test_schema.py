"""The committed JSON Schema is generated from the models and must not go stale."""

from __future__ import annotations

import json
from pathlib import Path

from bot.persona.loader import schema_text, write_schema
from bot.persona.model import json_schema

SCHEMA = Path(__file__).resolve().parents[2] / "personas" / "persona.schema.json"


def test_committed_schema_is_current() -> None:
    committed = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert committed == json_schema(), (
        "personas/persona.schema.json is stale; regenerate it with `make schema`"
    )


def test_write_schema_writes_the_generated_text(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    write_schema(target)
    assert target.read_text(encoding="utf-8") == schema_text()


def test_schema_forbids_unknown_keys_and_uses_the_yaml_spelling() -> None:
    schema = json_schema()
    rule = schema["$defs"]["Rule"]
    assert rule["additionalProperties"] is False
    assert "if" in rule["properties"]
    assert "if_" not in rule["properties"]
