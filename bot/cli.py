"""The ``understudy`` command line: one subcommand per job, errors as one line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.errors import PersonaError, UnderstudyError

if TYPE_CHECKING:
    from bot.engine.matcher import CompiledPersona

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEFAULT_PERSONA_ID = "construction_victim_en"


def personas_dir() -> Path:
    """Return the personas directory from the settings."""
    from bot.config import load_settings

    return load_settings().personas_dir


def resolve_persona(ref: str, directory: Path | None = None) -> CompiledPersona:
    """Compile a persona given a YAML path or an id in the personas directory; raise PersonaError."""
    from bot.engine.matcher import CompiledPersona
    from bot.lexicon import default_lexicon
    from bot.persona.catalog import load_catalog
    from bot.persona.loader import load_persona

    path = Path(ref)
    if ref.endswith((".yaml", ".yml")) or path.is_file():
        loaded = load_persona(path)
        return CompiledPersona(loaded.persona, loaded.version, default_lexicon())
    directory = directory or personas_dir()
    # Personas are stored as <id>.yaml: load just that file, and only scan the directory when it is not there.
    direct = directory / f"{ref}.yaml"
    if direct.is_file():
        loaded = load_persona(direct)
        if loaded.persona.id == ref:
            return CompiledPersona(loaded.persona, loaded.version, default_lexicon())
    entry = load_catalog(directory).get(ref)  # raises PersonaNotFound naming the known ids
    return CompiledPersona(entry.persona, entry.version, default_lexicon())


def cmd_play(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """Interview a persona in the terminal."""
    from bot.channels.console import play

    cp = resolve_persona(args.persona)
    return play(cp, inp, out, as_json=args.json, seed=args.seed, interactive=inp.isatty())


def cmd_validate(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """Validate persona files and directories."""
    from bot.persona.validate_cmd import run_validate

    paths = [Path(p) for p in args.paths] or [personas_dir()]
    return run_validate(paths, out, out)


def cmd_test(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """Run persona conversation tests and paraphrase suites."""
    from bot.persona.testing import report, run_file

    paths = [Path(p) for p in args.paths] or [personas_dir() / "tests"]
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(q for q in p.rglob("*.yaml"))
        elif p.exists():
            files.append(p)
        else:
            print(f"{p}: no such file or directory", file=out)
            return EXIT_FAILURE
    if not files:
        print("no test files found", file=out)
        return EXIT_FAILURE
    cache: dict[tuple[Path, str], CompiledPersona] = {}

    def resolver_for(test_file: Path) -> Callable[[str], CompiledPersona]:
        # Tests in personas/tests/ refer to personas in personas/; elsewhere fall back to the settings.
        directory = test_file.parent.parent if test_file.parent.name == "tests" else personas_dir()

        def resolve(pid: str) -> CompiledPersona:
            key = (directory, pid)
            if key not in cache:
                cache[key] = resolve_persona(pid, directory)
            return cache[key]

        return resolve

    results = [run_file(f, resolver_for(f)) for f in files]
    ok = report(results, out, verbose_misses=not args.quiet)
    return EXIT_OK if ok else EXIT_FAILURE


def cmd_graph(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """Draw a persona's topics, rules and disclosures."""
    from bot.persona.graph import to_dot, to_mermaid

    cp = resolve_persona(args.persona)
    out.write((to_mermaid if args.format == "mermaid" else to_dot)(cp.persona))
    out.write("\n")
    return EXIT_OK


def cmd_personas(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """List the personas in the personas directory."""
    from bot.persona.catalog import load_catalog

    catalog = load_catalog(personas_dir())
    rows = []
    for entry in catalog.entries():
        p = entry.persona
        rows.append(
            {
                "id": p.id,
                "name": p.name,
                "role": p.role,
                "language": p.language,
                "case": p.case.id,
                "case_title": p.case.title,
                "facts": len(p.facts),
                "rules": len(p.all_rules()),
                "version": entry.version,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2), file=out)
    else:
        for r in rows:
            print(
                f"{r['id']:<32} {r['name']:<16} {r['role']:<8} {r['language']:<3} {r['case']:<18} "
                f"{r['facts']:>3} facts {r['rules']:>4} rules",
                file=out,
            )
        for diag in catalog.errors():
            print(f"not loaded: {diag}", file=out)
    if not rows:
        print(f"No valid personas in {personas_dir()}; see docs/persona-format.md to write one.", file=out)
        return EXIT_FAILURE
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """Classify interviewer utterances read one per line from stdin."""
    from bot.engine.analysis import analyze_lines

    for record in analyze_lines(inp, args.lang):
        print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """Serve Telegram by long polling."""
    from bot.channels.telegram import serve
    from bot.config import load_settings

    settings = load_settings()
    settings.require_token()
    return serve(settings)


def cmd_run(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """Serve Telegram when a token is configured, otherwise open a terminal interview (what ``make run`` does)."""
    from bot.config import load_settings
    from bot.persona.catalog import load_catalog

    settings = load_settings()
    if settings.has_token:
        return cmd_serve(args, inp, out)
    persona_id = DEFAULT_PERSONA_ID
    if not (settings.personas_dir / f"{persona_id}.yaml").is_file():
        # A personas folder without the starter persona still has a sensible first choice.
        persona_id = load_catalog(settings.personas_dir).default_id()
    print(
        "No TELEGRAM_BOT_TOKEN is set (see .env.example), so Understudy is not serving Telegram.\n"
        f"Opening a terminal interview with the default persona '{persona_id}' instead. "
        "Type to talk; Ctrl-D ends.\n",
        file=out,
    )
    args.persona = persona_id
    args.json = False
    args.seed = 0
    return cmd_play(args, inp, out)


def cmd_transcripts(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    """List, show, export, annotate or purge stored transcripts."""
    from bot.review import transcripts as t

    return asyncio.run(t.run_cli(args, out))


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="understudy",
        description="Understudy: scripted trafficking-victim personas for interview training.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("serve", help="serve Telegram by long polling")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("run", help="serve Telegram, or a terminal interview without a token (make run)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("play", help="interview a persona in the terminal")
    p.add_argument("persona", help="persona id or YAML file")
    p.add_argument("--json", action="store_true", help="print one JSON object per turn")
    p.add_argument("--seed", type=int, default=0, help="random seed for reply variants")
    p.set_defaults(func=cmd_play)

    p = sub.add_parser("validate", help="check persona files")
    p.add_argument("paths", nargs="*", help="files or directories (default: the personas directory)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("test", help="run persona conversation tests and paraphrase suites")
    p.add_argument("paths", nargs="*", help="test files or directories (default: personas/tests)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not list paraphrase misses")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("graph", help="draw a persona's topics and rules")
    p.add_argument("persona")
    p.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("personas", help="list personas")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_personas)

    p = sub.add_parser("analyze", help="classify interviewer questions, one per line on stdin")
    p.add_argument("--lang", choices=("en", "ru", "auto"), default="auto")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("transcripts", help="review stored transcripts")
    tsub = p.add_subparsers(dest="action", metavar="ACTION")
    tsub.required = True
    q = tsub.add_parser("list", help="list sessions")
    q.add_argument("--json", action="store_true")
    q.add_argument("--limit", type=int, default=50)
    q = tsub.add_parser("show", help="show one session's transcript")
    q.add_argument("id", type=int)
    q = tsub.add_parser("export", help="export sessions to files")
    q.add_argument("--format", choices=("html", "md", "json", "csv"), default="html")
    q.add_argument("--out", default="transcripts/exports")
    q.add_argument("--pseudonymize", action="store_true", help="replace names and Telegram ids by pseudonyms")
    q = tsub.add_parser("note", help="attach an instructor note to a session")
    q.add_argument("id", type=int)
    q.add_argument("text")
    q = tsub.add_parser("purge", help="delete old sessions")
    q.add_argument("--older-than", required=True, help="age such as 90d, 12w or 48h")
    p.set_defaults(func=cmd_transcripts)
    return parser


def main(argv: Sequence[str] | None = None, inp: TextIO | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code."""
    inp = inp or sys.stdin
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        code: int = args.func(args, inp, out)
        return code
    except PersonaError as exc:
        print(exc.format(), file=sys.stderr)
        return exc.exit_code
    except UnderstudyError as exc:
        print(f"understudy: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # A closed pipe (e.g. `| head`) is not an error worth a traceback.
        sys.stderr.close()
        return EXIT_OK


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
