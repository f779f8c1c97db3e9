"""The pytest plugin: maps ``exercises/NN`` to the checks, supplies the module under test, isolates global state,
turns failures into Japanese verdicts and prints the per-exercise lines and the chapter table.

Loaded by the repository's ``conftest.py`` only (no pytest11 entry point), so it never leaks into other projects.
"""
from __future__ import annotations

import _thread
import contextlib
import gc
import inspect
import io
import json
import os
import signal
import sys
import threading
import types
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from kata import catalog, loader, messages, mutants, verdict
from kata.compare import fail
from kata.display import PLAIN_ERRORS, display_path, display_width, pad, plain_consoles
from kata.errors import KataTimeout
from kata.frontend import say
from kata.inputs import seed_all
from kata.stash import ITEM_INFO, RECORDS, SETTINGS
from kata.state import GlobalState, LearnerWorld
from kata.status import LEARNING_FIELDS, SOLVED, Attribute, CheckResult, CheckStatus, ExerciseStatus, headline_rank

# The learner's terminal (Japanese header, collection line and closing counts) is a plugin of its own; pytest imports
# it (this module imports it only inside functions, so that pytest can still rewrite its asserts).
pytest_plugins = ["kata.reporter"]

STATE = pytest.StashKey[GlobalState]()
CACHE_KEY = "kata/progress"
# Progress must not count an exercise as solved from a partial run (-k on a check name, -x, --lf, Ctrl+C):
EXPECTED = pytest.StashKey[dict[tuple[str, str], set[str]]]()  # every check of an exercise, before deselection
DONE = pytest.StashKey[set[str]]()  # checks whose outcome is known (call reported, or setup failed / skipped)
# Timeouts: an exercise whose check timed out is not run further in this session (key -> seconds).
TIMED_OUT = pytest.StashKey[dict[tuple, float]]()
TIMER = pytest.StashKey["_CheckTimer"]()
NOTICE = pytest.StashKey["threading.Timer | None"]()
TERMINAL_FD = pytest.StashKey["int | None"]()  # the terminal itself, past pytest's output capture
SLOW_NOTICE_AFTER = 5.0  # seconds before a still-running check is announced
FILE_FAILURES = (Attribute.IMPORT, Attribute.SYNTAX)  # verdicts about the learner's file, not about an exercise


@dataclass
class Settings:
    solutions: bool = False
    submission: Path | None = None
    report: Path | None = None
    seed: int = 0
    mutants: bool = False
    answers: bool = False  # the catalogue of correct answers (tests/answers/) instead of the wrong ones
    sandbox: bool = False  # grading mode: learner code runs in a sandbox worker (kata.sandbox)
    course: catalog.Catalog = field(default_factory=catalog.default)  # the checks, references and chapters

    @property
    def mode(self) -> str:
        return "mutants" if self.mutants else "solutions" if self.solutions else \
            "submission" if self.submission else "exercises"

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
    submission = config.getoption("--kata-submission")
    if submission is not None:
        submission = Path(submission).resolve()
        if not (submission / "exercises").is_dir():
            raise pytest.UsageError(messages.SUBMISSION_NO_EXERCISES.format(submission=submission))
    report = config.getoption("--kata-report")
    settings = Settings(
        solutions=config.getoption("--solutions"),
        submission=submission,
        report=Path(report).resolve() if report else None,
        seed=_resolve_seed(config),
        mutants=config.getoption("--kata-mutants") or config.getoption("--kata-answers"),
        answers=config.getoption("--kata-answers"),
        sandbox=config.getoption("--kata-sandbox"),
        course=_catalog_for(course_root(config)),
    )
    config.stash[SETTINGS] = settings
    if settings.sandbox:
        from kata.sandbox import pytest_glue

        pytest_glue.configure(config)
    if config.getoption("--kata-stream"):
        from kata.sandbox import pytest_glue

        pytest_glue.register_stream(config, config.getoption("--kata-stream"))
    config.stash[RECORDS] = {}
    config.stash[EXPECTED] = {}
    config.stash[DONE] = set()
    config.stash[TIMED_OUT] = {}
    # The notice about a slow check is for a learner at a terminal; a grading run (its output is a log) has none.
    config.stash[TERMINAL_FD] = None if config.getoption("--kata-stream", None) else _terminal_fd()
    plain_consoles()  # a console that cannot print ✔ / ✘ (cp932) gets ○ / × instead of an error
    if settings.answers:
        mutants.load_answers(settings.course.root / "tests" / "answers", settings.course)
    elif settings.mutants:
        mutants.load_all(settings.course.root / "tests" / "mutants", settings.course)
    config.args[:] = _rewrite_args(config.args, config.invocation_params.dir, settings)
    if settings.mode in ("exercises", "submission") and not settings.sandbox and not config.getoption("--kata-stream") \
            and _only_checks(config, settings):
        # A learner's run: kata.reporter's terminal, which asks for the header and the summary from here.
        from kata import reporter

        config.stash[reporter.HEADER] = lambda: header_lines(config)
        config.stash[reporter.SUMMARY] = lambda title, markup: _summary(config, title, markup)


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


def pytest_unconfigure(config: pytest.Config) -> None:
    settings = config.stash.get(SETTINGS, None)
    if settings is not None and settings.sandbox:
        from kata.sandbox import pytest_glue

        pytest_glue.unconfigure(config)
    fd = config.stash.get(TERMINAL_FD, None)
    if fd is not None:
        config.stash[TERMINAL_FD] = None
        with contextlib.suppress(OSError):
            os.close(fd)


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


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header_lines(config)


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


# -- collection ---------------------------------------------------------------------------------------------------

def _chapter_of_path(config: pytest.Config, path: Path) -> catalog.Chapter | None:
    return course_of(config).chapter_of_check(path)


def _chapter_of_check(request: pytest.FixtureRequest) -> catalog.Chapter:
    """The chapter of the requesting check; the engine's fixtures exist only for checks under checks/NN_topic/."""
    chapter = _chapter_of_path(request.config, request.node.path)
    assert chapter is not None, "ref and sub are only available to checks under checks/NN_topic/"
    return chapter


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    settings = metafunc.config.stash[SETTINGS]
    if not settings.mutants or "kata_mutant" not in metafunc.fixturenames:
        return
    chapter = _chapter_of_path(metafunc.config, metafunc.definition.path)
    exercise = chapter.exercise_of_test(metafunc.definition.originalname) if chapter else None
    catalogue = mutants.answers_for if settings.answers else mutants.for_exercise
    found = catalogue(exercise.chapter, exercise.name) if exercise else []
    if found:
        metafunc.parametrize("kata_mutant", found, ids=[m.name for m in found])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS]
    keyword = (config.getoption("keyword") or "").strip()
    keep, drop = [], []
    for item in items:
        chapter = _chapter_of_path(config, item.path)
        name = getattr(item, "originalname", item.name)
        exercise = chapter.exercise_of_test(name) if chapter else None
        if chapter and exercise:
            item.stash[ITEM_INFO] = (chapter.key, exercise.name)
            # `-k grad_of_mean` means exactly that exercise, not every name it is a substring of.
            if keyword.isidentifier() and any(keyword == e.name for c in settings.course.chapters() for e in c.exercises) \
                    and exercise.name != keyword:
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
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str):
    """Every check of an exercise, with every parametrisation, as the module makes them: before ``file::test_x``,
    ``--lf`` (which filters at collection), ``-k`` or ``--deselect`` leave some out.  Progress needs all of them.

    The checks of an exercise whose track the course leaves out are not collected at all."""
    result = yield
    chapter = _chapter_of_path(collector.config, collector.path)
    if chapter is not None and chapter.is_left_out_test(name):
        return []  # an exercise of a track the course leaves out ([tool.kata] tracks): not even collected
    if chapter is not None:
        expected = collector.config.stash[EXPECTED]
        for item in result if isinstance(result, list) else [result]:
            exercise = chapter.exercise_of_test(getattr(item, "originalname", name)) \
                if isinstance(item, pytest.Item) else None
            if exercise is not None:
                expected.setdefault((chapter.key, exercise.name), set()).add(item.nodeid)
    return result


# -- fixtures -----------------------------------------------------------------------------------------------------

class UnderTest:
    """The module under test, imported lazily on first use so that an import error is that check's failure.

    A missing name is reported as a verdict rather than an AttributeError inside the check.
    """

    def __init__(self, load, file: str, session: Any = None, source: Any = None):
        self._load = load
        self._file = file
        self._module = None
        self._session = session  # grading mode: the sandbox session that holds the module
        self._source = source  # () -> kata.staticrules.Source: the module's text, never imported for that
        # Learning mode: the learner's configuration (default dtype, grad mode, flags…) kept apart from the check's,
        # as the sandbox worker keeps it in grading mode (kata.state.LearnerWorld).
        self._world = LearnerWorld()

    def _learner_state(self) -> dict[str, Any]:
        """The global state as the code under test left it (kata.state.learner_state)."""
        if self._session is not None:
            return self._session.learner_state()
        return self._world.state()

    @property
    def module(self):
        if self._module is None:
            self._module = self._load()
        return self._module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        module = self.module
        try:
            value = getattr(module, name)
        except AttributeError:
            fail(Attribute.MISSING, messages.MISSING_NAME, None, file=self._file, exercise=name)
        if self._session is None and isinstance(value, types.FunctionType):
            return self._world.fence(value)
        return value


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
    chapter = _chapter_of_check(request)
    settings = request.config.stash[SETTINGS]
    if settings.sandbox:
        from kata.sandbox import pytest_glue

        shown = f"exercises/{chapter.key}/{chapter.file}"
        session = pytest_glue.under_test(request, chapter, settings, kata_mutant)
        source = _mutant_source(kata_mutant) if kata_mutant is not None else _text_source(
            lambda: session.chapter.source, shown)
        return UnderTest(session.module, shown, session, source)
    if kata_mutant is not None:
        loader.LEARNER_FILES.add(kata_mutant.file)
        return UnderTest(lambda: mutants.apply(ref, kata_mutant), kata_mutant.file, source=_mutant_source(kata_mutant))
    if settings.solutions:
        path, role = chapter.reference_file(), "solutions"
    else:
        path, role = chapter.learner_file(settings.learner_root), settings.mode
    return UnderTest(lambda: loader.load(path, f"kata_under_test.{role}.c{chapter.key}"), display_path(path),
                     source=_text_source(path.read_bytes, display_path(path)))


def _text_source(read: Any, shown: str) -> Any:
    """The module's source as text for static op rules (:mod:`kata.staticrules`): the same bytes it is run from."""
    from kata.staticrules import Source

    def source() -> Source | None:
        try:
            data = read()
        except OSError:
            return None
        return Source(data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data), shown)

    return source


def _mutant_source(m: mutants.Mutant) -> Any:
    """A catalogued wrong answer's file as text, with the first line of its definition (one file holds many)."""
    from kata.staticrules import Source

    def source() -> Source | None:
        code = getattr(m.obj, "__code__", None)
        line = code.co_firstlineno if code is not None else None
        if line is None:
            with contextlib.suppress(OSError, TypeError):
                line = inspect.getsourcelines(m.obj)[1]
        try:
            text = Path(m.file).read_text(encoding="utf-8")
        except OSError:
            return None
        return Source(text, f"tests/{Path(m.file).parent.name}/{Path(m.file).name}", line)

    return source


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """A per-check seed derived from the session seed, so that inputs differ between runs but can be replayed."""
    return zlib.crc32(f"{request.config.stash[SETTINGS].seed}:{request.node.nodeid}".encode())


@pytest.fixture
def gen(seed: int):
    """A private ``torch.Generator`` for drawing a check's random inputs (never the global RNG)."""
    import torch
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def nprng(seed: int):
    import numpy as np
    return np.random.default_rng(seed)


# -- running: global state, timeouts, verdicts --------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item):
    state = GlobalState.capture()
    if ITEM_INFO in item.stash:
        # Checks use tiny tensors: one intra-op thread is faster, far faster on a busy machine.  Restored after.
        torch.set_num_threads(1)
        # Every check starts with the global generators seeded for it (from the session's seed and its name): in
        # learning mode and in the sandbox worker alike (kata.inputs.seed_all hands them over at the check's first
        # call), so that code drawing from them without seeding gets the same numbers in both modes, and the
        # worker's generators carry nothing from one check to the next.
        seed_all(zlib.crc32(f"global:{item.config.stash[SETTINGS].seed}:{item.nodeid}".encode()))
    try:
        return (yield)
    finally:
        state.restore()


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """Time out with a Japanese verdict instead of pytest-timeout's stack dump, on every OS.

    SIGALRM where the platform has it (POSIX, main thread); elsewhere (Windows) a watchdog thread that interrupts
    the main thread as Ctrl+C would, with a SIGINT handler that turns its own interrupts into ``KataTimeout`` and
    passes a real Ctrl+C on.  Either way a check that is still running after a few seconds is announced.
    """
    if ITEM_INFO not in item.stash or threading.current_thread() is not threading.main_thread():
        return None
    if settings.method == "signal" and _HAS_ALARM():
        timer: _CheckTimer = _AlarmTimer(settings.timeout)
    else:
        timer = _ThreadTimer(settings.timeout)
    timer.start()
    item.stash[TIMER] = timer
    item.stash[NOTICE] = _slow_notice(item, settings.timeout)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    timer = item.stash.get(TIMER, None)
    if timer is None:
        return None
    del item.stash[TIMER]
    timer.cancel()
    notice = item.stash.get(NOTICE, None)
    if notice is not None:
        notice.cancel()
    return True


def _HAS_ALARM() -> bool:
    # Looked up on every call: Windows has neither; the engine's tests delete them to act as Windows.
    return hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")


def _in_learner_code(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_filename in loader.LEARNER_FILES:
            return True
        frame = frame.f_back
    return False


class _CheckTimer:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def start(self) -> None:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError


class _AlarmTimer(_CheckTimer):
    """SIGALRM after ``seconds``, then every second while learner code is still running (it may swallow one)."""

    def start(self) -> None:
        fired = False

        def on_timeout(_signum: int, frame: Any) -> None:
            nonlocal fired
            if fired and not _in_learner_code(frame):
                return
            fired = True
            raise KataTimeout(self.seconds)

        signal.signal(signal.SIGALRM, on_timeout)
        signal.setitimer(signal.ITIMER_REAL, self.seconds, 1.0)

    def cancel(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


class _ThreadTimer(_CheckTimer):
    """For platforms without SIGALRM: a daemon thread interrupts the main thread (``_thread.interrupt_main``, the
    same path as Ctrl+C) after ``seconds`` and then every second; the SIGINT handler installed for the check raises
    ``KataTimeout`` for those interrupts and behaves as before for a real Ctrl+C."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.fired = False
        self.previous: Any = None

    def start(self) -> None:
        self.previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_sigint)
        threading.Thread(target=self._run, name="kata-timeout", daemon=True).start()

    def _run(self) -> None:
        wait = self.seconds
        while not self.done.wait(wait):
            with self.lock:
                if self.done.is_set():
                    return
                self.fired = True
                _thread.interrupt_main(signal.SIGINT)
            wait = 1.0

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.fired:
            if self.done.is_set():
                return  # the check ended as the timer fired: nothing left to stop
            raise KataTimeout(self.seconds)
        previous = self.previous
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    def cancel(self) -> None:
        with self.lock:
            self.done.set()
        signal.signal(signal.SIGINT, self.previous if self.previous is not None else signal.default_int_handler)


def _slow_notice(item: pytest.Item, timeout: float) -> threading.Timer | None:
    """After a few seconds, say which exercise the run is waiting on (on the terminal, past pytest's capture)."""
    fd = item.config.stash.get(TERMINAL_FD, None)
    if fd is None:
        return None
    chapter, exercise = item.stash[ITEM_INFO]
    after = max(1.0, min(SLOW_NOTICE_AFTER, timeout / 2))
    text = "\n" + messages.SLOW_CHECK.format(chapter=chapter[:2], exercise=exercise, seconds=f"{after:g}",
                                             limit=f"{timeout:g}") + "\n"
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"

    def say() -> None:
        with contextlib.suppress(OSError, LookupError):
            os.write(fd, text.encode(encoding, errors=PLAIN_ERRORS))

    notice = threading.Timer(after, say)
    notice.daemon = True
    notice.start()
    return notice


class NotRunAfterTimeout(Exception):
    """A check of an exercise that already timed out in this run: not run, failed with the timeout verdict."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    key = _timeout_key(pyfuncitem)
    if key is not None and key in pyfuncitem.config.stash[TIMED_OUT]:
        raise NotRunAfterTimeout(pyfuncitem.config.stash[TIMED_OUT][key])
    return None


def _timeout_key(item: pytest.Item) -> tuple | None:
    info = item.stash.get(ITEM_INFO, None)
    if info is None:
        return None
    mutant = getattr(getattr(item, "callspec", None), "params", {}).get("kata_mutant")
    return (*info, mutant.id if mutant else None)


def _verdict_follows(excinfo: Any, style: Any = None) -> str:  # noqa: ARG001 (pytest's Item.repr_failure)
    return ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    if call.excinfo is not None and call.when == "call" and ITEM_INFO in item.stash:
        # The report's traceback, which pytest would format now (reading each entry's source file), is replaced by
        # the verdict below whatever it says: it is not made at all.
        item.repr_failure = _verdict_follows  # type: ignore[method-assign]
    report = yield
    info = item.stash.get(ITEM_INFO, None)
    if info is None:
        return report
    records = item.config.stash[RECORDS]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        item.config.stash[DONE].add(item.nodeid)
    mutant = getattr(getattr(item, "callspec", None), "params", {}).get("kata_mutant")
    record = records.setdefault(item.nodeid, CheckResult(
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
                    item.config.stash[TIMED_OUT][key] = exc.seconds
        text = v.text
        if v.status == CheckStatus.FAIL and item.config.stash[SETTINGS].mode in ("exercises", "submission") \
                and v.attribute not in FILE_FAILURES:  # the file's own error: no exercise's hint helps
            text += "\n" + say(messages.NEXT_HINT, info[0][:2], info[1])
        report.longrepr = text
        report.kata_status = v.status
        if record.status in (CheckStatus.PASS, CheckStatus.SKIP) or v.status == CheckStatus.FAIL:
            record.status, record.verdict, record.attribute = v.status, v.text, v.attribute
    return report


def pytest_report_teststatus(report: pytest.TestReport):
    if getattr(report, "kata_status", None) == CheckStatus.TODO and report.when == "call":
        return "failed", "T", (messages.MARK_TODO, {"yellow": True})
    return None


# -- summary ------------------------------------------------------------------------------------------------------
# A bare `pytest` must fit a screen and end with what to do next.  So, unless -v asks for every check: pytest's own
# failure blocks and short-summary lines are left out for the kata checks, and after pytest's last line comes one
# line per exercise (the headline failing check's verdict once, with how many more of its checks failed), the chapter
# table and 「次はこれ」.

def exercise_statuses(records: dict[str, CheckResult]) -> dict[tuple[str, str], CheckResult]:
    """One record per exercise: fail beats todo beats pass beats skip; among failing checks, the one whose attribute
    is the most basic difference (:func:`kata.status.headline_rank`), then the first in run order."""
    rank: dict[str, int] = {CheckStatus.FAIL: 3, CheckStatus.TODO: 2, CheckStatus.PASS: 1, CheckStatus.SKIP: 0}
    out: dict[tuple[str, str], CheckResult] = {}
    for rec in records.values():
        key = (rec.chapter, rec.exercise)
        if key not in out or rank[rec.status] > rank[out[key].status] or (
                rec.status == out[key].status == CheckStatus.FAIL
                and headline_rank(rec.attribute) < headline_rank(out[key].attribute)):
            out[key] = rec
    return out


def _counts(records: dict[str, CheckResult]) -> dict[tuple[str, str], dict[str, int]]:
    """Per exercise, how many checks ended in each status (and how many were not run after a timeout)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for rec in records.values():
        counts = out.setdefault((rec.chapter, rec.exercise), {})
        status = Attribute.TIMEOUT_NOT_RUN if rec.attribute == Attribute.TIMEOUT_NOT_RUN else rec.status
        counts[status] = counts.get(status, 0) + 1
    return out


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config):
    """Keep pytest's per-check failure blocks and short-summary lines of the kata checks out of a non-verbose run
    (the engine prints each failing exercise's verdict once instead)."""
    tr = terminalreporter
    hidden: list[Any] = []
    records = config.stash.get(RECORDS, {})
    failed = tr.stats.get("failed", [])
    if config.option.verbose < 1 and records and failed:
        hidden = [r for r in failed if getattr(r, "nodeid", None) in records]
        failed[:] = [r for r in failed if getattr(r, "nodeid", None) not in records]
    try:
        return (yield)
    finally:
        if hidden:
            tr.stats["failed"] = hidden + tr.stats.get("failed", [])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    """After pytest's last line (the terminal reporter's own wrapper is inside this one): the learner's summary."""
    result = yield
    config = session.config
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return result
    from kata.reporter import LearnerReporter

    tr = config.pluginmanager.get_plugin("terminalreporter")
    if not isinstance(tr, LearnerReporter):  # that one asked for the summary under its closing counts
        _summary(config, messages.SUMMARY_TITLE, {"bold": True})
    if settings.report is not None:
        _write_report(config, settings, settings.report, exitstatus)
    return result


def _summary(config: pytest.Config, title: str, markup: dict[str, bool]) -> bool:
    """The learner's summary under ``title``, if the run checked anything of the course; whether it was written."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None or getattr(tr, "no_summary", False) or not config.stash[RECORDS] or config.stash[SETTINGS].mutants:
        return False
    _write_summary(tr, config, title, markup)
    return True


def _write_summary(tr: Any, config: pytest.Config, title: str, markup: dict[str, bool]) -> None:
    settings = config.stash[SETTINGS]
    done = config.stash[DONE]
    records = {nodeid: rec for nodeid, rec in config.stash[RECORDS].items() if nodeid in done}  # not Ctrl+C'd
    per_exercise = exercise_statuses(records)
    counts = _counts(records)
    complete = _complete_exercises(config)
    ran = [c for c in settings.course.chapters() if any((c.key, e.name) in per_exercise for e in c.exercises)]
    progress, stale = _merged_progress(config, per_exercise, complete, counts, ran)
    fullwidth = config.get_terminal_writer().fullwidth
    tr.write_sep("=", title, fullwidth=fullwidth - (display_width(title) - len(title)), **markup)
    if settings.mode in ("exercises", "submission") and all(r.status == CheckStatus.TODO for r in per_exercise.values()) \
            and not any(status in SOLVED for status in progress.values()):
        for line in messages.FIRST_RUN.splitlines():  # the first run: nothing is wrong
            tr.write_line(line)
    marks: dict[str, str] = {CheckStatus.PASS: messages.MARK_PASS, CheckStatus.FAIL: messages.MARK_FAIL,
                             CheckStatus.TODO: messages.MARK_TODO, CheckStatus.SKIP: messages.MARK_SKIP}
    colours: dict[str, dict[str, bool]] = {CheckStatus.PASS: {"green": True}, CheckStatus.FAIL: {"red": True},
                                           CheckStatus.TODO: {"yellow": True}, CheckStatus.SKIP: {"yellow": True}}
    show_verdicts = config.option.tbstyle != "no" and config.option.verbose < 1
    untouched = []
    for chapter in ran:
        recs = [(e, r) for e in chapter.exercises if (r := per_exercise.get((chapter.key, e.name))) is not None]
        if len(ran) > 1 and all(r.status == CheckStatus.TODO for _, r in recs):
            untouched.append(chapter.number)  # a chapter not started yet: one word on one line, not a line each
            continue
        # The file itself could not be imported (a syntax error, an error at import time): every exercise of it fails
        # with the same verdict, which is the file's, not an exercise's.  Said once, with no exercise's hint.
        unreadable = [ex.name for ex, rec in recs if rec.status == CheckStatus.FAIL and rec.attribute in FILE_FAILURES]
        if unreadable:
            first, *rest = next(r for e, r in recs if e.name == unreadable[0]).verdict.splitlines()
            tr.write_line(messages.FILE_LINE.format(mark=marks[CheckStatus.FAIL], chapter=chapter.number,
                                                    file=chapter.file, detail=" — " + first), red=True)
            if show_verdicts:
                for line in [*rest, messages.FILE_UNREADABLE_EXERCISES.format(count=len(unreadable))]:
                    tr.write_line(f"    {line}")
        for ex, rec in recs:
            if ex.name in unreadable:
                continue
            key = (chapter.key, ex.name)
            n = counts.get(key, {})
            detail, more = "", []
            if rec.status == CheckStatus.FAIL and rec.verdict:
                first, *rest = rec.verdict.splitlines()
                detail = " — " + first
                if show_verdicts:
                    more = [f"    {line}" for line in rest]
                    others = n.get(CheckStatus.FAIL, 0) - 1
                    not_run = n.get(Attribute.TIMEOUT_NOT_RUN, 0)
                    if not_run:
                        more.append("    " + messages.NOT_RUN_AFTER_TIMEOUT.format(count=not_run))
                        others -= not_run
                    if others > 0:
                        more.append("    " + messages.MORE_FAILED.format(count=others))
                    if settings.mode in ("exercises", "submission"):
                        more.append("    " + say(messages.NEXT_HINT, chapter.number, ex.name))
            elif rec.status in (CheckStatus.PASS, CheckStatus.SKIP) and key not in complete:
                detail = messages.PARTIAL_DETAIL
            elif rec.status == CheckStatus.PASS and n.get(CheckStatus.SKIP):
                detail = messages.UNVERIFIED_DETAIL.format(count=n[CheckStatus.SKIP])
            tr.write_line(messages.EXERCISE_LINE.format(mark=marks[rec.status], chapter=chapter.number,
                                                        exercise=ex.name, detail=detail), **colours[rec.status])
            for line in more:
                tr.write_line(line)
    if untouched:
        tr.write_line(messages.UNTOUCHED_CHAPTERS.format(mark=messages.MARK_TODO, chapters=" ".join(untouched)),
                      yellow=True)
    _write_table(tr, progress, settings, ran, stale)


def _complete_exercises(config: pytest.Config) -> set[tuple[str, str]]:
    """Exercises every check of which ran to an outcome in this session (not cut short by -k, -x, --lf, Ctrl+C)."""
    done = config.stash[DONE]
    return {key for key, nodeids in config.stash[EXPECTED].items() if nodeids <= done}


def _file_stamp(path: Path) -> str | None:
    try:
        return f"{zlib.crc32(path.read_bytes()):08x}"
    except OSError:
        return None


def _merged_progress(config: pytest.Config, per_exercise: dict[tuple[str, str], CheckResult],
                     complete: set[tuple[str, str]], counts: dict[tuple[str, str], dict[str, int]],
                     ran: list[catalog.Chapter]) -> tuple[dict[str, str], set[str]]:
    """Status per exercise ("NN_topic/name"): this run's results over what earlier runs of the same tree found, and
    the chapters whose file changed since the run that the table's row comes from (``stale``).

    A failure or a todo is final even from a partial run; a pass counts only when all of the exercise's checks ran
    (else an earlier full pass stands, and anything else becomes ``ExerciseStatus.PARTIAL``: not solved yet); a pass
    with skipped checks is ``ExerciseStatus.UNVERIFIED``.
    """
    settings = config.stash[SETTINGS]
    suffix = f"{settings.mode}/{zlib.crc32(str(settings.learner_root).encode()):08x}"
    cache = getattr(config, "cache", None) if settings.mode in ("exercises", "submission") else None
    stored: dict[str, str] = dict(cache.get(f"{CACHE_KEY}/{suffix}", {}) or {}) if cache is not None else {}
    stamps: dict[str, str | None] = dict(cache.get(f"{CACHE_KEY}-files/{suffix}", {}) or {}) if cache is not None else {}
    for (key, name), rec in per_exercise.items():
        exercise, status = f"{key}/{name}", rec.status
        if status in (CheckStatus.PASS, CheckStatus.SKIP) and (key, name) not in complete:
            before = stored.get(exercise)
            status = before if before is not None and before in SOLVED else ExerciseStatus.PARTIAL
        elif status == CheckStatus.PASS and counts.get((key, name), {}).get(CheckStatus.SKIP):
            status = ExerciseStatus.UNVERIFIED
        stored[exercise] = status
    files = {c.key: _file_stamp(c.learner_file(settings.learner_root)) for c in settings.course.chapters()}
    for chapter in ran:
        stamps[chapter.key] = files[chapter.key]
    stale = {key for key, stamp in stamps.items() if key in files and stamp != files[key]}
    if cache is not None:
        cache.set(f"{CACHE_KEY}/{suffix}", stored)
        cache.set(f"{CACHE_KEY}-files/{suffix}", stamps)
    return stored, stale


def next_exercise(progress: dict[str, str], prefer: Sequence[catalog.Chapter] = (),
                  course: catalog.Catalog | None = None) -> catalog.Exercise | None:
    """The first unsolved exercise of the chapters just run, else of the whole course."""
    for chapters in (prefer, (course or catalog.default()).chapters()):
        for chapter in chapters:
            for ex in chapter.exercises:
                if progress.get(f"{chapter.key}/{ex.name}") not in SOLVED:
                    return ex
    return None


def _write_table(tr: Any, progress: dict[str, str], settings: Settings, ran: list[catalog.Chapter],
                 stale: set[str]) -> None:
    tr.write_line("")
    course = settings.course
    width = max(display_width(c.title) for c in course.chapters())
    tr.write_line(messages.TABLE_HEADER_ALIGNED.format(title=pad(messages.TABLE_HEADER_TITLE, width)))
    learner = settings.mode in ("exercises", "submission")
    shown_stale = False
    for chapter in course.chapters():
        statuses = [progress.get(f"{chapter.key}/{e.name}") for e in chapter.exercises]
        if not learner and not any(s is not None for s in statuses):
            continue  # the reference run: only the chapters this run checked
        solved = sum(s in SOLVED for s in statuses)
        todo = next((e.name for e, s in zip(chapter.exercises, statuses) if s not in SOLVED), None)
        if todo is None:
            todo = messages.TABLE_UNVERIFIED if ExerciseStatus.UNVERIFIED in statuses else messages.TABLE_ALL_DONE
        mark = messages.STALE_MARK if chapter.key in stale and chapter not in ran else " "
        shown_stale |= mark != " "
        tr.write_line(messages.TABLE_ROW.format(chapter=chapter.number, title=pad(chapter.title, width),
                                                solved=solved, total=len(chapter.exercises), mark=mark, next=todo))
    partial = [f"{c.number} {e.name}" for c in course.chapters() for e in c.exercises
               if progress.get(f"{c.key}/{e.name}") == ExerciseStatus.PARTIAL]
    if partial:
        tr.write_line(messages.TABLE_PARTIAL_NOTE.format(exercises=", ".join(partial)), yellow=True)
    tr.write_line(_legend(tr, shown_stale))
    if not learner:
        return  # "what to do next" is the learner's question, not the reference run's
    upcoming = next_exercise(progress, ran, course)
    if upcoming is None:
        done = messages.ALL_DONE_UNVERIFIED if ExerciseStatus.UNVERIFIED in progress.values() else messages.ALL_DONE
        tr.write_line(done, green=True)
    else:
        ch = course.chapter_of_key(upcoming.chapter)
        assert ch is not None, upcoming
        file = display_path(ch.learner_file(settings.learner_root))
        tr.write_line(say(messages.READ_LESSON, ch.number, key=ch.key))
        tr.write_line(messages.NEXT_STEP.format(file=file, exercise=upcoming.name, chapter=ch.number), bold=True)


def _legend(tr: Any, stale: bool) -> str:
    """Every mark of this run explained once: the progress letters pytest printed, and the table's mark."""
    letters = []
    if tr.config.option.verbose < 1:
        seen = {category for category, reports in tr.stats.items() if reports and category != "failed"}
        for report in tr.stats.get("failed", []):
            seen.add("todo" if getattr(report, "kata_status", None) == CheckStatus.TODO else "failed")
        letters = [text for category, text in messages.LEGEND_LETTERS if category in seen]
    if stale:
        letters.append(messages.LEGEND_STALE.format(mark=messages.STALE_MARK))
    return messages.LEGEND.format(items=messages.LEGEND_SEPARATOR.join(letters)) if letters else ""


def _write_report(config: pytest.Config, settings: Settings, path: Path, exitstatus: int) -> None:
    records = config.stash[RECORDS]
    per_exercise = exercise_statuses(records)
    counts = _counts(records)
    exercises = []
    for chapter in settings.course.chapters():
        for ex in chapter.exercises:
            rec = per_exercise.get((chapter.key, ex.name))
            if rec is not None:
                exercises.append({"chapter": chapter.key, "exercise": ex.name, "status": rec.status,
                                  "points": ex.points, "verdict": rec.verdict,
                                  "skipped": counts.get((chapter.key, ex.name), {}).get(CheckStatus.SKIP, 0)})
    payload = {"version": 1, "mode": settings.mode, "seed": settings.seed, "exitstatus": int(exitstatus),
               "exercises": exercises, "tests": [r.to_dict(LEARNING_FIELDS) for r in records.values()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
