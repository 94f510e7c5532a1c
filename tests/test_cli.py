"""The command line with injected streams: exit codes, one-line errors, every subcommand's happy path."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from tests.factories import tiny_persona_data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run every CLI test in an empty directory with no token and the shipped personas."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("UNDERSTUDY_PERSONAS", str(REPO / "personas"))
    monkeypatch.setenv("UNDERSTUDY_DB", str(tmp_path / "db.sqlite3"))


def cli(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), io.StringIO(stdin), out)
    return code, out.getvalue()


def write_tiny(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tiny_victim_en.yaml"
    path.write_text(yaml.safe_dump(tiny_persona_data(), allow_unicode=True), encoding="utf-8")
    return path


def test_personas_lists_the_library() -> None:
    code, out = cli("personas", "--json")
    rows = json.loads(out)
    assert code == 0
    assert len(rows) >= 6
    assert {r["language"] for r in rows} >= {"en", "ru"}
    assert len({r["case"] for r in rows}) >= 3
    assert {"id", "name", "role", "language", "case", "facts", "rules"} <= set(rows[0])


def test_play_with_piped_stdin_and_json() -> None:
    code, out = cli("play", "construction_victim_en", "--json", "--seed", "1", stdin="hello\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert rows[1]["input"] == "hello"
    assert rows[1]["replies"]


def test_play_a_yaml_path(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "p")
    code, out = cli("play", str(path), stdin="what is your name\n")
    assert code == 0
    assert "I am Sam." in out


def test_unknown_persona_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = cli("play", "nobody_here")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert "nobody_here" in err[0]


def test_validate_reports_errors_with_positions(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    code, out = cli("validate", str(bad))
    assert code == 1
    assert out.startswith(f"{bad}:3:1: error:")
    assert "Traceback" not in out


def test_validate_clean_persona(tmp_path: Path) -> None:
    code, out = cli("validate", str(write_tiny(tmp_path / "p")))
    assert code == 0
    assert "0 error" in out


def test_python_tag_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "evil.yaml"
    bad.write_text("id: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    code, out = cli("validate", str(bad))
    assert code == 1
    assert "not allowed" in out


def test_test_command_passes_and_fails(tmp_path: Path) -> None:
    write_tiny(tmp_path / "personas")
    tests = tmp_path / "personas" / "tests"
    tests.mkdir()
    good = tests / "ok.yaml"
    good.write_text(
        "persona: tiny_victim_en\nconversations:\n  - name: hi\n    turns:\n      - say: hello\n"
        "        expect: {rule: greet}\n",
        encoding="utf-8",
    )
    code, out = cli("test", str(good))
    assert code == 0
    assert "1 conversations, 1 turns: ok" in out
    bad = tests / "bad.yaml"
    bad.write_text(
        "persona: tiny_victim_en\nconversations:\n  - name: hi\n    turns:\n      - say: hello\n"
        "        expect: {rule: name}\n",
        encoding="utf-8",
    )
    code, out = cli("test", str(bad))
    assert code == 1
    assert f"{bad}:5: [hi] turn 1 'hello': expected rule name, got greet" in out


def test_test_command_missing_path() -> None:
    code, out = cli("test", "no/such/file.yaml")
    assert code == 1
    assert "no such file" in out


def test_graph_mermaid_and_dot(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "p")
    code, out = cli("graph", str(path), "--format", "mermaid")
    assert code == 0
    assert out.startswith("flowchart") or out.startswith("graph")
    code, out = cli("graph", str(path), "--format", "dot")
    assert code == 0
    assert "digraph" in out


def test_analyze_reads_lines_and_writes_json() -> None:
    code, out = cli("analyze", "--lang", "en", stdin="Tell me what happened.\nHe hit you, didn't he?\n\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["question_type"] for r in rows] == ["invitation", "suggestive"]
    assert all(r["cue"] for r in rows)


def test_run_without_token_says_so_and_opens_the_terminal() -> None:
    code, out = cli("run", stdin="hello\n")
    assert code == 0
    assert "No TELEGRAM_BOT_TOKEN is set" in out
    assert "construction_victim_en" in out
    assert "Debrief" in out


def test_serve_without_token_is_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = cli("serve")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == ["understudy: TELEGRAM_BOT_TOKEN is not set; set it in the environment or .env (see .env.example)"]


def test_transcripts_list_without_database() -> None:
    code, out = cli("transcripts", "list")
    assert code == 0
    assert "No transcript database" in out


def test_bad_arguments_exit_2() -> None:
    code, _ = cli("graph")
    assert code == 2


def test_python_dash_m_bot_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0
    assert "understudy" in done.stdout


def test_personas_in_an_empty_directory_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UNDERSTUDY_PERSONAS", str(tmp_path / "none"))
    code, out = cli("personas")
    assert code == 1
    assert "No valid personas in" in out


def test_run_falls_back_to_another_persona(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_tiny(tmp_path / "p")
    monkeypatch.setenv("UNDERSTUDY_PERSONAS", str(tmp_path / "p"))
    code, out = cli("run", stdin="what is your name\n")
    assert code == 0
    assert "default persona 'tiny_victim_en'" in out
    assert "I am Sam." in out


def test_run_without_any_persona_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("UNDERSTUDY_PERSONAS", str(tmp_path / "none"))
    code, _ = cli("run")
    assert code == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
