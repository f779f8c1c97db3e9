"""Shared helpers for the engine's own tests.

Three things live here besides small helpers:

* **A timeout of their own.**  ``timeout = 20`` in pyproject is the learner's limit per check.  The engine's tests
  start interpreters and whole pytest sessions on machines that may be busy, so every test under ``tests/`` that
  has no ``@pytest.mark.timeout`` of its own gets ``ENGINE_TEST_TIMEOUT`` (unless ``--timeout`` is given).
* **Course runs keyed by chapter.**  The self-verification grades the whole course eight ways (references, stubs,
  references copied into ``exercises/``, the mutant catalogue, the catalogue of correct answers; and the same
  through the grading sandbox).  Each way
  is a fixture that gives the report of one chapter: the chapter of the exercise, mutant or chapter the test is
  parametrised with.  The first time a way is asked for, one pytest session in a subprocess runs every chapter
  that the selected tests need for it (so ``pytest tests -k 06`` runs chapter 06 only, and the full suite still
  starts one session per way).
* ``replace_exactly``: edits of source text that fail loudly when the text to replace is not there.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kata import catalog
from kata.api import mutants

pytest_plugins = ["pytester"]

ROOT = catalog.ROOT
TESTS = Path(__file__).resolve().parent
#: The engine's test course: two small chapters of its own (see its README.md), for tests of the engine itself.
ENGINE_COURSE = TESTS / "engine_course"
#: Its checks are run by the tests that use it, never collected as tests of their own.
collect_ignore = ["engine_course"]
#: The engine's tests' own time limit (seconds), for tests without an explicit ``@pytest.mark.timeout``.
ENGINE_TEST_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def torch_distributed_imported() -> None:
    """``torch.distributed.tensor`` and ``torch._dynamo`` imported once for the session (see ``pytester`` below):
    ``torch._dynamo`` imports ``torch._inductor.test_operators``, which registers an operator library too (an
    optimiser's first step imports it)."""
    with contextlib.suppress(ImportError):
        import torch.distributed.tensor
    with contextlib.suppress(ImportError):
        import torch._dynamo  # noqa: F401


@pytest.fixture
def pytester(torch_distributed_imported: None, pytester: pytest.Pytester) -> pytest.Pytester:
    """pytest's own, created after ``torch.distributed.tensor`` is imported (a session fixture is set up first):
    ``torch.testing`` imports that package on its first comparison, pytester's in-process runs drop the modules a run
    imported from ``sys.modules``, and torch cannot import it a second time (its operator library registers once per
    process), so a later test of the session that compares tensors would fail."""
    return pytester


def replace_exactly(text: str, old: str, new: str) -> str:
    """``text`` with its one occurrence of ``old`` replaced by ``new``; fails if ``old`` is absent or repeated, so
    that a test whose source edit no longer applies says so instead of testing the unedited source."""
    count = text.count(old)
    assert count == 1, f"expected exactly one occurrence of {old!r} in the source, found {count}"
    return text.replace(old, new)


def counts_line(**counts: int | str) -> str:
    """An fnmatch pattern for the learner's closing counts (kata.learning.reporter) with these counts, in the order the line
    writes them: ``counts_line(passed=8, failed=2)`` matches "Intro2DL カタ — チェック 10 個: 正解 8、不正解 2 (…)".
    A count may be "*"."""
    from kata import messages

    unknown = set(counts) - set(messages.STATS_WORDS)
    assert not unknown, f"no such count: {unknown}"
    parts = [messages.STATS_PART.format(word=word, count=counts[key])
             for key, word in messages.STATS_WORDS.items() if key in counts]
    return f"*{messages.SUMMARY_TITLE} * 個: {messages.LEGEND_SEPARATOR.join(parts)} (*"  # a console may lack "—"


def run_checks(report: Path, *args: str, cwd: Path = ROOT, timeout: float = 900) -> tuple[dict, str]:
    """Run the checks in a fresh interpreter and return the JSON report and the printed output."""
    env = dict(os.environ, KATA_SEED=os.environ.get("KATA_SEED", ""))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--kata-report={report}",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert report.exists(), f"no report written:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(report.read_text(encoding="utf-8")), proc.stdout


def all_exercises() -> list:
    return [pytest.param(ex, id=f"{ex.chapter}/{ex.name}") for ch in catalog.chapters() for ex in ch.exercises]


# -- the engine's tests' own timeout -------------------------------------------------------------------------------

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("timeout", None) is not None:  # --timeout on the command line: the developer's choice
        return
    for item in items:
        if item.path.is_relative_to(TESTS) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(ENGINE_TEST_TIMEOUT))


# -- course runs, keyed by chapter ---------------------------------------------------------------------------------

#: One seed for the learning-mode and grading-mode runs of the mutant catalogue, so that their verdicts compare.
MUTANT_SEED = str(int.from_bytes(os.urandom(3), "little"))


@dataclass(frozen=True)
class CourseRun:
    """One way of running the course's checks: the plugin's options, and whether the references are graded as a
    learner's submission (copied into ``exercises/`` of another folder)."""
    args: tuple[str, ...]
    copied: bool = False


COURSE_RUNS = {
    "reference_run": CourseRun(("--solutions",)),
    "stub_run": CourseRun(()),
    "copied_reference_run": CourseRun((), copied=True),
    "mutant_run": CourseRun(("--kata-mutants",)),
    # Through the grading boundary (--kata-sandbox): learner code in a sandbox worker.
    "sandbox_reference_run": CourseRun(("--solutions", "--kata-sandbox")),
    "sandbox_stub_run": CourseRun(("--kata-sandbox",)),
    "sandbox_mutant_run": CourseRun(("--kata-mutants", "--kata-sandbox", f"--kata-seed={MUTANT_SEED}")),
    # The mutant catalogue in learning mode with the same seed as sandbox_mutant_run.
    "seeded_mutant_run": CourseRun(("--kata-mutants", f"--kata-seed={MUTANT_SEED}")),
    # The catalogue of correct answers written another way (tests/answers/), in both modes with one seed.
    "answer_run": CourseRun(("--kata-answers", f"--kata-seed={MUTANT_SEED}")),
    "sandbox_answer_run": CourseRun(("--kata-answers", "--kata-sandbox", f"--kata-seed={MUTANT_SEED}")),
}

#: A rotating handful of further seeds for the mutant catalogue in every run of the suite (a wrong answer that
#: passes on some seeds is a hole: its telling case was left to chance).  ``kata dev check --seeds N`` runs many
#: more (the scheduled workflow .github/workflows/mutant-seeds.yml: 20).
ROTATING_SEEDS = [int.from_bytes(os.urandom(3), "little") for _ in range(3)]
ROTATING_RUNS = {f"mutant_run_seed_{seed}": seed for seed in ROTATING_SEEDS}
COURSE_RUNS.update({name: CourseRun(("--kata-mutants", f"--kata-seed={seed}")) for name, seed in ROTATING_RUNS.items()})


def chapter_of_item(item: pytest.Item) -> str | None:
    """The chapter key of the exercise, mutant or chapter a test is parametrised with."""
    callspec = getattr(item, "callspec", None)
    for value in callspec.params.values() if callspec else ():
        if isinstance(value, catalog.Exercise | mutants.Mutant):
            return value.chapter
        if isinstance(value, catalog.Chapter):
            return value.key
    return None


@dataclass
class CourseRuns:
    """Reports of the course runs, per run and chapter, made on first use."""
    workdir: Path
    wanted: dict[str, set[str]]  # run -> chapters that the selected tests need it for
    done: dict[str, dict[str, dict]] = field(default_factory=dict)  # run -> chapter -> its part of the report

    def report(self, name: str, chapter: str) -> dict:
        done = self.done.setdefault(name, {})
        if chapter not in done:
            keys = sorted((self.wanted.get(name, set()) | {chapter}) - done.keys())
            report = self._run(name, keys)
            for key in keys:
                done[key] = {**report, "exercises": [e for e in report["exercises"] if e["chapter"] == key],
                             "tests": [t for t in report["tests"] if t["chapter"] == key]}
        return done[chapter]

    def _run(self, name: str, keys: list[str]) -> dict:
        run = COURSE_RUNS[name]
        work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.workdir))
        args = list(run.args)
        if run.copied:
            shutil.copytree(ROOT / "solutions", work / "exercises")
            args.append(f"--kata-submission={work}")
        return run_checks(work / "report.json", *args, *(str(Path("checks") / key) for key in keys))[0]


WANTED = pytest.StashKey[dict[str, set[str]]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note which chapters each course run is needed for by the tests that will run (after -k, -m, ...)."""
    wanted: dict[str, set[str]] = {}
    for item in session.items:
        chapter = chapter_of_item(item)
        names = set(getattr(item, "fixturenames", ()))
        if "rotating_mutant_runs" in names:
            names |= ROTATING_RUNS.keys()
        for name in names & COURSE_RUNS.keys():
            if chapter is not None:
                wanted.setdefault(name, set()).add(chapter)
    session.config.stash[WANTED] = wanted


@pytest.fixture(scope="session")
def course_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CourseRuns:
    return CourseRuns(tmp_path_factory.mktemp("course"), request.config.stash.get(WANTED, {}))


def _course_report(name: str, request: pytest.FixtureRequest, runs: CourseRuns) -> dict:
    chapter = chapter_of_item(request.node)
    if chapter is None:
        raise pytest.UsageError(f"{request.node.nodeid}: a test that uses {name} must be parametrised with an "
                                "exercise, a mutant or a chapter (its run is made for that chapter)")
    return runs.report(name, chapter)


@pytest.fixture
def reference_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    return _course_report("reference_run", request, course_runs)


@pytest.fixture
def stub_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    return _course_report("stub_run", request, course_runs)


@pytest.fixture
def copied_reference_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    """The references copied into a learner's exercises/ tree, graded as a submission."""
    return _course_report("copied_reference_run", request, course_runs)


@pytest.fixture
def mutant_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    return _course_report("mutant_run", request, course_runs)


@pytest.fixture
def rotating_mutant_runs(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict[int, dict]:
    """The mutant catalogue in learning mode under each of this run's rotating seeds: ``{seed: report}``."""
    return {seed: _course_report(name, request, course_runs) for name, seed in ROTATING_RUNS.items()}


@pytest.fixture
def sandbox_reference_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    """The references through the grading boundary (``--kata-sandbox``): learner code in a sandbox worker."""
    return _course_report("sandbox_reference_run", request, course_runs)


@pytest.fixture
def sandbox_stub_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    return _course_report("sandbox_stub_run", request, course_runs)


@pytest.fixture
def sandbox_mutant_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    return _course_report("sandbox_mutant_run", request, course_runs)


@pytest.fixture
def seeded_mutant_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    """The mutant catalogue in learning mode with the same seed as ``sandbox_mutant_run``."""
    return _course_report("seeded_mutant_run", request, course_runs)


@pytest.fixture
def answer_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    """The catalogue of correct answers (``tests/answers/``) in learning mode."""
    return _course_report("answer_run", request, course_runs)


@pytest.fixture
def sandbox_answer_run(request: pytest.FixtureRequest, course_runs: CourseRuns) -> dict:
    """The catalogue of correct answers through the grading boundary, with the seed of ``answer_run``."""
    return _course_report("sandbox_answer_run", request, course_runs)
