"""Grading results and the report formats graders read.

:class:`GradeResult` is what ``kata grade`` found (per chapter, per exercise, per check); the renderers turn it into

- ``gradescope``: Gradescope's ``results.json`` (one test per exercise, with its points),
- ``classroom``: the JSON that GitHub Classroom's autograding reporter reads (``max_score``, one test per exercise
  with ``score``),
- ``exercism``: Exercism's test-runner interface, version 3 (one test per check, ``task_id`` = the exercise),
- ``json``: the plain report with everything.

Every learner-facing text is a Japanese verdict; nothing the learner's code printed is ever copied into a report.
Statuses come from :mod:`kata.status` (a check is a :class:`kata.status.CheckResult`); the status words inside the
Gradescope, Classroom and Exercism formats (``passed``/``failed``, ``pass``/``fail``/``error``) are those systems'
own and stay literal.
"""
from __future__ import annotations

import ast
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from kata import catalog, messages
from kata.status import (
    GRADING_FIELDS,
    LEARNING_FIELDS,
    Attribute,
    ChapterOutcome,
    CheckResult,
    CheckStatus,
    ExerciseStatus,
    headline_rank,
)

FORMATS = ("json", "gradescope", "classroom", "exercism")
EXERCISM_OUTPUT_LIMIT = 500


@dataclass
class ExerciseResult:
    chapter: str
    exercise: str
    points: float
    score: float
    status: str  # an ExerciseStatus (pass scores its points, nothing else does)
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
    outcome: str = ChapterOutcome.COMPLETED
    message: str = ""
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
    #: The checks' node ids in the order they ran, where a format lists them so (the learning report); the
    #: exercises' own lists keep that order within each exercise.
    run_order: list[str] = field(default_factory=list)

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
            if ch.outcome != ChapterOutcome.COMPLETED:
                first = (clean(ch.message, 300).strip().splitlines() or [""])[0]
                note = f"  ({ch.outcome}{': ' + first if first else ''})"
            lines.append(messages.GRADE_CHAPTER_LINE.format(chapter=ch.key[:2], title=ch.title, score=ch.score,
                                                            max_score=ch.max_score, note=note))
        lines.append(messages.GRADE_SUMMARY.format(score=self.score, max_score=self.max_score,
                                                   chapters=len(self.chapters), exercises=len(self.exercises)))
        return lines


def _round(x: float) -> float:
    return round(float(x), 6)


def json_number(x: float) -> int | float:
    """``1.0`` as ``1`` in JSON, ``0.5`` stays."""
    x = _round(x)
    return int(x) if x == int(x) else x


# -- checks into exercises ----------------------------------------------------------------------------------------
# One aggregation for both modes: the learning plugin's per-exercise lines and report, and kata grade's scores.

def by_exercise(checks: Iterable[CheckResult]) -> dict[tuple[str, str], list[CheckResult]]:
    """The checks of each exercise ``(chapter key, exercise name)``, in run order."""
    out: dict[tuple[str, str], list[CheckResult]] = {}
    for check in checks:
        out.setdefault((check.chapter, check.exercise), []).append(check)
    return out


#: Which check speaks for an exercise: a failure beats a check that never ran, which beats a todo, a pass, a skip.
_HEADLINE_ORDER: dict[str, int] = {CheckStatus.FAIL: 4, CheckStatus.NOT_RUN: 3, CheckStatus.TODO: 2,
                                   CheckStatus.PASS: 1, CheckStatus.SKIP: 0}


def headline(checks: Iterable[CheckResult]) -> CheckResult | None:
    """The check that speaks for its exercise (``None`` without checks): the first of the most telling status;
    among failing checks, the one whose attribute is the most basic difference (:func:`kata.status.headline_rank`),
    then the first in run order."""
    best: CheckResult | None = None
    for check in checks:
        if best is None or _HEADLINE_ORDER[check.status] > _HEADLINE_ORDER[best.status] or (
                check.status == best.status == CheckStatus.FAIL
                and headline_rank(check.attribute) < headline_rank(best.attribute)):
            best = check
    return best


def exercise_statuses(records: dict[str, CheckResult]) -> dict[tuple[str, str], CheckResult]:
    """One record per exercise: its :func:`headline` check (the learning plugin's lines and report)."""
    out = {}
    for key, checks in by_exercise(records.values()).items():
        best = headline(checks)
        assert best is not None
        out[key] = best
    return out


def status_counts(records: dict[str, CheckResult]) -> dict[tuple[str, str], dict[str, int]]:
    """Per exercise, how many checks ended in each status (and how many were not run after a timeout)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for key, checks in by_exercise(records.values()).items():
        counts = out.setdefault(key, {})
        for check in checks:
            status = Attribute.TIMEOUT_NOT_RUN if check.attribute == Attribute.TIMEOUT_NOT_RUN else check.status
            counts[status] = counts.get(status, 0) + 1
    return out


def score_exercise(ex: catalog.Exercise, checks: list[CheckResult], bad: str | None,
                   ended: str | None) -> ExerciseResult:
    """``kata grade``'s result of one exercise: its points when every scored check passed (advisory checks are
    reported, not scored); the headline check's verdict otherwise.  ``bad``: why the learner's file could not be
    graded; ``ended``: why its chapter's run ended before any of its checks reported."""
    def out(status: ExerciseStatus, verdict: str) -> ExerciseResult:
        score = ex.points if status == ExerciseStatus.PASS else 0.0
        return ExerciseResult(ex.chapter, ex.name, ex.points, score, status, verdict, checks)

    if bad is not None:
        return out(ExerciseStatus.FAIL, bad)
    if not checks:
        return out(ExerciseStatus.ERROR, ended or messages.GRADE_NO_CHECKS)
    best = headline(c for c in checks if not c.advisory)
    if best is not None and best.status in (CheckStatus.FAIL, CheckStatus.NOT_RUN):
        return out(ExerciseStatus.FAIL, best.verdict)
    if best is not None and best.status == CheckStatus.TODO:
        return out(ExerciseStatus.TODO, best.verdict or messages.TODO)
    if best is not None and best.status == CheckStatus.PASS:
        verdict = messages.GRADE_PASS
        advice = [c for c in checks if c.advisory and c.status in (CheckStatus.FAIL, CheckStatus.TODO)]
        if advice:
            verdict += "\n" + advice[0].verdict + "\n" + messages.ADVISORY_NOTE
        return out(ExerciseStatus.PASS, verdict)
    return out(ExerciseStatus.SKIP, next((c.verdict for c in checks if c.verdict), ""))


def learning_result(chapters: Iterable[catalog.Chapter], records: dict[str, CheckResult], *, submission: str,
                    seed: int, isolation: str) -> GradeResult:
    """The model of a pytest session of the learning plugin (its ``--kata-report``), the same as ``kata grade``'s:
    every exercise at least one check of which ran (``records``: node id -> result, in run order), scored as
    ``kata grade`` scores it."""
    grouped = by_exercise(records.values())
    result = GradeResult(submission, seed, isolation=isolation, run_order=list(records))
    for chapter in chapters:
        exercises = [score_exercise(ex, grouped[(chapter.key, ex.name)], None, None) for ex in chapter.exercises
                     if (chapter.key, ex.name) in grouped]
        if exercises:
            result.chapters.append(ChapterResult(chapter.key, chapter.title, chapter.file,
                                                 score=sum(e.score for e in exercises),
                                                 max_score=sum(e.points for e in exercises)))
            result.exercises += exercises
    return result


# -- text from learner code ----------------------------------------------------------------------------------------

#: Longest verdict kept in a report (learner code can put megabytes into an exception message).
VERDICT_LIMIT = 2000
#: Dropped from learner text: C0 and C1 control characters but tab and newline, and the bidirectional overrides that
#: can make a line display as something else.
_CONTROL = {c: None for c in [*range(32), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
            if c not in (9, 10)}


def clean(text: Any, limit: int = VERDICT_LIMIT) -> str:
    """``text`` made safe for every report format: lone surrogates and other unencodable code points replaced,
    control characters and bidirectional overrides dropped (tab and newline kept), cut to ``limit`` characters."""
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + "…"
    text = text.encode("utf-8", "replace").decode("utf-8", "replace").translate(_CONTROL)
    return text.replace("\r", "")


# -- test code for Exercism ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _functions_in(path: str) -> dict[str, str]:
    """The body of each check function (without its ``def`` line and docstring), from the grader's own file."""
    try:
        source = Path(path).read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return {}
    lines = source.splitlines()
    out = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.body:
            continue
        body = node.body
        first = body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            body = body[1:]
        if not body:
            continue
        chunk = lines[body[0].lineno - 1:node.end_lineno]
        indent = min((len(line) - len(line.lstrip()) for line in chunk if line.strip()), default=0)
        out[node.name] = "\n".join(line[indent:] for line in chunk)
    return out


def test_code(check: CheckResult) -> str:
    """The body of the check function, from the grader's own check file."""
    path = check.nodeid.split("::", 1)[0]
    return _functions_in(str(catalog.ROOT / path)).get(check.function, "")


def exercise_task_ids() -> dict[tuple[str, str], int]:
    """A stable ``task_id`` per exercise: its position in the whole catalogue (not in this run's chapters)."""
    ids: dict[tuple[str, str], int] = {}
    for ch in catalog.chapters():
        for ex in ch.exercises:
            ids[(ch.key, ex.name)] = len(ids) + 1
    return ids


# -- formats ------------------------------------------------------------------------------------------------------

def to_json(result: GradeResult, visibility: str = "visible") -> dict[str, Any]:  # noqa: ARG001 (one signature for RENDERERS)
    """The plain report: totals, chapters, exercises and every check."""
    return {
        "format": "kata-grade", "version": 2,
        "submission": clean(result.submission, 4096), "seed": result.seed, "isolation": result.isolation,
        "seconds": round(result.seconds, 3),
        "score": json_number(result.score), "max_score": json_number(result.max_score),
        "chapters": [{**asdict(c), "message": clean(c.message),
                      "score": json_number(c.score),
                      "max_score": json_number(c.max_score), "seconds": round(c.seconds, 3)} for c in result.chapters],
        "exercises": [{"chapter": e.chapter, "exercise": e.exercise, "name": e.name, "status": e.status,
                       "score": json_number(e.score), "max_score": json_number(e.points), "verdict": clean(e.verdict),
                       "checks": [{**c.to_dict(GRADING_FIELDS), "verdict": clean(c.verdict)} for c in e.checks]}
                      for e in result.exercises],
        "warnings": [clean(w) for w in result.warnings],
    }


def to_gradescope(result: GradeResult, visibility: str = "visible") -> dict[str, Any]:
    """Gradescope's ``results.json``: one test per exercise, scored with its points, plain-text output."""
    tests = []
    for e in result.exercises:
        tests.append({
            "name": e.name,
            "number": f"{int(e.number)}.{_index_in_chapter(result, e)}",
            "score": json_number(e.score),
            "max_score": json_number(e.points),
            "status": "passed" if e.status == ExerciseStatus.PASS else "failed",
            "output": clean(e.verdict),
            "output_format": "text",
            "tags": [e.chapter],
            "visibility": visibility,
        })
    return {
        "score": json_number(result.score),
        "execution_time": round(result.seconds),
        "output": clean("\n".join(result.summary_lines() + result.warnings), 10_000),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _index_in_chapter(result: GradeResult, exercise: ExerciseResult) -> int:
    same = [e for e in result.exercises if e.chapter == exercise.chapter]
    return same.index(exercise) + 1


#: GitHub Classroom's reporter reads the result from one environment variable, base64-encoded; keep it far below
#: the 128 KiB limit of one environment string, whatever the learner's code put into its messages.
CLASSROOM_LIMIT = 48 * 1024


def to_classroom(result: GradeResult, visibility: str = "visible") -> dict[str, Any]:  # noqa: ARG001 (one signature for RENDERERS)
    """What GitHub Classroom's autograding reporter reads: ``max_score`` and one scored test per exercise.

    The reporter adds up the tests' ``score`` for both its log table and its annotation, so uneven points agree."""
    limit = 600
    while True:
        tests = [{"name": e.name, "status": "pass" if e.status == ExerciseStatus.PASS else "fail", "score": json_number(e.score),
                  "message": clean(e.verdict, limit), "test_code": "", "filename": "", "line_no": 0,
                  "execution_time": ""} for e in result.exercises]
        errored = bool(result.exercises) and all(e.status == ExerciseStatus.ERROR for e in result.exercises)
        status = "error" if errored else "pass" if all(t["status"] == "pass" for t in tests) else "fail"
        out = {"version": 1, "status": status, "max_score": json_number(result.max_score), "tests": tests}
        if len(json.dumps(out, ensure_ascii=True)) * 4 // 3 < CLASSROOM_LIMIT or limit <= 40:
            return out
        limit //= 2


#: What a Classroom learner reads when the workflow could not grade (its fallback result, ``classroom_error``).
CLASSROOM_NOT_GRADED = messages.CLASSROOM_NOT_GRADED
CLASSROOM_TAMPERED = messages.CLASSROOM_TAMPERED


def classroom_error(max_score: float, message: str) -> dict[str, Any]:
    """The Classroom result when grading did not finish: status ``error``, the full ``max_score`` (so that Classroom
    records 0 points, not nothing) and one errored test, whose message the reporter prints."""
    return {"version": 1, "status": "error", "max_score": json_number(max_score),
            "tests": [{"name": messages.CLASSROOM_ERROR_TEST, "status": "error", "score": 0, "message": clean(message, 600), "test_code": "",
                       "filename": "", "line_no": 0, "execution_time": ""}]}


def classroom_summary(result: GradeResult) -> str:
    """A readable Japanese summary for the grading step's log (the reporter shows messages of errored tests only):
    one line per exercise with its whole verdict indented below it when it did not pass (or passed with advice),
    then the chapters and the total."""
    lines = []
    for e in result.exercises:
        marks: dict[str, str] = {ExerciseStatus.PASS: messages.MARK_PASS,
                                 ExerciseStatus.TODO: messages.CLASSROOM_MARK_TODO}
        mark = marks.get(e.status, messages.MARK_FAIL)
        head = f"{mark} {e.name} ({json_number(e.score)}/{json_number(e.points)})"
        if e.status == ExerciseStatus.TODO:
            lines.append(f"{head} {messages.MARK_TODO}")
            continue
        lines.append(head)
        verdict = clean(e.verdict, 1500).strip()
        if verdict and verdict != messages.GRADE_PASS:
            lines += ["    " + line for line in verdict.splitlines() if line.strip()]
    return "\n".join(lines + [""] + result.summary_lines())


def from_json(data: dict[str, Any]) -> GradeResult:
    """The :class:`GradeResult` that :func:`to_json` wrote (``kata grade --format json``), to render another format
    from it (the Classroom workflow prints :func:`classroom_summary` and sends :func:`to_classroom`)."""
    result = GradeResult(str(data.get("submission", "")), int(data.get("seed", 0)),
                         seconds=float(data.get("seconds", 0.0)), isolation=str(data.get("isolation", "")),
                         warnings=[str(w) for w in data.get("warnings", [])])
    known = {f.name for f in fields(ChapterResult)}
    result.chapters = [ChapterResult(**{k: v for k, v in c.items() if k in known}) for c in data.get("chapters", [])]
    for e in data.get("exercises", []):
        checks = [CheckResult.from_dict(c) for c in e.get("checks", [])]
        result.exercises.append(ExerciseResult(str(e["chapter"]), str(e["exercise"]), float(e["max_score"]),
                                               float(e["score"]), str(e["status"]), str(e.get("verdict", "")),
                                               checks))
    return result


def _syntax_error(result: GradeResult) -> str | None:
    for e in result.exercises:
        for c in e.checks:
            if c.attribute == Attribute.SYNTAX:
                return clean(c.verdict, 500)
    return None


def to_exercism(result: GradeResult, visibility: str = "visible") -> dict[str, Any]:  # noqa: ARG001 (one signature for RENDERERS)
    """Exercism's test-runner interface, version 3: one test per check, ``task_id`` the exercise's stable number.

    A submission that cannot run (a syntax error, nothing submitted) is a top-level ``error`` with no tests."""
    syntax = _syntax_error(result)
    if syntax is not None:
        return {"version": 3, "status": "error", "message": syntax, "tests": []}
    if result.exercises and all(c.message for c in result.chapters) and \
            all(c.outcome == ChapterOutcome.ERROR for c in result.chapters):
        return {"version": 3, "status": "error", "message": clean(result.chapters[0].message, 500), "tests": []}
    ids = exercise_task_ids()
    tests = []
    ran = False
    for e in result.exercises:
        for c in e.checks:
            if c.status == CheckStatus.SKIP:
                continue  # Exercism has no "skipped"; a hardware skip is neither a pass nor a failure
            if c.status == CheckStatus.PASS:
                status, message = "pass", None
            elif c.status == CheckStatus.NOT_RUN:
                status, message = "error", clean(c.verdict, EXERCISM_OUTPUT_LIMIT)
            else:
                status, message = "fail", clean(c.verdict, EXERCISM_OUTPUT_LIMIT)
            ran = ran or c.status != CheckStatus.NOT_RUN
            entry = {"name": f"{e.name}: {c.name}", "status": status, "test_code": test_code(c),
                     "task_id": ids.get((e.chapter, e.exercise), 0)}
            if message is not None:
                entry["message"] = message
            tests.append(entry)
    if not ran:
        reason = next((c.message for c in result.chapters if c.message), "") or messages.GRADE_NO_CHECKS
        return {"version": 3, "status": "error", "message": clean(reason, 500), "tests": []}
    status = "pass" if all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 3, "status": status, "tests": tests}


def to_learning(result: GradeResult, mode: str, exitstatus: int) -> dict[str, Any]:
    """The learning plugin's report (``--kata-report``, version 1; ``kata list``, ``kata solution`` and
    ``kata dev check`` read it): per exercise its headline check's status and verdict as the learner's summary shows
    them (:func:`headline`), then every check in run order with the mutant it ran against."""
    checks = {c.nodeid: c for e in result.exercises for c in e.checks}
    exercises = []
    for e in result.exercises:
        best = headline(e.checks)
        assert best is not None, e
        exercises.append({"chapter": e.chapter, "exercise": e.exercise, "status": best.status, "points": e.points,
                          "verdict": best.verdict, "skipped": sum(c.status == CheckStatus.SKIP for c in e.checks)})
    return {"version": 1, "mode": mode, "seed": result.seed, "exitstatus": int(exitstatus), "exercises": exercises,
            "tests": [checks[nodeid].to_dict(LEARNING_FIELDS) for nodeid in result.run_order]}


RENDERERS: dict[str, Callable[..., dict[str, Any]]] = {
    "json": to_json, "gradescope": to_gradescope, "classroom": to_classroom, "exercism": to_exercism,
}


def render(result: GradeResult, fmt: str, visibility: str = "visible") -> str:
    if fmt not in RENDERERS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return json.dumps(RENDERERS[fmt](result, visibility=visibility), ensure_ascii=False, indent=1) + "\n"
