"""``kata watch``: re-run a chapter's checks every time the learner saves its file, until Ctrl+C.

The checks run in this process (``pytest.main`` with the engine's plugin), so torch, the checks and the references
stay imported; only the learner's module is re-imported.  Saves are found by polling ``os.stat`` plus a checksum of
the (small) file every few tens of milliseconds: that sees in-place writes, editors that write a new file and rename
it over the old one, a file that vanishes for a moment, and two saves with the same size and time stamp.  A change
seen while checks run is handled right after them, so the last save is always the one checked.  A syntax error is
just a verdict (the engine's loader reports it), and the watch goes on.
"""
from __future__ import annotations

import contextlib
import gc
import io
import os
import signal
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import pytest

from kata import catalog, messages
from kata.cli import learner
from kata.stash import ITEM_INFO

POLL_INTERVAL = 0.03  # seconds between looks at the files
SETTLE = 0.01  # after a change, how long the file must stay the same before it is checked
SETTLE_LIMIT = 0.25  # ... but never wait longer than this for an editor that keeps writing
MISSING_GRACE = 0.5  # a vanished file is reported only if it stays away this long (delete-then-write saves)
# `pytest -q` without the short summary (the engine's table says it all), native tracebacks (cheapest to build, and
# the engine replaces them with verdicts anyway), pytest-timeout loaded by name (plugin autoload is off), and without
# the unraisable-exception plugin, whose five full garbage collections at the end of every session cost more than
# the checks themselves.
PYTEST_ARGS = ("-q", "-rN", "--tb=native", "--assert=plain", "-p", "pytest_timeout", "-p", "no:unraisableexception")


def fingerprint(path: Path):
    """What identifies one saved version of a file: time stamp, size, inode and a checksum; None when missing."""
    try:
        stat = os.stat(path)
        data = Path(path).read_bytes()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino, zlib.crc32(data)


class Watcher:
    """Looks at the learner's files; ``step`` handles one round of changes and ``loop`` repeats it.

    ``run(chapter, path)`` is called once per changed file, after the file has settled.
    """

    def __init__(self, files: dict[Path, catalog.Chapter], run: Callable[[catalog.Chapter, Path], object], *,
                 interval: float = POLL_INTERVAL, settle: float = SETTLE, settle_limit: float = SETTLE_LIMIT,
                 missing_grace: float = MISSING_GRACE, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.files = dict(files)
        self.run = run
        self.interval, self.settle, self.settle_limit, self.missing_grace = interval, settle, settle_limit, missing_grace
        self.clock, self.sleep = clock, sleep
        self.seen = {path: fingerprint(path) for path in self.files}
        self.missing_since: dict[Path, float] = {}
        self.runs = 0

    def changed(self) -> list[Path]:
        """The files saved since the last look (a vanished file only once it has stayed away a while)."""
        now = self.clock()
        out = []
        for path in self.files:
            current = fingerprint(path)
            if current == self.seen[path]:
                self.missing_since.pop(path, None)
                continue
            if current is None and now - self.missing_since.setdefault(path, now) < self.missing_grace:
                continue
            self.missing_since.pop(path, None)
            self.seen[path] = current
            out.append(path)
        return out

    def _wait_until_settled(self, paths: list[Path]) -> None:
        deadline = self.clock() + self.settle_limit
        while True:
            self.sleep(self.settle)
            moving = {p: fp for p in paths if (fp := fingerprint(p)) != self.seen[p]}
            if not moving or self.clock() >= deadline:
                return
            for path, fp in moving.items():
                if fp is not None:  # half-way through a rename: wait for the new file
                    self.seen[path] = fp

    def step(self) -> list[Path]:
        """Look once; check every file that changed.  Returns the files that were checked."""
        paths = self.changed()
        if paths:
            self._wait_until_settled(paths)
            for path in paths:
                self.runs += 1
                self.run(self.files[path], path)
        return paths

    def loop(self, max_iterations: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """``step`` every ``interval`` seconds until ``stop()`` is true or ``max_iterations`` looks were made."""
        done = 0
        while max_iterations is None or done < max_iterations:
            if stop is not None and stop():
                return
            self.step()
            done += 1
            self.sleep(self.interval)


@contextlib.contextmanager
def _no_plugin_autoload():
    """Load only the plugins the checks need (pytest-timeout by name), not every installed one: faster, and the
    same in every learner's environment."""
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old


def _no_traceback(excinfo) -> str:  # noqa: ARG001 (pytest's Item.repr_failure)
    return ""


class _SkipDiscardedTracebacks:
    """The engine's plugin replaces the report of a failing check with its Japanese verdict; in the watch, do not
    let pytest format the traceback it throws away (milliseconds per failing check, on every save)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            if ITEM_INFO in item.stash:
                item.repr_failure = _no_traceback


class InProcessRunner:
    """Runs a chapter's checks with ``pytest.main`` in this process and prints what pytest prints."""

    def __init__(self, root: Path, pytest_args: Iterable[str] = (), out=None):
        self.root = root
        self.extra = list(pytest_args)
        self.out = out
        self.interrupted = False

    def args(self, chapter: catalog.Chapter | None, *more: str) -> list[str]:
        return learner.pytest_args(chapter, self.root, [*PYTEST_ARGS, *more, *self.extra])

    def _print(self, text: str) -> None:
        print(text, file=self.out or sys.stdout, flush=True)

    def pytest(self, chapter: catalog.Chapter | None, *more: str, quiet: bool = False) -> int:
        sink = io.StringIO() if quiet else None
        with _no_plugin_autoload(), (contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext()):
            return learner.run_in_process(self.args(chapter, *more), plugins=[_SkipDiscardedTracebacks()])

    def __call__(self, chapter: catalog.Chapter, path: Path, announce: bool = True) -> int:
        if announce:
            self._print(messages.WATCH_CHANGED.format(time=datetime.now().strftime("%H:%M:%S"),
                                                      file=learner.display(path)))
        learner.forget_learner_module(path)
        code = self.pytest(chapter)
        sys.stdout.flush()
        if self.interrupted:
            raise KeyboardInterrupt
        self._print(messages.WATCH_WAITING)
        return code


def warm_up(runner: InProcessRunner, chapters: list[catalog.Chapter]) -> None:
    """Pay the one-time costs now rather than on the first save: torch, the first ``assert_close`` (it imports
    ``torch.distributed.tensor``), pytest's and the engine's modules and the check files; then move everything
    already alive (torch's large heap above all) out of the garbage collector's way, so that its automatic passes
    during a run stay short."""
    import torch

    with contextlib.suppress(AssertionError):
        torch.testing.assert_close(torch.zeros(1), torch.ones(1))
    runner.pytest(chapters[0] if len(chapters) == 1 else None, "--collect-only", quiet=True)
    gc.collect()
    gc.freeze()


def watch(chapters: list[catalog.Chapter], root: Path, *, pytest_args: Iterable[str] = (),
          interval: float = POLL_INTERVAL, initial_run: bool = True) -> int:
    """The ``kata watch`` command: returns 0 when the learner stops it with Ctrl+C."""
    print(messages.WATCH_PREPARING, flush=True)
    runner = InProcessRunner(root, pytest_args)
    files = {chapter.learner_file(root): chapter for chapter in chapters}
    watcher = Watcher(files, runner, interval=interval)  # saves made from now on are seen

    def on_interrupt(_signum, _frame):
        runner.interrupted = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        warm_up(runner, chapters)
        print(messages.WATCH_START.format(files=", ".join(learner.display(p) for p in files)), flush=True)
        if initial_run:
            runner(chapters[0], chapters[0].learner_file(root), announce=False)
        else:
            print(messages.WATCH_WAITING, flush=True)
        watcher.loop()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
    print(messages.WATCH_STOPPED, flush=True)
    return 0
