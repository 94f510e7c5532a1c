"""Settings from the environment, or from ``.env`` in the working directory.

Real environment variables win over ``.env`` so a deployment can override a developer's file. Every setting
is documented in ``.env.example``. Values are checked here, once, so the rest of the code can trust them; a
bad value raises :class:`~bot.errors.ConfigError` with a one-line message (exit code 2).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.errors import ConfigError

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
DEFAULT_DB = "transcripts/understudy.sqlite3"
DEFAULT_PERSONAS = "personas/"
DEFAULT_DELAY_SCALE = 1.0
DEFAULT_ENV_FILE = ".env"

ENV_TOKEN = "TELEGRAM_BOT_TOKEN"
ENV_API_BASE_URL = "TELEGRAM_API_BASE_URL"
ENV_DB = "UNDERSTUDY_DB"
ENV_PERSONAS = "UNDERSTUDY_PERSONAS"
ENV_INSTRUCTORS = "UNDERSTUDY_INSTRUCTORS"
ENV_DELAY_SCALE = "UNDERSTUDY_DELAY_SCALE"

_URL_RE = re.compile(r"^https?://[^\s/]+(?:/[^\s]*)?$")


@dataclass(frozen=True)
class Settings:
    """Validated settings; build them with :func:`load_settings`."""

    token: str | None = None
    api_base_url: str | None = None
    db_path: Path = Path(DEFAULT_DB)
    personas_dir: Path = Path(DEFAULT_PERSONAS)
    instructors: frozenset[int] = field(default_factory=frozenset)
    delay_scale: float = DEFAULT_DELAY_SCALE

    @property
    def has_token(self) -> bool:
        """Say whether a bot token is configured (it may still be malformed)."""
        return bool(self.token)

    def require_token(self) -> str:
        """Return the bot token, or raise ConfigError when it is missing or malformed."""
        if not self.token:
            raise ConfigError(f"{ENV_TOKEN} is not set; set it in the environment or .env (see .env.example)")
        if not TOKEN_RE.match(self.token):
            # Never echo the value: a malformed token may still be most of a real one.
            raise ConfigError(f"{ENV_TOKEN} is malformed; expected '<digits>:<30+ letters, digits, _ or ->'")
        return self.token

    def is_instructor(self, user_id: int | None) -> bool:
        """Say whether a Telegram user id belongs to an instructor."""
        return user_id is not None and user_id in self.instructors


def _read_env(environ: Mapping[str, str] | None, env_file: str | os.PathLike[str] | None) -> dict[str, str]:
    """Merge ``.env`` under the real environment so real variables win."""
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def _parse_instructors(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(
                f"{ENV_INSTRUCTORS} must be comma-separated Telegram user ids; '{part}' is not a number"
            ) from None
    return frozenset(ids)


def _parse_delay_scale(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_DELAY_SCALE} must be a number >= 0, not '{raw}'") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{ENV_DELAY_SCALE} must be a finite number >= 0, not '{raw}'")
    return value


def _parse_base_url(raw: str) -> str | None:
    raw = raw.strip().rstrip("/")
    if not raw:
        return None
    if not _URL_RE.match(raw):
        raise ConfigError(f"{ENV_API_BASE_URL} must be a URL like http://127.0.0.1:8081, not '{raw}'")
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE
) -> Settings:
    """Read and validate the settings; the token is only checked by :meth:`Settings.require_token`."""
    env = _read_env(environ, env_file)
    token = env.get(ENV_TOKEN, "").strip() or None
    return Settings(
        token=token,
        api_base_url=_parse_base_url(env.get(ENV_API_BASE_URL, "")),
        db_path=Path(env.get(ENV_DB, "").strip() or DEFAULT_DB),
        personas_dir=Path(env.get(ENV_PERSONAS, "").strip() or DEFAULT_PERSONAS),
        instructors=_parse_instructors(env.get(ENV_INSTRUCTORS, "")),
        delay_scale=_parse_delay_scale(env.get(ENV_DELAY_SCALE, "").strip() or str(DEFAULT_DELAY_SCALE)),
    )
