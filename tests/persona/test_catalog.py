"""The catalogue keeps good personas, reports broken ones, and finds personas by id."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from bot.errors import PersonaNotFound
from bot.persona.catalog import load_catalog
from bot.persona.validate_cmd import run_validate

DATA = Path(__file__).parent / "data"
GOOD_TEXT = (DATA / "good.yaml").read_text(encoding="utf-8")


def russian_text() -> str:
    """Return the good persona as its Russian twin (same ids)."""
    return GOOD_TEXT.replace("id: orchard_worker_en", "id: orchard_worker_ru").replace(
        "language: en", "language: ru"
    )


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """Return a personas directory with one good file, one broken file, a schema and a tests/ folder."""
    (tmp_path / "orchard_worker_en.yaml").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("id: broken\nname: [unclosed\n", encoding="utf-8")
    (tmp_path / "persona.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "orchard_worker_en.yaml").write_text(
        "persona: orchard_worker_en\n", encoding="utf-8"
    )
    return tmp_path


def test_good_file_loads_and_broken_file_is_reported(shelf: Path) -> None:
    catalog = load_catalog(shelf)
    assert catalog.ids() == ["orchard_worker_en"]
    assert catalog.broken == [str(shelf / "broken.yaml")]
    assert [d.format() for d in catalog.errors()] == [
        f"{shelf / 'broken.yaml'}:3:1: error: YAML syntax error: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 2)"
    ]


def test_lookup_by_id_keeps_the_version_hash(shelf: Path) -> None:
    entry = load_catalog(shelf).get("orchard_worker_en")
    assert entry.version == hashlib.sha256(GOOD_TEXT.encode()).hexdigest()[:16]
    assert entry.source == GOOD_TEXT
    assert entry.persona.name == "Luka"


def test_unknown_id_raises_with_suggestion(shelf: Path) -> None:
    catalog = load_catalog(shelf)
    with pytest.raises(PersonaNotFound) as info:
        catalog.get("orchard_worker")
    assert info.value.message == (
        "no persona 'orchard_worker' — did you mean 'orchard_worker_en'? (known: orchard_worker_en)"
    )
    assert catalog.find("orchard_worker") is None


def test_default_prefers_english(shelf: Path) -> None:
    (shelf / "a_first_ru.yaml").write_text(russian_text(), encoding="utf-8")
    assert load_catalog(shelf).default_id() == "orchard_worker_en"


def test_default_of_an_empty_catalogue_raises(tmp_path: Path) -> None:
    with pytest.raises(PersonaNotFound):
        load_catalog(tmp_path).default_id()


def test_duplicate_persona_id_keeps_the_first_file(shelf: Path) -> None:
    (shelf / "zz_copy.yaml").write_text(GOOD_TEXT, encoding="utf-8")
    catalog = load_catalog(shelf)
    assert catalog.get("orchard_worker_en").path == str(shelf / "orchard_worker_en.yaml")
    assert [d.code for d in catalog.errors()] == ["read", "duplicate-persona"]


def test_drift_is_reported_across_the_catalogue(shelf: Path) -> None:
    (shelf / "orchard_worker_ru.yaml").write_text(
        russian_text().replace("indicators: [retention_of_documents]", "indicators: [isolation]"),
        encoding="utf-8",
    )
    catalog = load_catalog(shelf)
    assert sorted(catalog.ids()) == ["orchard_worker_en", "orchard_worker_ru"]
    assert [d.code for d in catalog.errors()] == ["read", "drift"]


def test_missing_directory_is_a_diagnostic(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path / "nowhere")
    assert [d.message for d in catalog.errors()] == ["cannot list: No such file or directory"]


def run(paths: list[Path]) -> tuple[int, str, str]:
    """Run the validate command with captured streams."""
    out, err = io.StringIO(), io.StringIO()
    code = run_validate(paths, out, err)
    return code, out.getvalue(), err.getvalue()


def test_validate_clean_file_exits_zero(shelf: Path) -> None:
    assert run([shelf / "orchard_worker_en.yaml"]) == (
        0,
        "1 persona file checked: 0 error(s), 0 warning(s)\n",
        "",
    )


def test_validate_directory_with_a_broken_file_exits_one(shelf: Path) -> None:
    code, out, err = run([shelf])
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{shelf / 'broken.yaml'}:3:1: error: YAML syntax error: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 2)",
        "2 persona files checked: 1 error(s), 0 warning(s)",
    ]


def test_validate_prints_warnings_but_exits_zero(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(GOOD_TEXT.replace("concepts:\n", "concepts:\n  spare: [spare]\n"), encoding="utf-8")
    assert run([path]) == (
        0,
        f"{path}:23:3: warning: concept 'spare' is not used by any rule\n"
        "1 persona file checked: 0 error(s), 1 warning(s)\n",
        "",
    )


def test_validate_reports_a_missing_path(tmp_path: Path) -> None:
    code, _out, err = run([tmp_path / "nope.yaml"])
    assert (code, err.splitlines()[0]) == (
        1,
        f"{tmp_path / 'nope.yaml'}:1:1: error: no such file or directory",
    )


def test_validate_checks_drift_between_the_files_given(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "ru.yaml").write_text(russian_text().replace("id: walked_out", "id: left"), encoding="utf-8")
    code, _out, err = run([tmp_path])
    assert code == 1
    assert err.splitlines()[-1] == "2 persona files checked: 2 error(s), 0 warning(s)"
