"""Fuzz the persona loader with random and mutated YAML: a clean diagnostic with a position, never a crash.

``parse_persona_bytes`` never raises; it turns an unexpected exception into a diagnostic with the code
``internal`` (and logs it). So "never another exception" means: no ``internal`` diagnostic, every error has a
line and column inside the document, and ``load_persona_text`` raises only :class:`PersonaError`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import PersonaError
from bot.persona.loader import ParseResult, load_persona_text, parse_persona_bytes

PERSONAS_DIR = Path(__file__).resolve().parents[2] / "personas"
SOURCES = {p.stem: p.read_bytes() for p in sorted(PERSONAS_DIR.glob("*.yaml"))}
LABEL = "fuzzed.yaml"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YAML_PIECES = [
    b"- ", b": ", b"{", b"}", b"[", b"]", b"&a ", b"*a", b"<<: *a", b"!!python/object:os.system ", b"!tag ",
    b"? ", b"|", b">-", b"#", b"'", b'"', b"\t", b"\n", b"  ", b"---\n", b"...\n", b"%YAML 1.1\n",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\x85", b"id", b"rules", b"match", b"any", b"reply", b"true",
    b"null", b"1e999", b"-0", b"0x1F", b"~", b"\xd0\xbf", b"\xe2\x80\xae", b"\xc3", b"=",
]  # fmt: skip

pytestmark = pytest.mark.timeout(240)


def check_clean(data: bytes) -> ParseResult:
    """Assert the loader answers with positioned diagnostics only, and load_persona_text with PersonaError."""
    result = parse_persona_bytes(data, LABEL)
    lines = data.count(b"\n") + 2
    for diagnostic in result.diagnostics:
        assert diagnostic.code != "internal", diagnostic.format()
        assert diagnostic.path == LABEL
        assert 1 <= diagnostic.line <= lines, diagnostic.format()
        assert diagnostic.col >= 1, diagnostic.format()
    if result.loaded is None:
        assert result.errors, "an unloaded persona must say why"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return result
    try:
        load_persona_text(text, LABEL)
    except PersonaError as exc:
        assert exc.line is not None and exc.line >= 1 and exc.col is not None and exc.col >= 1
    return result


def _mutate(source: bytes, operations: list[tuple[int, int, int, bytes]]) -> bytes:
    """Apply line-level and byte-level mutations: delete, duplicate, swap, splice random bytes."""
    lines = source.splitlines(keepends=True)
    for kind, a, b, junk in operations:
        if not lines:
            lines = [junk]
            continue
        i, j = a % len(lines), b % len(lines)
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(j, lines[i])
        elif kind == 2:
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3:
            cut = b % (len(lines[i]) + 1)
            lines[i] = lines[i][:cut] + junk + lines[i][cut:]
        elif kind == 4:
            lines[i] = lines[i][: b % (len(lines[i]) + 1)] + b"\n"  # truncate a line
        else:
            indent = b" " * (b % 7)
            lines[i] = indent + lines[i].lstrip(b" ")  # break the indentation
    return b"".join(lines)


operations = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 10_000),
        st.integers(0, 10_000),
        st.one_of(st.binary(max_size=8), st.sampled_from(YAML_PIECES)),
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(st.sampled_from(sorted(SOURCES)), operations)
def test_mutated_real_personas_give_clean_diagnostics(
    persona_id: str, ops: list[tuple[int, int, int, bytes]]
) -> None:
    check_clean(_mutate(SOURCES[persona_id], ops))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_give_clean_diagnostics(data: bytes) -> None:
    check_clean(data)


@FUZZ
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=60).map(b"".join))
def test_yaml_token_soup_gives_clean_diagnostics(data: bytes) -> None:
    check_clean(data)


# Random YAML values: what a confused author could write where a persona mapping is expected.
yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)


def _dump(value: object) -> str:
    """Write a value as flow-style YAML via JSON (JSON is YAML), so any shape is produced, even odd ones."""
    return json.dumps(value, ensure_ascii=False)


@FUZZ
@given(yaml_values)
def test_random_yaml_values_give_clean_diagnostics(value: object) -> None:
    check_clean(_dump(value).encode("utf-8"))


@FUZZ
@given(st.sampled_from(sorted(SOURCES)), st.text(max_size=12), yaml_values)
def test_a_real_persona_with_a_random_key_added_gives_clean_diagnostics(
    persona_id: str, key: str, value: object
) -> None:
    addition = f"{_dump(key)}: {_dump(value)}\n".encode()
    check_clean(SOURCES[persona_id] + addition)


@pytest.mark.parametrize(
    ("name", "document"),
    [
        ("deep lists", b"id: " + b"[" * 5000 + b"]" * 5000),
        ("deep mappings", b"id: " + b"{a: " * 3000 + b"1" + b"}" * 3000),
        ("deep block nesting", b"".join(b" " * i + b"k:\n" for i in range(200)) + b" " * 200 + b"v\n"),
        (
            "alias bomb",
            b"a: &a [x, x, x, x, x, x, x, x, x]\n"
            + b"".join(
                b"%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n"
                % ((bytes([98 + i]),) * 2 + (bytes([97 + i]),) * 8)
                for i in range(20)
            ),
        ),
        ("merge of a scalar", b"base: &b 1\nid: {<<: *b}\n"),
        ("undefined alias", b"id: *nowhere\n"),
        ("recursive alias", b"a: &a [*a]\n"),
        ("python tag", b"id: !!python/object/apply:os.system ['true']\n"),
        ("huge int", b"id: x\nvariables: {trust: {initial: " + b"9" * 5000 + b"}}\n"),
        ("float overflow", b"id: x\nvariables: {trust: {initial: 1e999, min: -1e999, max: .inf}}\n"),
        ("nan bound", b"id: x\nvariables: {trust: {initial: .nan}}\n"),
        ("only a BOM", b"\xef\xbb\xbf"),
        ("empty", b""),
        ("two documents", b"id: a\n---\nid: b\n"),
        ("tab indent", b"id: a\nfacts:\n\t- id: b\n"),
        ("latin-1 bytes", "id: caf\xe9\n".encode("latin-1")),
        ("nul byte", b"id: a\x00b\n"),
        ("duplicate keys", b"id: a\nid: b\n"),
        ("complex key", b"? [a, b]\n: c\n"),
        ("oversized", b"id: " + b"x" * (1024 * 1024 + 10)),
    ],
)
def test_hostile_documents_give_clean_diagnostics(name: str, document: bytes) -> None:
    result = check_clean(document)
    assert result.loaded is None
