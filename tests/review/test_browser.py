"""A real headless Chromium opens a session report and the cohort index from file:// URLs.

It checks what only a browser can: the SVG charts take up space on the page, the report's own stylesheet and
the index's sorting script pass the Content-Security-Policy, a trainee's ``<script>`` or ``onerror`` never
runs, and nothing is fetched from anywhere. Screenshots go to ``test-artifacts/`` (git-ignored).

Debian's ``chromium`` package is driven through playwright's Python API with ``executable_path``; no browser
is downloaded. Without ``/usr/bin/chromium`` the test skips and says why (``.ci/run`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.review.debrief import build_debrief
from bot.review.report import CohortRow, render_cohort_index, render_session_report
from bot.store.base import Note
from tests.factories import EPOCH
from tests.review.test_debrief import interview, rich_persona
from tests.review.test_report import session_record

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 30_000

# Each payload would leave a trace if it ever ran: a global flag, a changed title, or a fetch to the network.
PAYLOAD = (
    '<script>window.__pwned = 1; document.title = "pwned";</script> **bold** <b>x</b> '
    '<img src="http://127.0.0.1:9/x.png" onerror="window.__pwned = 2">'
)
NAME_PAYLOAD = '<svg onload="window.__pwned = 3">Eve'
RECOMMENDED_COLUMN = "Recommended"
# --bg-rec in the stylesheet: seeing it proves the CSP let the hashed <style> apply.
REC_CHIP_BACKGROUND = "rgb(227, 238, 248)"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) to run it",
)


@pytest.fixture
def pages(tmp_path: Path) -> dict[str, Path]:
    """Write a session report with hostile trainee text and a cohort index; return their paths."""
    turns = [replace(t, text=PAYLOAD) if t.seq == 4 else t for t in interview()]
    session = session_record(trainee_name=NAME_PAYLOAD)
    persona = rich_persona()
    debrief = build_debrief(persona, turns, session.state)
    notes = [Note(session.id, EPOCH, "coach", "<script>window.__pwned = 4</script>")]
    report = tmp_path / "session-000007.html"
    report.write_text(
        render_session_report(session, turns, persona, debrief, notes, NAME_PAYLOAD), encoding="utf-8"
    )
    rows = [
        CohortRow(7, NAME_PAYLOAD, "Sam", EPOCH, 5, 0.5, 3, 5, "ended", report.name),
        CohortRow(8, "Boris", "Sam", EPOCH + timedelta(days=1), 9, 0.9, 4, 5, "ended", report.name),
        CohortRow(9, "Anna", "Aziz", EPOCH + timedelta(days=2), 2, None, 0, 6, "open", report.name),
        CohortRow(10, "Dana", "Aziz", EPOCH + timedelta(days=3), 7, 0.1, 1, 6, "ended", report.name),
    ]
    index = tmp_path / "index.html"
    index.write_text(render_cohort_index(rows), encoding="utf-8")
    return {"report": report, "index": index}


@pytest.fixture
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium headless through playwright's sync API and close it afterwards."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS
        )
        try:
            yield instance
        finally:
            instance.close()


def open_page(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """Open a file in a fresh page; return the page, every requested URL and the console errors."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, errors


def test_session_report_in_a_real_browser(browser: Any, pages: dict[str, Path]) -> None:
    page, requests, errors = open_page(browser, pages["report"])
    assert page.evaluate("window.__pwned") is None
    assert page.title() == "Session 7: Sam"
    assert page.locator("#turn-4 .text").inner_text() == PAYLOAD
    assert page.locator("script").count() == 0
    assert page.locator("main img").count() == 0
    for chart in ("#chart-question-types", "#chart-trust"):
        box = page.locator(chart).bounding_box()
        assert box is not None
        assert box["width"] > 0 and box["height"] > 0
    assert page.locator("#chart-trust circle").count() == 6
    bar = page.locator('#chart-question-types rect[data-key="directive"]').bounding_box()
    assert bar is not None and bar["width"] > 0
    chip = page.locator(".chip.rec").first
    assert chip.evaluate("el => getComputedStyle(el).backgroundColor") == REC_CHIP_BACKGROUND
    assert [url for url in requests if not url.startswith("file://")] == []
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "session-report.png"), full_page=True)


def session_order(page: Any) -> list[int]:
    """Return the session ids of the cohort table's rows, top to bottom."""
    ids: list[str] = page.locator("#cohort tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.session)"
    )
    return [int(i) for i in ids]


def test_cohort_index_sorts_in_a_real_browser(browser: Any, pages: dict[str, Path]) -> None:
    page, requests, errors = open_page(browser, pages["index"])
    assert page.evaluate("window.__pwned") is None
    assert session_order(page) == [7, 8, 9, 10]
    header = page.locator("#cohort thead th", has_text=RECOMMENDED_COLUMN)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert session_order(page) == [9, 10, 7, 8]
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    assert session_order(page) == [8, 7, 10, 9]
    trainee = page.locator("#cohort thead th", has_text="Trainee")
    trainee.locator("button").click()
    # "<" sorts before letters: the hostile name comes first, shown as the literal text it is.
    assert session_order(page) == [7, 9, 8, 10]
    assert page.locator("#cohort tbody tr").first.locator("td").nth(1).inner_text() == NAME_PAYLOAD
    assert [url for url in requests if not url.startswith("file://")] == []
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cohort-index.png"), full_page=True)
    page.locator("#cohort tbody tr").first.locator("a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("session-000007.html")
    assert page.evaluate("window.__pwned") is None


def test_cohort_index_reads_without_javascript(browser: Any, pages: dict[str, Path]) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(pages["index"].as_uri())
        assert session_order(page) == [7, 8, 9, 10]
        assert page.locator("#cohort thead button").count() == 0
        assert page.locator("#cohort thead th", has_text=RECOMMENDED_COLUMN).count() == 1
        assert page.locator("#cohort a").count() == 4
    finally:
        context.close()
