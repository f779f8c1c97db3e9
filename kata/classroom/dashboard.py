"""The class dashboard: ``index.html``, one static file that works offline (inline SVG charts made here, a few lines
of inline script for sorting and filtering; no CDN, no server), and one page of verdicts per learner.

Everything that comes from a submission (the folder name, verdict texts that quote the learner's code) is escaped
with :func:`html.escape`; the pages also carry a Content-Security-Policy that allows no outside resource at all.
"""
from __future__ import annotations

import contextlib
import html
import json
import math
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from kata import catalog, report
from kata import messages as engine_messages
from kata.classroom import messages, outputs
from kata.classroom.outputs import PAGES, chapter_scores, display_name, number, read_report
from kata.status import CheckStatus, ExerciseStatus

__all__ = ["exercise_attribute", "histogram", "render_index", "render_learner", "write", "write_all"]

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
       "base-uri 'none'; form-action 'none'")
CSP_NO_SCRIPT = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
HISTOGRAM_BINS = 10
#: The order of the heat map's columns (what a learner meets first); attributes not listed follow by frequency.
ATTRIBUTE_ORDER = ("todo", "type", "shape", "dtype", "device", "values", "grad", "requires_grad", "is_leaf",
                   "shares_memory", "copies_memory", "contiguous", "exception", "timeout", "syntax", "import", "file", "unsubmitted")
#: Kinds that are no mistake in the code (untouched, not submitted, a file that could not be graded): left out of
#: "the most common mistake".
NOT_A_MISTAKE = ("todo", "unsubmitted", "file")
CHAPTER_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                   "#9c755f", "#bab0ac", "#2f6690", "#8cd17d")


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


# -- what the charts show ------------------------------------------------------------------------------------------

def exercise_attribute(ex: dict[str, Any]) -> str | None:
    """The kind of mistake of one learner's exercise (None when it passed): the attribute of the check that failed
    it, ``todo`` when untouched, ``file`` when its file could not be graded."""
    status = ex.get("status")
    if status == ExerciseStatus.PASS or status == ExerciseStatus.SKIP:
        return None
    if status == ExerciseStatus.TODO:
        return "todo"
    checks = [c for c in ex.get("checks", []) if isinstance(c, dict) and not c.get("advisory")]
    if not checks:
        ch = catalog.chapter_of_key(str(ex.get("chapter")))
        missing = ch is not None and str(ex.get("verdict", "")) == engine_messages.IMPORT_MISSING_FILE.format(
            file="/".join(("exercises", ch.key, ch.file)))
        return "unsubmitted" if missing else "file"
    bad = next((c for c in checks if c.get("status") in ("fail", "notrun")), None)
    if bad is None:
        bad = next((c for c in checks if c.get("status") == "todo"), None)
    if bad is None:
        return "other"
    return str(bad.get("attribute") or ("todo" if bad.get("status") == "todo" else "other"))


def first_line(text: Any, limit: int = 160) -> str:
    line = (report.clean(text, 2000).strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[:limit - 1] + "…"


def collect(out: Path, chapters: list[catalog.Chapter], rows: list[dict[str, Any]]) -> dict[str, Any]:
    exercises = [(ch, ex) for ch in chapters for ex in ch.exercises]
    passed: Counter[tuple[str, str]] = Counter()
    attrs: dict[tuple[str, str], Counter[str]] = {(ch.key, ex.name): Counter() for ch, ex in exercises}
    verdicts: dict[tuple[str, str], Counter[str]] = {(ch.key, ex.name): Counter() for ch, ex in exercises}
    learners = []
    for row in rows:
        rep = read_report(out, str(row["slug"]))
        for ex in rep.get("exercises", []):
            key = (str(ex.get("chapter")), str(ex.get("exercise")))
            if key not in attrs:
                continue
            attribute = exercise_attribute(ex)
            if attribute is None:
                if ex.get("status") == ExerciseStatus.PASS:
                    passed[key] += 1
                continue
            attrs[key][attribute] += 1
            if attribute not in NOT_A_MISTAKE:
                verdicts[key][first_line(ex.get("verdict", ""))] += 1
        learners.append({"row": row, "score": float(rep.get("score", row.get("score", 0)) or 0),
                         "max_score": float(rep.get("max_score", row.get("max_score", 0)) or 0),
                         "chapters": chapter_scores(rep)})
    seen: Counter[str] = Counter()
    for counter in attrs.values():
        seen.update(counter)
    columns = [a for a in ATTRIBUTE_ORDER if seen[a]] + sorted((a for a in seen if a not in ATTRIBUTE_ORDER),
                                                               key=lambda a: (-seen[a], a))
    return {"exercises": exercises, "passed": passed, "attrs": attrs, "verdicts": verdicts, "columns": columns,
            "learners": learners}


def histogram(scores: list[float], max_score: float, bins: int = HISTOGRAM_BINS) -> list[tuple[int, int, int]]:
    """(low, high, count) per bin of whole points: about ``bins`` bins of equal width over ``[0, max_score]``, the
    last one holding the full mark."""
    top = math.ceil(max(max_score, max(scores, default=0.0), 1.0))
    width = max(1, math.ceil(top / bins))
    counts = [0] * (top // width + 1)
    for s in scores:
        counts[min(len(counts) - 1, max(0, int(s // width)))] += 1
    return [(i * width, i * width + width - 1, count) for i, count in enumerate(counts)]


# -- SVG ------------------------------------------------------------------------------------------------------------

def svg_histogram(bins: list[tuple[int, int, int]]) -> str:
    w, h, left, bottom, top = 640, 240, 40, 40, 12
    plot_w, plot_h = w - left - 12, h - bottom - top
    peak = max((c for _, _, c in bins), default=0) or 1
    bar_w = plot_w / len(bins)
    parts = [f'<svg class="chart" id="histogram" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
             f'aria-label="{esc(messages.H_HISTOGRAM)}">']
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{w - 12}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
                     f'{round(peak * i / 4, 1):g}</text>')
    for i, (low, high, count) in enumerate(bins):
        bh = plot_h * count / peak
        x = left + i * bar_w
        label = messages.HIST_BAR.format(low=low, high=high, count=count)
        parts.append(f'<rect class="bar" data-count="{count}" x="{x + 2:.1f}" y="{top + plot_h - bh:.1f}" '
                     f'width="{bar_w - 4:.1f}" height="{bh:.1f}"><title>{esc(label)}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - bh - 3:.1f}" class="value" '
                         f'text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16:.1f}" class="axis" '
                     f'text-anchor="middle">{low}{"–" + str(high) if high > low else ""}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{h - 6}" class="axis-title" text-anchor="middle">'
                 f'{esc(messages.HIST_X)}</text>')
    parts.append(f'<text x="12" y="{top + plot_h / 2}" class="axis-title" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + plot_h / 2})">{esc(messages.HIST_Y)}</text></svg>')
    return "".join(parts)


def svg_pass_rate(data: dict[str, Any], total: int) -> str:
    exercises = data["exercises"]
    row_h, label_w, bar_max, w = 18, 260, 360, 700
    h = row_h * len(exercises) + 30
    parts = [f'<svg class="chart" id="pass-rate" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
             f'aria-label="{esc(messages.H_PASS_RATE)}">']
    for pct in (0, 25, 50, 75, 100):
        x = label_w + bar_max * pct / 100
        parts.append(f'<line x1="{x}" x2="{x}" y1="0" y2="{h - 24}" class="grid"/>'
                     f'<text x="{x}" y="{h - 8}" class="axis" text-anchor="middle">{pct}%</text>')
    chapter_index: dict[str, int] = {}
    for i, (ch, ex) in enumerate(exercises):
        colour = CHAPTER_COLOURS[chapter_index.setdefault(ch.key, len(chapter_index)) % len(CHAPTER_COLOURS)]
        passed = data["passed"][(ch.key, ex.name)]
        rate = passed / total if total else 0.0
        y = i * row_h
        label = messages.PASS_BAR.format(exercise=f"{ch.number} {ex.name}", passed=passed, total=total,
                                         percent=round(100 * rate))
        parts.append(f'<text x="{label_w - 8}" y="{y + 13}" class="label" text-anchor="end">'
                     f'{esc(ch.number)} {esc(ex.name)}</text>'
                     f'<rect class="rate" data-rate="{rate:.4f}" x="{label_w}" y="{y + 3}" '
                     f'width="{bar_max * rate:.1f}" height="{row_h - 6}" fill="{colour}">'
                     f'<title>{esc(label)}</title></rect>'
                     f'<text x="{label_w + bar_max * rate + 4:.1f}" y="{y + 13}" class="value">'
                     f'{round(100 * rate)}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap(data: dict[str, Any]) -> str:
    columns = data["columns"]
    peak = max((c[a] for c in data["attrs"].values() for a in columns), default=0) or 1
    head = "".join(f'<th class="attr" title="{esc(a)}">{esc(messages.ATTRIBUTE_LABELS.get(a, a))}</th>'
                   for a in columns)
    rows = []
    for ch, ex in data["exercises"]:
        key = (ch.key, ex.name)
        cells = []
        for a in columns:
            count = data["attrs"][key][a]
            alpha = 0.08 + 0.85 * count / peak if count else 0
            style = f' style="background: rgba(214, 39, 40, {alpha:.2f})"' if count else ""
            title = messages.CELL_TITLE.format(exercise=f"{ch.number} {ex.name}",
                                               attribute=messages.ATTRIBUTE_LABELS.get(a, a), count=count)
            cells.append(f'<td class="cell{" hot" if count > peak / 2 else ""}" data-count="{count}"{style} '
                         f'title="{esc(title)}">{count or ""}</td>')
        common = data["verdicts"][key].most_common(1)
        verdict = f'{esc(common[0][0])} <span class="n">({common[0][1]})</span>' if common else \
            f'<span class="n">{esc(messages.NO_MISTAKES)}</span>'
        rows.append(f'<tr><th class="ex">{esc(ch.number)} {esc(ex.name)}</th>{"".join(cells)}'
                    f'<td class="verdict">{verdict}</td></tr>')
    return (f'<table id="heatmap"><thead><tr><th>{esc(messages.COL_EXERCISE)}</th>{head}'
            f'<th>{esc(messages.COMMON_VERDICT)}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def learner_table(data: dict[str, Any], chapters: list[catalog.Chapter]) -> str:
    head = [f'<th data-type="text">{esc(messages.COL_LEARNER)}</th>']
    head += [f'<th data-type="number" title="{esc(ch.title)}">{esc(ch.number)}</th>' for ch in chapters]
    head += [f'<th data-type="number">{esc(messages.COL_TOTAL)}</th>',
             f'<th data-type="text">{esc(messages.COL_STATUS)}</th>']
    body = []
    for item in data["learners"]:
        row = item["row"]
        slug = str(row["slug"])
        name = display_name(row)
        folder = f' <span class="folder">{esc(row["learner"])}</span>' if name != str(row["learner"]) else ""
        cells = [f'<td data-value="{esc(name)}"><a href="{PAGES}/{esc(slug)}.html">{esc(name)}</a>{folder}</td>']
        for ch in chapters:
            value = item["chapters"].get(ch.key, 0)
            cells.append(f'<td class="num" data-value="{value}">{value}</td>')
        total = number(item["score"])
        cells.append(f'<td class="num total" data-value="{total}">{total}</td>')
        problem = " problem" if row.get("problem") else ""
        cells.append(f'<td class="status{problem}" data-value="{esc(row.get("status", ""))}">'
                     f'{esc(row.get("status", ""))}</td>')
        body.append(f'<tr>{"".join(cells)}</tr>')
    return (f'<table id="learners"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


STYLE = """
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", sans-serif; margin: 24px;
       color: #222; background: #fafafa; }
h1 { font-size: 1.5em; margin: 0 0 4px; } h2 { font-size: 1.15em; margin: 28px 0 8px; border-bottom: 2px solid #ddd; }
.summary { color: #444; } .settings { color: #777; font-size: 0.85em; }
.grid { stroke: #e4e4e4; } .axis { font-size: 11px; fill: #666; } .axis-title { font-size: 12px; fill: #444; }
.bar { fill: #4e79a7; } .value { font-size: 11px; fill: #333; } .label { font-size: 12px; fill: #333; }
.chart { background: #fff; border: 1px solid #e4e4e4; max-width: 100%; height: auto; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #e4e4e4; padding: 3px 7px; }
#heatmap td.cell { text-align: center; min-width: 2.6em; } #heatmap th.attr { white-space: nowrap; } #heatmap td.hot { color: #fff; font-weight: bold; }
#heatmap th.ex { text-align: left; font-weight: normal; white-space: nowrap; }
#heatmap td.verdict { max-width: 34em; font-size: 12px; color: #333; } .n { color: #888; }
#learners th { cursor: pointer; background: #f0f0f0; user-select: none; }
#learners th.asc::after { content: " ▲"; } #learners th.desc::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.total { font-weight: bold; }
td.status.problem { color: #b22; } #learners td:first-child { white-space: nowrap; }
#filter { font-size: 14px; padding: 4px 8px; width: 22em; margin-bottom: 8px; }
.verdict-text { white-space: pre-wrap; font-family: inherit; margin: 0; }
.folder { color: #888; font-size: 11px; } details.checks { margin-top: 4px; font-size: 12px; }
details.checks ul { margin: 4px 0; padding-left: 1.2em; } details.checks li { margin: 2px 0; }
.ex-pass { color: #2a7d2a; } .ex-fail, .ex-error { color: #b22; } .ex-todo { color: #777; }
"""

SCRIPT = """
(function () {
  var table = document.getElementById('learners');
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, index) {
    th.addEventListener('click', function () {
      var numeric = th.getAttribute('data-type') === 'number';
      var ascending = !th.classList.contains('asc');
      Array.prototype.forEach.call(heads, function (h) { h.classList.remove('asc', 'desc'); });
      th.classList.add(ascending ? 'asc' : 'desc');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].getAttribute('data-value'), y = b.cells[index].getAttribute('data-value');
        var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, 'ja');
        return ascending ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  var filter = document.getElementById('filter');
  filter.addEventListener('input', function () {
    var q = filter.value.trim().toLowerCase();
    Array.prototype.forEach.call(body.rows, function (r) {
      r.style.display = !q || r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
    });
  });
})();
"""


def page(title: str, body: str, script: str = "") -> str:
    csp = CSP if script else CSP_NO_SCRIPT
    tail = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{body}{tail}</body></html>\n")


def render_index(out: Path, meta: dict[str, Any], chapters: list[catalog.Chapter], rows: list[dict[str, Any]]) -> str:
    data = collect(out, chapters, rows)
    scores = [item["score"] for item in data["learners"]]
    max_score = max([item["max_score"] for item in data["learners"]] or
                    [sum(ex.points for ch in chapters for ex in ch.exercises)])
    problems = sum(1 for r in rows if r.get("problem"))
    summary = messages.SUMMARY_LINE.format(
        count=len(rows), mean=round(statistics.fmean(scores), 1) if scores else 0, max_score=number(max_score),
        median=number(statistics.median(scores)) if scores else 0,
        problems=messages.SUMMARY_PROBLEMS.format(count=problems) if problems else "")
    settings = messages.SUMMARY_SETTINGS.format(seed=meta.get("seed", "?"), manifest=str(meta.get("manifest", ""))[:12],
                                                chapters=", ".join(ch.number for ch in chapters))
    shard = f'<p class="settings">{esc(messages.SHARD_NOTE.format(shard=meta["shard"]))}</p>' \
        if meta.get("shard") else ""
    body = (f"<h1>{esc(messages.PAGE_TITLE)}</h1><p class=\"summary\">{esc(summary)}</p>"
            f'<p class="settings">{esc(settings)}</p>{shard}'
            f"<h2>{esc(messages.H_HISTOGRAM)}</h2>{svg_histogram(histogram(scores, max_score))}"
            f"<h2>{esc(messages.H_PASS_RATE)}</h2>{svg_pass_rate(data, len(rows))}"
            f"<h2>{esc(messages.H_HEATMAP)}</h2><p class=\"settings\">{esc(messages.HEATMAP_NOTE)}</p>"
            f"{heatmap(data)}"
            f"<h2>{esc(messages.H_TABLE)}</h2>"
            f'<label>{esc(messages.FILTER_LABEL)} <input id="filter" type="search" '
            f'placeholder="{esc(messages.FILTER_PLACEHOLDER)}"></label>{learner_table(data, chapters)}')
    return page(messages.PAGE_TITLE, body, SCRIPT)


def check_list(checks: Any) -> str:
    """Every check of an exercise with its own result and verdict (folded: the exercise's verdict is the first
    failing check's), so that an instructor can defend the grade check by check."""
    items = [c for c in checks if isinstance(c, dict)] if isinstance(checks, list) else []
    if not items:
        return ""
    failed = sum(1 for c in items if c.get("status") in (CheckStatus.FAIL, CheckStatus.TODO))
    lines = []
    for c in items:
        status = str(c.get("status", ""))
        attribute = str(c.get("attribute") or "")
        label = messages.ATTRIBUTE_LABELS.get(attribute, attribute)
        verdict = report.clean(c.get("verdict") or "")
        advisory = f' <span class="n">{esc(messages.ADVISORY)}</span>' if c.get("advisory") else ""
        lines.append(f'<li><span class="ex-{esc(status)}">{esc(messages.CHECK_STATUS.get(status, status))}</span> '
                     f'<code>{esc(c.get("function", ""))}</code>{advisory}'
                     + (f' <span class="n">[{esc(label)}]</span>' if label and status != CheckStatus.PASS else "")
                     + (f'<pre class="verdict-text">{esc(verdict)}</pre>' if verdict and status != CheckStatus.PASS
                        else "")
                     + "</li>")
    summary = messages.CHECKS_SUMMARY.format(count=len(items), failed=failed)
    return f'<details class="checks"><summary>{esc(summary)}</summary><ul>{"".join(lines)}</ul></details>'


def render_learner(row: dict[str, Any], rep: dict[str, Any]) -> str:
    name = display_name(row)
    if name != str(row["learner"]):
        name = f"{name} ({row['learner']})"
    parts = [f'<p><a href="../index.html">{esc(messages.BACK)}</a></p>',
             f"<h1>{esc(messages.LEARNER_PAGE_TITLE.format(learner=name))}</h1>",
             f'<p class="summary">{esc(number(rep.get("score", 0)))} / {esc(number(rep.get("max_score", 0)))}'
             f' — {esc(row.get("status", ""))}</p>',
             f'<table><thead><tr><th>{esc(messages.COL_EXERCISE)}</th><th>{esc(messages.COL_RESULT)}</th>'
             f'<th>{esc(messages.COL_SCORE)}</th>'
             f"<th>{esc(messages.COL_VERDICTS)}</th></tr></thead><tbody>"]
    for ex in rep.get("exercises", []):
        status = str(ex.get("status", ""))
        parts.append(f'<tr id="{esc(ex.get("chapter", ""))}-{esc(ex.get("exercise", ""))}">'
                     f'<td>{esc(ex.get("name", ""))}</td>'
                     f'<td class="ex-{esc(status)}">{esc(messages.EX_STATUS.get(status, status))}</td>'
                     f'<td class="num">{esc(number(ex.get("score", 0)))}/{esc(number(ex.get("max_score", 0)))}</td>'
                     f'<td><pre class="verdict-text">{esc(report.clean(ex.get("verdict", "")))}</pre>'
                     f'{check_list(ex.get("checks"))}</td></tr>')
    parts.append("</tbody></table>")
    return page(messages.LEARNER_PAGE_TITLE.format(learner=name), "".join(parts))


def write(out: Path, meta: dict[str, Any], chapters: list[catalog.Chapter], rows: list[dict[str, Any]]) -> None:
    out = Path(out)
    pages = out / PAGES
    pages.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for row in rows:
        slug = str(row["slug"])
        wanted.add(f"{slug}.html")
        (pages / f"{slug}.html").write_text(render_learner(row, read_report(out, slug)), encoding="utf-8")
    for stale in pages.glob("*.html"):
        if stale.name not in wanted:
            stale.unlink()
    tmp = out / ".index.html.tmp"
    tmp.write_text(render_index(out, meta, chapters, rows), encoding="utf-8")
    tmp.replace(out / "index.html")


def write_all(out: Path) -> None:
    """``scores.csv``, the dashboard and every learner's page, from the class folder's rows and reports."""
    out = Path(out)
    meta: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        meta = json.loads((out / "class.json").read_text(encoding="utf-8"))
    chapters = outputs.class_chapters(meta)
    rows = outputs.read_states(out)
    outputs.write_scores(out, chapters, rows)
    write(out, meta, chapters, rows)
