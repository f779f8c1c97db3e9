"""The engine's pytest plugin, the core both modes share: maps ``exercises/NN`` to the checks, supplies the module
under test, isolates global state, turns failures into Japanese verdicts and writes the report.

Loaded by the repository's ``conftest.py`` only (no pytest11 entry point), so it never leaks into other projects.
This module holds the options, the fixtures and ``pytest_configure``, which decides the run's mode once and registers
one plugin object per concern, each holding its own state (as pytest registers its own ``LFPlugin`` or
``TerminalReporter``):

- :class:`CheckRun` (``kata-checks``), in every mode: which checks belong to which exercise, each check's seed and
  global state, timeouts, verdicts and the report file;
- :class:`kata.learning.summary.LearnerSummary` (``kata-summary``): the per-exercise lines, the chapter table and
  the progress kept across runs;
- where the module under test runs: :class:`kata.learning.plugin.LearningPlugin` (``kata-learning``) imports it in
  this process; :class:`kata.grading.glue.GradingPlugin` (``kata-grading``, ``--kata-sandbox``) holds it in a
  sandbox worker.

Their stash keys are in :mod:`kata.stash`.
"""
from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import sys
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from kata import catalog, loader, messages, timeouts, verdict
from kata.api import mutants
from kata.api.inputs import seed_all
from kata.display import plain_consoles
from kata.errors import KataTimeout
from kata.frontend import say
from kata.learning.plugin import LearningPlugin
from kata.learning.summary import FILE_FAILURES, LearnerSummary
from kata.report import learning_result, render, to_learning
from kata.stash import HEADER, ITEM_INFO, NOTICE, RUN, SETTINGS, SUMMARY, TIMER, UNDER_TEST
from kata.state import GlobalState, check_threads
from kata.status import Attribute, CheckResult, CheckStatus

# The learner's terminal (Japanese header, collection line and closing counts) is a plugin of its own; pytest imports
# it (this module imports it only inside functions, so that pytest can still rewrite its asserts).
pytest_plugins = ["kata.learning.reporter"]


@dataclass(frozen=True)
class Settings:
    """The run's settings, decided once in ``pytest_configure`` from the options (and never changed)."""

    solutions: bool = False
    submission: Path | None = None
    report: Path | None = None
    report_format: str = "learning"  # --kata-report-format: learning (version 1) or json (kata grade's)
    seed: int = 0
    mutants: bool = False
    answers: bool = False  # the catalogue of correct answers (tests/answers/) instead of the wrong ones
    sandbox: bool = False  # grading mode: learner code runs in a sandbox worker (kata.grading.sandbox)
    course: catalog.Catalog = field(default_factory=catalog.default)  # the checks, references and chapters

    @property
    def mode(self) -> str:
        return "mutants" if self.mutants else "solutions" if self.solutions else \
            "submission" if self.submission else "exercises"

    @property
    def learner(self) -> bool:
        """A learner's run (their exercises or a submission), not the reference's or the wrong answers'."""
        return self.mode in ("exercises", "submission")

    @property
    def learner_root(self) -> Path:
        return self.submission or self.course.root


# -- options ------------------------------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata", messages.SUMMARY_TITLE)
    group.addoption("--solutions", action="store_true", default=False,
                    help=messages.OPT_SOLUTIONS)
    group.addoption("--kata-submission", metavar="DIR", default=None,
                    help=messages.OPT_SUBMISSION)
    group.addoption("--kata-report", metavar="FILE", default=None, help=messages.OPT_REPORT)
    group.addoption("--kata-report-format", choices=("learning", "json"), default="learning",
                    help=messages.OPT_REPORT_FORMAT)
    group.addoption("--kata-seed", metavar="N", default=None,
                    help=messages.OPT_SEED)
    group.addoption("--kata-mutants", action="store_true", default=False,
                    help=messages.OPT_MUTANTS)
    group.addoption("--kata-answers", action="store_true", default=False,
                    help=messages.OPT_ANSWERS)
    group.addoption("--kata-sandbox", action="store_true", default=False,
                    help=messages.OPT_SANDBOX)
    group.addoption("--kata-stream", metavar="FILE", default=None,
                    help=messages.OPT_STREAM)
    group.addoption("--kata-contract", metavar="FILE", default=None,
                    help=messages.OPT_CONTRACT)
    group.addoption("--kata-course", metavar="DIR", default=None,
                    help=messages.OPT_COURSE)
    group.addoption("--kata-isolation", choices=("root", "userns", "basic"), default=None,
                    help=messages.OPT_ISOLATION)


def _resolve_seed(config: pytest.Config) -> int:
    """CLI, then the KATA_SEED environment variable, then a fresh random seed."""
    for where, raw in (("--kata-seed", config.getoption("--kata-seed")), ("KATA_SEED", os.environ.get("KATA_SEED"))):
        if raw is None or raw == "":
            continue
        try:
            return int(raw)
        except ValueError:
            raise pytest.UsageError(messages.SEED_NOT_INTEGER.format(where=where, raw=raw)) from None
    return int.from_bytes(os.urandom(3), "little")


def course_root(config: pytest.Config) -> Path:
    """The course the checks come from: ``--kata-course DIR``; else pytest's rootdir when it holds a course (a
    ``checks/NN_topic/chapter.toml``, e.g. a synthetic course with its own ``pytest.ini`` and ``conftest.py``); else
    this repository."""
    explicit = config.getoption("--kata-course")
    if explicit:
        root = Path(explicit).resolve()
        if not catalog.Catalog(root).is_course():
            raise pytest.UsageError(messages.NOT_A_COURSE.format(root=root))
        return root
    if catalog.Catalog(config.rootpath).is_course():
        return config.rootpath.resolve()
    return catalog.ROOT


def course_of(config: pytest.Config) -> catalog.Catalog:
    """The catalog of the run's course (one per pytest session)."""
    return config.stash[SETTINGS].course


def pytest_configure(config: pytest.Config) -> None:
    # torch's import leaves a very large heap; pytest's end-of-session collections (unraisableexception) would walk it
    # again and again.  Freezing it keeps those collections to what the checks themselves create.
    gc.freeze()
    settings = _settings(config)
    config.stash[SETTINGS] = settings
    stream = config.getoption("--kata-stream")
    if settings.sandbox:
        from kata.grading import glue

        config.stash[UNDER_TEST] = glue.GradingPlugin(config, settings)  # its zygote starts now
        config.pluginmanager.register(config.stash[UNDER_TEST], "kata-grading")
    else:
        config.stash[UNDER_TEST] = LearningPlugin(settings)
        config.pluginmanager.register(config.stash[UNDER_TEST], "kata-learning")
    if stream:
        from kata.grading import glue

        glue.register_stream(config, stream)
    # The notice about a slow check is for a learner at a terminal; a grading run (its output is a log) has none.
    run = CheckRun(config, settings, terminal_fd=None if stream else _terminal_fd())
    config.stash[RUN] = run
    config.pluginmanager.register(run, "kata-checks")
    summary = LearnerSummary(config, settings, run)
    config.pluginmanager.register(summary, "kata-summary")
    plain_consoles()  # a console that cannot print ✔ / ✘ (cp932) gets ○ / × instead of an error
    if settings.answers:
        mutants.load_answers(settings.course.root / "tests" / "answers", settings.course)
    elif settings.mutants:
        mutants.load_all(settings.course.root / "tests" / "mutants", settings.course)
    config.args[:] = _rewrite_args(config.args, config.invocation_params.dir, settings)
    if settings.learner and not settings.sandbox and not stream and _only_checks(config, settings):
        # A learner's run: kata.learning.reporter's terminal, which asks for the header and the summary from here.
        config.stash[HEADER] = lambda: header_lines(config)
        config.stash[SUMMARY] = summary.write


def _settings(config: pytest.Config) -> Settings:
    """The run's settings from its options, checked once."""
    submission = config.getoption("--kata-submission")
    if submission is not None:
        submission = Path(submission).resolve()
        if not (submission / "exercises").is_dir():
            raise pytest.UsageError(messages.SUBMISSION_NO_EXERCISES.format(submission=submission))
    report = config.getoption("--kata-report")
    return Settings(
        solutions=config.getoption("--solutions"),
        submission=submission,
        report=Path(report).resolve() if report else None,
        report_format=config.getoption("--kata-report-format"),
        seed=_resolve_seed(config),
        mutants=config.getoption("--kata-mutants") or config.getoption("--kata-answers"),
        answers=config.getoption("--kata-answers"),
        sandbox=config.getoption("--kata-sandbox"),
        course=_catalog_for(course_root(config)),
    )


def _only_checks(config: pytest.Config, settings: Settings) -> bool:
    """Whether every path the run was given is the course's checks (a learner's run, after ``_rewrite_args``), not
    the engine's own tests or another folder."""
    checks = settings.course.checks.resolve()
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else config.invocation_params.dir / path).resolve()
        if path != checks and checks not in path.parents:
            return False
    return True


def _catalog_for(root: Path) -> catalog.Catalog:
    return catalog.default() if root == catalog.ROOT else catalog.Catalog(root)


def _terminal_fd() -> int | None:
    """A copy of the terminal's file descriptor, taken while pytest's capture is suspended (None in a notebook)."""
    try:
        return os.dup(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _rewrite_args(args: list[str], invocation_dir: Path, settings: Settings) -> list[str]:
    """``exercises/03``, ``exercises/03_numpy`` and ``exercises/03_numpy/numpy_bridge.py`` -> the chapter's checks."""
    out = []
    course = settings.course
    roots = [course.root] + ([settings.submission] if settings.submission else [])
    for arg in args:
        path_part, sep, rest = arg.partition("::")
        absolute = (invocation_dir / path_part).resolve() if not Path(path_part).is_absolute() else Path(path_part)
        parts: tuple[str, ...] | None = None
        for root in roots:
            try:
                parts = absolute.relative_to(root).parts
                break
            except ValueError:
                continue
        if not parts or parts[0] not in ("exercises", "solutions"):
            out.append(arg)
            continue
        if len(parts) == 1:
            out.append(str(course.checks))
            continue
        chapter = course.chapter(parts[1])
        if chapter is None:
            raise pytest.UsageError(messages.BAD_CHAPTER.format(
                token=parts[1], choices=", ".join(c.key for c in course.chapters())))
        if len(parts) >= 3:
            if parts[2] != chapter.file:
                raise pytest.UsageError(messages.BAD_CHAPTER_FILE.format(chapter=chapter.key, file=chapter.file, name=parts[2]))
            out.append(str(chapter.check_file) + (sep + rest if sep else ""))
        else:
            out.append(str(course.checks / chapter.key))
    return out


def header_lines(config: pytest.Config) -> list[str]:
    """What is checked, the seed (and how to replay it) and, for one chapter, its lesson."""
    s = config.stash[SETTINGS]
    target = messages.HEADER_TARGETS[s.mode].format(submission=s.submission)
    paths = [Path(a.split("::")[0]).resolve() for a in config.args]
    # A check file or anything in a chapter's folder, or the folder itself (`pytest exercises/01`).
    found = [_chapter_of_path(config, p) or (s.course.chapter_of_key(p.name) if p.parent == s.course.checks else None)
             for p in paths]
    chapters = {c.key for c in found if c is not None}
    ch = s.course.chapter_of_key(chapters.pop()) if len(chapters) == 1 and None not in found else None
    lines = say(messages.HEADER_TARGET, ch.number if ch else None, target=target, seed=s.seed).splitlines()
    if ch is not None:
        lines.append(say(messages.READ_LESSON, ch.number, key=ch.key))
    return lines


# -- fixtures -----------------------------------------------------------------------------------------------------

def _chapter_of_path(config: pytest.Config, path: Path) -> catalog.Chapter | None:
    return course_of(config).chapter_of_check(path)


def _chapter_of_check(request: pytest.FixtureRequest) -> catalog.Chapter:
    """The chapter of the requesting check; the engine's fixtures exist only for checks under checks/NN_topic/."""
    chapter = _chapter_of_path(request.config, request.node.path)
    assert chapter is not None, "ref and sub are only available to checks under checks/NN_topic/"
    return chapter


@pytest.fixture
def kata_mutant() -> mutants.Mutant | None:
    """The wrong answer under test in ``--kata-mutants`` mode (parametrised there), else ``None``."""
    return None


@pytest.fixture
def ref(request: pytest.FixtureRequest):
    """The reference module of the check's chapter (always from this repository's ``solutions/``)."""
    chapter = _chapter_of_check(request)
    return loader.load(chapter.reference_file(), f"kata_reference.c{chapter.key}", learner=False)


@pytest.fixture
def sub(request: pytest.FixtureRequest, kata_mutant: mutants.Mutant | None, ref):
    """The module under test: the learner's file, the reference (``--solutions``), a submission or a mutant.

    In grading mode (``--kata-sandbox``) it is a proxy to a sandbox worker that holds that module."""
    return request.config.stash[UNDER_TEST].under_test(request, _chapter_of_check(request), kata_mutant, ref)


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """A per-check seed derived from the session seed, so that inputs differ between runs but can be replayed."""
    return zlib.crc32(f"{request.config.stash[SETTINGS].seed}:{request.node.nodeid}".encode())


@pytest.fixture
def gen(seed: int):
    """A private ``torch.Generator`` for drawing a check's random inputs (never the global RNG)."""
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def nprng(seed: int):
    import numpy as np
    return np.random.default_rng(seed)


# -- the shared core ----------------------------------------------------------------------------------------------

class CheckRun:
    """The checks of one pytest session, in every mode: which exercise each check belongs to, each check's seed and
    global state, its time limit, its verdict, and at the end the report file.

    Its state: ``records`` (node id -> :class:`CheckResult`, in run order); ``expected`` (every check of an exercise,
    before deselection) and ``done`` (checks whose outcome is known: the call reported, or setup failed or skipped),
    so that progress never counts an exercise as solved from a partial run (-k on a check name, -x, --lf, Ctrl+C);
    ``timed_out`` (an exercise whose check timed out is not run further in this session: key -> seconds);
    ``terminal_fd`` (the terminal itself, past pytest's output capture, or None).
    """

    def __init__(self, config: pytest.Config, settings: Settings, terminal_fd: int | None):
        self.config = config
        self.settings = settings
        self.records: dict[str, CheckResult] = {}
        self.expected: dict[tuple[str, str], set[str]] = {}
        self.done: set[str] = set()
        self.timed_out: dict[tuple, float] = {}
        self.terminal_fd = terminal_fd

    def pytest_unconfigure(self) -> None:
        fd, self.terminal_fd = self.terminal_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return header_lines(config)

    # -- collection ---------------------------------------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        settings = self.settings
        if not settings.mutants or "kata_mutant" not in metafunc.fixturenames:
            return
        chapter = _chapter_of_path(metafunc.config, metafunc.definition.path)
        exercise = chapter.exercise_of_test(metafunc.definition.originalname) if chapter else None
        catalogue = mutants.answers_for if settings.answers else mutants.for_exercise
        found = catalogue(exercise.chapter, exercise.name) if exercise else []
        if found:
            metafunc.parametrize("kata_mutant", found, ids=[m.name for m in found])

    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        settings = self.settings
        keyword = (config.getoption("keyword") or "").strip()
        keep, drop = [], []
        for item in items:
            chapter = _chapter_of_path(config, item.path)
            name = getattr(item, "originalname", item.name)
            exercise = chapter.exercise_of_test(name) if chapter else None
            if chapter and exercise:
                item.stash[ITEM_INFO] = (chapter.key, exercise.name)
                # `-k grad_of_mean` means exactly that exercise, not every name it is a substring of.
                if keyword.isidentifier() and exercise.name != keyword \
                        and any(keyword == e.name for c in settings.course.chapters() for e in c.exercises):
                    drop.append(item)
                    continue
                if settings.mutants and "kata_mutant" not in getattr(getattr(item, "callspec", None), "params", {}):
                    drop.append(item)
                    continue
            elif settings.mutants and chapter:
                drop.append(item)
                continue
            keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    @pytest.hookimpl(wrapper=True)
    def pytest_pycollect_makeitem(self, collector: pytest.Collector, name: str):
        """Every check of an exercise, with every parametrisation, as the module makes them: before
        ``file::test_x``, ``--lf`` (which filters at collection), ``-k`` or ``--deselect`` leave some out.  Progress
        needs all of them.

        The checks of an exercise whose track the course leaves out are not collected at all."""
        result = yield
        chapter = _chapter_of_path(collector.config, collector.path)
        if chapter is not None and chapter.is_left_out_test(name):
            return []  # an exercise of a track the course leaves out ([tool.kata] tracks): not even collected
        if chapter is not None:
            for item in result if isinstance(result, list) else [result]:
                exercise = chapter.exercise_of_test(getattr(item, "originalname", name)) \
                    if isinstance(item, pytest.Item) else None
                if exercise is not None:
                    self.expected.setdefault((chapter.key, exercise.name), set()).add(item.nodeid)
        return result

    # -- running: global state, timeouts, verdicts --------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item):
        state = GlobalState.capture()
        if ITEM_INFO in item.stash:
            check_threads()  # restored after the check with the rest of `state`
            # Every check starts with the global generators seeded for it (from the session's seed and its name): in
            # learning mode and in the sandbox worker alike (kata.api.inputs.seed_all hands them over at the check's
            # first call), so that code drawing from them without seeding gets the same numbers in both modes, and
            # the worker's generators carry nothing from one check to the next.
            seed_all(zlib.crc32(f"global:{self.settings.seed}:{item.nodeid}".encode()))
        try:
            return (yield)
        finally:
            state.restore()

    @pytest.hookimpl(tryfirst=True)
    def pytest_timeout_set_timer(self, item: pytest.Item, settings: Any) -> bool | None:
        """Time out with a Japanese verdict instead of pytest-timeout's stack dump, on every OS
        (:mod:`kata.timeouts`); a check that is still running after a few seconds is announced."""
        if ITEM_INFO not in item.stash or threading.current_thread() is not threading.main_thread():
            return None
        item.stash[TIMER] = timeouts.start(settings.timeout, settings.method)
        item.stash[NOTICE] = timeouts.slow_notice(self.terminal_fd, *item.stash[ITEM_INFO], settings.timeout)
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_timeout_cancel_timer(self, item: pytest.Item) -> bool | None:
        timer = item.stash.get(TIMER, None)
        if timer is None:
            return None
        del item.stash[TIMER]
        timer.cancel()
        notice = item.stash.get(NOTICE, None)
        if notice is not None:
            notice.cancel()
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        key = _timeout_key(pyfuncitem)
        if key is not None and key in self.timed_out:
            raise NotRunAfterTimeout(self.timed_out[key])
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        if call.excinfo is not None and call.when == "call" and ITEM_INFO in item.stash:
            # The report's traceback, which pytest would format now (reading each entry's source file), is replaced
            # by the verdict below whatever it says: it is not made at all.
            item.repr_failure = _verdict_follows  # type: ignore[method-assign]
        report = yield
        info = item.stash.get(ITEM_INFO, None)
        if info is None:
            return report
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.done.add(item.nodeid)
        mutant = getattr(getattr(item, "callspec", None), "params", {}).get("kata_mutant")
        record = self.records.setdefault(item.nodeid, CheckResult(
            item.nodeid, info[0], info[1], getattr(item, "originalname", item.name),
            advisory=item.get_closest_marker("advisory") is not None, mutant=mutant.id if mutant else None))
        if report.skipped and report.when in ("setup", "call"):
            record.status = CheckStatus.SKIP
            record.verdict = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        elif report.failed and call.excinfo is not None:
            exc = call.excinfo.value
            if isinstance(exc, NotRunAfterTimeout):
                v = verdict.Verdict(CheckStatus.FAIL, messages.TIMEOUT.format(seconds=exc.seconds),
                                    Attribute.TIMEOUT_NOT_RUN)
            else:
                v = verdict.classify(exc)
                if isinstance(exc, KataTimeout):
                    # The exercise's other checks would wait out their own time limits: not run in this session.
                    key = _timeout_key(item)
                    if key is not None:
                        self.timed_out[key] = exc.seconds
            text = v.text
            if v.status == CheckStatus.FAIL and self.settings.learner \
                    and v.attribute not in FILE_FAILURES:  # the file's own error: no exercise's hint helps
                text += "\n" + say(messages.NEXT_HINT, info[0][:2], info[1])
            report.longrepr = text
            report.kata_status = v.status
            if record.status in (CheckStatus.PASS, CheckStatus.SKIP) or v.status == CheckStatus.FAIL:
                record.status, record.verdict, record.attribute = v.status, v.text, v.attribute
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport):
        if getattr(report, "kata_status", None) == CheckStatus.TODO and report.when == "call":
            return "failed", "T", (messages.MARK_TODO, {"yellow": True})
        return None

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, exitstatus: int):
        """The report file, once every check has reported."""
        result = yield
        if self.settings.report is not None:
            self._write_report(self.settings.report, exitstatus)
        return result

    def _write_report(self, path: Path, exitstatus: int) -> None:
        """The run's report, through the same model as ``kata grade``'s (:mod:`kata.report`): the learning report
        (version 1) or, with ``--kata-report-format=json``, ``kata grade``'s own format."""
        settings = self.settings
        result = learning_result(settings.course.chapters(), self.records, submission=str(settings.learner_root),
                                 seed=settings.seed, isolation="sandbox" if settings.sandbox else "none")
        if settings.report_format == "json":
            text = render(result, "json")
        else:
            text = json.dumps(to_learning(result, settings.mode, exitstatus), ensure_ascii=False, indent=1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# -- helpers -------------------------------------------------------------------------------------------------------

class NotRunAfterTimeout(Exception):
    """A check of an exercise that already timed out in this run: not run, failed with the timeout verdict."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds


def _timeout_key(item: pytest.Item) -> tuple | None:
    info = item.stash.get(ITEM_INFO, None)
    if info is None:
        return None
    mutant = getattr(getattr(item, "callspec", None), "params", {}).get("kata_mutant")
    return (*info, mutant.id if mutant else None)


def _verdict_follows(excinfo: Any, style: Any = None) -> str:  # noqa: ARG001 (pytest's Item.repr_failure)
    return ""
