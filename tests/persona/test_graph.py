"""Graphs: the drawing of a small persona in Mermaid and DOT, and label escaping for each format."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.persona.graph import dot_escape, mermaid_escape, to_dot, to_mermaid
from bot.persona.loader import load_persona, load_persona_text

GOOD = Path(__file__).parent / "data" / "good.yaml"

MERMAID = """\
flowchart LR
    n_start(("start"))
    t0["smalltalk"]
    t1["work"]
    f0[/"fact: passport_kept"/]
    e0{{"ending: walked_out (trust_lost)"}}
    n_end((("end")))
    subgraph global_cluster["global rules"]
        n_global(["any topic: 1 global rule"])
    end
    n_start --> t0
    t0 -->|"greet"| t1
    t1 -.->|"ask_passport [trust #62;= 4]"| f0
    e0 -->|"trust #60;= 0"| n_end
"""

DOT = """\
digraph "orchard_worker_en" {
    rankdir=LR;
    node [fontname="Helvetica"];
    n_start [label="start", shape=circle];
    t0 [label="smalltalk", shape=box];
    t1 [label="work", shape=box];
    f0 [label="fact: passport_kept", shape=note];
    e0 [label="ending: walked_out (trust_lost)", shape=doubleoctagon];
    n_end [label="end", shape=doublecircle];
    subgraph cluster_global {
        label="global rules";
        style=dashed;
        n_global [label="any topic: 1 global rule", shape=box, style=rounded];
    }
    n_start -> t0;
    t0 -> t1 [label="greet"];
    t1 -> f0 [label="ask_passport [trust >= 4]", style=dotted];
    e0 -> n_end [label="trust <= 0"];
}
"""


def test_mermaid_of_a_small_persona() -> None:
    assert to_mermaid(load_persona(GOOD).persona) == MERMAID


def test_dot_of_a_small_persona() -> None:
    assert to_dot(load_persona(GOOD).persona) == DOT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('say "hi"', "say #34;hi#34;"),
        ("a | b", "a #124; b"),
        ("#1 < 2 > 0", "#35;1 #60; 2 #62; 0"),
        ("`code`", "#96;code#96;"),
        ("two\nlines", "two lines"),
        ("паспорт", "паспорт"),
    ],
)
def test_mermaid_escape(text: str, expected: str) -> None:
    assert mermaid_escape(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('say "hi"', 'say \\"hi\\"'),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two\\nlines"),
        ("{a} <b> |c|", "{a} <b> |c|"),
    ],
)
def test_dot_escape(text: str, expected: str) -> None:
    assert dot_escape(text) == expected


def test_rules_that_end_and_global_gotos_are_drawn() -> None:
    text = GOOD.read_text(encoding="utf-8").replace(
        "    effects: {change: {trust: -3}}", "    effects: {change: {trust: -3}, goto: smalltalk, end: true}"
    )
    mermaid = to_mermaid(load_persona_text(text, "g.yaml").persona)
    assert '    n_global -->|"insult"| t0' in mermaid.splitlines()
    assert '    n_global -->|"insult"| n_end' in mermaid.splitlines()
