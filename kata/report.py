"""Grading results and the report formats graders read.

:class:`GradeResult` is what ``kata grade`` found (per chapter, per exercise, per check); the renderers turn it into

- ``gradescope``: Gradescope's ``results.json`` (one test per exercise, with its points),
- ``classroom``: the JSON that GitHub Classroom's autograding reporter reads (``max_score``, one test per exercise
  with ``score``),
- ``exercism``: Exercism's test-runner interface, version 3 (one test per check, ``task_id`` = the exercise),
- ``json``: the plain report with everything.

Every learner-facing text is a Japanese verdict; nothing the learner's code printed is ever copied into a report.
"""
from __future__ import annotations

import ast
import functools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from kata import catalog, messages

FORMATS = ("json", "gradescope", "classroom", "exercism")
#: Exercise statuses: how an exercise ended up (``pass`` scores its points, nothing else does).
PASS, FAIL, TODO, SKIP, TAMPERED, ERROR = "pass", "fail", "todo", "skip", "tampered", "error"
#: Chapter outcomes: how its grading process ended.
COMPLETED, TIMEOUT, CRASHED, EXITED = "completed", "timeout", "crashed", "exited"
EXERCISM_OUTPUT_LIMIT = 500


@dataclass
class CheckResult:
    nodeid: str
    chapter: str
    exercise: str
    function: str
    status: str  # pass / fail / todo / skip / notrun
    verdict: str = ""
    attribute: str = ""

    @property
    def name(self) -> str:
        """The check's name without the file: ``test_x_fact[param]``."""
        return self.nodeid.split("::", 1)[-1]


@dataclass
class ExerciseResult:
    chapter: str
    exercise: str
    points: float
    score: float
    status: str
    verdict: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def number(self) -> str:
        return self.chapter[:2]

    @property
    def name(self) -> str:
        return f"{self.number} {self.exercise}"


@dataclass
class ChapterResult:
    key: str
    title: str
    file: str
    outcome: str = COMPLETED  # completed / timeout / crashed / exited / tampered / error
    message: str = ""
    findings: list[str] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    score: float = 0.0
    max_score: float = 0.0


@dataclass
class GradeResult:
    submission: str
    seed: int
    seconds: float = 0.0
    isolation: str = "fork"
    chapters: list[ChapterResult] = field(default_factory=list)
    exercises: list[ExerciseResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return _round(sum(e.score for e in self.exercises))

    @property
    def max_score(self) -> float:
        return _round(sum(e.points for e in self.exercises))

    def summary_lines(self) -> list[str]:
        """A short Japanese summary for the terminal: one line per chapter and the total."""
        lines = []
        for ch in self.chapters:
            note = ""
            if ch.outcome != COMPLETED:
                note = f"  ({ch.outcome}{': ' + ch.message.splitlines()[0] if ch.message else ''})"
            lines.append(messages.GRADE_CHAPTER_LINE.format(chapter=ch.key[:2], title=ch.title, score=ch.score,
                                                            max_score=ch.max_score, note=note))
        lines.append(messages.GRADE_SUMMARY.format(score=self.score, max_score=self.max_score,
                                                   chapters=len(self.chapters), exercises=len(self.exercises)))
        return lines


def _round(x: float) -> float:
    return round(float(x), 6)


def _number(x: float) -> int | float:
    """``1.0`` as ``1`` in JSON, ``0.5`` stays."""
    x = _round(x)
    return int(x) if x == int(x) else x


# -- test code for Exercism ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _functions_in(path: str) -> dict[str, str]:
    try:
        source = Path(path).read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return {}
    return {n.name: ast.get_source_segment(source, n) or "" for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_code(check: CheckResult) -> str:
    """The source of the check function, from the grader's own check file."""
    path = check.nodeid.split("::", 1)[0]
    return _functions_in(str(catalog.ROOT / path)).get(check.function, "")


# -- formats ------------------------------------------------------------------------------------------------------

def to_json(result: GradeResult) -> dict[str, Any]:
    """The plain report: totals, chapters, exercises and every check."""
    return {
        "format": "kata-grade", "version": 1,
        "submission": result.submission, "seed": result.seed, "isolation": result.isolation,
        "seconds": round(result.seconds, 3),
        "score": _number(result.score), "max_score": _number(result.max_score),
        "chapters": [{**asdict(c), "score": _number(c.score), "max_score": _number(c.max_score),
                      "seconds": round(c.seconds, 3)} for c in result.chapters],
        "exercises": [{"chapter": e.chapter, "exercise": e.exercise, "name": e.name, "status": e.status,
                       "score": _number(e.score), "max_score": _number(e.points), "verdict": e.verdict,
                       "checks": [asdict(c) for c in e.checks]} for e in result.exercises],
        "warnings": list(result.warnings),
    }


def to_gradescope(result: GradeResult, visibility: str = "visible") -> dict[str, Any]:
    """Gradescope's ``results.json``: one test per exercise, scored with its points."""
    tests = []
    for index, e in enumerate(result.exercises, start=1):
        tests.append({
            "name": e.name,
            "number": f"{int(e.number)}.{_index_in_chapter(result, e)}",
            "score": _number(e.score),
            "max_score": _number(e.points),
            "status": "passed" if e.status == PASS else "failed",
            "output": e.verdict,
            "tags": [e.chapter],
            "visibility": visibility,
        })
    return {
        "score": _number(result.score),
        "execution_time": int(round(result.seconds)),
        "output": "\n".join(result.summary_lines() + result.warnings),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _index_in_chapter(result: GradeResult, exercise: ExerciseResult) -> int:
    same = [e for e in result.exercises if e.chapter == exercise.chapter]
    return same.index(exercise) + 1


def to_classroom(result: GradeResult) -> dict[str, Any]:
    """What GitHub Classroom's autograding reporter reads: ``max_score`` and scored tests, one per exercise."""
    tests = [{"name": e.name, "status": "pass" if e.status == PASS else "fail", "score": _number(e.score),
              "message": e.verdict} for e in result.exercises]
    errored = result.exercises and all(e.status == ERROR for e in result.exercises)
    status = "error" if errored else "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 1, "status": status, "max_score": _number(result.max_score), "tests": tests}


def to_exercism(result: GradeResult) -> dict[str, Any]:
    """Exercism's test-runner interface, version 3: one test per check, ``task_id`` the exercise's position."""
    tests = []
    ran = False
    for task_id, e in enumerate(result.exercises, start=1):
        for c in e.checks:
            if c.status == "skip":
                continue  # Exercism has no "skipped"; a hardware skip is neither a pass nor a failure
            if e.status == TAMPERED:
                status, message = "fail", e.verdict
            elif c.status == "pass":
                status, message = "pass", None
            elif c.status == "notrun":
                status, message = "error", c.verdict
            else:
                status, message = "fail", c.verdict
            ran = ran or c.status != "notrun"
            entry = {"name": f"{e.name}: {c.name}", "status": status, "test_code": test_code(c), "task_id": task_id}
            if message is not None:
                entry["message"] = message
            tests.append(entry)
    if not ran:
        reason = next((c.message for c in result.chapters if c.message), "") or messages.GRADE_NO_CHECKS
        return {"version": 3, "status": "error", "message": reason, "tests": tests}
    status = "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 3, "status": status, "tests": tests}


RENDERERS: dict[str, Callable[[GradeResult], dict[str, Any]]] = {
    "json": to_json, "gradescope": to_gradescope, "classroom": to_classroom, "exercism": to_exercism,
}


def render(result: GradeResult, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return json.dumps(RENDERERS[fmt](result), ensure_ascii=False, indent=1) + "\n"
