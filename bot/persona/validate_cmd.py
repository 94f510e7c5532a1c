"""``understudy validate [PATH...]``: check persona files and directories, print ``path:line:col`` lines.

Directories are expanded to the persona files directly inside them. Every file is checked on its own (YAML,
model, static checks); then language versions sharing a ``character`` among all the files checked in this
run are compared for drift. Exit status: 0 when there is no error (warnings are printed, do not fail), else 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.persona.catalog import persona_files
from bot.persona.lint import Diagnostic, check_drift
from bot.persona.loader import LoadedPersona, parse_persona_file

EXIT_OK = 0
EXIT_ERRORS = 1


def expand_paths(paths: list[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Expand directories into their persona files; report paths that do not exist."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            try:
                files.extend(persona_files(path))
            except OSError as exc:
                problems.append(Diagnostic(str(path), 1, 1, "error", f"cannot list: {exc.strerror}", "read"))
        elif path.exists():
            files.append(path)
        else:
            problems.append(Diagnostic(str(path), 1, 1, "error", "no such file or directory", "read"))
    return list(dict.fromkeys(files)), problems


def validate_paths(paths: list[Path]) -> tuple[list[Diagnostic], int]:
    """Check every persona file under ``paths``; return all diagnostics and the number of files checked."""
    files, diagnostics = expand_paths(paths)
    loaded: list[LoadedPersona] = []
    for path in files:
        result = parse_persona_file(path)
        diagnostics.extend(result.diagnostics)
        if result.loaded is not None and not result.errors:
            loaded.append(result.loaded)
    diagnostics.extend(check_drift(loaded))
    return diagnostics, len(files)


def run_validate(paths: list[Path], out: TextIO, err: TextIO) -> int:
    """Print each diagnostic as ``path:line:col: severity: message``, then a summary; return the exit code."""
    diagnostics, checked = validate_paths(paths)
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = [d for d in diagnostics if d.severity == "warning"]
    for diag in errors:
        print(diag.format(), file=err)
    for diag in warnings:
        print(diag.format(), file=out)
    noun = "file" if checked == 1 else "files"
    summary = f"{checked} persona {noun} checked: {len(errors)} error(s), {len(warnings)} warning(s)"
    print(summary, file=err if errors else out)
    return EXIT_ERRORS if errors else EXIT_OK
