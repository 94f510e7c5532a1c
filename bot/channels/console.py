"""Terminal interview (``understudy play``): the console adapter around the engine, with injected streams."""

from __future__ import annotations

import json
from typing import Any, TextIO

from bot.engine.dialogue import Turn, start, step
from bot.engine.matcher import CompiledPersona
from bot.engine.state import disclosed
from bot.i18n import t
from bot.review.debrief import TurnData, build_debrief, render_debrief_text, trainee_turn_data
from bot.store.base import SPEAKER_PERSONA, Clock, utc_now

AUTHOR_COMMANDS = "/why  explain the last answer · /state  show variables and facts · /end  finish with a debrief"


def turn_record(utterance: str | None, turn: Turn) -> dict[str, Any]:
    """Return the JSON object ``play --json`` prints for one turn."""
    ev = turn.events
    return {
        "input": utterance,
        "replies": turn.replies,
        "rule": ev.rule,
        "topic": ev.topic,
        "disclosed": ev.disclosed,
        "contaminated": ev.contaminated,
        "state": turn.state["vars"],
        "changes": ev.changes,
        "question_type": ev.question_type if utterance is not None else None,
        "cue": ev.cue if utterance is not None else None,
        "fallback_level": ev.fallback_level,
        "matched": ev.matched,
        "ended": ev.ended,
        "end_reason": ev.end_reason,
    }


def explain(turn: Turn) -> str:
    """Describe why the persona answered as it did, for ``/why``."""
    ev = turn.events
    lines = []
    if ev.rule:
        lines.append(f"rule: {ev.rule} (matched: {', '.join(ev.matched) or 'no terms needed'})")
    elif ev.fallback_level is not None:
        lines.append(f"rule: none, fallback level {ev.fallback_level}")
    else:
        lines.append("rule: none")
    if ev.previous_topic != ev.topic:
        lines.append(f"topic: {ev.previous_topic} -> {ev.topic}")
    else:
        lines.append(f"topic: {ev.topic}")
    lines.append(f"question type: {ev.question_type} ({ev.cue or 'no cue'})")
    if ev.changes:
        lines.append("changes: " + ", ".join(f"{k} {a:g} -> {b:g}" for k, (a, b) in ev.changes.items()))
    if ev.disclosed:
        marked = [f + (" (contaminated)" if f in ev.contaminated else "") for f in ev.disclosed]
        lines.append("disclosed: " + ", ".join(marked))
    if ev.corrections:
        lines.append("typos read as: " + ", ".join(f"{k} -> {v}" for k, v in ev.corrections.items()))
    if ev.considered:
        lines.append("also eligible: " + ", ".join(ev.considered))
    if ev.ending:
        lines.append(f"ending: {ev.ending}")
    return "\n".join(lines)


def _state_text(cp: CompiledPersona, state: dict[str, Any]) -> str:
    values = ", ".join(f"{k}={v:g}" for k, v in state["vars"].items())
    return f"topic: {state['topic']}\nvariables: {values}\ndisclosed: {', '.join(disclosed(state)) or 'none'}"


def play(
    cp: CompiledPersona,
    inp: TextIO,
    out: TextIO,
    *,
    as_json: bool = False,
    seed: int = 0,
    interactive: bool = False,
    clock: Clock = utc_now,
    language: str | None = None,
) -> int:
    """Run a terminal interview reading trainee lines from ``inp``; return an exit code.

    The interview ends at end of input, on ``/end`` or when the persona ends it; then the debrief is printed (not
    with ``--json``, whose output is one object per turn), in ``language`` or else the persona's own.
    """
    persona = cp.persona
    started = clock()
    records: list[TurnData] = []
    turn = start(cp, seed)
    name = persona.name
    if as_json:
        print(json.dumps(turn_record(None, turn), ensure_ascii=False), file=out, flush=True)
    else:
        b = persona.briefing
        lang = language or persona.language
        print(f"== {name} ({persona.role}, {persona.language}) · {persona.case.title}", file=out)
        print(f"{t(lang, 'briefing_role')}: {b.role}\n{t(lang, 'briefing_situation')}: {b.situation}", file=out)
        print(f"{t(lang, 'briefing_objectives')}:\n" + "\n".join(f"  - {o}" for o in b.objectives), file=out)
        print(f"[{AUTHOR_COMMANDS}]\n", file=out)
        for msg in turn.replies:
            print(f"{name}: {msg}", file=out)
        out.flush()
    last = turn
    state = turn.state
    while True:
        if interactive and not as_json:
            print("> ", end="", file=out, flush=True)
        line = inp.readline()
        if not line:
            break
        text = line.rstrip("\n")
        command = text.strip().lower()
        if not as_json and command in ("/why", "/state", "/end", "/quit", "/help"):
            if command == "/why":
                print(explain(last), file=out)
            elif command == "/state":
                print(_state_text(cp, state), file=out)
            elif command == "/help":
                print(AUTHOR_COMMANDS, file=out)
            else:
                break
            continue
        if not text.strip():
            continue
        last = step(cp, state, text)
        state = last.state
        now = clock()
        records.append(trainee_turn_data(len(records) + 1, text, last.events, state["vars"], now))
        records += [TurnData(len(records) + 1 + i, now, SPEAKER_PERSONA, m) for i, m in enumerate(last.replies)]
        if as_json:
            print(json.dumps(turn_record(text, last), ensure_ascii=False), file=out, flush=True)
        else:
            for msg in last.replies:
                print(f"{name}: {msg}", file=out)
            out.flush()
        if last.events.ended:
            if not as_json:
                print(f"[the interview has ended: {last.events.end_reason}]", file=out)
            break
    if not as_json:
        lang = language or persona.language
        debrief = build_debrief(persona, records, state, lang, started_at=started, ended_at=clock())
        print("\n" + render_debrief_text(debrief, lang), file=out)
    return 0
