"""Engine semantics: priorities, conditions, reply modes, fallbacks, clamping, endings, determinism."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.engine.dialogue import Turn, start, step
from bot.engine.matcher import CompiledPersona
from bot.errors import EngineError
from tests.factories import compiled, tiny_persona, tiny_persona_data


def talk(cp: CompiledPersona, *lines: str, seed: int = 0) -> list[Turn]:
    """Play lines from a fresh start and return every turn."""
    turn = start(cp, seed)
    turns = []
    for line in lines:
        turn = step(cp, turn.state, line)
        turns.append(turn)
    return turns


def at(cp: CompiledPersona, **state: Any) -> dict[str, Any]:
    """Return a fresh state with some keys replaced."""
    s = start(cp).state
    for key, value in state.items():
        if key == "vars":
            s["vars"].update(value)
        else:
            s[key] = value
    return s


def test_start_gives_opening_and_initial_state() -> None:
    cp = compiled()
    turn = start(cp, seed=3)
    assert turn.state["vars"] == {"trust": 3, "fear": 7, "patience": 2}
    assert turn.state["topic"] == "intro"
    assert turn.state["turn"] == 0
    assert turn.replies in (["Yes? What do you want?"], ["Hello.", "Who are you?"])
    json.dumps(turn.state)  # the state is plain JSON


def test_rule_fires_changes_variables_and_records_events() -> None:
    [turn] = talk(compiled(), "Hello there")
    assert turn.replies == ["Hello."]
    assert turn.events.rule == "greet"
    assert turn.events.matched == ["@greeting"]
    assert turn.events.changes == {"trust": [3, 4]}
    assert turn.state["fired"] == {"greet": 1}


def test_cycle_reply_mode_wraps() -> None:
    turns = talk(compiled(), "hello", "hi", "good morning")
    assert [t.replies[0] for t in turns] == ["Hello.", "Hello again.", "Hello."]


def test_disclosure_goto_and_topic_scope() -> None:
    cp = compiled()
    first, second = talk(cp, "what is your name", "and your passport?")
    assert first.events.disclosed == ["name"]
    assert first.events.topic == "work"
    assert first.events.previous_topic == "intro"
    # Low trust: the guarded rule is not eligible, so the lower-priority cover story answers.
    assert second.events.rule == "passport_low"
    assert second.events.disclosed == []


def test_topic_rules_only_apply_in_their_topic() -> None:
    [turn] = talk(compiled(), "your passport?")
    assert turn.events.rule is None


def test_priority_and_conditions_choose_the_guarded_rule() -> None:
    cp = compiled()
    turn = step(cp, at(cp, topic="work", vars={"trust": 6}), "where is your passport")
    assert turn.events.rule == "passport_high"
    assert turn.replies == ["The boss has it.", "He keeps all of them."]  # a multi-message reply, in order
    assert turn.events.disclosed == ["passport_held"]
    assert turn.events.considered == ["passport_low"]


def test_global_rule_with_higher_priority_beats_topic_rule() -> None:
    cp = compiled()
    turn = step(cp, at(cp, topic="work", vars={"trust": 6}), "passport? you are a liar")
    assert turn.events.rule == "insulted"


def test_none_terms_block_a_rule() -> None:
    [turn] = talk(compiled(), "what is your boss name")
    assert turn.events.rule != "name"


def test_once_reply_runs_out_then_rule_stops_matching() -> None:
    cp = compiled()
    state = at(cp, topic="work")
    replies = []
    for _ in range(3):
        turn = step(cp, state, "tell me about the money")
        state = turn.state
        replies.append((turn.events.rule, turn.replies))
    assert replies[0] == ("money_once", ["I owe them."])
    assert replies[1] == ("money_once", ["It grows every month."])
    assert replies[2][0] is None


def test_fired_condition_limits_a_rule() -> None:
    turns = talk(compiled(), "sorry", "sorry", "sorry")
    assert [t.events.rule for t in turns] == ["kind", "kind", None]


def test_clamping_to_bounds() -> None:
    turns = talk(compiled(), "sorry", "sorry")
    assert turns[-1].state["vars"]["trust"] == 7
    cp = compiled()
    turn = step(cp, at(cp, vars={"trust": 9}), "take your time")
    assert turn.state["vars"]["trust"] == 10
    assert turn.events.changes == {"trust": [9, 10]}


def test_escalating_fallbacks_and_reset_after_a_hit() -> None:
    cp = compiled()
    turns = talk(cp, "blah", "blah", "hello", "blah")
    # Topic 'intro' has its own two levels; a hit resets the count.
    assert [t.replies[0] for t in turns] == ["Sorry?", "I don't understand.", "Hello.", "Sorry?"]
    assert [t.events.fallback_level for t in turns] == [1, 2, None, 1]
    assert turns[1].events.changes == {"trust": [3, 2]}
    cp_state = at(cp, topic="work")
    levels = []
    for _ in range(4):
        turn = step(cp, cp_state, "blah")
        cp_state = turn.state
        levels.append((turn.events.fallback_level, turn.replies[0]))
    assert levels == [(1, "What?"), (2, "I don't follow."), (3, "I am tired."), (3, "I am tired.")]
    assert cp_state["vars"]["patience"] == 0


def test_conditional_fallback_by_mood() -> None:
    cp = compiled()
    state = at(cp, topic="work", vars={"fear": 9}, misses=2)
    turn = step(cp, state, "blah")
    # Both level-3 entries hold; the first declared wins among equals.
    assert turn.replies == ["I am tired."]


def test_end_condition_when_trust_reaches_zero() -> None:
    cp = compiled()
    turn = step(cp, at(cp, vars={"trust": 2}), "you are lying")
    assert turn.replies == ["Why do you say that?", "I am leaving."]
    assert turn.events.ended is True
    assert turn.events.ending == "shutdown"
    assert turn.events.end_reason == "trust_lost"
    after = step(cp, turn.state, "hello?")
    assert after.replies == ["(The interview is over.)"]
    assert after.events.ended is True
    assert after.state == turn.state


def test_rule_effect_end() -> None:
    [turn] = talk(compiled(), "ok goodbye")
    assert turn.events.ended is True
    assert turn.events.end_reason == "rule:bye"


def test_question_type_rule_and_contamination() -> None:
    cp = compiled()
    turn = step(cp, at(cp, topic="work", vars={"trust": 6}), "The boss took your passport, didn't he?")
    assert turn.events.question_type == "suggestive"
    assert turn.events.rule == "passport_high"
    assert turn.events.contaminated == ["passport_held"]
    assert turn.state["ledger"]["passport_held"]["contaminated"] is True


def test_presumptive_wh_question_counts_as_suggestive() -> None:
    cp = compiled()
    turn = step(cp, at(cp, topic="work", vars={"trust": 6}), "Why does your boss keep your passport?")
    assert turn.events.question_type == "suggestive"
    assert turn.events.presumed == "passport_held"
    # Once the fact is known, the same question is an ordinary directive.
    again = step(cp, turn.state, "Why does your boss keep your passport?")
    assert again.events.question_type == "directive"


def test_typos_and_inflection_still_match() -> None:
    cp = compiled()
    turn = step(cp, at(cp, topic="work", vars={"trust": 6}), "where is your pasport")
    assert turn.events.rule == "passport_high"
    assert turn.events.corrections == {"pasport": "passport"}
    turn = step(cp, at(cp, topic="work", vars={"trust": 6}), "где твой паспорта")
    assert turn.events.rule == "passport_high"


def test_phrase_allows_one_word_between() -> None:
    turns = talk(compiled(), "please take all your time")
    assert turns[0].events.rule == "kind"
    turns = talk(compiled(), "take your whole free time")
    assert turns[0].events.rule is None


def test_determinism_same_seed_same_replies() -> None:
    data = tiny_persona_data()
    data["rules"].append(
        {"id": "chat", "match": {"any": ["weather"]}, "reply": [f"Variant {i}" for i in range(20)]}
    )
    cp = compiled(tiny_persona(rules=data["rules"]))
    lines = ["weather?"] * 10
    a = [t.replies for t in talk(cp, *lines, seed=42)]
    b = [t.replies for t in talk(cp, *lines, seed=42)]
    c = [t.replies for t in talk(cp, *lines, seed=43)]
    assert a == b
    assert a != c


def test_state_resumes_after_json_round_trip() -> None:
    cp = compiled()
    turns = talk(cp, "hello", "what is your name")
    restored = json.loads(json.dumps(turns[-1].state))
    assert step(cp, restored, "money?").replies == step(cp, turns[-1].state, "money?").replies


def test_step_does_not_mutate_the_given_state() -> None:
    cp = compiled()
    state = start(cp).state
    before = json.dumps(state, sort_keys=True)
    step(cp, state, "hello")
    assert json.dumps(state, sort_keys=True) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"persona": "other"}, "belongs to persona 'other'"),
        ({"version": "old"}, "version old"),
    ],
)
def test_foreign_state_is_refused(change: dict[str, str], message: str) -> None:
    cp = compiled()
    state = start(cp).state | change
    with pytest.raises(EngineError, match=message):
        step(cp, state, "hello")


def test_incomplete_state_is_refused() -> None:
    with pytest.raises(EngineError, match="lacks"):
        step(compiled(), {"persona": "tiny_victim_en"}, "hello")


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "\u200b\u202e", "x" * 50_000, "а" * 5000 + " passport"])
def test_odd_input_gives_a_fallback_not_an_error(text: str) -> None:
    [turn] = talk(compiled(), text)
    assert turn.replies
    assert turn.state["turn"] == 1


def _with_rule(rule: dict[str, Any], language: str = "en") -> CompiledPersona:
    data = tiny_persona_data()
    data["rules"].append(rule)
    return compiled(tiny_persona(rules=data["rules"], language=language))


@pytest.mark.parametrize(
    ("term", "said", "fires"),
    [
        ("can't promise", "I can promise you that", False),
        ("can't promise", "I cant promise anything", True),
        ("can't promise", "I cannot promise", True),
        ("i'm a", "I have a question", False),
        ("not allowed", "you aren't allowed out?", True),
        ("=заем", "поговорим за жизнь", False),
        ("=заем", "а заём большой?", True),
        ("нашел эту работу", "как ты эту работу нашёл?", True),
        ("нашел эту работу", "работу нашёл я сам, а эту не искал", False),
        ("sent home", "will I be sent back home", True),
        ("sent home", "home is where I was sent", False),
    ],
)
def test_term_forms(term: str, said: str, fires: bool) -> None:
    cp = _with_rule({"id": "probe", "priority": 50, "match": {"any": [term]}, "reply": "probe"})
    [turn] = talk(cp, said)
    assert (turn.events.rule == "probe") == fires


def test_common_words_are_not_corrected_into_concept_words() -> None:
    cp = _with_rule(
        {"id": "threat", "priority": 50, "match": {"any": ["пожалуетесь"]}, "reply": "threat"}, language="ru"
    )
    [turn] = talk(cp, "Расскажите, пожалуйста")
    assert turn.events.rule != "threat"
    [turn] = talk(cp, "вы пожалуетесь?")
    assert turn.events.rule == "threat"


@pytest.mark.parametrize(
    ("term", "said", "fires"),
    [
        ("кто вы", "вы кто такой", False),
        ("кто вы", "а кто вы?", True),
        ("нашел работу", "работу как нашел?", True),
    ],
)
def test_short_cyrillic_phrases_keep_their_order(term: str, said: str, fires: bool) -> None:
    cp = _with_rule({"id": "probe", "priority": 50, "match": {"any": [term]}, "reply": "probe"}, language="ru")
    [turn] = talk(cp, said)
    assert (turn.events.rule == "probe") == fires
