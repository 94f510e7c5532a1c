"""Settings: environment over .env, defaults, and one-line ConfigErrors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_DB, DEFAULT_PERSONAS, Settings, load_settings
from bot.errors import ConfigError

GOOD_TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcd-_12"


def test_defaults_without_environment(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "missing.env")
    assert settings == Settings(
        token=None,
        api_base_url=None,
        db_path=Path(DEFAULT_DB),
        personas_dir=Path(DEFAULT_PERSONAS),
        instructors=frozenset(),
        delay_scale=1.0,
    )
    assert settings.has_token is False


def test_every_setting_is_read() -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": GOOD_TOKEN,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/",
        "UNDERSTUDY_DB": "/tmp/x.sqlite3",
        "UNDERSTUDY_PERSONAS": "/tmp/personas",
        "UNDERSTUDY_INSTRUCTORS": " 12, 34 ,,56",
        "UNDERSTUDY_DELAY_SCALE": "0.5",
    }
    settings = load_settings(env, env_file=None)
    assert settings == Settings(
        token=GOOD_TOKEN,
        api_base_url="http://127.0.0.1:8081",
        db_path=Path("/tmp/x.sqlite3"),
        personas_dir=Path("/tmp/personas"),
        instructors=frozenset({12, 34, 56}),
        delay_scale=0.5,
    )
    assert settings.require_token() == GOOD_TOKEN
    assert settings.is_instructor(34) is True
    assert settings.is_instructor(35) is False
    assert settings.is_instructor(None) is False


def test_real_environment_wins_over_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("UNDERSTUDY_DB=from_file.sqlite3\nUNDERSTUDY_DELAY_SCALE=0\n", encoding="utf-8")
    settings = load_settings({"UNDERSTUDY_DB": "from_env.sqlite3"}, env_file=env_file)
    assert (settings.db_path, settings.delay_scale) == (Path("from_env.sqlite3"), 0.0)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"UNDERSTUDY_INSTRUCTORS": "12,abc"}, "UNDERSTUDY_INSTRUCTORS"),
        ({"UNDERSTUDY_DELAY_SCALE": "-1"}, "UNDERSTUDY_DELAY_SCALE"),
        ({"UNDERSTUDY_DELAY_SCALE": "fast"}, "UNDERSTUDY_DELAY_SCALE"),
        ({"UNDERSTUDY_DELAY_SCALE": "nan"}, "UNDERSTUDY_DELAY_SCALE"),
        ({"TELEGRAM_API_BASE_URL": "ftp://host"}, "TELEGRAM_API_BASE_URL"),
    ],
)
def test_bad_values_raise_one_line_config_errors(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env, env_file=None)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "abc",
        "123456:short",
        "notdigits:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
        "123:ABCDEFGHIJKLMNOPQRSTUVWXYZabc$%",
    ],
)
def test_missing_or_malformed_token_is_rejected_without_echoing_it(token: str | None) -> None:
    settings = load_settings({} if token is None else {"TELEGRAM_BOT_TOKEN": token}, env_file=None)
    with pytest.raises(ConfigError) as caught:
        settings.require_token()
    assert caught.value.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN" in str(caught.value)
    if token:
        assert token not in str(caught.value)


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")
    names = [
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE_URL",
        "UNDERSTUDY_DB",
        "UNDERSTUDY_PERSONAS",
        "UNDERSTUDY_INSTRUCTORS",
        "UNDERSTUDY_DELAY_SCALE",
    ]
    assert [n for n in names if f"\n{n}=" not in example] == []
