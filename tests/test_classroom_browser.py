"""The class dashboard in a real browser: Debian's Chromium, headless, driven by Playwright (``.ci/run`` installs
both; Playwright is pointed at the system browser, never at a download of its own).

The class is written directly as rows and reports (no grading): eight learners over chapters 01 and 02 whose
verdicts are chosen, so the charts' bars and cells are known.  Where the browser cannot start, these tests fail
with the reason: a dashboard nobody looked at is not a tested dashboard.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kata import catalog, report
from kata.classroom import grade, messages, roster
from kata.classroom.dashboard import write_all
from kata.status import ExerciseStatus

CHROMIUM = os.environ.get("KATA_CHROMIUM") or "/usr/bin/chromium"  # .ci/run: a GitHub runner has Chrome
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHAPTERS = ("01_setup", "02_creation")
SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = "<img src=x onerror=alert(1)>"
VERDICTS = {"shape": "形状が違います: <b>(2, 3)</b>", "dtype": "データ型が違います", "device": "デバイスが違います",
            "values": "値が違います", "timeout": "時間切れです"}


def _exercises() -> list[catalog.Exercise]:
    """The core exercises of the two chapters (13 of one point each; the challenges are left out of this class, as a
    teacher may leave them out), in the course's order."""
    out = []
    for key in CHAPTERS:
        ch = catalog.chapter_of_key(key)
        assert ch is not None
        out += [ex for ex in ch.exercises if ex.track == "core"]
    return out


def _plan(name: str, i: int, ex: catalog.Exercise) -> str:
    """What learner ``name`` got for the ``i``-th exercise: pass, todo or an attribute of a failure."""
    first = ex.chapter == "01_setup"
    return {
        "山田 太郎": "pass",
        "佐藤 花子": "todo",
        IMG_NAME: "pass" if i < 5 else "dtype",
        "alice": "pass" if first else "shape",
        "bob": "values" if first else "todo",
        "carol": "device" if ex.name == "cast_dtype" else "pass",
        "dave": "pass" if i < 7 else "shape",
        "eve": "timeout" if first else "pass",
        SCRIPT_NAME: "pass" if i < 3 else "todo",
    }[name]


#: Totals of the plan above (13 exercises of one point).
TOTALS = {"山田 太郎": 13, "佐藤 花子": 0, IMG_NAME: 5, "alice": 4, "bob": 0, "carol": 12, "dave": 7, "eve": 9,
          SCRIPT_NAME: 3}
#: Histogram of those totals in bins of two points (0-1, 2-3, ..., 12-13).
HISTOGRAM = [2, 1, 2, 1, 1, 0, 2]
#: Heat map columns: the kinds of mistake that occur.
ATTRIBUTES = 6  # todo, shape, dtype, device, values, timeout


def build_class(out: Path) -> None:
    (out / "class.json").parent.mkdir(parents=True, exist_ok=True)
    (out / "class.json").write_text(json.dumps({"format": "kata-class", "seed": 1, "chapters": list(CHAPTERS),
                                                "manifest": "synthetic"}), encoding="utf-8")
    exercises = _exercises()
    for name in TOTALS:
        result = report.GradeResult(name, 1, isolation="synthetic")
        for i, ex in enumerate(exercises):
            plan = _plan(name, i, ex)
            nodeid = f"checks/{ex.chapter}/test_x.py::test_{ex.name}"
            if plan == "pass":
                check = report.CheckResult(nodeid, ex.chapter, ex.name, f"test_{ex.name}", "pass")
                status, verdict = ExerciseStatus.PASS, "正解"
            elif plan == "todo":
                check = report.CheckResult(nodeid, ex.chapter, ex.name, f"test_{ex.name}", "todo", "未着手です",
                                           "todo")
                status, verdict = ExerciseStatus.TODO, "未着手です"
            else:
                check = report.CheckResult(nodeid, ex.chapter, ex.name, f"test_{ex.name}", "fail", VERDICTS[plan],
                                           plan)
                status, verdict = ExerciseStatus.FAIL, VERDICTS[plan]
            result.exercises.append(report.ExerciseResult(ex.chapter, ex.name, ex.points,
                                                          ex.points if status == ExerciseStatus.PASS else 0.0, status,
                                                          verdict, [check]))
        for key in CHAPTERS:
            ch = catalog.chapter_of_key(key)
            assert ch is not None
            mine = [e for e in result.exercises if e.chapter == key]
            result.chapters.append(report.ChapterResult(key, ch.title, ch.file, score=sum(e.score for e in mine),
                                                        max_score=sum(e.points for e in mine)))
        assert result.score == TOTALS[name]
        learner = roster.Learner(name, out / name, "folder")
        grade._finish(out, learner, "synthetic", result, "", grade.Outcome())
    write_all(out)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        pytest.fail(f"Playwright is not installed ({err}); .ci/run installs it with the dev extra")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium and fonts-noto-cjk packages")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as err:
            pytest.fail(f"Chromium did not start: {type(err).__name__}: {str(err)[:500]}")
        yield b
        b.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dashboard")
    build_class(out)
    return out


@pytest.fixture
def page(browser: Any, dashboard: Path) -> Iterator[tuple[Any, list[str]]]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on("request", lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file:") else None)
    pg.goto((dashboard / "index.html").as_uri())
    yield pg, problems
    context.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_dashboard_loads_offline_without_errors(page, dashboard, tmp_path):
    pg, problems = page
    assert pg.title() == messages.PAGE_TITLE
    pg.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert problems == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_charts_have_the_bars_and_cells_of_the_class(page):
    pg, problems = page
    counts = [int(x) for x in pg.eval_on_selector_all("#histogram rect.bar", "els => els.map(e => e.dataset.count)")]
    assert counts == HISTOGRAM
    rates = pg.eval_on_selector_all("#pass-rate rect.rate", "els => els.map(e => parseFloat(e.dataset.rate))")
    # The dashboard shows every exercise of the two chapters; the class's results are for the core ones only (the
    # challenges were handed in by nobody: rate 0).
    shown = [ex for key in CHAPTERS for ex in catalog.chapter_of_key(key).exercises]
    core = _exercises()
    assert len(rates) == len(shown)
    passed = {ex.name: sum(_plan(n, i, ex) == "pass" for n in TOTALS) for i, ex in enumerate(core)}
    assert rates == pytest.approx([passed.get(ex.name, 0) / len(TOTALS) for ex in shown], abs=1e-4)
    assert pg.locator("#heatmap tbody tr").count() == len(shown)
    assert pg.locator("#heatmap td.cell").count() == len(shown) * ATTRIBUTES
    # cast_dtype (the last core exercise): carol's device, the dtype of IMG_NAME, alice's and dave's shape, three todo.
    row = pg.locator("#heatmap tbody tr").nth([ex.name for ex in shown].index(core[-1].name))
    cells = dict(zip(row.locator("td.cell").evaluate_all("els => els.map(e => e.title)"),
                     row.locator("td.cell").evaluate_all("els => els.map(e => +e.dataset.count)")))
    by_label = {title.split(" × ")[1].split(":")[0]: count for title, count in cells.items()}
    assert by_label == {"未着手": 3, "形状": 2, "データ型": 1, "デバイス": 1, "値": 0, "時間切れ": 0}
    # Beside each exercise, its most common mistake (untouched exercises are none) and how many made it; a verdict
    # that quotes markup (learner code can put anything into an exception message) is shown as text.
    eighth = pg.locator("#heatmap tbody tr").nth([ex.name for ex in shown].index(core[7].name))
    assert eighth.locator("td.verdict").inner_text() == f"{VERDICTS['shape']} (2)"
    assert pg.locator("#heatmap b").count() == 0
    assert problems == []


def _column(pg: Any, index: int) -> list[str]:
    return pg.eval_on_selector_all(
        "#learners tbody tr", f"rows => rows.filter(r => r.style.display !== 'none').map(r => r.cells[{index}].innerText)")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_learner_table_sorts_and_filters(page):
    pg, problems = page
    total = 1 + len(CHAPTERS)
    assert sorted(_column(pg, 0)) == sorted(TOTALS)
    pg.click(f"#learners thead th:nth-child({total + 1})")
    assert [int(x) for x in _column(pg, total)] == sorted(TOTALS.values())
    pg.click(f"#learners thead th:nth-child({total + 1})")
    assert [int(x) for x in _column(pg, total)] == sorted(TOTALS.values(), reverse=True)
    pg.click("#learners thead th:nth-child(1)")
    ascending = _column(pg, 0)
    assert ascending.index("alice") < ascending.index("bob") < ascending.index("carol")
    pg.click("#learners thead th:nth-child(1)")
    assert _column(pg, 0) == ascending[::-1]
    pg.fill("#filter", "山田")
    assert _column(pg, 0) == ["山田 太郎"]
    pg.fill("#filter", "")
    assert len(_column(pg, 0)) == len(TOTALS)
    assert problems == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_markup_in_names_and_verdicts_is_shown_as_text(page, browser, dashboard):
    pg, problems = page
    names = pg.eval_on_selector_all("#learners tbody td:first-child a", "els => els.map(e => e.textContent)")
    assert SCRIPT_NAME in names and IMG_NAME in names
    assert pg.locator("#learners img").count() == 0
    assert pg.evaluate("document.scripts.length") == 1  # the dashboard's own
    # The learner's page of verdicts, reached from the table.
    pg.click(f"#learners a:text-is({json.dumps(SCRIPT_NAME)})")
    pg.wait_for_load_state()
    assert SCRIPT_NAME in pg.locator("h1").inner_text()
    assert pg.evaluate("document.scripts.length") == 0
    assert "未着手です" in pg.locator("body").inner_text()
    # A verdict quoting markup (learner code can put anything in an exception message) is text too.
    pg.goto((dashboard / "index.html").as_uri())
    pg.click("#learners a:text-is('alice')")
    pg.wait_for_load_state()
    assert VERDICTS["shape"] in pg.locator("body").inner_text()
    assert pg.locator("b").count() == 0
    assert problems == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_learner_page_unfolds_each_exercises_checks(browser, dashboard):
    """The checks behind each exercise's verdict, folded under it: closed at first, opened by a click, as text."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.goto((dashboard / "learners" / f"{roster.slug('alice')}.html").as_uri())
    folds = pg.locator("details.checks")
    assert folds.count() == len(_exercises())
    shape_row = pg.locator("tbody tr").nth(7)  # a chapter-02 exercise: alice's shape mistake
    fold = shape_row.locator("details.checks")
    check = fold.locator("li").first
    assert not check.is_visible()
    fold.locator("summary").click()
    assert check.is_visible()
    text = check.inner_text()
    assert f"test_{_exercises()[7].name}" in text and "[形状]" in text and VERDICTS["shape"] in text
    assert pg.locator("b").count() == 0
    assert problems == []
    context.close()
