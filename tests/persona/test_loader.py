"""The persona loader: every error path gives one clear ``path:line:col: message`` line, never a traceback."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import PersonaError
from bot.persona.loader import (
    MAX_ALIASES,
    MAX_FILE_BYTES,
    MAX_VALUES,
    load_persona,
    load_persona_text,
    parse_persona_bytes,
    validate_file,
)
from bot.persona.model import as_reply
from bot.persona.validate_cmd import run_validate

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good.yaml"
GOOD_TEXT = GOOD.read_text(encoding="utf-8")


def first_line(path: Path) -> str:
    """Load ``path`` and return the PersonaError line it raises."""
    with pytest.raises(PersonaError) as info:
        load_persona(path)
    return str(info.value)


# File, expected first line (after "path:"). Hostile and malformed files live in tests/persona/data/.
HOSTILE = [
    (
        "syntax_error.yaml",
        "3:5: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 2)",
    ),
    (
        "tab_indent.yaml",
        "3:1: YAML syntax error: found character that cannot start any token "
        "(while scanning for the next token at line 3); tabs cannot indent YAML; use spaces",
    ),
    (
        "two_documents.yaml",
        "2:1: YAML syntax error: expected a single document in the stream at line 1, "
        "but found another document",
    ),
    ("python_tag.yaml", "3:7: tag !!python/object/apply:os.system is not allowed"),
    (
        "alias_bomb.yaml",
        "7:5: aliases expand the document to more than 100000 values; write the content out instead",
    ),
    ("recursive_alias.yaml", "2:7: an alias refers to a node that contains it (recursive alias)"),
    ("deep_nesting.yaml", "2:46: nesting is too deep (more than 40 levels)"),
    ("duplicate_key.yaml", "4:1: duplicate key 'id' (first at line 1)"),
    ("binary.yaml", "3:1: binary file (NUL byte at offset 8); a persona must be UTF-8 text"),
    (
        "non_utf8.yaml",
        "2:10: not UTF-8 text: byte 0xE9 at offset 15 cannot be decoded; save the file as UTF-8",
    ),
    ("empty.yaml", "1:1: the file is empty"),
    ("comments_only.yaml", "1:1: the file is empty (no YAML content, only comments)"),
    (
        "top_level_list.yaml",
        "1:1: the top level must be a mapping of keys such as 'id:' and 'name:', not a list",
    ),
    (
        "top_level_scalar.yaml",
        "1:1: the top level must be a mapping of keys such as 'id:' and 'name:', not a single value",
    ),
]


@pytest.mark.parametrize(("name", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_or_broken_file_gives_one_clear_line(name: str, expected: str) -> None:
    path = DATA / name
    assert first_line(path) == f"{path}:{expected}"
    diagnostics = validate_file(path)
    assert diagnostics[0].format() == f"{path}:{expected.replace(': ', ': error: ', 1)}"


def test_too_big_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    assert first_line(path) == f"{path}:1:1: the file is too large (more than {MAX_FILE_BYTES} bytes)"


def test_missing_file_names_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert first_line(path) == f"{path}:1:1: cannot read the file: No such file or directory"


# Generated inputs too large to keep as files: label "g.yaml", expected diagnostics.
# (The mapping, its key and the list are values too, so item MAX_VALUES - 2 is the one too many.)
GENERATED = [
    (
        "too many values",
        b"a: [" + b"1, " * (MAX_VALUES + 1) + b"]\n",
        f"g.yaml:1:{3 * (MAX_VALUES - 2) + 2}: error: the document has more than {MAX_VALUES} values",
    ),
    (
        "too many aliases",
        b"a: &x [1]\nb: [" + b"*x, " * (MAX_ALIASES + 1) + b"]\n",
        f"g.yaml:2:{4 * MAX_ALIASES + 5}: error: too many aliases "
        f"(more than {MAX_ALIASES} '*name' references)",
    ),
    (
        "duplicate anchor",
        b"a: &x 1\nb: &x 2\n",
        "g.yaml:2:4: error: YAML error: duplicate anchor 'x' (first defined at line 1)",
    ),
]


@pytest.mark.parametrize(("data", "expected"), [g[1:] for g in GENERATED], ids=[g[0] for g in GENERATED])
def test_generated_hostile_input(data: bytes, expected: str) -> None:
    assert parse_persona_bytes(data, "g.yaml").diagnostics[0].format() == expected


def test_utf16_file_is_named_as_such() -> None:
    result = parse_persona_bytes("id: x\n".encode("utf-16"), "u.yaml")
    assert [d.format() for d in result.diagnostics] == [
        "u.yaml:1:1: error: the file is UTF-16 text; save it as UTF-8"
    ]


def test_control_character_is_located() -> None:
    result = parse_persona_bytes(b"id: x\nname: a\x07b\n", "c.yaml")
    assert [d.format() for d in result.diagnostics] == [
        "c.yaml:2:8: error: control character U+0007 is not allowed in a persona file"
    ]


def mutate(old: str, new: str) -> str:
    assert old in GOOD_TEXT, old
    return GOOD_TEXT.replace(old, new, 1)


# Mutation of the good persona, expected first line after "m.yaml:".
MODEL_ERRORS = [
    (
        "unknown key with suggestion",
        'reply: "Hello."',
        'replly: "Hello."',
        "31:9: unknown key 'replly' in rule 'greet' — did you mean 'reply'?",
    ),
    (
        "unknown key without suggestion",
        "reason: trust_lost",
        "colour: blue",
        "58:5: unknown key 'colour' in ending 'walked_out'; allowed keys: id, if, reply, reason",
    ),
    (
        "unknown top-level key",
        "start_topic: smalltalk",
        "start_topic: smalltalk\nstart_topik: work",
        "26:1: unknown key 'start_topik' in the persona — did you mean 'start_topic'?",
    ),
    (
        "missing key",
        "    summary: The employer keeps his passport.\n",
        "",
        "19:5: missing required key 'summary' in fact 'passport_kept'",
    ),
    (
        "missing keys grouped",
        "briefing:\n  role: You are a labour inspector.\n",
        "briefing:\n",
        "8:1: missing required key 'role' in 'briefing'",
    ),
    (
        "wrong type: text for list",
        "indicators: [retention_of_documents]",
        "indicators: retention_of_documents",
        "21:5: 'indicators' of fact 'passport_kept' must be a list, not text 'retention_of_documents'",
    ),
    (
        "wrong type: text for number",
        "      - id: greet\n",
        "      - id: greet\n        priority: high\n",
        "30:9: 'priority' of rule 'greet' must be a whole number, not text 'high'",
    ),
    (
        "wrong type in a union",
        "reply: I am not lying.",
        "reply: 5",
        "47:5: 'reply' of rule 'insult' must be a mapping, text or a list, not a number (5)",
    ),
    (
        "wrong type deep in a union",
        "reply: I am not lying.",
        "reply: [fine, [also fine, 7]]",
        "47:31: 'reply[2][2]' of rule 'insult' must be text, not a number (7)",
    ),
    (
        "unknown enum value",
        "[retention_of_documents]",
        "[retention_of_document]",
        "21:18: 'indicators[1]' of fact 'passport_kept': 'retention_of_document' is not an allowed value — "
        "did you mean 'retention_of_documents'?",
    ),
    (
        "literal",
        "role: victim",
        "role: vitcim",
        "5:1: 'role' must be one of 'victim' or 'witness', not text 'vitcim' — did you mean 'victim'?",
    ),
    (
        "bad id",
        "id: greet",
        "id: Greet Hello",
        "29:9: 'id' of rule 'Greet Hello': 'Greet Hello' is not a valid id; "
        "use lower-case letters, digits, '_', "
        "'-' and '.', starting with a letter or digit",
    ),
    (
        "bad comparison",
        'trust: ">= 4"',
        'trust: "about 4"',
        "37:14: 'if.vars' of rule 'ask_passport': 'about 4' is not a comparison; write e.g. '>= 5', '< 3', "
        "'== 0' or a range '2..6'",
    ),
    (
        "variable bounds",
        "trust: {initial: 3,",
        "trust: {initial: 30,",
        "16:3: variable 'trust': initial value 30 lies outside [0, 10]",
    ),
    (
        "language code",
        "language: en",
        "language: english",
        "6:1: 'language' must be a two-letter language code such as 'en' or 'ru', not text 'english'",
    ),
    (
        "empty reply variants",
        "reply: I am not lying.",
        "reply: {variants: []}",
        "47:13: 'reply.variants' of rule 'insult' must have at least 1 item",
    ),
    (
        "colon in prose",
        "reply: I am not lying.",
        "reply: [Listen: I am not lying.]",
        "47:13: 'reply[1]' of rule 'insult' must be text or a list, not a mapping; "
        "text containing ': ' must be "
        "put in quotes",
    ),
    (
        "comma in a flow mapping",
        "{initial: 6, min: 0, max: 10}",
        "{initial: 6, description: a, b}",
        "17:38: unknown key 'b' in variable 'fear'; allowed keys: initial, min, max, description",
    ),
    (
        "comma splitting prose",
        "{initial: 6, min: 0, max: 10}",
        "{initial: 6, description: police, the boss}",
        "17:43: unknown key 'the boss' in variable 'fear'; "
        "a comma inside { } or [ ] splits the text; put the text "
        "in quotes",
    ),
    (
        "missing colon before a flow mapping",
        "reason: trust_lost",
        "reason {text: trust_lost}",
        "58:5: unknown key 'reason {text' in ending 'walked_out'; is a ':' missing after the key?",
    ),
    (
        "topic name that is not an id",
        "  work:\n",
        "  Work Topic:\n",
        "33:3: 'topics': topic name 'Work Topic' must be lower-case letters, digits, '_', '-' or '.'",
    ),
    (
        "variable name that is not an id",
        "  fear: {initial: 6, min: 0, max: 10}\n",
        "  fear: {initial: 6, min: 0, max: 10}\n  Shame: {initial: 0}\n",
        "18:3: 'variables': variable name 'Shame' must be lower-case letters, digits and '_'",
    ),
    (
        "null where text is needed",
        "reply: I am not lying.",
        "reply:",
        "47:5: 'reply' of rule 'insult' must be a mapping, text or a list, not empty (null)",
    ),
    (
        "refused tag inside a valid file",
        "name: Luka",
        "name: !!binary aGVsbG8=",
        "4:7: tag !!binary is not allowed",
    ),
    ("local tag", "name: Luka", "name: !secret Luka", "4:7: tag !secret is not allowed"),
    ("key that is a list", "name: Luka", "name: Luka\n? [a, b]\n: c", "5:3: a key must be text, not a list"),
    (
        "undefined variable",
        'trust: ">= 4"',
        'trsut: ">= 4"',
        "37:21: rule 'ask_passport': 'trsut' is not a variable; known: trust, fear — did you mean 'trust'?",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [m[1:] for m in MODEL_ERRORS], ids=[m[0] for m in MODEL_ERRORS]
)
def test_model_error_is_plain_english_with_position(old: str, new: str, expected: str) -> None:
    with pytest.raises(PersonaError) as info:
        load_persona_text(mutate(old, new), "m.yaml")
    assert str(info.value) == f"m.yaml:{expected}"


def test_every_error_is_reported_not_only_the_first() -> None:
    text = mutate("role: victim", "role: vitcim").replace("summary: The employer", "sumary: The employer")
    result = parse_persona_bytes(text.encode(), "m.yaml")
    assert [d.format() for d in result.diagnostics] == [
        "m.yaml:5:1: error: 'role' must be one of 'victim' or 'witness', not text 'vitcim' — "
        "did you mean 'victim'?",
        "m.yaml:20:5: error: unknown key 'sumary' in fact 'passport_kept' — did you mean 'summary'?",
    ]


def test_good_persona_loads_with_version_positions_and_source() -> None:
    loaded = load_persona(GOOD)
    assert loaded.persona.id == "orchard_worker_en"
    assert loaded.version == hashlib.sha256(GOOD.read_bytes()).hexdigest()[:16]
    assert loaded.source == GOOD_TEXT
    assert loaded.path == str(GOOD)
    assert loaded.positions[("topics", "work", "rules", 0, "reply")] == (38, 9)
    assert loaded.position(("topics", "work", "rules", 0, "reply", "variants", 0, 1)) == (41, 36)
    assert loaded.position(("no", "such", "key")) == (2, 1)


def test_same_bytes_same_version_and_text_loader_agrees() -> None:
    assert load_persona_text(GOOD_TEXT, "x.yaml").version == load_persona(GOOD).version


@pytest.mark.parametrize(
    ("written", "expected"),
    [("no", "no"), ("yes", "yes"), ("off", "off"), ("2024-01-01", "2024-01-01"), ('"12"', "12")],
)
def test_yaml11_surprises_stay_text(written: str, expected: str) -> None:
    loaded = load_persona_text(mutate("reply: I am not lying.", f"reply: {written}"), "m.yaml")
    assert as_reply(loaded.persona.rules[0].reply).variants == [expected]


def test_merge_keys_fill_in_only_missing_keys() -> None:
    text = mutate(
        "  trust: {initial: 3, min: 0, max: 10}",
        "  trust: &scale {initial: 3, min: 0, max: 10}",
    ).replace("  fear: {initial: 6, min: 0, max: 10}", "  fear: {<<: *scale, initial: 6}")
    loaded = load_persona_text(text, "m.yaml")
    assert loaded.persona.variables["fear"].initial == 6
    assert loaded.persona.variables["fear"].max == 10


def test_warnings_do_not_stop_loading() -> None:
    text = mutate("concepts:\n", "concepts:\n  spare: [spare]\n")
    result = parse_persona_bytes(text.encode(), "m.yaml")
    assert result.loaded is not None
    assert [d.format() for d in result.diagnostics] == [
        "m.yaml:23:3: warning: concept 'spare' is not used by any rule"
    ]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_an_exception(data: bytes) -> None:
    result = parse_persona_bytes(data, "fuzz.yaml")
    assert result.loaded is None
    assert result.diagnostics and all(d.severity == "error" for d in result.diagnostics[:1])


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!#'\"\n |>?,")), max_size=120))
def test_arbitrary_yaml_punctuation_never_escapes(text: str) -> None:
    result = parse_persona_bytes(text.encode(), "fuzz.yaml")
    assert result.loaded is None
    assert result.errors


@pytest.mark.parametrize(("name", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_validate_command_prints_one_line_and_exits_one(name: str, expected: str) -> None:
    path = DATA / name
    out, err = io.StringIO(), io.StringIO()
    assert run_validate([path], out, err) == 1
    assert (out.getvalue(), err.getvalue().splitlines()[0]) == (
        "",
        f"{path}:{expected.replace(': ', ': error: ', 1)}",
    )
