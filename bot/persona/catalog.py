"""The persona catalogue: every valid persona in a directory, by id, with the diagnostics of the broken ones.

A broken file never stops the others: it is left out and its errors are kept in :attr:`Catalog.diagnostics`.
Only ``*.yaml``/``*.yml`` files directly in the directory are read (not ``tests/``, not the JSON Schema).
Language versions that share a ``character`` are checked for drift; drift is reported, nothing is unloaded.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import PersonaNotFound
from bot.persona.lint import Diagnostic, check_drift
from bot.persona.loader import LoadedPersona, parse_persona_file

log = logging.getLogger(__name__)

PERSONA_SUFFIXES = (".yaml", ".yml")
DEFAULT_LANGUAGE = "en"


def persona_files(directory: Path) -> list[Path]:
    """Return the persona files directly in ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in PERSONA_SUFFIXES)


@dataclass
class Catalog:
    """Loaded personas by id (file order by name), and every diagnostic met while loading them."""

    directory: Path
    personas: dict[str, LoadedPersona] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    def ids(self) -> list[str]:
        """Return the ids of the loaded personas."""
        return list(self.personas)

    def entries(self) -> list[LoadedPersona]:
        """Return every loaded persona, in file-name order."""
        return list(self.personas.values())

    def __iter__(self) -> Iterator[LoadedPersona]:
        return iter(self.personas.values())

    def __len__(self) -> int:
        return len(self.personas)

    def __contains__(self, persona_id: object) -> bool:
        return persona_id in self.personas

    def find(self, persona_id: str) -> LoadedPersona | None:
        """Return the persona with this id, or None."""
        return self.personas.get(persona_id)

    def get(self, persona_id: str) -> LoadedPersona:
        """Return the persona with this id; raise PersonaNotFound naming the known ids."""
        found = self.personas.get(persona_id)
        if found is not None:
            return found
        known = sorted(self.personas)
        close = difflib.get_close_matches(persona_id, known, n=1)
        hint = f" — did you mean '{close[0]}'?" if close else ""
        raise PersonaNotFound(
            f"no persona '{persona_id}'{hint} (known: {', '.join(known) or 'none'})", str(self.directory)
        )

    def errors(self) -> list[Diagnostic]:
        """Return the error diagnostics (broken files, drift)."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def warnings(self) -> list[Diagnostic]:
        """Return the warning diagnostics."""
        return [d for d in self.diagnostics if d.severity == "warning"]

    def default_id(self) -> str:
        """Return the persona to open when none is named: the first English one by id, else the first."""
        if not self.personas:
            raise PersonaNotFound(f"no valid persona in {self.directory}", str(self.directory))
        ordered = sorted(
            self.personas.values(), key=lambda lp: (lp.persona.language != DEFAULT_LANGUAGE, lp.persona.id)
        )
        return ordered[0].persona.id


def load_catalog(directory: Path) -> Catalog:
    """Load every persona file in ``directory``; keep the valid ones and the diagnostics of all."""
    catalog = Catalog(directory)
    try:
        files = persona_files(directory)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        catalog.diagnostics.append(
            Diagnostic(str(directory), 1, 1, "error", f"cannot list: {reason}", "read")
        )
        return catalog
    for path in files:
        result = parse_persona_file(path)
        catalog.diagnostics.extend(result.diagnostics)
        loaded = result.loaded
        if loaded is None or result.errors:
            log.warning(
                "persona file %s not loaded: %s", path, result.errors[0].format() if result.errors else ""
            )
            catalog.broken.append(str(path))
            continue
        pid = loaded.persona.id
        if pid in catalog.personas:
            first = catalog.personas[pid].path
            catalog.diagnostics.append(
                Diagnostic(
                    str(path),
                    *loaded.position(("id",)),
                    "error",
                    f"persona id '{pid}' is already used by {first}; this file is not loaded",
                    "duplicate-persona",
                )
            )
            catalog.broken.append(str(path))
            continue
        catalog.personas[pid] = loaded
    catalog.diagnostics.extend(check_drift(catalog.entries()))
    return catalog
