"""``kata dev check``: the self-verification of some chapters, without the engine's test suite.

The same runs and the same judgements as ``tests/test_self_verification.py`` in learning mode, for the chapters
asked for only: the references pass every check, the untouched stubs make every check read 未着手, the references
copied into a learner's ``exercises/`` pass as a submission, and every catalogued wrong answer is rejected with a
verdict that names what differs.  Each of the four ways is one pytest session in a subprocess (run side by side)
that writes the plugin's JSON report; the grading-mode runs stay in the test suite.  Before running anything the
chapter's files are checked for what needs no run: skeleton marks left by ``kata dev new``, stubs and manifest in
step with the references (``kata dev sync``), the ladder of hints, the lesson's list of exercises, check names and
at least three wrong answers per exercise.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kata import catalog, messages
from kata.authoring import scaffold
from kata.status import CheckStatus

__all__ = ["RUNS", "ChapterResult", "RunBroken", "count_checks", "hint_problems", "load_mutants", "mutant_problems",
           "reference_problems", "run_all", "run_problems", "run_way", "static_problems"]

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: The four ways, in the order they are reported; each maps to the plugin options it adds.
RUNS: dict[str, tuple[str, ...]] = {"reference": ("--solutions",), "stub": (), "copied": (),
                                    "mutants": ("--kata-mutants",)}
MIN_MUTANTS = 3
HINTS = 3  # a question, the concept with a documentation link, a skeleton or a worked example (tests/test_hints.py)
BLANK = "____"
RUN_TIMEOUT = 3600.0
VERDICT_CHARS = 300


class RunBroken(Exception):
    """A run ended without writing its report (a collection error, a crash); the message is Japanese."""


@dataclass
class ChapterResult:
    key: str
    exercises: int
    checks: int = 0
    mutants: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= VERDICT_CHARS else text[:VERDICT_CHARS] + "…"


# -- what needs no run -------------------------------------------------------------------------------------------

def static_problems(chapter: catalog.Chapter, found_mutants: Sequence[Any]) -> list[str]:
    """Definitions, hints, check names and the size of the mutant catalogue of ``chapter``."""
    where = scaffold.files_of(chapter)
    problems = []
    tree = ast.parse(where.reference.read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    shown = where.reference.relative_to(where.root).as_posix()
    for ex in chapter.exercises:
        if ex.name not in defined:
            problems.append(messages.DEV_NOT_DEFINED.format(exercise=ex.name, file=shown))
        problems += hint_problems(ex)
        if where.lesson.is_file() and f"`{ex.name}`" not in where.lesson.read_text(encoding="utf-8"):
            problems.append(messages.DEV_LESSON_MISSING.format(
                exercise=ex.name, file=where.lesson.relative_to(where.root).as_posix()))
    checks = ast.parse(where.checks.read_text(encoding="utf-8")) if where.checks.is_file() else ast.Module([], [])
    names = [n.name for n in checks.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    orphans = [n for n in names if chapter.owner_of_test(n) is None]
    if orphans:
        problems.append(messages.DEV_ORPHAN_CHECKS.format(names=", ".join(orphans)))
    covered = {e.name for n in names if (e := chapter.exercise_of_test(n)) is not None}
    for ex in chapter.exercises:
        if ex.name not in covered:
            problems.append(messages.DEV_NO_CHECKS.format(exercise=ex.name))
        count = sum(1 for m in found_mutants if m.chapter == chapter.key and m.exercise == ex.name)
        if count < MIN_MUTANTS:
            problems.append(messages.DEV_FEW_MUTANTS.format(exercise=ex.name, count=count))
    return problems


def hint_problems(ex: catalog.Exercise) -> list[str]:
    """The ladder of three hints: a question, the concept with a documentation link, and a code skeleton with blanks
    or a worked example on other data (「例」; a one-liner's third rung is always one: tests/test_hints.py)."""
    if len(ex.hints) != HINTS:
        return [messages.DEV_HINT_COUNT.format(exercise=ex.name, count=len(ex.hints))]
    problems = [messages.DEV_HINT_JAPANESE.format(exercise=ex.name, rung=i)
                for i, hint in enumerate(ex.hints, start=1) if not JAPANESE.search(hint)]
    question, concept, skeleton = ex.hints
    if not ("？" in question or "?" in question) or BLANK in question:
        problems.append(messages.DEV_HINT_QUESTION.format(exercise=ex.name))
    if "https://" not in concept or BLANK in concept:
        problems.append(messages.DEV_HINT_CONCEPT.format(exercise=ex.name))
    if BLANK not in skeleton and messages.DEV_HINT_EXAMPLE_WORD not in (skeleton.splitlines() or [""])[0]:
        problems.append(messages.DEV_HINT_SKELETON.format(exercise=ex.name))
    return problems


# -- the four runs -----------------------------------------------------------------------------------------------

def run_way(way: str, chapters: Sequence[catalog.Chapter], workdir: Path, seed: int) -> dict:
    """One pytest session over ``chapters``' checks, the way ``way`` (a key of ``RUNS``); its JSON report."""
    root = catalog.ROOT
    folder = workdir / way
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.json"
    args = list(RUNS[way])
    if way == "copied":
        shutil.copytree(root / "solutions", folder / "exercises",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        args.append(f"--kata-submission={folder}")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--kata-report={report}",
               f"--kata-seed={seed}", *args, *(str(root / "checks" / c.key) for c in chapters)]
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=RUN_TIMEOUT, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if not report.is_file():
        output = (proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]).strip()
        raise RunBroken(messages.DEV_RUN_BROKEN.format(run=messages.DEV_RUN_NAMES[way], code=proc.returncode,
                                                       output=output))
    return json.loads(report.read_text(encoding="utf-8"))


def run_all(chapters: Sequence[catalog.Chapter], seed: int) -> dict[str, dict]:
    """The four runs side by side (each is a subprocess); ``{way: report}``."""
    with tempfile.TemporaryDirectory(prefix="kata-dev-check-") as tmp, \
            ThreadPoolExecutor(max_workers=len(RUNS)) as pool:
        futures = {way: pool.submit(run_way, way, chapters, Path(tmp), seed) for way in RUNS}
        return {way: future.result() for way, future in futures.items()}


# -- judging the reports ------------------------------------------------------------------------------------------

def _tests_of(run: dict, chapter: str, exercise: str) -> list[dict]:
    return [t for t in run["tests"] if t["chapter"] == chapter and t["exercise"] == exercise and not t["mutant"]]


def run_problems(chapter: catalog.Chapter, runs: dict[str, dict], found_mutants: Sequence[Any]) -> list[str]:
    problems = reference_problems(chapter, runs["reference"])
    for ex in chapter.exercises:
        for t in _tests_of(runs["copied"], chapter.key, ex.name):
            if t["status"] not in (CheckStatus.PASS, CheckStatus.SKIP):
                problems.append(messages.DEV_COPIED_FAILS.format(exercise=ex.name, nodeid=t["nodeid"],
                                                                 verdict=_short(t["verdict"])))
        for t in _tests_of(runs["stub"], chapter.key, ex.name):
            if t["status"] not in (CheckStatus.TODO, CheckStatus.SKIP):  # skip: hardware this machine lacks
                problems.append(messages.DEV_STUB_NOT_TODO.format(exercise=ex.name, nodeid=t["nodeid"],
                                                                  status=t["status"]))
    return problems + mutant_problems(chapter, runs["mutants"], found_mutants)


def reference_problems(chapter: catalog.Chapter, run: dict) -> list[str]:
    """Every check of ``chapter`` passes the reference in ``run`` (a reference run's report), or skips in Japanese."""
    problems = []
    for ex in chapter.exercises:
        reference = _tests_of(run, chapter.key, ex.name)
        for t in reference:
            if t["status"] not in (CheckStatus.PASS, CheckStatus.SKIP):
                problems.append(messages.DEV_REFERENCE_FAILS.format(exercise=ex.name, nodeid=t["nodeid"],
                                                                    verdict=_short(t["verdict"])))
            elif t["status"] == CheckStatus.SKIP and not JAPANESE.search(t["verdict"] or ""):
                problems.append(messages.DEV_SKIP_NOT_JAPANESE.format(nodeid=t["nodeid"],
                                                                      verdict=_short(t["verdict"])))
        if reference and not any(t["status"] == CheckStatus.PASS for t in reference):
            problems.append(messages.DEV_REFERENCE_ALL_SKIPPED.format(exercise=ex.name))
    return problems


def mutant_problems(chapter: catalog.Chapter, run: dict, found_mutants: Sequence[Any]) -> list[str]:
    """Every catalogued wrong answer of ``chapter`` is rejected in ``run`` (a mutant run's report) with a verdict
    that says what its catalogue entry expects."""
    problems = []
    for m in found_mutants:
        if m.chapter != chapter.key or chapter.exercise(m.exercise) is None:  # another chapter, or a left-out track
            continue
        results = [t for t in run["tests"] if t["mutant"] == m.id and t["chapter"] == m.chapter]
        failing = [t for t in results if t["status"] == CheckStatus.FAIL]
        if not results:
            problems.append(messages.DEV_MUTANT_NOT_RUN.format(mutant=m.id))
        elif not failing:
            problems.append(messages.DEV_MUTANT_PASSES.format(mutant=m.id, exercise=m.exercise))
        elif not any(all(fragment in (t["verdict"] or "") for fragment in m.expect) for t in failing):
            verdicts = " / ".join(_short(t["verdict"]) for t in failing[:3])
            problems.append(messages.DEV_MUTANT_UNNAMED.format(mutant=m.id, expect="」「".join(m.expect), verdicts=verdicts))
    return problems


def count_checks(chapter: catalog.Chapter, runs: dict[str, dict]) -> int:
    return sum(1 for t in runs["reference"]["tests"] if t["chapter"] == chapter.key and not t["mutant"])


def load_mutants() -> list[Any]:
    """The mutant catalogue (imports torch: the wrong answers are torch code)."""
    from kata.api import mutants

    return list(mutants.load_all(catalog.ROOT / "tests" / "mutants"))
