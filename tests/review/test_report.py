"""HTML reports: escaping, self-containment, CSP, charts, annotations, cohort index and the exports."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.persona.model import Persona
from bot.review import charts
from bot.review.debrief import build_debrief
from bot.review.report import (
    CohortRow,
    cohort_index_html,
    cohort_row,
    content_security_policy,
    export_html,
    render_cohort_index,
    render_session_report,
    session_report_html,
    stored_persona_lookup,
)
from bot.review.transcripts import EXPORTERS, cmd_export
from bot.store.base import NewTurn, Note, SessionRecord, Store, TurnRecord
from bot.store.memory import MemoryStore
from tests.factories import EPOCH, FixedClock, tiny_persona_data
from tests.review.test_debrief import final_state, interview, rich_persona, trainee

HOSTILE = "<script>alert(1)</script> **bold** <b>x</b>"
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; **bold** &lt;b&gt;x&lt;/b&gt;"
TRAINEE_NAME = "Anna <img src=x onerror=alert(2)>"
NOTE_TEXT = "Good start.\n<i>Watch</i> the leading questions [link](http://example.invalid)"

EXTERNAL = re.compile(r"""(?:src|href|action|xlink:href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//)""", re.I)
CSS_URL = re.compile(r"url\(|@import", re.I)


def hostile_turns() -> list[TurnRecord]:
    """Return the standard interview with the hostile line as the trainee's second turn."""
    turns = interview()
    return [replace(t, text=HOSTILE) if t.seq == 4 else t for t in turns]


def session_record(**fields: Any) -> SessionRecord:
    """Return an ended session of the standard interview."""
    values: dict[str, Any] = {
        "id": 7,
        "trainee_id": 555001,
        "chat_id": 555001,
        "persona_id": "tiny_victim_en",
        "persona_version": "tiny-v1",
        "persona_language": "en",
        "started_at": EPOCH,
        "last_activity_at": EPOCH + timedelta(minutes=4),
        "ended_at": EPOCH + timedelta(minutes=4),
        "end_reason": "trainee",
        "state": final_state(),
        "turns": 5,
        "trainee_name": TRAINEE_NAME,
    }
    values.update(fields)
    return SessionRecord(**values)


def report(persona: Persona | None = None, with_persona: bool = True, **fields: Any) -> str:
    """Render the standard session report."""
    session = session_record(**fields)
    turns = hostile_turns()
    persona = persona or rich_persona()
    debrief = build_debrief(persona, turns, session.state) if with_persona else None
    notes = [Note(7, EPOCH + timedelta(hours=1), "coach <b>", NOTE_TEXT)]
    return render_session_report(
        session, turns, persona if with_persona else None, debrief, notes, TRAINEE_NAME
    )


class Collector(HTMLParser):
    """Collect texts of elements with a given class, scripts and styles, as a browser would see them."""

    def __init__(self, css_class: str) -> None:
        super().__init__(convert_charrefs=True)
        self.css_class = css_class
        self.depth = 0
        self.current: list[str] = []
        self.found: list[str] = []
        self.tags: list[str] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._raw_tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in self.raw:
            self._raw_tag = tag
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += 1
        elif self.css_class in classes:
            self.depth = 1
            self.current = []

    def handle_endtag(self, tag: str) -> None:
        self._raw_tag = None
        if self.depth:
            self.depth -= 1
            if not self.depth:
                self.found.append("".join(self.current))

    def handle_data(self, data: str) -> None:
        if self._raw_tag is not None:
            self.raw[self._raw_tag].append(data)
        if self.depth:
            self.current.append(data)


def collect(html: str, css_class: str) -> Collector:
    """Parse a page and return what the collector saw."""
    collector = Collector(css_class)
    collector.feed(html)
    collector.close()
    return collector


def csp_of(html: str) -> str:
    """Return the page's Content-Security-Policy, unescaped."""
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert match is not None
    return match.group(1).replace("&#39;", "'")


def sha(text: str) -> str:
    """Return a CSP hash source of a text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- escaping and self-containment ---------------------------------------------------------------------------


def test_trainee_text_is_escaped_and_verbatim() -> None:
    html = report()
    assert HOSTILE_ESCAPED in html
    assert "<script>alert" not in html
    assert "<b>x</b>" not in html
    assert HOSTILE in collect(html, "text").found


def test_names_and_notes_are_escaped() -> None:
    html = report()
    assert "<img" not in html
    assert "Anna &lt;img src=x onerror=alert(2)&gt;" in html
    assert "coach &lt;b&gt;" in html
    assert NOTE_TEXT in collect(html, "note").found


def test_the_session_report_loads_nothing_from_outside() -> None:
    html = report()
    assert EXTERNAL.search(html) is None
    assert CSS_URL.search(html) is None
    assert "<link" not in html
    assert "<img" not in html
    assert "<iframe" not in html


def test_the_session_report_has_no_script_and_a_strict_policy() -> None:
    html = report()
    page = collect(html, "text")
    assert "script" not in page.tags
    policy = csp_of(html)
    assert "default-src 'none'" in policy
    assert "script-src 'none'" in policy
    assert f"style-src {sha(''.join(page.raw['style']))}" in policy
    assert "unsafe-inline" not in policy


def test_the_policy_allows_exactly_the_given_style_and_script() -> None:
    policy = content_security_policy("a{}", "x()")
    assert f"style-src {sha('a{}')};" in policy
    assert f"script-src {sha('x()')};" in policy


# -- content -------------------------------------------------------------------------------------------------


def test_the_report_has_both_charts_as_inline_svg() -> None:
    html = report()
    assert html.count("<svg") == 2
    assert 'id="chart-question-types"' in html
    assert 'id="chart-trust"' in html
    assert re.search(r'<svg[^>]* width="\d+" height="\d+" viewBox="0 0 \d+ \d+"', html)
    assert '<title id="chart-trust-title">Trust over the interview</title>' in html


@pytest.mark.parametrize(
    ("question_type", "chip"),
    [("directive", "rec"), ("suggestive", "weak"), ("multiple", "weak"), ("other", "neutral")],
)
def test_question_type_chips_are_coloured_by_recommendation(question_type: str, chip: str) -> None:
    assert f'<span class="chip {chip}" data-question-type="{question_type}">' in report()


def test_turns_are_annotated_with_rule_facts_indicators_contamination_and_trust() -> None:
    html = report()
    turn = html[html.index('id="turn-9"') : html.index('id="turn-10"')]
    assert "rule: <code>leading</code>" in turn
    assert "cue: tag question" in turn
    assert "trust: 0.5 (-0.5)" in turn
    assert '<li class="contaminated">disclosed: The boss keeps his passport.' in turn
    assert 'data-indicator="retention_of_documents"' in turn
    assert '<span class="tag">contaminated</span>' in turn
    assert "<strong>Turn 4</strong>" in turn


def test_an_event_turn_is_shown_as_an_event() -> None:
    html = report()
    turn = html[html.index('id="turn-6"') : html.index('id="turn-7"')]
    assert "event: sticker" in turn
    assert "chip" not in turn


def test_the_report_includes_the_debrief_notes_and_ground_truth() -> None:
    html = report()
    assert "<dd>3 of 5</dd>" in html
    assert "<dd>33% (1 of 3)</dd>" in html
    assert "Weak evidence (contaminated)" in html
    assert "<q>Tell me about your documents.</q>" in html
    assert "Indicators not found:</strong> restriction of movement, withholding of wages" in html
    assert "Instructor notes" in html
    assert "Sam&#39;s passport is held." in html
    assert 'The gate is locked at night. <span class="tag">key</span>' in html


def test_the_better_questions_never_echo_the_trainee() -> None:
    better = collect(report(), "better").found
    assert better
    for turn in hostile_turns():
        if turn.speaker == "trainee" and turn.text:
            assert all(turn.text not in item for item in better)


def test_a_report_without_the_persona_still_renders() -> None:
    html = report(with_persona=False)
    assert "The persona version of this session is not available" in html
    assert HOSTILE_ESCAPED in html
    assert "<dd>33% (1 of 3)</dd>" in html
    assert 'id="chart-question-types"' in html
    assert "Ground truth" not in html


def test_the_report_speaks_russian() -> None:
    session = session_record()
    turns = hostile_turns()
    persona = rich_persona()
    html = render_session_report(
        session, turns, persona, build_debrief(persona, turns, session.state), [], "Анна", "ru"
    )
    assert '<html lang="ru">' in html
    assert "Стенограмма" in html
    assert "Заметок пока нет." in html


# -- charts --------------------------------------------------------------------------------------------------


def test_chart_labels_are_escaped() -> None:
    svg = charts.bar_chart("c<1>", "Title <b>&", [("<k>", 2.0)], labels={"<k>": "<script>"})
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert '<title id="c&lt;1&gt;-title">Title &lt;b&gt;&amp;</title>' in svg


@pytest.mark.parametrize("values", [[], [5.0], [3.0, 4.0, 1.0, 0.5], [float(n % 11) for n in range(60)]])
def test_line_chart_shapes(values: list[float]) -> None:
    svg = charts.trust_chart(values, 0, 10, "Trust", "turn")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'viewBox="0 0 480 200"' in svg
    assert svg.count("<circle") == len(values)
    assert ("<polyline" in svg) == bool(values)


def test_a_value_outside_the_bounds_stays_inside_the_chart() -> None:
    svg = charts.line_chart("c", "t", [-5.0, 15.0], 0, 10)
    ys = [float(y) for y in re.findall(r'cy="([\d.-]+)"', svg)]
    assert all(charts.LINE_TOP <= y <= charts.LINE_HEIGHT - charts.LINE_BOTTOM for y in ys)


# -- cohort index --------------------------------------------------------------------------------------------


def rows() -> list[CohortRow]:
    """Return three cohort rows with distinct trainees, shares and facts."""
    return [
        CohortRow(
            3, "Zoe <b>", "Sam", EPOCH + timedelta(days=2), 10, 0.25, 1, 5, "ended", "session-000003.html"
        ),
        CohortRow(1, "Anna", "Sam", EPOCH, 4, None, 0, 5, "open", "session-000001.html"),
        CohortRow(2, "Boris", "Aziz", EPOCH + timedelta(days=1), 8, 0.8, 4, None, "ended", None),
    ]


def test_cohort_index_lists_every_session_with_links() -> None:
    html = render_cohort_index(rows())
    assert html.count('<tr data-session="') == 3
    assert '<a href="session-000003.html">3</a>' in html
    assert '<a href="session-000001.html">1</a>' in html
    assert "Zoe &lt;b&gt;" in html
    assert ">25%</td>" in html and ">80%</td>" in html
    assert ">1 / 5</td>" in html and ">4</td>" in html
    assert EXTERNAL.search(html) is None


def test_cohort_index_is_sortable_markup() -> None:
    html = render_cohort_index(rows())
    assert len(re.findall(r'<th data-sort="(?:number|text)"', html)) == 8
    assert '<td class="num" data-value="0.2500">25%</td>' in html
    assert '<td class="num" data-value="-1">–</td>' in html
    assert 'data-value="2026-01-07T09:00:00+00:00"' in html
    assert 'id="cohort"' in html


def test_cohort_index_script_is_the_only_one_and_allowed_by_hash() -> None:
    html = render_cohort_index(rows())
    page = collect(html, "none")
    assert page.tags.count("script") == 1
    policy = csp_of(html)
    assert f"script-src {sha(''.join(page.raw['script']))};" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_empty_cohort() -> None:
    assert "No sessions." in render_cohort_index([])


def test_cohort_row_from_a_session() -> None:
    row = cohort_row(session_record(), interview(), rich_persona(), "Anna", "session-000007.html")
    assert (row.turns, row.recommended_share, row.facts_found, row.facts_total) == (5, 1 / 3, 3, 5)


# -- exports from a store ------------------------------------------------------------------------------------


def persona_lookup(persona_id: str, version: str) -> Persona | None:
    """Return the rich persona for its id (any version), else None."""
    return rich_persona() if persona_id == "tiny_victim_en" else None


async def seeded_store(clock: FixedClock) -> tuple[Store, list[int]]:
    """Return an open memory store with two sessions: the hostile interview, and one of an unknown persona."""
    store = MemoryStore(clock=clock)
    await store.open()
    await store.upsert_trainee(555001, "Anna Example", "en")
    ids = []
    for persona_id in ("tiny_victim_en", "gone_persona_en"):
        turns = hostile_turns()
        opening = [NewTurn("persona", turns[0].text, at=turns[0].at)]
        session = await store.start_session(
            trainee_id=555001,
            chat_id=555001,
            persona_id=persona_id,
            persona_version="tiny-v1",
            persona_language="en",
            state={"turn": 0, "ledger": {}},
            opening=opening,
        )
        pending: list[TurnRecord] = []
        for turn in [*turns[1:], None]:
            if turn is not None and turn.speaker == "persona":
                pending.append(turn)
                continue
            if pending:
                said, replies = pending[0], pending[1:]
                if said.event is not None:
                    await store.record_event(session.id, NewTurn.from_record(said))
                else:
                    await store.record_exchange(
                        session.id, NewTurn.from_record(said), [NewTurn.from_record(r) for r in replies], final_state()
                    )
            pending = [turn] if turn is not None else []
        await store.add_note(session.id, "coach", NOTE_TEXT)
        clock.advance(minutes=5)
        await store.end_session(session.id, "trainee")
        ids.append(session.id)
    return store, ids


async def test_export_html_writes_one_file_per_session_and_an_index(tmp_path: Path) -> None:
    store, ids = await seeded_store(FixedClock(EPOCH + timedelta(minutes=10)))
    out = tmp_path / "exports"
    written = await export_html(store, out, persona_lookup=persona_lookup)
    assert [p.name for p in written] == ["session-000001.html", "session-000002.html", "index.html"]
    first = (out / "session-000001.html").read_text(encoding="utf-8")
    assert HOSTILE_ESCAPED in first
    assert "Anna Example" in first
    assert "<dd>3 of 5</dd>" in first
    second = (out / "session-000002.html").read_text(encoding="utf-8")
    assert "The persona version of this session is not available" in second
    index = (out / "index.html").read_text(encoding="utf-8")
    # Streamed in session order; the page sorts by any column when a header is clicked.
    assert [int(i) for i in re.findall(r'<tr data-session="(\d+)"', index)] == sorted(ids)
    assert not list(out.glob(".*"))  # the scratch file of the streamed index is gone
    assert '<a href="session-000001.html">1</a>' in index
    await store.close()


async def test_export_html_pseudonymizes(tmp_path: Path) -> None:
    store, _ = await seeded_store(FixedClock(EPOCH + timedelta(minutes=10)))
    written = await export_html(store, tmp_path, pseudonymize=True, persona_lookup=persona_lookup)
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert "Anna Example" not in text
        assert "555001" not in text
        assert re.search(r"Trainee-[0-9a-f]{8}", text)
    await store.close()


async def test_the_html_format_is_registered_for_transcripts_export(tmp_path: Path) -> None:
    store, _ = await seeded_store(FixedClock(EPOCH + timedelta(minutes=10)))
    assert "html" in EXPORTERS
    result = await cmd_export(store, tmp_path / "out", "html", personas_lookup=persona_lookup)
    assert sorted(p.name for p in result.paths) == [
        "index.html",
        "session-000001.html",
        "session-000002.html",
    ]
    assert result.sessions == 2
    await store.close()


async def test_session_report_and_cohort_for_telegram() -> None:
    store, ids = await seeded_store(FixedClock(EPOCH + timedelta(minutes=10)))
    html = await session_report_html(store, ids[0], persona_lookup)
    assert HOSTILE_ESCAPED in html
    assert NOTE_TEXT in collect(html, "note").found
    index = await cohort_index_html(store, persona_lookup, pseudonymize=True)
    assert index.count("<tr data-session=") == 2
    assert "<a href" not in index
    assert "Anna Example" not in index
    await store.close()


async def test_an_async_lookup_returning_a_compiled_persona_is_accepted() -> None:
    store, ids = await seeded_store(FixedClock(EPOCH + timedelta(minutes=10)))

    class Compiled:
        persona = rich_persona()

    async def lookup(persona_id: str, version: str) -> Compiled:
        return Compiled()

    html = await session_report_html(store, ids[0], lookup)
    assert "<dd>3 of 5</dd>" in html
    await store.close()


def test_a_trainee_line_with_only_an_event_and_no_text() -> None:
    turns = [trainee(1, 1, "", None, event={"kind": "photo"})]
    html = render_session_report(session_record(state={}), turns, None, None, [], "x")
    assert "event: photo" in html
    assert "(no text)" in html


async def test_stored_persona_lookup_prefers_the_stored_version_then_the_catalogue() -> None:
    store = MemoryStore(clock=FixedClock())
    await store.open()
    data = tiny_persona_data()
    await store.store_persona_source("v-old", "tiny_victim_en", yaml.safe_dump({**data, "name": "Old Sam"}))
    await store.store_persona_source("v-bad", "tiny_victim_en", "id: [unclosed")

    class Entry:
        persona = rich_persona()

    class Catalogue:
        def find(self, persona_id: str) -> Entry | None:
            return Entry() if persona_id == "tiny_victim_en" else None

    lookup = stored_persona_lookup(store, Catalogue())
    old = await lookup("tiny_victim_en", "v-old")
    assert isinstance(old, Persona) and old.name == "Old Sam"
    current = await lookup("tiny_victim_en", "v-unknown")
    assert isinstance(current, Persona) and len(current.facts) == 5
    assert isinstance(await lookup("tiny_victim_en", "v-bad"), Persona)
    assert await lookup("someone_else_en", "v-old") is None
    assert await stored_persona_lookup(store)("tiny_victim_en", "v-unknown") is None
    await store.close()
