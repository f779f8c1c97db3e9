"""``kata watch``: every save is checked once the file has settled, whatever way the editor saved it, and the watch
survives a syntax error in the file being edited."""
from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ENGINE_COURSE, replace_exactly
from kata import catalog, messages
from kata.authoring import stubs
from kata.cli import watch

ROOT = catalog.ROOT
# The watcher itself is tested on a file of the engine's test course; `kata watch` end to end on the real course
# (the learner commands serve this repository's course).
CH01 = catalog.Catalog(ENGINE_COURSE).chapter("01")
REFERENCE_01 = CH01.reference_file().read_text(encoding="utf-8")
STUB_01 = stubs.stub_source(CH01)
REAL_01 = catalog.chapter("01")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """A runner that remembers what the file held each time it was asked to check it."""

    def __init__(self, on_run=None):
        self.seen: list[str | None] = []
        self.on_run = on_run

    def __call__(self, chapter, path: Path) -> None:
        self.seen.append(path.read_text(encoding="utf-8") if path.exists() else None)
        if self.on_run:
            self.on_run(len(self.seen))


@pytest.fixture
def exercise_file(tmp_path: Path) -> Path:
    path = tmp_path / "exercises" / CH01.key / CH01.file
    path.parent.mkdir(parents=True)
    path.write_text(STUB_01, encoding="utf-8")
    return path


def make_watcher(path: Path, runner, clock: FakeClock | None = None) -> watch.Watcher:
    clock = clock or FakeClock()
    return watch.Watcher({path: CH01}, runner, clock=clock, sleep=clock.sleep)


def test_an_unchanged_file_is_not_checked(exercise_file):
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner)
    assert watcher.step() == [] and watcher.step() == []
    assert runner.seen == []


def test_an_in_place_save_is_checked_once(exercise_file):
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner)
    exercise_file.write_text(REFERENCE_01, encoding="utf-8")
    assert watcher.step() == [exercise_file]
    assert watcher.step() == []
    assert runner.seen == [REFERENCE_01]


def test_a_save_that_renames_a_new_file_over_the_old_one_is_checked(exercise_file):
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner)
    tmp = exercise_file.with_name(f"{CH01.file}.swp")
    tmp.write_text(REFERENCE_01, encoding="utf-8")
    os.replace(tmp, exercise_file)
    watcher.step()
    assert runner.seen == [REFERENCE_01]


def test_a_save_with_the_same_size_and_time_stamp_is_still_seen(exercise_file):
    """Two quick saves can share a coarse time stamp; the content checksum tells them apart."""
    runner = Recorder()
    exercise_file.write_text(REFERENCE_01, encoding="utf-8")
    before = exercise_file.stat()
    watcher = make_watcher(exercise_file, runner)
    changed = replace_exactly(REFERENCE_01, "return 42", "return 24")
    assert len(changed) == len(REFERENCE_01) and changed != REFERENCE_01
    with open(exercise_file, "r+", encoding="utf-8") as f:  # same inode, same size
        f.write(changed)
    os.utime(exercise_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    watcher.step()
    assert runner.seen == [changed]


def test_saves_in_quick_succession_check_the_last_version(exercise_file):
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner)
    exercise_file.write_text(REFERENCE_01 + "# first\n", encoding="utf-8")
    exercise_file.write_text(REFERENCE_01 + "# second\n", encoding="utf-8")
    watcher.step()
    assert runner.seen[-1].endswith("# second\n")


def test_a_save_while_the_checks_run_is_checked_right_after(exercise_file):
    def save_during_first_run(n: int) -> None:
        if n == 1:
            exercise_file.write_text(REFERENCE_01 + "# saved during the run\n", encoding="utf-8")

    runner = Recorder(on_run=save_during_first_run)
    watcher = make_watcher(exercise_file, runner)
    exercise_file.write_text(REFERENCE_01, encoding="utf-8")
    watcher.step()
    watcher.step()
    assert runner.seen == [REFERENCE_01, REFERENCE_01 + "# saved during the run\n"]


def test_a_save_during_the_settling_wait_is_checked_in_its_final_form(exercise_file):
    clock = FakeClock()
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner, clock)
    writes = iter([REFERENCE_01 + "# 2\n", REFERENCE_01 + "# 3\n"])

    def sleep(seconds: float) -> None:  # the editor is still writing while the watcher waits
        clock.sleep(seconds)
        text = next(writes, None)
        if text is not None:
            exercise_file.write_text(text, encoding="utf-8")

    watcher.sleep = sleep
    exercise_file.write_text(REFERENCE_01 + "# 1\n", encoding="utf-8")
    watcher.step()
    assert runner.seen == [REFERENCE_01 + "# 3\n"]


def test_a_file_deleted_and_written_again_is_checked_once_it_is_back(exercise_file):
    clock = FakeClock()
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner, clock)
    exercise_file.unlink()
    assert watcher.step() == []  # gone for a moment: not reported yet
    clock.now += watch.MISSING_GRACE / 2
    exercise_file.write_text(REFERENCE_01, encoding="utf-8")
    watcher.step()
    assert runner.seen == [REFERENCE_01]


def test_a_file_that_stays_deleted_is_checked_once(exercise_file):
    clock = FakeClock()
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner, clock)
    exercise_file.unlink()
    watcher.step()
    clock.now += watch.MISSING_GRACE + 0.1
    watcher.step()
    watcher.step()
    assert runner.seen == [None]


def test_loop_stops_after_max_iterations_or_when_asked(exercise_file):
    clock = FakeClock()
    runner = Recorder()
    watcher = make_watcher(exercise_file, runner, clock)
    watcher.loop(max_iterations=3)
    assert clock.now == pytest.approx(3 * watch.POLL_INTERVAL)
    calls = []
    watcher.loop(stop=lambda: calls.append(1) or len(calls) > 2)
    assert len(calls) == 3


# -- the real command, end to end -----------------------------------------------------------------------------------

class Output:
    """A child's stdout, read line by line on a thread."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.text: list[str] = []
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, ""):
            self.lines.put(line)
        self.lines.put(None)

    def until(self, fragment: str, timeout: float = 120) -> list[str]:
        """Lines up to and including the next one that contains ``fragment``."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                raise AssertionError(f"no {fragment!r} in the output:\n{''.join(self.text[-60:])}")
            self.text.append(line)
            got.append(line)
            if fragment in line:
                return got


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(sys.platform == "win32", reason="sending SIGINT to a child process is POSIX-only")
def test_watch_checks_each_save_survives_a_syntax_error_and_stops_on_ctrl_c(tmp_path):
    shutil.copytree(catalog.EXERCISES, tmp_path / "exercises")
    target = REAL_01.learner_file(tmp_path)
    reference, stub = REAL_01.reference_file().read_text(encoding="utf-8"), stubs.stub_source(REAL_01)
    first_ex, n = REAL_01.exercises[0].name, len(REAL_01.exercises)
    env = dict(os.environ, PYTHONUNBUFFERED="1", KATA_SEED="1",
               PYTEST_ADDOPTS=f"-o cache_dir={tmp_path / '.pytest_cache'}")
    proc = subprocess.Popen([sys.executable, "-m", "kata", "watch", "01", "--root", str(tmp_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    out = Output(proc)
    try:
        first = "".join(out.until(messages.WATCH_WAITING))
        assert f"{messages.MARK_TODO} 01 {first_ex}" in first

        target.write_text(reference + "\n\ndef broken(:\n    pass\n", encoding="utf-8")
        broken = "".join(out.until(messages.WATCH_WAITING))
        assert messages.WATCH_CHANGED.split("{")[0] in broken
        # The file's error once, with its line, and no hint of an unrelated exercise.
        line = len((reference + "\n\ndef broken(:").splitlines())
        assert broken.count("行目に構文エラーがあります") == 1, broken
        assert f"{messages.MARK_FAIL} 01 {REAL_01.file} — 『exercises/{REAL_01.key}/{REAL_01.file}』の {line} 行目" in broken
        assert messages.NEXT_HINT.split("{")[0] not in broken

        target.write_text(reference, encoding="utf-8")
        fixed = "".join(out.until(messages.WATCH_WAITING))
        assert all(f"{messages.MARK_PASS} 01 {ex.name}" in fixed for ex in REAL_01.exercises), fixed
        assert f"{n} / {n}" in fixed

        renamed = target.with_name(f".{REAL_01.file}.tmp")
        renamed.write_text(stub, encoding="utf-8")
        os.replace(renamed, target)
        back = "".join(out.until(messages.WATCH_WAITING))
        assert f"{messages.MARK_TODO} 01 {first_ex}" in back
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    out.until(messages.WATCH_STOPPED, timeout=10)
    assert proc.returncode == 0


@pytest.mark.timeout(120)
def test_watch_rejects_an_unknown_chapter_with_one_japanese_line():
    proc = subprocess.run([sys.executable, "-m", "kata", "watch", "99"], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "章 '99' はありません" in lines[0] and REAL_01.key in lines[0]
