"""Static checks: each check on a tiny persona that differs from a clean one by one mutation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from bot.persona.lint import Diagnostic, check_drift, check_persona
from bot.persona.loader import LoadedPersona, load_persona_text, parse_persona_bytes
from bot.persona.model import Persona


def base() -> dict[str, Any]:
    """Return a small persona that passes every check."""
    return {
        "id": "lint_victim_en",
        "character": "lint_victim",
        "name": "Ana",
        "role": "victim",
        "language": "en",
        "case": {"id": "lint", "title": "Lint case"},
        "briefing": {"role": "Inspector", "situation": "A visit.", "objectives": ["Listen."]},
        "instructor_notes": {"ground_truth": "Her papers are held.", "learning_objectives": ["Patience."]},
        "variables": {
            "trust": {"initial": 3, "min": 0, "max": 10},
            "fear": {"initial": 5, "min": 0, "max": 10},
        },
        "facts": [
            {"id": "papers", "summary": "Her papers are held.", "indicators": ["retention_of_documents"]}
        ],
        "concepts": {"papers": ["passport", "papers"]},
        "opening": "Yes?",
        "start_topic": "intro",
        "topics": {
            "intro": {
                "rules": [
                    {
                        "id": "greet",
                        "match": {"any": ["hello"]},
                        "reply": "Hello.",
                        "effects": {"change": {"trust": 1}, "goto": "work"},
                    }
                ]
            },
            "work": {
                "rules": [
                    {
                        "id": "ask_papers",
                        "match": {"any": ["@papers"]},
                        "if": {"vars": {"trust": ">= 4"}},
                        "reply": "He keeps them.",
                        "effects": {"disclose": ["papers"]},
                    }
                ]
            },
        },
        "rules": [
            {"id": "rude", "match": {"any": ["liar"]}, "reply": "No.", "effects": {"change": {"trust": -2}}}
        ],
        "fallbacks": [{"level": 1, "reply": "Sorry?"}],
        "endings": [{"id": "gone", "if": {"vars": {"trust": "<= 0"}}, "reply": "Bye."}],
    }


Mutation = Callable[[dict[str, Any]], object]


def work_rules(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the rules of topic 'work'."""
    rules: list[dict[str, Any]] = d["topics"]["work"]["rules"]
    return rules


def add_work_rule(rule: dict[str, Any]) -> Mutation:
    """Return a mutation appending ``rule`` to topic 'work'."""
    return lambda d: work_rules(d).append(rule)


def diagnostics_for(mutation: Mutation) -> list[tuple[str, str, str]]:
    """Apply ``mutation`` to the clean persona and return (severity, code, message) of every finding."""
    data = copy.deepcopy(base())
    mutation(data)
    persona = Persona.model_validate(data)
    return [(d.severity, d.code, d.message) for d in check_persona(persona)]


def test_clean_persona_has_no_findings() -> None:
    assert diagnostics_for(lambda d: None) == []


CASES: list[tuple[str, Mutation, list[tuple[str, str, str]]]] = [
    (
        "undefined variable in a condition",
        lambda d: work_rules(d)[0]["if"]["vars"].update({"trsut": "> 1"}),
        [
            (
                "error",
                "undefined-ref",
                "rule 'ask_papers': 'trsut' is not a variable; known: trust, fear — did you mean 'trust'?",
            )
        ],
    ),
    (
        "undefined variable in an effect",
        lambda d: d["rules"][0]["effects"]["change"].update({"shame": 1}),
        [("error", "undefined-ref", "rule 'rude': 'shame' is not a variable; known: trust, fear")],
    ),
    (
        "undefined concept",
        lambda d: work_rules(d)[0]["match"].update({"any": ["@paper"]}),
        [
            (
                "error",
                "undefined-ref",
                "rule 'ask_papers': 'paper' is not a concept; known: papers — did you mean 'papers'?",
            ),
            ("warning", "unused-concept", "concept 'papers' is not used by any rule"),
        ],
    ),
    (
        "undefined fact in a condition",
        lambda d: work_rules(d)[0]["if"].update({"not_disclosed": ["paper"]}),
        [
            (
                "error",
                "undefined-ref",
                "rule 'ask_papers': 'paper' is not a fact; known: papers — did you mean 'papers'?",
            )
        ],
    ),
    (
        "undefined goto topic",
        lambda d: d["topics"]["intro"]["rules"][0]["effects"].update({"goto": "wrok"}),
        [
            (
                "error",
                "undefined-ref",
                "rule 'greet': 'wrok' is not a topic; known: intro, work — did you mean 'work'?",
            ),
            (
                "warning",
                "unreachable-topic",
                "topic 'work' is unreachable: no goto path leads to it from start_topic 'intro'",
            ),
            (
                "error",
                "undisclosable-fact",
                "fact 'papers' can never be disclosed: rule 'ask_papers' can never "
                "fire (a condition never holds, or the topic is unreachable)",
            ),
        ],
    ),
    (
        "undefined start topic",
        lambda d: d.update({"start_topic": "start"}),
        [
            ("error", "undefined-ref", "start_topic: 'start' is not a topic; known: intro, work"),
            (
                "warning",
                "unreachable-topic",
                "topic 'intro' is unreachable: no goto path leads to it from start_topic 'start'",
            ),
            (
                "warning",
                "unreachable-topic",
                "topic 'work' is unreachable: no goto path leads to it from start_topic 'start'",
            ),
            (
                "error",
                "undisclosable-fact",
                "fact 'papers' can never be disclosed: rule 'ask_papers' can never "
                "fire (a condition never holds, or the topic is unreachable)",
            ),
        ],
    ),
    (
        "undefined fact in an ending",
        lambda d: d["endings"][0]["if"].update({"disclosed": ["everything"]}),
        [("error", "undefined-ref", "ending 'gone': 'everything' is not a fact; known: papers")],
    ),
    (
        "unreachable topic",
        lambda d: d["topics"].update({"island": {"rules": []}}),
        [
            (
                "warning",
                "unreachable-topic",
                "topic 'island' is unreachable: no goto path leads to it from start_topic 'intro'",
            )
        ],
    ),
    (
        "fact nobody discloses",
        lambda d: d["facts"].append(
            {"id": "debt", "summary": "She owes money.", "indicators": ["debt_bondage"]}
        ),
        [
            (
                "error",
                "undisclosable-fact",
                "fact 'debt' can never be disclosed: no rule or fallback discloses it",
            )
        ],
    ),
    (
        "condition above the variable's bound",
        lambda d: work_rules(d)[0]["if"]["vars"].update({"trust": ">= 12"}),
        [
            (
                "error",
                "undisclosable-fact",
                "fact 'papers' can never be disclosed: rule 'ask_papers' can never "
                "fire (a condition never holds, or the topic is unreachable)",
            ),
            (
                "error",
                "never-holds",
                "rule 'ask_papers': condition trust '>= 12' can never hold: trust stays within [0, 10]",
            ),
        ],
    ),
    (
        "condition no effect can reach",
        lambda d: work_rules(d)[0]["if"]["vars"].update({"fear": "2..3"}),
        [
            (
                "error",
                "undisclosable-fact",
                "fact 'papers' can never be disclosed: rule 'ask_papers' can never "
                "fire (a condition never holds, or the topic is unreachable)",
            ),
            (
                "error",
                "never-holds",
                "rule 'ask_papers': condition fear '2..3' can never hold: fear stays within "
                "[5, 5] (bounds [0, 10], but no effect moves it further from 5)",
            ),
        ],
    ),
    (
        "contradictory disclosure condition",
        lambda d: work_rules(d)[0]["if"].update({"disclosed": ["papers"], "not_disclosed": ["papers"]}),
        [
            (
                "error",
                "undisclosable-fact",
                "fact 'papers' can never be disclosed: rule 'ask_papers' can never "
                "fire (a condition never holds, or the topic is unreachable)",
            ),
            (
                "error",
                "never-holds",
                "rule 'ask_papers': condition 'papers' is required both disclosed and not disclosed",
            ),
        ],
    ),
    (
        "topic condition excluding the rule's own topic",
        lambda d: work_rules(d)[0]["if"].update({"topic": ["intro"]}),
        [
            (
                "error",
                "undisclosable-fact",
                "fact 'papers' can never be disclosed: rule 'ask_papers' can never "
                "fire (a condition never holds, or the topic is unreachable)",
            ),
            (
                "error",
                "never-holds",
                "rule 'ask_papers': condition topic ['intro'] never includes the rule's own topic 'work'",
            ),
        ],
    ),
    (
        "negative fired count",
        lambda d: d["rules"][0].update({"if": {"fired": "< 0"}}),
        [("error", "never-holds", "rule 'rude': condition fired '< 0' can never hold: a count is 0 or more")],
    ),
    (
        "shadowed rule",
        add_work_rule(
            {
                "id": "ask_passport",
                "match": {"any": ["passport"]},
                "if": {"vars": {"trust": ">= 6"}},
                "reply": "No.",
            }
        ),
        [
            (
                "warning",
                "shadowed",
                "rule 'ask_passport' is shadowed by rule 'ask_papers' (line 1): that rule "
                "matches whenever this one does and wins, so this one never fires",
            )
        ],
    ),
    (
        "not shadowed: the later rule has a higher priority",
        add_work_rule(
            {
                "id": "ask_passport",
                "priority": 1,
                "match": {"any": ["passport"]},
                "if": {"vars": {"trust": ">= 6"}},
                "reply": "No.",
            }
        ),
        [],
    ),
    (
        "not shadowed: the later rule needs fewer conditions",
        add_work_rule({"id": "ask_passport", "match": {"any": ["passport"]}, "reply": "No."}),
        [],
    ),
    (
        "not shadowed: the earlier rule is once-only",
        lambda d: (
            work_rules(d)[0].update({"reply": {"mode": "once", "variants": ["He keeps them."]}}),
            add_work_rule(
                {
                    "id": "again",
                    "match": {"any": ["@papers"]},
                    "if": {"vars": {"trust": ">= 4"}},
                    "reply": "I told you.",
                }
            )(d),
        ),
        [],
    ),
    (
        "not shadowed: at equal priority the later rule can match more terms",
        add_work_rule(
            {
                "id": "two_words",
                "match": {"any": ["passport", "papers"]},
                "if": {"vars": {"trust": ">= 6"}},
                "reply": "No.",
            }
        ),
        [],
    ),
    (
        "not shadowed: a catch-all loses to any rule with terms at equal priority",
        lambda d: d["rules"].insert(0, {"id": "catch_all", "if": {"vars": {"fear": ">= 0"}}, "reply": "Hm."}),
        [],
    ),
    (
        "shadowed by a catch-all of higher priority",
        lambda d: d["rules"].insert(
            0, {"id": "catch_all", "priority": 1, "if": {"vars": {"fear": ">= 0"}}, "reply": "Hm."}
        ),
        [
            (
                "warning",
                "shadowed",
                "rule 'rude' is shadowed by rule 'catch_all' (line 1): that rule matches "
                "whenever this one does and wins, so this one never fires",
            )
        ],
    ),
    (
        "shadowed: same words at equal priority",
        lambda d: d["rules"].append(
            {
                "id": "rude_again",
                "match": {"any": ["liar"], "all": []},
                "if": {"turn": ">= 2"},
                "reply": "Again?",
            }
        ),
        [
            (
                "warning",
                "shadowed",
                "rule 'rude_again' is shadowed by rule 'rude' (line 1): that rule matches "
                "whenever this one does and wins, so this one never fires",
            )
        ],
    ),
    (
        "duplicate rule id across scopes",
        add_work_rule({"id": "greet", "match": {"any": ["hi"]}, "reply": "Hi."}),
        [("error", "duplicate-id", "duplicate rule id 'greet' (first at line 1)")],
    ),
    (
        "duplicate fact id",
        lambda d: d["facts"].append(dict(d["facts"][0])),
        [("error", "duplicate-id", "duplicate fact id 'papers' (first at line 1)")],
    ),
    (
        "duplicate ending id",
        lambda d: d["endings"].append(dict(d["endings"][0])),
        [("error", "duplicate-id", "duplicate ending id 'gone' (first at line 1)")],
    ),
    (
        "whitespace-only reply",
        lambda d: d["rules"][0].update({"reply": ["No.", ["Well.", "   "]]}),
        [("error", "empty-reply", "rule 'rude': reply variant 2 has an empty message")],
    ),
    (
        "concept with no terms",
        lambda d: d["concepts"].update({"papers": []}),
        [("error", "empty-concept", "concept 'papers' has no terms, so '@papers' matches nothing")],
    ),
    (
        "unused concept",
        lambda d: d["concepts"].update({"spare": ["spare"]}),
        [("warning", "unused-concept", "concept 'spare' is not used by any rule")],
    ),
    (
        "fallbacks without level 1",
        lambda d: d["fallbacks"][0].update({"level": 2}),
        [("error", "no-fallback-1", "the global fallbacks have no level 1, so the first miss gets no reply")],
    ),
    (
        "topic fallbacks without level 1",
        lambda d: d["topics"]["work"].update({"fallbacks": [{"level": 3, "reply": "Hm."}]}),
        [
            (
                "error",
                "no-fallback-1",
                "the fallbacks of topic 'work' have no level 1, so the first miss gets no reply",
            )
        ],
    ),
    (
        "only conditional level-1 fallbacks",
        lambda d: d["fallbacks"][0].update({"if": {"vars": {"fear": ">= 5"}}}),
        [
            (
                "warning",
                "no-default-fallback",
                "every level-1 entry of the global fallbacks has a condition; add one "
                "without 'if' so a miss always gets a reply",
            )
        ],
    ),
    (
        "rule that matches everything",
        lambda d: d["rules"].append({"id": "any", "priority": -5, "reply": "Hm."}),
        [
            (
                "warning",
                "matches-everything",
                "rule 'any' has no match terms, question type or condition, so it matches everything",
            )
        ],
    ),
    (
        "set outside the bounds",
        lambda d: d["rules"][0]["effects"].update({"set": {"fear": 12}}),
        [
            (
                "warning",
                "set-out-of-bounds",
                "rule 'rude': set fear to 12, outside [0, 10]; it will be clamped",
            )
        ],
    ),
    (
        "rule that needs an undisclosable fact",
        lambda d: (
            d["facts"].append({"id": "debt", "summary": "Debt.", "indicators": ["debt_bondage"]}),
            add_work_rule(
                {"id": "more", "match": {"any": ["more"]}, "if": {"disclosed": ["debt"]}, "reply": "No."}
            )(d),
        ),
        [
            (
                "error",
                "undisclosable-fact",
                "fact 'debt' can never be disclosed: no rule or fallback discloses it",
            ),
            (
                "warning",
                "dead-rule",
                "rule 'more' can never fire: it needs fact 'debt', which can never be disclosed",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check_finds_exactly_this(mutation: Mutation, expected: list[tuple[str, str, str]]) -> None:
    assert sorted(diagnostics_for(mutation)) == sorted(expected)


def load(data: dict[str, Any], label: str) -> LoadedPersona:
    """Load persona data through YAML, so positions are real."""
    return load_persona_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), label)


def test_findings_carry_the_line_of_the_reference() -> None:
    data = base()
    work_rules(data)[0]["if"]["vars"]["trsut"] = "> 1"
    text = yaml.safe_dump(data, sort_keys=False)
    lines = text.splitlines()
    expected_line = next(n for n, line in enumerate(lines, 1) if line.strip() == "trsut: '> 1'")
    expected_col = lines[expected_line - 1].index("trsut") + 1
    result = parse_persona_bytes(text.encode(), "p.yaml")
    assert [d.format() for d in result.diagnostics] == [
        f"p.yaml:{expected_line}:{expected_col}: error: rule 'ask_papers': 'trsut' is not a variable; "
        "known: trust, fear — "
        "did you mean 'trust'?"
    ]


def russian(data: dict[str, Any]) -> dict[str, Any]:
    """Return the Russian version of a persona: same ids, other language."""
    ru = copy.deepcopy(data)
    ru.update({"id": "lint_victim_ru", "language": "ru", "name": "Аня"})
    return ru


def drift_for(mutation: Mutation) -> list[str]:
    """Return the drift findings between the clean persona and its mutated Russian twin."""
    en = load(base(), "en.yaml")
    ru_data = russian(base())
    mutation(ru_data)
    ru = load(ru_data, "ru.yaml")
    return [d.message for d in check_drift([ru, en])]


DRIFT_PREFIX = "language drift in character 'lint_victim': "

DRIFT: list[tuple[str, Mutation, list[str]]] = [
    ("in step", lambda d: None, []),
    (
        "missing fact",
        lambda d: (d["facts"].clear(), work_rules(d)[0]["effects"].clear()),
        [
            DRIFT_PREFIX + "fact 'papers' of lint_victim_en (en.yaml) is missing in lint_victim_ru (ru.yaml)",
            DRIFT_PREFIX + 'rule \'ask_papers\' has effects {} here but {"disclose": ["papers"]} in '
            "lint_victim_en (en.yaml)",
        ],
    ),
    (
        "other indicators",
        lambda d: d["facts"][0].update({"indicators": ["isolation"]}),
        [
            DRIFT_PREFIX + "fact 'papers' has indicators [isolation] here but "
            "indicators [retention_of_documents] in lint_victim_en (en.yaml)"
        ],
    ),
    (
        "other effect",
        lambda d: d["rules"][0]["effects"]["change"].update({"trust": -1}),
        [
            DRIFT_PREFIX + 'rule \'rude\' has effects {"change": {"trust": -1.0}} here but '
            '{"change": {"trust": -2.0}} in lint_victim_en (en.yaml)'
        ],
    ),
    (
        "other priority and condition",
        lambda d: work_rules(d)[0].update({"priority": 3, "if": {"vars": {"trust": ">= 5"}}}),
        [
            DRIFT_PREFIX + 'rule \'ask_papers\' has \'if\' {"vars": {"trust": ">= 5"}} here but '
            '{"vars": {"trust": ">= 4"}} in lint_victim_en (en.yaml)',
            DRIFT_PREFIX + "rule 'ask_papers' has priority 3 here but 0 in lint_victim_en (en.yaml)",
        ],
    ),
    (
        "other ending reason",
        lambda d: d["endings"][0].update({"reason": "left"}),
        [
            DRIFT_PREFIX + 'ending \'gone\' has reason "left" here but "persona_ended" in '
            "lint_victim_en (en.yaml)"
        ],
    ),
    (
        "extra fallback",
        lambda d: d["fallbacks"].append({"level": 2, "reply": "Что?"}),
        [
            DRIFT_PREFIX
            + "fallback pool '(global)' has 2 entries here but 1 entry in lint_victim_en (en.yaml)",
        ],
    ),
    (
        "renamed rule",
        lambda d: d["rules"][0].update({"id": "rude_ru"}),
        [
            DRIFT_PREFIX + "rule 'rude' of lint_victim_en (en.yaml) is missing in lint_victim_ru (ru.yaml)",
            DRIFT_PREFIX + "rule 'rude_ru' of lint_victim_ru (ru.yaml) is missing in "
            "lint_victim_en (en.yaml)",
        ],
    ),
    (
        "rule moved to another topic",
        lambda d: (
            d["rules"].append(work_rules(d).pop()) or d["facts"].clear() or d["rules"][-1]["effects"].clear()
        ),
        [
            DRIFT_PREFIX + "fact 'papers' of lint_victim_en (en.yaml) is missing in lint_victim_ru (ru.yaml)",
            DRIFT_PREFIX + "rule 'ask_papers' has topic (global) here but topic "
            "'work' in lint_victim_en (en.yaml)",
            DRIFT_PREFIX + 'rule \'ask_papers\' has effects {} here but {"disclose": ["papers"]} in '
            "lint_victim_en (en.yaml)",
        ],
    ),
    (
        "other variable bounds",
        lambda d: d["variables"]["trust"].update({"max": 8}),
        [
            DRIFT_PREFIX + "variable 'trust' has initial 3 in [0, 8] here but initial 3 "
            "in [0, 10] in lint_victim_en (en.yaml)"
        ],
    ),
    (
        "extra ending",
        lambda d: d["endings"].append({"id": "scared", "if": {"vars": {"fear": ">= 5"}}, "reply": "Нет."}),
        [DRIFT_PREFIX + "ending 'scared' of lint_victim_ru (ru.yaml) is missing in lint_victim_en (en.yaml)"],
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), [c[1:] for c in DRIFT], ids=[c[0] for c in DRIFT])
def test_drift_between_language_versions(mutation: Mutation, expected: list[str]) -> None:
    assert drift_for(mutation) == expected


def test_drift_names_the_file_and_line_where_it_is() -> None:
    ru_data = russian(base())
    ru_data["facts"][0]["indicators"] = ["isolation"]
    en, ru = load(base(), "en.yaml"), load(ru_data, "ru.yaml")
    found: list[Diagnostic] = check_drift([en, ru])
    assert [(d.path, d.line, d.severity, d.code) for d in found] == [
        ("ru.yaml", ru.position(("facts", 0))[0], "error", "drift")
    ]


def test_personas_of_other_characters_are_not_compared() -> None:
    other = base()
    other.update({"id": "someone_else_en", "character": "someone_else", "facts": []})
    work_rules(other)[0]["effects"] = {}
    assert check_drift([load(base(), "a.yaml"), load(other, "b.yaml")]) == []
