"""HTML reports for instructors: one self-contained file per session, and a sortable cohort index.

Safety and self-containment:

- Jinja2 renders with autoescape on for every template and for strings (``select_autoescape`` with
  ``default=True``), so trainee text, names and notes always appear verbatim and inert. Only two kinds of
  value are marked safe: the SVG charts (built by :mod:`bot.review.charts`, which escapes every label) and
  the report's own stylesheet and script, read from the package templates.
- Nothing is loaded from anywhere: CSS is inline, charts are inline SVG, there are no fonts, images or
  external scripts. A Content-Security-Policy ``<meta>`` forbids every load (``default-src 'none'``) and
  allows only the report's own ``<style>`` and (in the cohort index) its own ``<script>`` by SHA-256 hash.
  A hash, not a nonce: the files are static, and a nonce written into a static file is a constant.
- Links are relative (``session-000012.html``), so an exported folder can be moved or zipped as a whole.

Entry points: :func:`render_session_report`, :func:`render_cohort_index`, :func:`export_html` (a store to a
folder), :func:`export_html_items` (the ``html`` format of ``understudy transcripts export``, registered with
:func:`bot.review.transcripts.register_exporter` when this module is imported), and the Telegram helpers
:func:`session_report_html` (``/transcript ID``) and :func:`cohort_index_html` (``/cohort``).
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import logging
import shutil
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.errors import PersonaError
from bot.i18n import t
from bot.persona.loader import load_persona_text
from bot.persona.model import RECOMMENDED_TYPES, Persona, QuestionType
from bot.review import charts
from bot.review.debrief import (
    DEFAULT_LANGUAGE,
    SUPPORTED,
    TRUST,
    Debrief,
    QuestionStats,
    debrief_for_session,
    end_reason_text,
    engine_turn_numbers,
    format_duration,
    format_share,
    format_value,
    indicator_name,
    is_engine_turn,
    question_stats,
    question_type_name,
    variable_series,
)
from bot.review.transcripts import (
    SESSION_FILE,
    ExportItem,
    PersonaLookup,
    Pseudonymizer,
    iter_export_items,
    plain_item,
    register_exporter,
)
from bot.store.base import Note, SessionRecord, Store, TurnRecord, to_utc

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"
INDEX_FILE = "index.html"
HTML_FORMAT = "html"
TIME_FORMAT = "%Y-%m-%d %H:%M"
CLOCK_FORMAT = "%H:%M:%S"
CHIP_RECOMMENDED = "rec"
CHIP_NOT_RECOMMENDED = "weak"
CHIP_NEUTRAL = "neutral"

REPORT_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "session_title": "Session {id}: {persona}",
        "cohort_title": "Interview sessions",
        "trainee": "Trainee",
        "persona": "Persona",
        "version": "version",
        "language": "Language",
        "started": "Started (UTC)",
        "ended": "Ended (UTC)",
        "status": "Status",
        "open": "open",
        "turns": "Turns",
        "duration": "Duration",
        "end_reason": "Ended",
        "persona_missing": "The persona version of this session is not available; facts cannot be named.",
        "debrief": "Debrief",
        "facts_found": "Facts found",
        "facts_found_value": "{found} of {total}",
        "by_indicator": "Facts by indicator",
        "indicator": "Indicator",
        "found": "Found",
        "missed_indicators": "Indicators not found",
        "key_missed": "Key facts missed",
        "questions": "Questions",
        "recommended": "Recommended questions",
        "recommended_value": "{share} ({recommended} of {questions})",
        "no_questions": "no questions asked",
        "question_types": "Question types",
        "contaminated": "Weak evidence (contaminated)",
        "contaminated_why": (
            "First said right after a suggestive question: a yes to a leading question may be compliance, not"
            " memory, so it is weak evidence until confirmed by an open question."
        ),
        "trust": "Trust over the interview",
        "trust_axis": "turn",
        "first_disclosure": "First disclosure",
        "first_disclosure_value": "turn {turn}, after {after}",
        "none_yet": "none",
        "better": "Better questions to try",
        "better_turn": "Turn {turn}",
        "problem_suggestive": "instead of a leading question",
        "problem_multiple": "one question at a time",
        "problem_option_posing": "let them tell it",
        "problem_trust_drop": "after trust fell",
        "transcript": "Transcript",
        "turn": "Turn",
        "rule": "rule",
        "fallback": "fallback",
        "cue": "cue",
        "topic": "topic",
        "disclosed": "disclosed",
        "contaminated_mark": "contaminated",
        "trust_short": "trust",
        "event": "event",
        "no_text": "(no text)",
        "notes": "Instructor notes",
        "no_notes": "No notes yet.",
        "ground_truth": "Ground truth (persona's instructor notes)",
        "learning_objectives": "Learning objectives",
        "ideal_path": "A good interview",
        "persona_notes": "Notes",
        "all_facts": "All facts",
        "fact": "Fact",
        "indicators": "Indicators",
        "key": "key",
        "not_found": "not found",
        "at_turn": "turn {turn}",
        "date": "Date (UTC)",
        "recommended_short": "Recommended",
        "facts_short": "Facts found",
        "report": "Report",
        "open_report": "open",
        "sort_hint": "Click a column header to sort.",
        "empty": "No sessions.",
        "speaker_trainee": "Trainee",
        "speaker_persona": "Persona",
        "speaker_system": "System",
    },
    "ru": {
        "session_title": "Сессия {id}: {persona}",
        "cohort_title": "Учебные интервью",
        "trainee": "Слушатель",
        "persona": "Персонаж",
        "version": "версия",
        "language": "Язык",
        "started": "Начало (UTC)",
        "ended": "Конец (UTC)",
        "status": "Статус",
        "open": "идёт",
        "turns": "Ходов",
        "duration": "Длительность",
        "end_reason": "Завершено",
        "persona_missing": "Версия персонажа этой сессии недоступна; факты назвать нельзя.",
        "debrief": "Разбор",
        "facts_found": "Найдено фактов",
        "facts_found_value": "{found} из {total}",
        "by_indicator": "Факты по индикаторам",
        "indicator": "Индикатор",
        "found": "Найдено",
        "missed_indicators": "Не найденные индикаторы",
        "key_missed": "Упущенные ключевые факты",
        "questions": "Вопросы",
        "recommended": "Рекомендуемые вопросы",
        "recommended_value": "{share} ({recommended} из {questions})",
        "no_questions": "вопросов не было",
        "question_types": "Типы вопросов",
        "contaminated": "Слабые доказательства (наведённые)",
        "contaminated_why": (
            "Прозвучало сразу после наводящего вопроса: согласие может быть уступчивостью,"
            " а не воспоминанием, поэтому это слабое доказательство, пока его не подтвердит открытый вопрос."
        ),
        "trust": "Доверие по ходу интервью",
        "trust_axis": "ход",
        "first_disclosure": "Первый факт",
        "first_disclosure_value": "ход {turn}, через {after}",
        "none_yet": "нет",
        "better": "Вопросы, которые стоит попробовать",
        "better_turn": "Ход {turn}",
        "problem_suggestive": "вместо наводящего вопроса",
        "problem_multiple": "по одному вопросу",
        "problem_option_posing": "дайте рассказать самому",
        "problem_trust_drop": "после падения доверия",
        "transcript": "Стенограмма",
        "turn": "Ход",
        "rule": "правило",
        "fallback": "запасной ответ",
        "cue": "признак",
        "topic": "тема",
        "disclosed": "раскрыто",
        "contaminated_mark": "наведено",
        "trust_short": "доверие",
        "event": "событие",
        "no_text": "(нет текста)",
        "notes": "Заметки инструктора",
        "no_notes": "Заметок пока нет.",
        "ground_truth": "Как было на самом деле (заметки к персонажу)",
        "learning_objectives": "Учебные цели",
        "ideal_path": "Хорошее интервью",
        "persona_notes": "Заметки",
        "all_facts": "Все факты",
        "fact": "Факт",
        "indicators": "Индикаторы",
        "key": "ключевой",
        "not_found": "не найден",
        "at_turn": "ход {turn}",
        "date": "Дата (UTC)",
        "recommended_short": "Рекомендуемые",
        "facts_short": "Найдено фактов",
        "report": "Отчёт",
        "open_report": "открыть",
        "sort_hint": "Нажмите на заголовок столбца, чтобы отсортировать.",
        "empty": "Сессий нет.",
        "speaker_trainee": "Слушатель",
        "speaker_persona": "Персонаж",
        "speaker_system": "Система",
    },
}
"""Report labels in English and Russian."""


def report_label(language: str, key: str, /, **params: object) -> str:
    """Return a report label in ``language`` (English if unsupported), formatted with ``params``."""
    template = REPORT_LABELS.get(language, REPORT_LABELS[DEFAULT_LANGUAGE])[key]
    return template.format(**params) if params else template


# -- environment and policy ----------------------------------------------------------------------------------


@cache
def environment() -> Environment:
    """Return the Jinja2 environment over the report templates, autoescaping everything."""
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(
            enabled_extensions=("html", "j2", "svg", "xml"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _asset(name: str) -> str:
    """Return the text of a packaged stylesheet or script template, exactly as it goes into the page."""
    return environment().get_template(name).render().strip()


def csp_hash(text: str) -> str:
    """Return the CSP source expression allowing an inline element whose content is exactly ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(style: str, script: str | None) -> str:
    """Return a policy that forbids every load and allows only this style (and script) by hash."""
    script_src = csp_hash(script) if script is not None else "'none'"
    return (
        f"default-src 'none'; style-src {csp_hash(style)}; script-src {script_src}; img-src 'none';"
        " font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _page(template: str, script_name: str | None, **context: Any) -> str:
    style = _asset("styles.css.j2")
    script = _asset(script_name) if script_name is not None else None
    return (
        environment()
        .get_template(template)
        .render(
            csp=content_security_policy(style, script),
            style=Markup(style),
            script=Markup(script) if script is not None else None,
            **context,
        )
    )


def format_time(moment: datetime | None) -> str:
    """Return a UTC time to the minute, or an empty string."""
    return "" if moment is None else to_utc(moment).strftime(TIME_FORMAT)


# -- session report ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactTag:
    """A fact disclosed in a turn, ready to show."""

    id: str
    summary: str
    indicators: tuple[tuple[str, str], ...]
    contaminated: bool


@dataclass(frozen=True, slots=True)
class TurnView:
    """One row of the annotated transcript."""

    seq: int
    number: int | None
    speaker: str
    speaker_label: str
    time: str
    text: str
    event: str | None = None
    question_type: str | None = None
    question_label: str = ""
    chip: str = CHIP_NEUTRAL
    cue: str | None = None
    rule: str | None = None
    fallback_level: int | None = None
    topic: str | None = None
    facts: tuple[FactTag, ...] = ()
    trust: str | None = None
    trust_change: str | None = None


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """One row of the facts-by-indicator table."""

    name: str
    found: tuple[str, ...]
    total: int


@dataclass
class DebriefView:
    """The debrief, flattened for the template."""

    facts_found: str = ""
    indicators: list[IndicatorRow] = field(default_factory=list)
    missed_indicators: list[str] = field(default_factory=list)
    key_missed: list[str] = field(default_factory=list)
    contaminated: list[tuple[str, int | None]] = field(default_factory=list)
    first_disclosure: str = ""
    duration: str = ""
    better: list[tuple[str, str, str]] = field(default_factory=list)
    all_facts: list[tuple[str, str, list[str], bool, str, bool]] = field(default_factory=list)


def chip_class(question_type: str | None) -> str:
    """Return the chip colour class of a question type: recommended, not recommended, or neutral."""
    if question_type in RECOMMENDED_TYPES:
        return CHIP_RECOMMENDED
    if question_type is None or question_type == QuestionType.other.value:
        return CHIP_NEUTRAL
    return CHIP_NOT_RECOMMENDED


def _turn_views(
    turns: Sequence[TurnRecord], persona: Persona | None, trust: Sequence[float], lang: str
) -> list[TurnView]:
    facts = {f.id: f for f in persona.facts} if persona is not None else {}
    numbers = engine_turn_numbers(turns)
    views = []
    previous_trust: float | None = (
        persona.variables[TRUST].initial if persona and TRUST in persona.variables else None
    )
    for turn in turns:
        number = numbers.get(turn.seq)
        speaker_label = report_label(lang, f"speaker_{turn.speaker}")
        base = TurnView(
            seq=turn.seq,
            number=number,
            speaker=turn.speaker,
            speaker_label=speaker_label,
            time=to_utc(turn.at).strftime(CLOCK_FORMAT),
            text=turn.text,
        )
        if turn.event is not None:
            views.append(replace(base, event=str(turn.event.get("kind", "?"))))
            continue
        if number is None:
            views.append(base)
            continue
        marked = turn.extra.get("contaminated")
        dirty = set(marked) if isinstance(marked, list) else set()
        tags = []
        for fact_id in turn.disclosed:
            fact = facts.get(fact_id)
            indicators = (
                tuple((i.value, indicator_name(lang, i.value)) for i in fact.indicators) if fact else ()
            )
            tags.append(
                FactTag(
                    fact_id,
                    fact.summary if fact else fact_id,
                    indicators,
                    fact_id in dirty or turn.question_type == QuestionType.suggestive.value,
                )
            )
        value = trust[number - 1] if number - 1 < len(trust) else None
        change = None
        if value is not None and previous_trust is not None and value != previous_trust:
            change = f"{value - previous_trust:+g}"
        if value is not None:
            previous_trust = value
        level = turn.extra.get("fallback_level")
        topic = turn.extra.get("topic")
        views.append(
            replace(
                base,
                question_type=turn.question_type,
                question_label=question_type_name(lang, turn.question_type) if turn.question_type else "",
                chip=chip_class(turn.question_type),
                cue=turn.cue,
                rule=turn.rule,
                fallback_level=level if isinstance(level, int) else None,
                topic=topic if isinstance(topic, str) else None,
                facts=tuple(tags),
                trust=format_value(value) if value is not None else None,
                trust_change=change,
            )
        )
    return views


def _debrief_view(debrief: Debrief, lang: str) -> DebriefView:
    by_id = {f.id: f for f in debrief.facts}
    view = DebriefView(
        facts_found=report_label(
            lang, "facts_found_value", found=len(debrief.disclosed), total=debrief.facts_total
        ),
        indicators=[
            IndicatorRow(indicator_name(lang, g.indicator), tuple(by_id[f].summary for f in g.found), g.total)
            for g in debrief.indicators
        ],
        missed_indicators=[indicator_name(lang, i) for i in debrief.indicators_missed],
        key_missed=[f.summary for f in debrief.key_facts_missed],
        contaminated=[(f.summary, f.turn) for f in debrief.contaminated],
        duration=format_duration(debrief.duration, lang),
        better=[
            (
                report_label(lang, "better_turn", turn=b.turn),
                report_label(lang, f"problem_{b.problem}"),
                b.question,
            )
            for b in debrief.better
        ],
    )
    if debrief.first_disclosure_turn is not None:
        after = debrief.first_disclosure_after
        view.first_disclosure = (
            report_label(
                lang,
                "first_disclosure_value",
                turn=debrief.first_disclosure_turn,
                after=format_duration(after, lang),
            )
            if after is not None
            else report_label(lang, "at_turn", turn=debrief.first_disclosure_turn)
        )
    else:
        view.first_disclosure = report_label(lang, "none_yet")
    for fact in debrief.facts:
        where = (
            report_label(lang, "at_turn", turn=fact.turn)
            if fact.turn is not None
            else report_label(lang, "not_found")
        )
        names = [indicator_name(lang, i) for i in fact.indicators]
        view.all_facts.append((fact.id, fact.summary, names, fact.key, where, fact.contaminated))
    return view


def _share_text(stats: QuestionStats, lang: str) -> str:
    share = stats.recommended_share
    if share is None:
        return report_label(lang, "no_questions")
    return report_label(
        lang,
        "recommended_value",
        share=format_share(share),
        recommended=stats.recommended,
        questions=stats.questions,
    )


def render_session_report(
    session: SessionRecord,
    turns: Sequence[TurnRecord],
    persona: Persona | None,
    debrief: Debrief | None,
    notes: Sequence[Note],
    trainee_label: str,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """Return a session's self-contained HTML report: header, debrief, charts, annotated transcript, notes."""
    lang = language if language in SUPPORTED else DEFAULT_LANGUAGE
    stats = debrief.questions if debrief is not None else question_stats(turns)
    if persona is not None and TRUST in persona.variables:
        spec = persona.variables[TRUST]
        start: float | None = spec.initial
        low, high = spec.min, spec.max
    else:
        start, low, high = None, 0.0, 10.0
    trust = debrief.trust if debrief is not None else variable_series(turns, TRUST, start)
    series = [start, *trust] if start is not None else list(trust)
    type_labels = {qt: question_type_name(lang, qt) for qt, _ in stats.counts}
    type_chart = charts.question_type_chart(
        stats.counts, RECOMMENDED_TYPES, type_labels, report_label(lang, "question_types")
    )
    trust_chart = (
        charts.trust_chart(
            [float(v) for v in series if v is not None],
            low,
            high,
            report_label(lang, "trust"),
            report_label(lang, "trust_axis"),
        )
        if series
        else ""
    )
    persona_name = persona.name if persona is not None else session.persona_id
    duration = (
        debrief.duration
        if debrief is not None
        else (session.ended_at or session.last_activity_at) - (session.started_at)
    )
    return _page(
        "session.html.j2",
        None,
        lang=lang,
        L=lambda key, **params: report_label(lang, key, **params),
        title=report_label(lang, "session_title", id=session.id, persona=persona_name),
        session=session,
        trainee=trainee_label,
        persona=persona,
        persona_name=persona_name,
        started=format_time(session.started_at),
        ended=format_time(session.ended_at),
        end_reason=end_reason_text(lang, session.end_reason) if session.ended_at else "",
        engine_turns=sum(1 for turn in turns if is_engine_turn(turn)),
        duration=format_duration(duration, lang),
        share=_share_text(stats, lang),
        counts=[(question_type_name(lang, qt), n, chip_class(qt)) for qt, n in stats.counts],
        debrief=_debrief_view(debrief, lang) if debrief is not None else None,
        contaminated_why=report_label(lang, "contaminated_why"),
        type_chart=Markup(type_chart),
        trust_chart=Markup(trust_chart),
        turns=_turn_views(turns, persona, trust, lang),
        notes=[(format_time(note.at), note.author, note.text) for note in notes],
    )


# -- cohort index --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CohortRow:
    """One session in the cohort index."""

    session_id: int
    trainee: str
    persona: str
    started_at: datetime
    turns: int
    recommended_share: float | None
    facts_found: int
    facts_total: int | None
    status: str
    href: str | None


def cohort_row(
    session: SessionRecord,
    turns: Sequence[TurnRecord],
    persona: Persona | None,
    trainee_label: str,
    href: str | None = None,
) -> CohortRow:
    """Summarise a session as a cohort-index row."""
    ledger = session.state.get("ledger")
    found = len(ledger) if isinstance(ledger, Mapping) else sum(len(turn.disclosed) for turn in turns)
    return CohortRow(
        session_id=session.id,
        trainee=trainee_label,
        persona=persona.name if persona is not None else session.persona_id,
        started_at=session.started_at,
        turns=sum(1 for turn in turns if is_engine_turn(turn)),
        recommended_share=question_stats(turns).recommended_share,
        facts_found=found,
        facts_total=len(persona.facts) if persona is not None else None,
        status=session.status,
        href=href,
    )


def _row_view(row: CohortRow, lang: str) -> dict[str, Any]:
    """Return the template values of one cohort row."""
    share = row.recommended_share
    return {
        "id": row.session_id,
        "trainee": row.trainee,
        "persona": row.persona,
        "date": format_time(row.started_at),
        "date_value": to_utc(row.started_at).isoformat(),
        "turns": row.turns,
        "share": format_share(share) if share is not None else "–",
        "share_value": f"{share:.4f}" if share is not None else "-1",
        "facts": f"{row.facts_found} / {row.facts_total}" if row.facts_total is not None else str(row.facts_found),
        "facts_value": row.facts_found,
        "status": t(lang, f"status_{row.status}") if row.status in ("open", "ended") else row.status,
        "href": row.href,
    }


def _cohort_page(lang: str, rows: list[dict[str, Any]], stream_marker: str | None = None) -> str:
    return _page(
        "cohort.html.j2",
        "sort.js.j2",
        lang=lang,
        L=lambda key, **params: report_label(lang, key, **params),
        title=report_label(lang, "cohort_title"),
        rows=rows,
        stream_marker=Markup(stream_marker) if stream_marker else None,
    )


def render_cohort_index(rows: Iterable[CohortRow], language: str = DEFAULT_LANGUAGE) -> str:
    """Return the cohort index: one sortable row per session, linking to the session reports."""
    lang = language if language in SUPPORTED else DEFAULT_LANGUAGE
    return _cohort_page(lang, [_row_view(row, lang) for row in rows])


class CohortIndexWriter:
    """Write ``index.html`` row by row through a scratch file, so an export of any size holds one row at a time.

    Rows appear in the order they are added (the table sorts itself when a header is clicked).
    """

    _MARKER = "<!--understudy-cohort-rows-->"

    def __init__(self, out_dir: Path, language: str) -> None:
        self.lang = language if language in SUPPORTED else DEFAULT_LANGUAGE
        self.path = out_dir / INDEX_FILE
        self._scratch = out_dir / f".{INDEX_FILE}.rows"
        self._rows = self._scratch.open("w", encoding="utf-8")
        self._template = environment().get_template("cohort_row.html.j2")
        self.count = 0

    def add(self, row: CohortRow) -> None:
        """Append one session's row."""
        self._rows.write(self._template.render(row=_row_view(row, self.lang)))
        self.count += 1

    def close(self) -> Path:
        """Write the page around the rows and remove the scratch file; return the index path."""
        self._rows.close()
        try:
            if not self.count:
                self.path.write_text(_cohort_page(self.lang, []), encoding="utf-8")
                return self.path
            head, tail = _cohort_page(self.lang, [], self._MARKER).split(self._MARKER)
            with self.path.open("w", encoding="utf-8") as out, self._scratch.open(encoding="utf-8") as rows:
                out.write(head)
                shutil.copyfileobj(rows, out)
                out.write(tail)
            return self.path
        finally:
            self._scratch.unlink(missing_ok=True)


# -- persona lookup and export -------------------------------------------------------------------------------


async def resolve_persona(lookup: PersonaLookup | None, session: SessionRecord) -> Persona | None:
    """Ask ``lookup`` for the session's persona version; accept a Persona, an object with ``.persona``, or an
    awaitable of either."""
    if lookup is None:
        return None
    found: object = lookup(session.persona_id, session.persona_version)
    if inspect.isawaitable(found):
        found = await found
    if isinstance(found, Persona):
        return found
    inner = getattr(found, "persona", None)
    return inner if isinstance(inner, Persona) else None


class _FindsPersona(Protocol):
    """A persona catalogue: :class:`bot.persona.catalog.Catalog` fits."""

    def find(self, persona_id: str) -> Any:
        """Return the loaded persona with this id (an object with ``.persona``), or None."""


def stored_persona_lookup(store: Store, catalog: _FindsPersona | None = None) -> PersonaLookup:
    """Return a lookup giving each session the persona version it ran on.

    The version's text kept in the store comes first (exactly what the trainee played); without it, the
    catalogue's current persona of the same id stands in, since fact ids rarely change between versions.
    Parsed versions are cached for the lookup's lifetime, so an export parses each version once.
    """
    cache: dict[str, Persona | None] = {}

    async def lookup(persona_id: str, version: str) -> Persona | None:
        if version not in cache:
            source = await store.get_persona_source(version)
            parsed: Persona | None = None
            if source is not None:
                try:
                    parsed = load_persona_text(source, f"<stored version {version} of {persona_id}>").persona
                except PersonaError as exc:
                    logger.warning("stored version %s of %s does not load: %s", version, persona_id, exc)
            cache[version] = parsed
        found = cache[version]
        if found is not None and found.id == persona_id:
            return found
        current = catalog.find(persona_id) if catalog is not None else None
        persona = getattr(current, "persona", None)
        return persona if isinstance(persona, Persona) else None

    return lookup


def session_file_name(session_id: int) -> str:
    """Return the file name of a session's report inside an export folder."""
    return SESSION_FILE.format(id=session_id, ext=HTML_FORMAT)


async def _report_of(
    item: ExportItem, personas: PersonaLookup | None, language: str
) -> tuple[str, Persona | None]:
    persona = await resolve_persona(personas, item.session)
    debrief = (
        debrief_for_session(persona, item.session, item.turns, language) if persona is not None else None
    )
    html = render_session_report(
        item.session, item.turns, persona, debrief, item.session.notes, item.trainee, language
    )
    return html, persona


async def export_html_items(
    items: AsyncIterator[ExportItem],
    out_dir: Path,
    personas: PersonaLookup | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[Path]:
    """Write one HTML report per session and then ``index.html``; hold one session in memory at a time."""
    written: list[Path] = []
    index = CohortIndexWriter(out_dir, language)
    try:
        async for item in items:
            html, persona = await _report_of(item, personas, language)
            name = session_file_name(item.session.id)
            path = out_dir / name
            path.write_text(html, encoding="utf-8")
            written.append(path)
            index.add(cohort_row(item.session, item.turns, persona, item.trainee, href=name))
    finally:
        written.append(index.close())
    logger.info("wrote %s session reports and the index into %s", index.count, out_dir)
    return written


async def export_html(
    store: Store,
    out_dir: Path,
    pseudonymize: bool = False,
    persona_lookup: PersonaLookup | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[Path]:
    """Export every stored session as an HTML report plus ``index.html`` into ``out_dir`` (created)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pseudonymizer = await Pseudonymizer.for_store(store) if pseudonymize else None
    return await export_html_items(iter_export_items(store, pseudonymizer), out_dir, persona_lookup, language)


async def session_report_html(
    store: Store,
    session_id: int,
    persona_lookup: PersonaLookup | None = None,
    pseudonymize: bool = False,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """Return one session's HTML report (Telegram's ``/transcript ID``); raise NotFound for an unknown id."""
    session = await store.get_session(session_id)
    turns = await store.get_turns(session_id)
    item = (
        (await Pseudonymizer.for_store(store)).item(session, turns)
        if pseudonymize
        else plain_item(session, turns)
    )
    html, _ = await _report_of(item, persona_lookup, language)
    return html


async def cohort_index_html(
    store: Store,
    persona_lookup: PersonaLookup | None = None,
    pseudonymize: bool = False,
    language: str = DEFAULT_LANGUAGE,
    link_reports: bool = False,
) -> str:
    """Return the cohort index of every session (for Telegram's ``/cohort``), streaming session by session.

    Sent alone, the index has no report files beside it, so links are left out unless ``link_reports``.
    """
    pseudonymizer = await Pseudonymizer.for_store(store) if pseudonymize else None
    rows = []
    async for item in iter_export_items(store, pseudonymizer):
        persona = await resolve_persona(persona_lookup, item.session)
        href = session_file_name(item.session.id) if link_reports else None
        rows.append(cohort_row(item.session, item.turns, persona, item.trainee, href=href))
    rows.sort(key=lambda r: (r.started_at, r.session_id), reverse=True)
    return render_cohort_index(rows, language)


register_exporter(HTML_FORMAT, export_html_items)
