"""The debrief: facts by indicator, question share, contamination, trust, timing and better questions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from bot.persona.model import Persona
from bot.review.debrief import (
    Debrief,
    TurnData,
    build_debrief,
    engine_turn_numbers,
    question_stats,
    quotes,
    render_debrief_text,
    sparkline,
    trainee_turn_data,
    variable_series,
)
from bot.store.base import TurnRecord
from tests.factories import EPOCH, tiny_persona, tiny_persona_data

SESSION = 1

# -- builders shared by the review tests (no test_ names, so importing them collects nothing twice) ----------


def trainee(
    seq: int, seconds: float, text: str, question_type: str | None = "other", **fields: Any
) -> TurnRecord:
    """Return a stored trainee turn ``seconds`` after the epoch."""
    return TurnRecord(
        session_id=SESSION,
        seq=seq,
        at=EPOCH + timedelta(seconds=seconds),
        speaker="trainee",
        text=text,
        question_type=question_type,
        **fields,
    )


def persona_says(seq: int, seconds: float, text: str) -> TurnRecord:
    """Return a stored persona reply."""
    return TurnRecord(
        session_id=SESSION, seq=seq, at=EPOCH + timedelta(seconds=seconds), speaker="persona", text=text
    )


def ledger_entry(
    turn: int, question_type: str, contaminated: bool = False, rule: str = "r"
) -> dict[str, Any]:
    """Return one engine ledger entry."""
    return {"turn": turn, "rule": rule, "question_type": question_type, "contaminated": contaminated}


def rich_persona(language: str = "en") -> Persona:
    """Return the tiny persona with more facts: several indicators, two key facts, one never disclosed."""
    facts = [
        {"id": "name", "summary": "His name is Sam.", "indicators": ["other"]},
        {
            "id": "passport_held",
            "summary": "The boss keeps his passport.",
            "indicators": ["retention_of_documents"],
            "key": True,
        },
        {"id": "debt", "summary": "He owes a growing debt.", "indicators": ["debt_bondage"]},
        {
            "id": "fines",
            "summary": "Fines are taken from his pay.",
            "indicators": ["debt_bondage", "withholding_of_wages"],
        },
        {
            "id": "locked_gate",
            "summary": "The gate is locked at night.",
            "indicators": ["restriction_of_movement"],
            "key": True,
        },
    ]
    return tiny_persona(facts=facts, language=language)


# The suggestive and the multiple question are the trainee's weak moments; so is the trust fall at turn 3.
LEADING = "The boss took your passport, didn't he?"
STACKED = "Do they pay you or do you owe them money, and when?"
CUTTING = "Come on, that's not true."


def interview() -> list[TurnRecord]:
    """Return a stored interview of five engine turns, one sticker and the replies."""
    return [
        persona_says(1, 0, "Yes? What do you want?"),
        trainee(
            2,
            30,
            "Hello, I am a labour inspector.",
            "other",
            rule="greet",
            changes={"trust": [3, 4]},
            extra={"vars": {"trust": 4, "fear": 7}, "topic": "intro"},
        ),
        persona_says(3, 31, "Hello."),
        trainee(
            4,
            60,
            "What is your name?",
            "directive",
            rule="name",
            disclosed=["name"],
            extra={"vars": {"trust": 4, "fear": 7}, "topic": "work", "previous_topic": "intro"},
        ),
        persona_says(5, 61, "I am Sam."),
        trainee(6, 70, "", None, event={"kind": "sticker"}),
        trainee(
            7,
            90,
            CUTTING,
            "other",
            rule="insulted",
            changes={"trust": [4, 1], "fear": [7, 9]},
            extra={"vars": {"trust": 1, "fear": 9}, "topic": "work"},
        ),
        persona_says(8, 91, "Why do you say that?"),
        trainee(
            9,
            120,
            LEADING,
            "suggestive",
            cue="tag question",
            rule="leading",
            disclosed=["passport_held"],
            changes={"trust": [1, 0.5]},
            extra={"vars": {"trust": 0.5, "fear": 9}, "topic": "work", "contaminated": ["passport_held"]},
        ),
        persona_says(10, 121, "Yes... maybe."),
        trainee(
            11,
            180,
            STACKED,
            "multiple",
            rule="money_once",
            disclosed=["debt"],
            extra={"vars": {"trust": 0.5, "fear": 9}, "topic": "work"},
        ),
        persona_says(12, 181, "I owe them."),
    ]


def final_state() -> dict[str, Any]:
    """Return the engine state after :func:`interview`."""
    return {
        "turn": 5,
        "vars": {"trust": 0.5, "fear": 9},
        "ledger": {
            "name": ledger_entry(2, "directive", rule="name"),
            "passport_held": ledger_entry(4, "suggestive", True, rule="leading"),
            "debt": ledger_entry(5, "multiple", rule="money_once"),
        },
        "ended": False,
        "end_reason": None,
    }


def debrief_of(turns: Sequence[TurnRecord] | None = None, **kwargs: Any) -> Debrief:
    """Return the debrief of the standard interview with the rich persona."""
    return build_debrief(rich_persona(), interview() if turns is None else turns, final_state(), **kwargs)


# -- facts and indicators ------------------------------------------------------------------------------------


def test_facts_are_counted_out_of_all_in_order_of_disclosure() -> None:
    debrief = debrief_of()
    assert (len(debrief.disclosed), debrief.facts_total) == (3, 5)
    assert [(f.id, f.turn) for f in debrief.disclosed] == [("name", 2), ("passport_held", 4), ("debt", 5)]


def test_facts_are_grouped_by_indicator_in_ilo_order() -> None:
    groups = [(g.indicator, g.found, g.total) for g in debrief_of().indicators]
    assert groups == [
        ("restriction_of_movement", (), 1),
        ("retention_of_documents", ("passport_held",), 1),
        ("withholding_of_wages", (), 1),
        ("debt_bondage", ("debt",), 2),
    ]


def test_missed_indicators_and_key_facts_are_named() -> None:
    debrief = debrief_of()
    assert debrief.indicators_found == ("retention_of_documents", "debt_bondage")
    assert debrief.indicators_missed == ("restriction_of_movement", "withholding_of_wages")
    assert [f.id for f in debrief.key_facts_missed] == ["locked_gate"]


def test_facts_come_from_the_turns_when_the_state_has_no_ledger() -> None:
    debrief = build_debrief(rich_persona(), interview(), {})
    assert [(f.id, f.turn, f.contaminated) for f in debrief.disclosed] == [
        ("name", 2, False),
        ("passport_held", 4, True),
        ("debt", 5, False),
    ]


# -- questions -----------------------------------------------------------------------------------------------


def test_question_counts_and_recommended_share_leave_out_rapport_and_events() -> None:
    stats = debrief_of().questions
    assert dict(stats.counts) == {
        "invitation": 0,
        "directive": 1,
        "option_posing": 0,
        "suggestive": 1,
        "multiple": 1,
        "other": 2,
    }
    assert (stats.total, stats.questions, stats.recommended) == (5, 3, 1)
    assert stats.recommended_share == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        ([], None),
        (["other", "other"], None),
        (["invitation", "directive", "suggestive", "multiple"], 0.5),
        (["invitation", "other"], 1.0),
        (["option_posing"], 0.0),
        (["made_up_type", "directive"], 1.0),
    ],
)
def test_recommended_share_table(types: list[str], expected: float | None) -> None:
    turns = [trainee(n, n, f"line {n}", qt) for n, qt in enumerate(types, start=1)]
    assert question_stats(turns).recommended_share == expected


# -- contamination -------------------------------------------------------------------------------------------


def test_a_fact_first_disclosed_after_a_suggestive_question_is_contaminated() -> None:
    debrief = debrief_of()
    assert [(f.id, f.turn, f.question_type) for f in debrief.contaminated] == [
        ("passport_held", 4, "suggestive")
    ]


def test_the_text_debrief_says_why_contamination_matters() -> None:
    text = render_debrief_text(debrief_of(), "en")
    assert "WEAK EVIDENCE" in text
    assert "(!) The boss keeps his passport. (turn 4)" in text
    assert "weak evidence" in text


def test_no_contamination_section_without_contaminated_facts() -> None:
    state = final_state()
    state["ledger"]["passport_held"] = ledger_entry(4, "invitation")
    turns = [t for t in interview() if t.seq != 9]
    debrief = build_debrief(rich_persona(), turns, state)
    assert debrief.contaminated == ()
    assert "WEAK EVIDENCE" not in render_debrief_text(debrief, "en")


# -- trust and timing ----------------------------------------------------------------------------------------


def test_trust_is_a_value_per_engine_turn_from_the_snapshots() -> None:
    debrief = debrief_of()
    assert debrief.trust_start == 3
    assert debrief.trust == (4, 4, 1, 0.5, 0.5)
    assert debrief.trust_bounds == (0, 10)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        # snapshot wins over the change
        ([{"extra": {"vars": {"trust": 6}}, "changes": {"trust": [3, 5]}}], (6,)),
        # without a snapshot, the change's new value
        ([{"changes": {"trust": [3, 5]}}, {}], (5, 5)),
        # nothing recorded: carried forward from the start
        ([{}, {"changes": {"fear": [7, 8]}}], (3, 3)),
        # a malformed change is ignored
        ([{"changes": {"trust": "up"}}, {"changes": {"trust": [3, 2]}}], (3, 2)),
    ],
)
def test_trust_series_reconstruction(records: list[dict[str, Any]], expected: tuple[float, ...]) -> None:
    turns = [trainee(n, n, f"line {n}", **fields) for n, fields in enumerate(records, start=1)]
    assert variable_series(turns, "trust", 3) == expected


def test_events_are_not_engine_turns() -> None:
    assert engine_turn_numbers(interview()) == {2: 1, 4: 2, 7: 3, 9: 4, 11: 5}


def test_time_to_first_disclosure_and_duration() -> None:
    debrief = debrief_of()
    assert debrief.first_disclosure_turn == 2
    assert debrief.first_disclosure_after == timedelta(seconds=60)
    assert debrief.duration == timedelta(seconds=181)
    assert debrief.turns == 5


def test_session_times_override_the_turn_times() -> None:
    debrief = debrief_of(started_at=EPOCH - timedelta(seconds=20), ended_at=EPOCH + timedelta(minutes=10))
    assert debrief.first_disclosure_after == timedelta(seconds=80)
    assert debrief.duration == timedelta(minutes=10, seconds=20)


def test_nothing_disclosed() -> None:
    turns = [persona_says(1, 0, "Hi."), trainee(2, 5, "Hello.", "other", extra={"vars": {"trust": 3}})]
    debrief = build_debrief(rich_persona(), turns, {"turn": 1, "ledger": {}})
    assert (debrief.first_disclosure_turn, debrief.first_disclosure_after) == (None, None)
    assert debrief.indicators_found == ()
    assert "No facts disclosed yet." in render_debrief_text(debrief, "en")


# -- better questions ----------------------------------------------------------------------------------------


def test_better_questions_come_at_the_weak_moments_in_turn_order() -> None:
    better = debrief_of().better
    assert [(b.turn, b.problem) for b in better] == [(3, "trust_drop"), (4, "suggestive"), (5, "multiple")]


def test_better_questions_are_good_examples_on_the_moments_subject() -> None:
    by_turn = {b.turn: b for b in debrief_of().better}
    assert (by_turn[4].subject, by_turn[4].form, by_turn[4].question) == (
        "passport_held",
        "invitation",
        "Tell me about your documents.",
    )
    assert by_turn[5].subject == "debt"
    assert by_turn[5].form == "invitation"
    assert by_turn[3].question.startswith("I can see this is hard. Take your time.")


def test_better_questions_never_contain_the_trainees_own_words() -> None:
    turns = interview()
    said = [t.text for t in turns if t.speaker == "trainee" and t.text]
    debrief = debrief_of(turns)
    text = render_debrief_text(debrief, "en")
    for line in said:
        assert line not in text
        for better in debrief.better:
            assert not quotes(line, better.question)


def test_a_suggestion_equal_to_the_trainees_line_is_replaced() -> None:
    # The trainee asked the template's own invitation but trust still fell: it must not come back as a model.
    same = "Tell me a little about yourself."
    turns = [
        trainee(
            1, 1, same, "invitation", rule="name", changes={"trust": [3, 2]}, extra={"vars": {"trust": 2}}
        ),
    ]
    persona = rich_persona()
    better = build_debrief(
        persona, turns, {"turn": 1, "ledger": {"name": ledger_entry(1, "invitation")}}
    ).better
    assert len(better) == 1
    assert not quotes(same, better[0].question)


def test_a_directive_is_suggested_about_a_fact_already_disclosed() -> None:
    turns = [
        trainee(1, 1, "Tell me about your documents.", "invitation", disclosed=["passport_held"]),
        trainee(2, 2, "Did he take it on the first day?", "option_posing", rule="passport_low"),
    ]
    state = {"turn": 2, "ledger": {"passport_held": ledger_entry(1, "invitation")}}
    [better] = build_debrief(rich_persona(), turns, state).better
    assert (better.turn, better.problem, better.subject, better.form) == (
        2,
        "option_posing",
        "passport_held",
        "directive",
    )
    assert better.question == "Where are your documents now?"


def test_a_presumed_fact_names_the_subject() -> None:
    turns = [
        trainee(
            1,
            1,
            "Why did you give the boss your papers?",
            "suggestive",
            cue="presumes undisclosed fact passport_held",
            rule="leading",
        )
    ]
    [better] = build_debrief(rich_persona(), turns, {"turn": 1, "ledger": {}}).better
    assert (better.subject, better.question) == ("passport_held", "Tell me about your documents.")


def test_at_most_three_better_questions() -> None:
    turns = [trainee(n, n, f"Is it true number {n}?", "suggestive") for n in range(1, 9)]
    better = build_debrief(rich_persona(), turns, {"turn": 8, "ledger": {}}).better
    assert len(better) <= 3
    assert len({b.question for b in better}) == len(better)


def test_no_weak_moments_no_better_questions() -> None:
    turns = [trainee(1, 1, "Tell me what happened.", "invitation", extra={"vars": {"trust": 4}})]
    debrief = build_debrief(rich_persona(), turns, {"turn": 1, "ledger": {}})
    assert debrief.better == ()
    assert "No weak moments found" in render_debrief_text(debrief, "en")


def test_a_russian_persona_gets_russian_suggestions() -> None:
    turns = [trainee(1, 1, "Начальник забрал ваш паспорт, да?", "suggestive", disclosed=["passport_held"])]
    state = {"turn": 1, "ledger": {"passport_held": ledger_entry(1, "suggestive", True)}}
    [better] = build_debrief(rich_persona("ru"), turns, state, "ru").better
    assert (better.language, better.question) == ("ru", "Расскажите о ваших документах.")
    assert "«Расскажите о ваших документах.»" in render_debrief_text(
        build_debrief(rich_persona("ru"), turns, state)
    )


# -- rendering -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "headers"),
    [
        (
            "en",
            ["Debrief: Sam", "FACTS: 3 of 5 found", "QUESTIONS", "WEAK EVIDENCE", "TRUST", "TRY NEXT TIME"],
        ),
        ("ru", ["Разбор: Sam", "ФАКТЫ: найдено 3 из 5", "ВОПРОСЫ", "СЛАБЫЕ ДОКАЗАТЕЛЬСТВА", "ДОВЕРИЕ"]),
    ],
)
def test_text_debrief_sections(language: str, headers: list[str]) -> None:
    lines = render_debrief_text(debrief_of(end_reason="trainee"), language).split("\n")
    for header in headers:
        assert header in lines


def test_text_debrief_content_en() -> None:
    text = render_debrief_text(debrief_of(end_reason="trainee"), "en")
    assert "5 turns · 3 min 1 s · ended: by you" in text
    assert "Retention of identity documents 1/1\n  + The boss keeps his passport. (!)" in text
    assert "Not found: restriction of movement, withholding of wages" in text
    assert "Key facts missed:\n  - The gate is locked at night." in text
    assert "Recommended: 33% (1 of 3)" in text
    assert "directive 1, suggestive 1, multiple 1, other 2" in text
    assert "3 → 0.5" in text
    assert "First disclosure: turn 2, after 1 min 0 s" in text
    assert "Turn 4, instead of a leading question:\n  “Tell me about your documents.”" in text


def test_text_debrief_lines_are_short_enough_for_a_phone() -> None:
    # Headings and data lines stay short; only explanatory sentences and suggested questions may wrap.
    text = render_debrief_text(debrief_of(), "en")
    long_lines = [line for line in text.split("\n") if len(line) > 64]
    assert all(line.endswith((".", "”")) for line in long_lines)


def test_terminal_turn_data_fits_the_debrief() -> None:
    turns = [
        TurnData(
            1,
            EPOCH,
            "trainee",
            "Tell me about your documents.",
            disclosed=("passport_held",),
            question_type="invitation",
            extra={"vars": {"trust": 5}},
        ),
    ]
    debrief = build_debrief(rich_persona(), turns, {"turn": 1, "ledger": {}})
    assert [f.id for f in debrief.disclosed] == ["passport_held"]
    assert debrief.trust == (5,)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ""),
        ([0, 10], "▁█"),
        ([5, 5], "▅▅"),
        ([0] * 30 + [10] * 30, "▁" * 12 + "█" * 12),
    ],
)
def test_sparkline(values: list[float], expected: str) -> None:
    assert sparkline(values, 0, 10) == expected


def test_tiny_persona_data_is_untouched() -> None:
    # rich_persona overrides facts on a copy; the shared factory data must stay as it was.
    assert [f["id"] for f in tiny_persona_data()["facts"]] == ["name", "passport_held", "debt"]


def test_a_trust_drop_without_a_sure_subject_gets_a_rapport_invitation() -> None:
    turns = [
        trainee(1, 1, "Tell me what happened.", "invitation", extra={"vars": {"trust": 4}, "topic": "work"}),
        trainee(2, 2, CUTTING, "other", rule="insulted", extra={"vars": {"trust": 1}, "topic": "work"}),
    ]
    [better] = build_debrief(rich_persona(), turns, {"turn": 2, "ledger": {}}).better
    assert (better.turn, better.problem, better.subject) == (2, "trust_drop", None)
    assert (
        better.question == "I can see this is hard. Take your time. Tell me what you would like me to know."
    )


# -- with the real engine ------------------------------------------------------------------------------------


def test_a_debrief_of_an_interview_played_through_the_engine() -> None:
    from bot.engine.dialogue import start, step
    from tests.factories import compiled

    cp = compiled()
    opening = start(cp)
    state = opening.state
    records: list[TurnData] = [TurnData(1, EPOCH, "persona", line) for line in opening.replies]
    lines = [
        "hello",
        "sorry, take your time",
        "What is your name?",
        "The boss has your passport, doesn't he?",
        "Do you owe money or do they pay you?",
    ]
    for number, line in enumerate(lines, start=1):
        played = step(cp, state, line)
        state = played.state
        at = EPOCH + timedelta(minutes=number)
        records.append(trainee_turn_data(len(records) + 1, line, played.events, state["vars"], at))
        records += [TurnData(len(records) + 1, at, "persona", reply) for reply in played.replies]
    debrief = build_debrief(cp.persona, records, state)
    assert [f.id for f in debrief.disclosed] == ["name", "passport_held", "debt"]
    assert [f.id for f in debrief.contaminated] == ["passport_held"]
    assert debrief.trust == (4, 6, 6, 6, 6)
    assert debrief.first_disclosure_turn == 3
    assert debrief.better[0].question == "Tell me about your documents."
    text = render_debrief_text(debrief, "en")
    assert all(line not in text for line in lines)
