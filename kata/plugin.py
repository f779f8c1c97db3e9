"""The pytest plugin: maps ``exercises/NN`` to the checks, supplies the module under test, isolates global state,
turns failures into Japanese verdicts and prints the per-exercise lines and the chapter table.

Loaded by the repository's ``conftest.py`` only (no pytest11 entry point), so it never leaks into other projects.
"""
from __future__ import annotations

import gc
import json
import os
import signal
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from kata import catalog, loader, messages, mutants, verdict
from kata.display import display_path, display_width, pad
from kata.compare import fail
from kata.errors import KataTimeout
from kata.state import GlobalState

SETTINGS = pytest.StashKey["Settings"]()
RECORDS = pytest.StashKey[dict[str, "Record"]]()
ITEM_INFO = pytest.StashKey[tuple[str, str]]()  # (chapter key, exercise name)
STATE = pytest.StashKey[GlobalState]()
CACHE_KEY = "kata/progress"
# Progress must not count an exercise as solved from a partial run (-k on a check name, -x, --lf, Ctrl+C):
EXPECTED = pytest.StashKey[dict[tuple[str, str], set[str]]]()  # every check of an exercise, before deselection
DONE = pytest.StashKey[set[str]]()  # checks whose outcome is known (call reported, or setup failed / skipped)
PARTIAL = "partial"  # progress only: some of an exercise's checks ran, none failed, earlier runs never passed it


@dataclass
class Settings:
    solutions: bool = False
    submission: Path | None = None
    report: Path | None = None
    seed: int = 0
    mutants: bool = False

    @property
    def mode(self) -> str:
        return "mutants" if self.mutants else "solutions" if self.solutions else \
            "submission" if self.submission else "exercises"

    @property
    def learner_root(self) -> Path:
        return self.submission or catalog.ROOT


@dataclass
class Record:
    nodeid: str
    chapter: str
    exercise: str
    status: str = verdict.PASS
    verdict: str = ""
    attribute: str = ""
    mutant: str | None = None


# -- options ------------------------------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata", "Intro2DL カタ")
    group.addoption("--solutions", action="store_true", default=False,
                    help="学習者のファイルの代わりに模範解答 (solutions/) をチェックする")
    group.addoption("--kata-submission", metavar="DIR", default=None,
                    help="提出物のフォルダ (その exercises/ をチェックする。チェックと模範解答はこのリポジトリのもの)")
    group.addoption("--kata-report", metavar="FILE", default=None, help="結果を JSON で FILE に書き出す")
    group.addoption("--kata-seed", metavar="N", default=None,
                    help="入力を作る乱数のシード (既定: 毎回ランダム、環境変数 KATA_SEED も可)")
    group.addoption("--kata-mutants", action="store_true", default=False,
                    help="自己検証: tests/mutants/ の誤答カタログをチェックにかける")


def _resolve_seed(config: pytest.Config) -> int:
    """CLI, then the KATA_SEED environment variable, then a fresh random seed."""
    for where, raw in (("--kata-seed", config.getoption("--kata-seed")), ("KATA_SEED", os.environ.get("KATA_SEED"))):
        if raw is None or raw == "":
            continue
        try:
            return int(raw)
        except ValueError:
            raise pytest.UsageError(f"{where} の値 {raw!r} は整数ではありません。例: {where}=1234") from None
    return int.from_bytes(os.urandom(3), "little")


def pytest_configure(config: pytest.Config) -> None:
    # torch's import leaves a very large heap; pytest's end-of-session collections (unraisableexception) would walk it
    # again and again.  Freezing it keeps those collections to what the checks themselves create.
    gc.freeze()
    submission = config.getoption("--kata-submission")
    if submission is not None:
        submission = Path(submission).resolve()
        if not (submission / "exercises").is_dir():
            raise pytest.UsageError(f"提出物 {submission} に exercises/ フォルダがありません。")
    report = config.getoption("--kata-report")
    settings = Settings(
        solutions=config.getoption("--solutions"),
        submission=submission,
        report=Path(report).resolve() if report else None,
        seed=_resolve_seed(config),
        mutants=config.getoption("--kata-mutants"),
    )
    config.stash[SETTINGS] = settings
    config.stash[RECORDS] = {}
    config.stash[EXPECTED] = {}
    config.stash[DONE] = set()
    if settings.mutants:
        mutants.load_all(catalog.ROOT / "tests" / "mutants")
    config.args[:] = _rewrite_args(config.args, config.invocation_params.dir, settings)


def _rewrite_args(args: list[str], invocation_dir: Path, settings: Settings) -> list[str]:
    """``exercises/03``, ``exercises/03_numpy`` and ``exercises/03_numpy/numpy_bridge.py`` -> the chapter's checks."""
    out = []
    roots = [catalog.ROOT] + ([settings.submission] if settings.submission else [])
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
            out.append(str(catalog.CHECKS))
            continue
        chapter = catalog.chapter(parts[1])
        if chapter is None:
            raise pytest.UsageError(messages.BAD_CHAPTER.format(
                token=parts[1], choices=", ".join(c.key for c in catalog.chapters())))
        if len(parts) >= 3:
            if parts[2] != chapter.file:
                raise pytest.UsageError(f"{chapter.key} のファイルは {chapter.file} です ({parts[2]!r} はありません)。")
            out.append(str(chapter.check_file) + (sep + rest if sep else ""))
        else:
            out.append(str(catalog.CHECKS / chapter.key))
    return out


def pytest_report_header(config: pytest.Config) -> list[str]:
    s = config.stash[SETTINGS]
    target = {"solutions": "模範解答 (solutions/)", "mutants": "誤答カタログ (tests/mutants/)",
              "submission": f"提出物 {s.submission}", "exercises": "あなたの解答 (exercises/)"}[s.mode]
    return [f"kata: チェック対象 = {target}、乱数シード = {s.seed} (再現するには --kata-seed={s.seed})"]


# -- collection ---------------------------------------------------------------------------------------------------

def _chapter_of_path(path: Path) -> catalog.Chapter | None:
    try:
        rel = path.resolve().relative_to(catalog.CHECKS)
    except ValueError:
        return None
    return catalog.chapter_of_key(rel.parts[0]) if len(rel.parts) > 1 else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    settings = metafunc.config.stash[SETTINGS]
    if not settings.mutants or "kata_mutant" not in metafunc.fixturenames:
        return
    chapter = _chapter_of_path(metafunc.definition.path)
    exercise = chapter and chapter.exercise_of_test(metafunc.definition.originalname)
    found = mutants.for_exercise(chapter.key, exercise.name) if exercise else []
    if found:
        metafunc.parametrize("kata_mutant", found, ids=[m.name for m in found])


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS]
    keyword = (config.getoption("keyword") or "").strip()
    keep, drop = [], []
    for item in items:
        chapter = _chapter_of_path(item.path)
        name = getattr(item, "originalname", item.name)
        exercise = chapter.exercise_of_test(name) if chapter else None
        if chapter and exercise:
            item.stash[ITEM_INFO] = (chapter.key, exercise.name)
            # `-k grad_of_mean` means exactly that exercise, not every name it is a substring of.
            if keyword.isidentifier() and any(keyword == e.name for c in catalog.chapters() for e in c.exercises) \
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
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object):
    """Every check of an exercise, with every parametrisation, as the module makes them: before ``file::test_x``,
    ``--lf`` (which filters at collection), ``-k`` or ``--deselect`` leave some out.  Progress needs all of them."""
    result = yield
    chapter = _chapter_of_path(collector.path)
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

    def __init__(self, load, file: str):
        self._load = load
        self._file = file
        self._module = None

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
            return getattr(module, name)
        except AttributeError:
            fail("missing", messages.MISSING_NAME, None, file=self._file, exercise=name)


@pytest.fixture
def kata_mutant() -> mutants.Mutant | None:
    """The wrong answer under test in ``--kata-mutants`` mode (parametrised there), else ``None``."""
    return None


@pytest.fixture
def ref(request: pytest.FixtureRequest):
    """The reference module of the check's chapter (always from this repository's ``solutions/``)."""
    chapter = _chapter_of_path(request.node.path)
    assert chapter, "ref is only available to checks under checks/NN_topic/"
    return loader.load(chapter.reference_file(), f"kata_reference.c{chapter.key}", learner=False)


@pytest.fixture
def sub(request: pytest.FixtureRequest, kata_mutant: mutants.Mutant | None, ref):
    """The module under test: the learner's file, the reference (``--solutions``), a submission or a mutant."""
    chapter = _chapter_of_path(request.node.path)
    settings = request.config.stash[SETTINGS]
    if kata_mutant is not None:
        loader.LEARNER_FILES.add(kata_mutant.file)
        return UnderTest(lambda: mutants.apply(ref, kata_mutant), kata_mutant.file)
    if settings.solutions:
        path, role = chapter.reference_file(), "solutions"
    else:
        path, role = chapter.learner_file(settings.learner_root), settings.mode
    return UnderTest(lambda: loader.load(path, f"kata_under_test.{role}.c{chapter.key}"), display_path(path))


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
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    state = GlobalState.capture()
    if ITEM_INFO in item.stash:
        # Checks use tiny tensors: one intra-op thread is faster, far faster on a busy machine.  Restored after.
        torch.set_num_threads(1)
    try:
        return (yield)
    finally:
        state.restore()


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """Time out with a Japanese verdict instead of pytest-timeout's stack dump (signal method only)."""
    if settings.method != "signal" or not hasattr(signal, "SIGALRM") or ITEM_INFO not in item.stash:
        return None

    fired = False

    def on_timeout(signum: int, frame: Any) -> None:
        nonlocal fired
        # Repeats only matter while learner code is still running (it may have swallowed the first one).
        if fired and not _in_learner_code(frame):
            return
        fired = True
        raise KataTimeout(settings.timeout)

    signal.signal(signal.SIGALRM, on_timeout)
    # Keep firing every second, in case learner code swallows the first one.
    signal.setitimer(signal.ITIMER_REAL, settings.timeout, 1.0)
    return True


def _in_learner_code(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_filename in loader.LEARNER_FILES:
            return True
        frame = frame.f_back
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    if ITEM_INFO not in item.stash or not hasattr(signal, "SIGALRM"):
        return None
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    info = item.stash.get(ITEM_INFO, None)
    if info is None:
        return report
    records = item.config.stash[RECORDS]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        item.config.stash[DONE].add(item.nodeid)
    mutant = getattr(getattr(item, "callspec", None), "params", {}).get("kata_mutant")
    record = records.setdefault(item.nodeid, Record(item.nodeid, info[0], info[1],
                                                    mutant=mutant.id if mutant else None))
    if report.skipped and report.when in ("setup", "call"):
        record.status = verdict.SKIP
        record.verdict = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
    elif report.failed and call.excinfo is not None:
        v = verdict.classify(call.excinfo.value)
        text = v.text
        if v.status == verdict.FAIL and item.config.stash[SETTINGS].mode in ("exercises", "submission"):
            text += "\n" + messages.NEXT_HINT.format(chapter=info[0][:2], exercise=info[1])
        report.longrepr = text
        report.kata_status = v.status
        if record.status in (verdict.PASS, verdict.SKIP) or v.status == verdict.FAIL:
            record.status, record.verdict, record.attribute = v.status, v.text, v.attribute
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    if getattr(report, "kata_status", None) == verdict.TODO and report.when == "call":
        return "failed", "T", (messages.MARK_TODO, {"yellow": True})
    return None


# -- summary ------------------------------------------------------------------------------------------------------

def exercise_statuses(records: dict[str, Record]) -> dict[tuple[str, str], Record]:
    """One record per exercise: fail beats todo beats pass beats skip."""
    rank = {verdict.FAIL: 3, verdict.TODO: 2, verdict.PASS: 1, verdict.SKIP: 0}
    out: dict[tuple[str, str], Record] = {}
    for rec in records.values():
        key = (rec.chapter, rec.exercise)
        if key not in out or rank[rec.status] > rank[out[key].status]:
            out[key] = rec
    return out


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    settings = config.stash[SETTINGS]
    records = config.stash[RECORDS]
    if not records or settings.mutants:
        return
    tr = terminalreporter
    per_exercise = exercise_statuses(records)
    complete = _complete_exercises(config)
    tr.section(messages.SUMMARY_TITLE)
    marks = {verdict.PASS: messages.MARK_PASS, verdict.FAIL: messages.MARK_FAIL, verdict.TODO: messages.MARK_TODO,
             verdict.SKIP: messages.MARK_SKIP}
    colours = {verdict.PASS: {"green": True}, verdict.FAIL: {"red": True}, verdict.TODO: {"yellow": True},
               verdict.SKIP: {"yellow": True}}
    for chapter in catalog.chapters():
        for ex in chapter.exercises:
            rec = per_exercise.get((chapter.key, ex.name))
            if rec is None:
                continue
            detail = ""
            if rec.status == verdict.FAIL and rec.verdict:
                detail = " — " + rec.verdict.splitlines()[0]
            elif rec.status in (verdict.PASS, verdict.SKIP) and (chapter.key, ex.name) not in complete:
                detail = messages.PARTIAL_DETAIL
            tr.write_line(messages.EXERCISE_LINE.format(mark=marks[rec.status], chapter=chapter.number,
                                                        exercise=ex.name, detail=detail), **colours[rec.status])
    progress = _merged_progress(config, per_exercise, complete)
    _write_table(tr, progress, settings)


def _complete_exercises(config: pytest.Config) -> set[tuple[str, str]]:
    """Exercises every check of which ran to an outcome in this session (not cut short by -k, -x, --lf, Ctrl+C)."""
    done = config.stash[DONE]
    return {key for key, nodeids in config.stash[EXPECTED].items() if nodeids <= done}


def _merged_progress(config: pytest.Config, per_exercise: dict[tuple[str, str], Record],
                     complete: set[tuple[str, str]] | None = None) -> dict[str, str]:
    """Status per exercise ("NN_topic/name"): this run's results over what earlier runs of the same tree found.

    A failure or a todo is final even from a partial run; a pass counts only when all of the exercise's checks ran
    (else an earlier full pass stands, and anything else becomes ``PARTIAL``: not solved yet).
    """
    settings = config.stash[SETTINGS]
    key = f"{CACHE_KEY}/{settings.mode}/{zlib.crc32(str(settings.learner_root).encode()):08x}"
    cache = getattr(config, "cache", None)
    stored: dict[str, str] = {}
    if cache is not None and settings.mode in ("exercises", "submission"):
        stored = dict(cache.get(key, {}) or {})
    for (chapter, name), rec in per_exercise.items():
        exercise, status = f"{chapter}/{name}", rec.status
        if status in (verdict.PASS, verdict.SKIP) and complete is not None and (chapter, name) not in complete:
            status = verdict.PASS if stored.get(exercise) == verdict.PASS else PARTIAL
        stored[exercise] = status
    if cache is not None and settings.mode in ("exercises", "submission"):
        cache.set(key, stored)
    return stored


def next_exercise(progress: dict[str, str]) -> catalog.Exercise | None:
    for chapter in catalog.chapters():
        for ex in chapter.exercises:
            if progress.get(f"{chapter.key}/{ex.name}") != verdict.PASS:
                return ex
    return None


def _write_table(tr: Any, progress: dict[str, str], settings: Settings) -> None:
    tr.write_line("")
    width = max(display_width(c.title) for c in catalog.chapters())
    tr.write_line(messages.TABLE_HEADER_ALIGNED.format(title=pad(messages.TABLE_HEADER_TITLE, width)))
    learner = settings.mode in ("exercises", "submission")
    for chapter in catalog.chapters():
        if not learner and not any(f"{chapter.key}/{e.name}" in progress for e in chapter.exercises):
            continue  # the reference run: only the chapters this run checked
        solved = sum(progress.get(f"{chapter.key}/{e.name}") == verdict.PASS for e in chapter.exercises)
        todo = next((e.name for e in chapter.exercises if progress.get(f"{chapter.key}/{e.name}") != verdict.PASS),
                    None)
        title = pad(chapter.title, width)
        tr.write_line(messages.TABLE_ROW.format(chapter=chapter.number, title=title, solved=solved,
                                                total=len(chapter.exercises),
                                                next=todo or messages.TABLE_ALL_DONE))
    partial = [f"{c.number} {e.name}" for c in catalog.chapters() for e in c.exercises
               if progress.get(f"{c.key}/{e.name}") == PARTIAL]
    if partial:
        tr.write_line(messages.TABLE_PARTIAL_NOTE.format(exercises=", ".join(partial)), yellow=True)
    if not learner:
        return  # "what to do next" is the learner's question, not the reference run's
    upcoming = next_exercise(progress)
    if upcoming is None:
        tr.write_line(messages.ALL_DONE, green=True)
    else:
        ch = catalog.chapter_of_key(upcoming.chapter)
        file = display_path(ch.learner_file(settings.learner_root))
        tr.write_line(messages.NEXT_STEP.format(file=file, exercise=upcoming.name), bold=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    settings = config.stash.get(SETTINGS, None)
    if settings is None or settings.report is None:
        return
    records = config.stash[RECORDS]
    per_exercise = exercise_statuses(records)
    exercises = []
    for chapter in catalog.chapters():
        for ex in chapter.exercises:
            rec = per_exercise.get((chapter.key, ex.name))
            if rec is not None:
                exercises.append({"chapter": chapter.key, "exercise": ex.name, "status": rec.status,
                                  "points": ex.points, "verdict": rec.verdict})
    payload = {"version": 1, "mode": settings.mode, "seed": settings.seed, "exitstatus": int(exitstatus),
               "exercises": exercises, "tests": [asdict(r) for r in records.values()]}
    settings.report.parent.mkdir(parents=True, exist_ok=True)
    settings.report.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
