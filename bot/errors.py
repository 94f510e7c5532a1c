"""The one exception tree of Understudy.

Every error the project raises on purpose derives from :class:`UnderstudyError`; the CLI turns it into one line and
an exit code (``exit_code``), never a traceback.

- ``UnderstudyError``: base; exit code 1.
  - ``ConfigError``: a missing or malformed setting (token, path, instructor ids); exit code 2.
  - ``PersonaError``: a persona file that cannot be read, parsed or validated; carries ``path``, ``line``, ``col``.
    - ``PersonaNotFound``: no persona with the requested id.
  - ``PersonaTestError``: a persona conversation-test file that cannot be read.
  - ``EngineError``: the engine was given a state it cannot continue from (corrupt or from another persona).
  - ``StoreError``: the transcript store failed (locked, disk full, migration failure).
    - ``StoreBusy``: a transient failure; the caller may ask the trainee to repeat.
    - ``NotFound``: a session or turn id that does not exist.
  - ``ChannelError``: a channel adapter (Telegram, console) could not deliver.
"""

from __future__ import annotations


class UnderstudyError(Exception):
    """Base of every error Understudy raises on purpose."""

    exit_code = 1


class ConfigError(UnderstudyError):
    """A setting is missing or malformed."""

    exit_code = 2


class PersonaError(UnderstudyError):
    """A persona file is unreadable or invalid; the message names file, line and column."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None, col: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        super().__init__(self.format())

    def format(self) -> str:
        """Return the error as ``path:line:col: message``."""
        where = self.path or "<persona>"
        if self.line is not None:
            where += f":{self.line}:{self.col or 1}"
        return f"{where}: {self.message}"


class PersonaNotFound(PersonaError):
    """No persona has the requested id."""


class PersonaTestError(UnderstudyError):
    """A persona conversation-test file is unreadable or malformed."""


class EngineError(UnderstudyError):
    """The engine cannot continue from the given state."""


class StoreError(UnderstudyError):
    """The transcript store failed."""


class StoreBusy(StoreError):
    """The store is temporarily unavailable (locked, busy, disk full); the turn was not recorded."""


class NotFound(StoreError):
    """A session or other record does not exist."""


class ChannelError(UnderstudyError):
    """A channel adapter could not deliver a message."""
