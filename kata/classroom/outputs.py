"""What a class folder holds, and ``scores.csv`` made from its rows (the dashboard and every file made from the
rows at once: :func:`kata.classroom.dashboard.write_all`).

    CLASS_DIR/class.json           how the class was graded (seed, chapters, manifest hash, options, shard)
    CLASS_DIR/state/<slug>.json    one row per learner: name, key (content hash), status, score
    CLASS_DIR/reports/<slug>.json  the learner's report, as ``kata grade --format json`` writes it
    CLASS_DIR/learners/<slug>.html the learner's verdicts (linked from the dashboard)
    CLASS_DIR/scores.csv           learner, points per chapter, total, maximum, status (UTF-8 with BOM, for Excel)
    CLASS_DIR/index.html           the dashboard (one static file, works offline)
"""
from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path
from typing import Any

from kata import catalog, report
from kata import messages as engine_messages
from kata.classroom import messages
from kata.status import ChapterOutcome

__all__ = ["PAGES", "REPORTS", "STATE", "chapter_scores", "class_chapters", "csv_cell", "display_name", "number",
           "people_of", "read_report", "read_states", "row_status", "write_scores"]

STATE = "state"
REPORTS = "reports"
PAGES = "learners"
#: Characters that make a spreadsheet read a cell as a formula: such a learner name is written with a leading '.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def read_states(out: Path) -> list[dict[str, Any]]:
    rows = []
    folder = Path(out) / STATE
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "learner" in data and "slug" in data:
                rows.append(data)
    return sorted(rows, key=lambda r: (str(r["learner"]), str(r["slug"])))


def read_report(out: Path, slug: str) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((Path(out) / REPORTS / f"{slug}.json").read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return {}


def people_of(row: dict[str, Any]) -> list[dict[str, str]]:
    """Who submitted the row's entry, as the roster said (a Gradescope export); [] when it did not say."""
    people = row.get("people")
    return [{k: str(p.get(k) or "") for k in ("name", "sid", "email")}
            for p in people if isinstance(p, dict)] if isinstance(people, list) else []


def display_name(row: dict[str, Any]) -> str:
    """The learner as the instructor knows them: the submitters' names (a group's joined), else the entry's name."""
    names = [p["name"] for p in people_of(row) if p["name"]]
    return "、".join(names) if names else str(row["learner"])


def number(x: Any) -> int | float:
    return report.json_number(float(x))


def row_status(result: report.GradeResult) -> str:
    """The status column of a graded learner: what kept the grading from being complete, in Japanese."""
    missing = {ch.key: engine_messages.IMPORT_MISSING_FILE.format(file="/".join(("exercises", ch.key, ch.file)))
               for ch in result.chapters}
    unreadable = [c for c in result.chapters if c.outcome == ChapterOutcome.ERROR and c.message != missing.get(c.key)]
    if result.chapters and all(c.outcome == ChapterOutcome.ERROR for c in result.chapters) and not unreadable:
        return messages.STATUS_NO_FILES
    notes = []
    if unreadable:
        notes.append(messages.STATUS_UNREADABLE_CHAPTERS.format(
            chapters=", ".join(f"{c.key[:2]} ({report.clean(c.message, 80).splitlines()[0]})" for c in unreadable)))
    syntax = sorted({e.chapter[:2] for e in result.exercises for c in e.checks if c.attribute == "syntax"})
    if syntax:
        notes.append(messages.STATUS_SYNTAX.format(chapters=", ".join(syntax)))
    if any(c.outcome == ChapterOutcome.TIMEOUT for c in result.chapters):
        notes.append(messages.STATUS_BUDGET)
    timeouts = [e.name for e in result.exercises if any(c.attribute == "timeout" for c in e.checks)]
    if timeouts:
        notes.append(messages.STATUS_TIMEOUT.format(exercises=", ".join(timeouts[:5])
                                                    + (" …" if len(timeouts) > 5 else "")))
    return "。".join(notes) if notes else messages.STATUS_OK


def class_chapters(meta: dict[str, Any]) -> list[catalog.Chapter]:
    keys = [str(k) for k in meta.get("chapters", [])]
    found = [catalog.chapter_of_key(k) for k in keys]
    chapters = [c for c in found if c is not None]
    return chapters or list(catalog.chapters())


def chapter_scores(rep: dict[str, Any]) -> dict[str, Any]:
    return {str(c.get("key")): number(c.get("score", 0)) for c in rep.get("chapters", []) if isinstance(c, dict)}


def csv_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def write_scores(out: Path, chapters: list[catalog.Chapter], rows: list[dict[str, Any]]) -> None:
    path = Path(out) / "scores.csv"
    tmp = path.with_name(".scores.csv.tmp")
    # With a Gradescope export's names: one line per submitter (a group's members each get the group's points, as
    # a gradebook wants them), with the student ID, the e-mail address and the submission folder.
    named = any(people_of(row) for row in rows)
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        who = [messages.CSV_LEARNER, messages.CSV_SID, messages.CSV_EMAIL, messages.CSV_FOLDER] if named \
            else [messages.CSV_LEARNER]
        writer.writerow([*who, *[c.key for c in chapters], messages.CSV_TOTAL, messages.CSV_MAX, messages.CSV_STATUS])
        for row in rows:
            rep = read_report(out, str(row["slug"]))
            scores = chapter_scores(rep)
            points = [*[scores.get(c.key, 0) for c in chapters], number(rep.get("score", row.get("score", 0))),
                      number(rep.get("max_score", row.get("max_score", 0))), csv_cell(str(row.get("status", "")))]
            if not named:
                writer.writerow([csv_cell(str(row["learner"])), *points])
                continue
            for person in people_of(row) or [{"name": str(row["learner"]), "sid": "", "email": ""}]:
                writer.writerow([csv_cell(person["name"] or str(row["learner"])), csv_cell(person["sid"]),
                                 csv_cell(person["email"]), csv_cell(str(row["learner"])), *points])
    tmp.replace(path)
