"""Persona conversation tests and paraphrase suites: expectations, hit rates, floors and file errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.errors import PersonaTestError
from bot.persona.testing import report, run_file
from tests.factories import compiled


def resolve(pid: str):  # type: ignore[no-untyped-def]
    assert pid == "tiny_victim_en"
    return compiled()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_conversation_expectations_all_hold(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """persona: tiny_victim_en
conversations:
  - name: path
    turns:
      - say: what is your name
        expect: {rule: name, topic: work, disclosed: [name], vars: {trust: "== 3"}, reply_contains: sam}
      - say: blah
        expect: {rule: fallback, ended: false, question_type: other}
    final: {disclosed: [name], ended: false, vars: {trust: "2..4"}}
""",
    )
    result = run_file(path, resolve)
    assert result.failures == []
    assert (result.conversations, result.turns) == (1, 2)


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("{rule: greet}", "expected rule greet, got name"),
        ("{topic: intro}", "expected topic intro, got work"),
        ("{disclosed: [debt]}", "expected disclosure of debt, got [name]"),
        ("{vars: {trust: '>= 5'}}", "trust is 3, expected >= 5"),
        ("{reply_contains: nope}", "reply does not contain 'nope'"),
        ("{ended: true}", "expected ended=true, got false"),
        ("{contaminated: [name]}", "expected name contaminated, got []"),
    ],
)
def test_each_failed_expectation_names_its_line(tmp_path: Path, expect: str, message: str) -> None:
    path = write(
        tmp_path,
        f"persona: tiny_victim_en\nconversations:\n  - name: c\n    turns:\n      - say: what is your name\n"
        f"        expect: {expect}\n",
    )
    [failure] = run_file(path, resolve).failures
    assert str(failure) == f"{path}:5: [c] turn 1 'what is your name': {message}"


def test_final_disclosed_all(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "persona: tiny_victim_en\nconversations:\n  - name: c\n    turns:\n      - say: what is your name\n"
        "    final: {disclosed: all}\n",
    )
    [failure] = run_file(path, resolve).failures
    assert failure.line == 6
    assert failure.message == "[c] at the end: not disclosed: passport_held, debt"


def test_paraphrases_hit_rate_misses_and_floor(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """persona: tiny_victim_en
floor: 0.7
paraphrases:
  - expect: {rule: passport_high}
    given: {topic: work, vars: {trust: 6}}
    say:
      - where is your passport
      - who has ur pasport
      - do u have documents
      - tell me about the weather
  - expect: {fact: debt}
    given: {topic: work}
    say: [do you owe money]
""",
    )
    result = run_file(path, resolve)
    assert (result.hits, result.paraphrases) == (4, 5)
    misses = [(m.line, m.said, m.got) for m in result.misses]
    assert misses == [(10, "tell me about the weather", "fallback [invitation]")]
    assert result.ok  # 80% >= floor 70%
    out = io.StringIO()
    assert report([result], out) is True
    assert "understood 4/5 (80.0%) ok" in out.getvalue()
    assert f"{path}:10: miss: 'tell me about the weather'" in out.getvalue()


def test_below_floor_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "persona: tiny_victim_en\nparaphrases:\n  - expect: {rule: greet}\n    say: [blah]\n")
    result = run_file(path, resolve)
    assert not result.ok
    out = io.StringIO()
    assert report([result], out) is False
    assert "BELOW FLOOR 95%" in out.getvalue()


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("{expect: {rule: nope}, say: [x]}", "expected rule 'nope' does not exist"),
        ("{expect: {fact: nope}, say: [x]}", "expected fact 'nope' does not exist"),
        ("{expect: {}, say: [x]}", "expect needs a rule or a fact"),
        ("{expect: {rule: greet}, given: {topic: nowhere}, say: [x]}", "given topic 'nowhere' does not exist"),
        ("{expect: {rule: greet}, given: {vars: {mood: 1}}, say: [x]}", "given variable 'mood' does not exist"),
    ],
)
def test_bad_paraphrase_groups_are_failures(tmp_path: Path, group: str, message: str) -> None:
    path = write(tmp_path, f"persona: tiny_victim_en\nparaphrases:\n  - {group}\n")
    [failure] = run_file(path, resolve).failures
    assert (failure.line, failure.message) == (3, message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("persona: [unclosed\n", ":2: YAML error"),
        ("- a list\n", ":1: a test file must be a mapping"),
        ("persona: x\nconversations:\n  - name: c\n    turnz: []\n", ":3: conversations.0.turns: Field required"),
        ("persona: x\nbogus: 1\n", ":2: bogus: Extra inputs are not permitted"),
        ("persona: !!python/object:os.system x\n", ":1: YAML error in test file: tag"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{k}: &{k} [{', '.join(['*' + p] * 10)}]\n" for p, k in zip("abcdefgh", "bcdefghi", strict=True))
            + "persona: x\n",
            "aliases expand the document",
        ),
    ],
)
def test_malformed_test_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PersonaTestError) as caught:
        run_file(path, resolve)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_unknown_persona_is_a_failure(tmp_path: Path) -> None:
    from bot.errors import PersonaNotFound

    def missing(pid: str):  # type: ignore[no-untyped-def]
        raise PersonaNotFound(f"no persona '{pid}'")

    path = write(tmp_path, "persona: ghost\nconversations: []\n")
    [failure] = run_file(path, missing).failures
    assert failure.line == 1
    assert "ghost" in failure.message
