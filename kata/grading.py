"""``kata grade`` and ``kata verify``: grade a learner's copy of the repository, the parent's side.

The parent never imports learner code.  For each chapter it

1. stages the learner's one file (``exercises/NN_topic/<file>.py``; nothing else of the submission is read) and a
   private copy of that chapter's checks and reference, taken from this repository into memory before any child
   runs, into a folder of its own;
2. starts a child (a fork of the parent, which has already imported torch, pytest and the engine, or a fresh
   interpreter with ``--isolation=spawn``) that runs the checks under resource limits and the tamper guard of
   ``kata.guard``, at most ``--jobs`` at a time;
3. reads the child's HMAC-signed result lines from a pipe (never its stdout), kills its process group when the
   chapter's time is up, and, when a child dies in the middle, starts it again past the check it died in (at most
   ``--restarts`` times) so that one crashing exercise costs that exercise, not the whole chapter;
4. checks that nothing changed the child's copy of the checks (or this repository) while it ran;
5. scores: an exercise earns its points (``checks/NN_topic/chapter.toml``) only when every one of its checks
   passed, and nothing in its chapter tampered with the grader.

Then it writes the report (``kata.report``) and exits 0, whatever the score.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kata import catalog, manifest, messages, report

if TYPE_CHECKING:
    from kata.guard import ChildJob

MAX_SOURCE_BYTES = 1 << 20
MAX_CHANNEL_BYTES = 32 << 20
KILL_GRACE = 2.0


class GradingError(Exception):
    """Grading itself could not run; the message is the one-line reason (exit status 2)."""


@dataclass
class Options:
    chapters: str | None = None
    seed: int | None = None
    jobs: int | None = None
    check_timeout: float = 10.0
    chapter_timeout: float = 60.0
    memory_mb: int | None = 2048
    isolation: str | None = None  # fork / spawn (default: fork where the OS has it)
    user: str | None = None
    in_place: bool = False
    restarts: int = 3
    keep: bool = False


# -- chapters and the grader's own files --------------------------------------------------------------------------

def select_chapters(spec: str | None) -> list[catalog.Chapter]:
    """``None`` for all, else a list such as ``01,03`` or a range ``01-04`` (numbers or keys)."""
    all_chapters = list(catalog.chapters())
    if not spec:
        return all_chapters
    wanted: list[catalog.Chapter] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        if dash and lo.strip().isdigit() and hi.strip().isdigit():
            found = [c for c in all_chapters if int(lo) <= int(c.number) <= int(hi)]
        else:
            one = catalog.chapter(part)
            found = [one] if one else []
        if not found:
            raise GradingError(messages.BAD_CHAPTER.format(token=part, choices=", ".join(c.key for c in all_chapters)))
        wanted += [c for c in found if c not in wanted]
    return sorted(wanted, key=lambda c: c.key)


def suite_files(chapters: list[catalog.Chapter]) -> dict[str, bytes]:
    """The grading path the children need, read into memory once: ``{relative path: bytes}``.

    The engine (``kata/*.py``), ``conftest.py``, ``pyproject.toml`` and each chapter's checks and reference.
    """
    root = catalog.ROOT
    files: dict[str, bytes] = {}
    for name in ("conftest.py", "pyproject.toml"):
        files[name] = (root / name).read_bytes()
    for path in sorted((root / "kata").glob("*.py")):
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    for ch in chapters:
        for top in ("checks", "solutions"):
            base = root / top / ch.key
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _shared(rel: str) -> bool:
    """Files every chapter's copy holds (as opposed to ``checks/<chapter>/…`` and ``solutions/<chapter>/…``)."""
    return rel in ("conftest.py", "pyproject.toml") or rel.startswith("kata/")


def _tree_digest(root: Path, files: dict[str, bytes]) -> dict[str, str]:
    out = {}
    for rel in files:
        try:
            out[rel] = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        except OSError:
            out[rel] = ""
    return out


def _write_tree(base: Path, files: dict[str, bytes], only: str | None = None) -> None:
    for rel, data in files.items():
        if only is not None and not (_shared(rel) or rel.split("/")[1] == only):
            continue
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _changed_files(base: Path, files: dict[str, bytes], only: str | None = None) -> list[str]:
    changed = []
    for rel, data in files.items():
        if only is not None and not (_shared(rel) or rel.split("/")[1] == only):
            continue
        try:
            if (base / rel).read_bytes() != data:
                changed.append(rel)
        except OSError:
            changed.append(rel)
    return changed


# -- the submission ------------------------------------------------------------------------------------------------

@dataclass
class Staged:
    display: str  # exercises/NN_topic/<file>.py
    source: bytes | None = None
    problem: str | None = None  # why the file cannot be graded (symlink, too large, ...)
    findings: list[str] = field(default_factory=list)  # the static scan


def find_learner_file(submission: Path, chapter: catalog.Chapter) -> Path | None:
    """The learner's file: ``exercises/NN/<file>`` in a repository copy, ``NN/<file>`` in an exercises folder, or
    ``<file>`` in a flat upload (Gradescope) where no other chapter uses that name."""
    candidates = [submission / "exercises" / chapter.key / chapter.file, submission / chapter.key / chapter.file]
    if sum(c.file == chapter.file for c in catalog.chapters()) == 1:
        candidates.append(submission / chapter.file)
    return next((c for c in candidates if os.path.lexists(c)), None)


def stage(submission: Path, chapter: catalog.Chapter) -> Staged:
    staged = Staged(f"exercises/{chapter.key}/{chapter.file}")
    path = find_learner_file(submission, chapter)
    if path is None:
        return staged
    info = os.lstat(path)
    import stat
    if stat.S_ISLNK(info.st_mode):
        staged.problem = messages.GRADE_BAD_FILE_SYMLINK
    elif not stat.S_ISREG(info.st_mode):
        staged.problem = messages.GRADE_BAD_FILE_NOT_REGULAR
    elif info.st_size > MAX_SOURCE_BYTES:
        staged.problem = messages.GRADE_BAD_FILE_TOO_LARGE.format(size=info.st_size, limit=MAX_SOURCE_BYTES)
    else:
        staged.source = path.read_bytes()
        text = staged.source.decode("utf-8", errors="replace")
        from kata.guard import scan_source  # imports pytest: only when grading, not for every `kata` command
        staged.findings = [messages.TAMPER_STATIC.format(what=what, line=line) for what, line in scan_source(text)]
    return staged


# -- one chapter, possibly over several runs ----------------------------------------------------------------------

@dataclass
class ChapterState:
    chapter: catalog.Chapter
    staged: Staged
    base: Path  # run_root/<key>
    collected: list[dict] | None = None  # from the first run: every check, in order
    records: dict[str, dict] = field(default_factory=dict)  # nodeid -> the check's result
    findings: list[str] = field(default_factory=list)
    deselect: list[str] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    outcome: str = report.COMPLETED
    message: str = ""
    suspect: list[str] = field(default_factory=list)  # suite files found changed while it ran beside others
    error: str = ""

    @property
    def suite(self) -> Path:
        return self.base / "suite"


@dataclass
class Run:
    state: ChapterState
    job: "ChildJob"
    key: bytes
    fd: int
    pid: int
    popen: subprocess.Popen | None
    started: float
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    received: int = 0
    seq: int = 0
    collected: list[dict] | None = None
    ended: bool = False
    timed_out: bool = False
    eof: bool = False
    exited_at: float | None = None
    killed_at: float | None = None
    status: int | None = None  # raw wait status
    overlapped: set[str] = field(default_factory=set)


class Grader:
    """Runs the chapters of one submission; :func:`grade` is the way in."""

    def __init__(self, submission: Path, options: Options):
        self.submission = submission
        self.options = options
        self.chapters = select_chapters(options.chapters)
        self.seed = options.seed if options.seed is not None else int.from_bytes(os.urandom(3), "little")
        self.isolation = options.isolation or default_isolation()
        self.jobs = max(1, options.jobs or os.cpu_count() or 1)
        self.uid = self.gid = None
        if options.user:
            self._resolve_user(options.user)
        self.suite = suite_files(self.chapters)
        self.tree = _tree_digest(catalog.ROOT, self.suite)
        self.warnings: list[str] = []
        self.run_root = Path(tempfile.mkdtemp(prefix="kata-grade-"))
        self.states = [ChapterState(ch, stage(submission, ch), self.run_root / ch.key) for ch in self.chapters]
        self.running: dict[int, Run] = {}

    def _resolve_user(self, user: str) -> None:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            raise GradingError("--user は root で実行したときだけ使えます。")
        import pwd
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise GradingError(f"ユーザー {user!r} がありません。") from None
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        problem = _unreadable_for(self.uid, self.gid)
        if problem:
            raise GradingError(f"ユーザー {user!r} から {problem} を読めません。--user を外すか、"
                               f"そのユーザーが読める場所に Python と torch を置いてください。")

    # -- the whole run -------------------------------------------------------------------------------------------

    def grade(self) -> report.GradeResult:
        started = time.monotonic()
        try:
            if self.isolation == "fork":
                prewarm()
            os.chmod(self.run_root, 0o711)
            for st in self.states:
                st.base.mkdir(mode=0o711)
                _write_tree(st.suite, self.suite, only=st.chapter.key)
            self._schedule(deque(self.states), self.jobs)
            suspects = [st for st in self.states if st.suspect]
            for st in suspects:  # ran beside others when the files changed: grade each alone to know who did it
                self._reset(st)
                self._schedule(deque([st]), 1)
        finally:
            for run in list(self.running.values()):
                self._kill(run)
            if not self.options.keep:
                shutil.rmtree(self.run_root, ignore_errors=True)
        result = self._result()
        result.seconds = time.monotonic() - started
        return result

    def _reset(self, st: ChapterState) -> None:
        st.collected, st.records, st.deselect, st.runs = None, {}, [], 0
        st.outcome, st.message, st.suspect = report.COMPLETED, "", []
        shutil.rmtree(st.suite, ignore_errors=True)
        _write_tree(st.suite, self.suite, only=st.chapter.key)

    def _schedule(self, pending: deque[ChapterState], jobs: int) -> None:
        """Run ``pending`` with at most ``jobs`` children at a time; never block on one child while others run."""
        selector = selectors.DefaultSelector()
        try:
            while pending or self.running:
                while pending and len(self.running) < jobs:
                    st = pending.popleft()
                    try:
                        run = self._start(st)
                    except Exception as err:  # noqa: BLE001 - one chapter that cannot start is that chapter's error
                        st.outcome, st.error = report.ERROR, f"{type(err).__name__}: {err}"
                        continue
                    for other in self.running.values():
                        other.overlapped.add(st.chapter.key)
                        run.overlapped.add(other.state.chapter.key)
                    self.running[run.fd] = run
                    selector.register(run.fd, selectors.EVENT_READ, run)
                if not self.running:
                    continue
                now = time.monotonic()
                wakeups = [(r.killed_at + KILL_GRACE if r.killed_at else r.deadline) - now
                           for r in self.running.values()]
                if any(r.eof for r in self.running.values()):
                    wakeups.append(0.01)  # a child that closed its pipe: poll for its exit
                wakeups += [r.exited_at + KILL_GRACE - now for r in self.running.values() if r.exited_at]
                for key, _ in selector.select(max(0.0, min(wakeups))):
                    run = key.data
                    try:
                        data = os.read(run.fd, 1 << 16)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if data:
                        self._feed(run, data)
                    else:
                        selector.unregister(run.fd)
                        run.eof = True
                now = time.monotonic()
                for run in list(self.running.values()):
                    if run.eof and self._exited(run):
                        self._finish(run, pending)
                    elif not run.eof and run.status is None and self._exited(run):
                        run.exited_at = now  # exited, but something it started still holds the pipe
                    elif run.exited_at is not None and now >= run.exited_at + KILL_GRACE:
                        selector.unregister(run.fd)
                        run.eof = True
                        self._finish(run, pending)
                    elif run.killed_at is None and now >= run.deadline:
                        run.timed_out = True
                        self._kill(run)
                    elif run.killed_at is not None and now >= run.killed_at + KILL_GRACE:
                        if not run.eof:  # something outside the process group holds the pipe: stop waiting
                            selector.unregister(run.fd)
                            run.eof = True
                        self._exited(run)
                        self._finish(run, pending)
        finally:
            selector.close()

    # -- starting a child ----------------------------------------------------------------------------------------

    def _start(self, st: ChapterState) -> Run:
        st.runs += 1
        work = st.base / f"run{st.runs}"
        (work / "tmp").mkdir(parents=True)
        if st.staged.source is not None:
            target = work / "exercises" / st.chapter.key / st.chapter.file
            target.parent.mkdir(parents=True)
            target.write_bytes(st.staged.source)
        else:
            (work / "exercises" / st.chapter.key).mkdir(parents=True)
        if self.uid is not None:
            for path in [work, *work.rglob("*")]:
                os.chown(path, self.uid, self.gid)
        from kata.guard import ChildJob

        job = ChildJob(
            chapter=st.chapter.key, suite=str(st.suite), submission=str(work),
            learner_file=str(work / "exercises" / st.chapter.key / st.chapter.file), work=str(work),
            grader_root=str(catalog.ROOT), run_root=str(self.run_root), seed=self.seed,
            check_timeout=self.options.check_timeout, cpu_seconds=int(self.options.chapter_timeout) + 5,
            memory_bytes=(self.options.memory_mb << 20) if self.options.memory_mb else None,
            deselect=list(st.deselect), uid=self.uid, gid=self.gid)
        key = secrets.token_bytes(32)
        read_fd, write_fd = os.pipe()
        os.set_inheritable(write_fd, True)
        started = time.monotonic()
        popen = None
        if self.isolation == "fork":
            # Objects inherited from the parent go to the permanent generation: the child's collections skip them.
            gc.freeze()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_fd)
                from kata.guard import fork_child
                fork_child(job, write_fd, key)
            gc.unfreeze()
            try:
                os.setpgid(pid, pid)
            except OSError:
                pass
        else:
            boot = f"import sys; sys.path.insert(0, {str(st.suite)!r}); from kata.guard import main; main()"
            popen = subprocess.Popen([sys.executable, "-I", "-c", boot], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,),
                                     start_new_session=True, cwd=work, env={"PATH": os.environ.get("PATH", "")})
            pid = popen.pid
            assert popen.stdin is not None
            popen.stdin.write(f"{job.to_json()}\n{key.hex()}\n{write_fd}\n".encode())
            popen.stdin.close()
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        return Run(st, job, key, read_fd, pid, popen, started, started + self.options.chapter_timeout)

    # -- reading its results -------------------------------------------------------------------------------------

    def _feed(self, run: Run, data: bytes) -> None:
        run.received += len(data)
        if run.received > MAX_CHANNEL_BYTES:
            self._tamper(run.state, messages.TAMPER_CHANNEL)
            self._kill(run)
            return
        run.buffer += data
        while b"\n" in run.buffer:
            line, _, rest = bytes(run.buffer).partition(b"\n")
            run.buffer = bytearray(rest)
            self._message(run, line)
        from kata.guard import MAX_LINE

        if len(run.buffer) > MAX_LINE:
            self._tamper(run.state, messages.TAMPER_CHANNEL)
            run.buffer.clear()

    def _message(self, run: Run, line: bytes) -> None:
        from kata.guard import verify_line

        st = run.state
        msg = verify_line(line, run.key)
        if msg is None or msg.get("seq") != run.seq:
            self._tamper(st, messages.TAMPER_CHANNEL)
            return
        run.seq += 1
        kind = msg.get("kind")
        for finding in msg.get("findings") or []:
            self._tamper(st, str(finding))
        if kind == "hello":
            return
        if kind == "collected" and run.collected is None:
            tests = [t for t in msg.get("tests", []) if isinstance(t, dict) and isinstance(t.get("nodeid"), str)]
            run.collected = tests
            if st.collected is None:
                st.collected = tests
                if msg.get("errors") and not tests:
                    st.error = "\n".join(str(e) for e in msg["errors"])[:2000]
            return
        if kind == "test" and run.collected is not None:
            nodeid = msg.get("nodeid")
            if nodeid not in {t["nodeid"] for t in run.collected} or nodeid in st.records:
                self._tamper(st, messages.TAMPER_CHANNEL)
                return
            st.records[nodeid] = {"status": str(msg.get("status")), "verdict": str(msg.get("verdict") or ""),
                                  "attribute": str(msg.get("attribute") or "")}
            return
        if kind == "end":
            run.ended = True
            return
        self._tamper(st, messages.TAMPER_CHANNEL)

    @staticmethod
    def _tamper(st: ChapterState, what: str) -> None:
        if what not in st.findings:
            st.findings.append(what)

    # -- ending a child ------------------------------------------------------------------------------------------

    def _kill(self, run: Run) -> None:
        if run.killed_at is None:
            run.killed_at = time.monotonic()
        try:
            os.killpg(run.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            try:
                os.kill(run.pid, signal.SIGKILL)
            except OSError:
                pass

    @staticmethod
    def _exited(run: Run) -> bool:
        """Whether the child has exited (its wait status is then in ``run.status``); never blocks."""
        if run.status is not None:
            return True
        try:
            if run.popen is not None:
                code = run.popen.poll()
                if code is None:
                    return False
                run.status = (-code) if code < 0 else (code << 8)
                return True
            pid, status = os.waitpid(run.pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if not pid:
            return False
        run.status = status
        return True

    def _finish(self, run: Run, pending: deque[ChapterState]) -> None:
        self.running.pop(run.fd, None)
        os.close(run.fd)
        try:
            os.killpg(run.pid, signal.SIGKILL)  # anything the learner's code left behind in the group
        except OSError:
            pass
        st = run.state
        st.seconds += time.monotonic() - run.started
        changed = _changed_files(st.suite, self.suite, only=st.chapter.key)
        if changed:
            if run.overlapped:
                st.suspect = changed
            else:
                self._tamper(st, messages.TAMPER_SUITE_CHANGED.format(path=changed[0]))
            shutil.rmtree(st.suite, ignore_errors=True)
            _write_tree(st.suite, self.suite, only=st.chapter.key)
        self._check_grader_tree()
        if run.collected is None:
            st.outcome = self._outcome(run)
            st.message = st.error or messages.GRADE_NO_REPORT.format(why=self._why(run))
            return
        outcome = self._outcome(run)
        if outcome != report.COMPLETED:
            st.outcome, st.message = outcome, self._why(run)
        missing = [t["nodeid"] for t in run.collected if t["nodeid"] not in st.records]
        if not missing or st.findings:
            return
        verdict = self._not_run_verdict(run)
        rest = missing
        if outcome != report.COMPLETED:
            # The process died in the first check without a result: that check is the culprit.  (When pytest's
            # session was interrupted instead, the interrupted check has already reported.)
            st.records[missing[0]] = {"status": "notrun", "verdict": verdict, "attribute": outcome}
            rest = missing[1:]
        if rest and st.runs <= self.options.restarts and not st.suspect:
            st.deselect = [t["nodeid"] for t in st.collected or [] if t["nodeid"] in st.records]
            pending.append(st)
        else:
            for nodeid in rest:
                st.records[nodeid] = {"status": "notrun", "verdict": verdict, "attribute": outcome}

    def _check_grader_tree(self) -> None:
        """Note any change to this repository's grading path during grading (children never read it: they have
        their own copies, so a change cannot alter a grade, but it is reported)."""
        now = _tree_digest(catalog.ROOT, self.suite)
        changed = [rel for rel in now if now[rel] != self.tree.get(rel)]
        if changed:
            self.tree = now
            self.warnings.append(messages.TAMPER_SUITE_CHANGED.format(path=", ".join(changed[:5])))

    def _outcome(self, run: Run) -> str:
        if run.timed_out:
            return report.TIMEOUT
        status = run.status
        if status is not None and os.WIFSIGNALED(status):
            return report.CRASHED
        if not run.ended:
            return report.EXITED
        return report.COMPLETED

    def _why(self, run: Run) -> str:
        outcome = self._outcome(run)
        if outcome == report.TIMEOUT:
            return messages.GRADE_NOT_RUN_TIMEOUT.format(seconds=f"{self.options.chapter_timeout:g}")
        status = run.status
        if outcome == report.CRASHED and status is not None:
            return messages.GRADE_NOT_RUN_CRASH.format(signal=_signal_name(os.WTERMSIG(status)))
        if outcome == report.EXITED:
            code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else "?"
            return messages.GRADE_NOT_RUN_EXIT.format(code=code)
        return messages.GRADE_INTERRUPTED

    def _not_run_verdict(self, run: Run) -> str:
        return self._why(run)

    # -- scoring -------------------------------------------------------------------------------------------------

    def _result(self) -> report.GradeResult:
        result = report.GradeResult(str(self.submission), self.seed, isolation=self.isolation,
                                    warnings=list(self.warnings))
        for st in self.states:
            ch = st.chapter
            findings = st.staged.findings + st.findings
            chapter = report.ChapterResult(ch.key, ch.title, ch.file, outcome=st.outcome, message=st.message,
                                           findings=findings, runs=st.runs, seconds=st.seconds)
            if findings:
                chapter.outcome = report.TAMPERED
            by_exercise: dict[str, list[report.CheckResult]] = {e.name: [] for e in ch.exercises}
            for test in st.collected or []:
                if test.get("exercise") not in by_exercise:
                    continue
                rec = st.records.get(test["nodeid"]) or {"status": "notrun", "verdict": st.message
                                                         or messages.GRADE_NOT_RUN.format(why=st.outcome)}
                verdict = rec["verdict"]
                if st.staged.problem and rec["status"] != "pass":
                    verdict = messages.GRADE_BAD_FILE.format(file=st.staged.display, why=st.staged.problem)
                by_exercise[test["exercise"]].append(report.CheckResult(
                    test["nodeid"], ch.key, test["exercise"], str(test.get("function") or ""), rec["status"], verdict,
                    rec.get("attribute", "")))
            for ex in ch.exercises:
                result.exercises.append(_score(ex, by_exercise[ex.name], findings, st))
            chapter.max_score = sum(e.points for e in result.exercises if e.chapter == ch.key)
            chapter.score = sum(e.score for e in result.exercises if e.chapter == ch.key)
            result.chapters.append(chapter)
        return result


def _unreadable_for(uid: int, gid: int) -> str | None:
    """A path of the Python installation that user ``uid`` cannot read (checked in a short-lived fork), or None."""
    import sysconfig
    import numpy
    import pytest
    import torch
    paths = [sysconfig.get_paths()["stdlib"], os.path.dirname(pytest.__file__), os.path.dirname(torch.__file__),
             os.path.dirname(numpy.__file__), sys.executable]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            for path in paths:
                try:
                    os.listdir(path) if os.path.isdir(path) else open(path, "rb").close()
                except OSError:
                    os.write(write_fd, path.encode())
                    code = 1
                    break
        except BaseException:  # noqa: BLE001
            code = 2
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        bad = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return None
    return bad or "Python の環境"


def _score(ex: catalog.Exercise, checks: list[report.CheckResult], findings: list[str],
           st: ChapterState) -> report.ExerciseResult:
    def out(status: str, verdict: str) -> report.ExerciseResult:
        score = ex.points if status == report.PASS else 0.0
        return report.ExerciseResult(ex.chapter, ex.name, ex.points, score, status, verdict, checks)

    if findings:
        return out(report.TAMPERED, messages.GRADE_TAMPERED.format(what="、".join(findings[:3])))
    if not checks:
        return out(report.ERROR, st.message or st.error or messages.GRADE_NO_CHECKS)
    statuses = [c.status for c in checks]
    bad = next((c for c in checks if c.status in ("fail", "notrun")), None)
    if bad is not None:
        return out(report.FAIL, bad.verdict)
    if "todo" in statuses:
        return out(report.TODO, next(c.verdict for c in checks if c.status == "todo") or messages.TODO)
    if "pass" in statuses:
        return out(report.PASS, messages.GRADE_PASS)
    return out(report.SKIP, next((c.verdict for c in checks if c.verdict), ""))


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


_PREWARMED = False


def default_isolation() -> str:
    """``fork`` where the OS has it and no CUDA runtime was started in this process (a forked child cannot use a
    CUDA runtime its parent started); else ``spawn``."""
    if not hasattr(os, "fork"):
        return "spawn"
    torch = sys.modules.get("torch")
    if torch is not None and os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK") != "1":
        try:
            if torch.cuda.is_available():
                return "spawn"
        except Exception:  # noqa: BLE001
            return "spawn"
    return "fork"


def prewarm() -> None:
    """Import what every child needs once, in the parent, so that forked children start warm."""
    global _PREWARMED
    if _PREWARMED:
        return
    import _pytest
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import pytest_timeout  # noqa: F401
    import torch
    import torch._dynamo  # noqa: F401 - torch imports it lazily on meta arithmetic and optimizer steps (≈1 s)
    import torch.nn  # noqa: F401
    import torch.optim  # noqa: F401
    import torch.utils.data  # noqa: F401
    import torch.testing  # noqa: F401
    import pkgutil
    import pluggy
    for package in (_pytest, pluggy):  # everything pytest may import lazily (a child may not be able to read it)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            try:
                importlib.import_module(info.name)
            except Exception:  # noqa: BLE001 - optional parts (e.g. argcomplete support)
                pass
    for path in sorted((catalog.ROOT / "kata").glob("*.py")):
        if path.stem not in ("__main__", "__init__", "cli"):
            try:
                importlib.import_module(f"kata.{path.stem}")
            except Exception:  # noqa: BLE001 - a command module with optional dependencies is not needed here
                pass
    catalog.chapters()
    # The first assert_close imports torch.distributed.tensor (≈0.4 s): once here, not in every child with a
    # wrong answer.
    try:
        torch.testing.assert_close(torch.zeros(1), torch.ones(1))
    except AssertionError:
        pass
    del torch
    _PREWARMED = True


# -- the public function and the commands --------------------------------------------------------------------------

def grade(submission: Path | str, options: Options | None = None, **overrides: Any) -> report.GradeResult:
    """Grade ``submission`` (a learner's copy of the repository, an exercises folder or a flat upload)."""
    options = options or Options()
    for name, value in overrides.items():
        setattr(options, name, value)
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise GradingError(messages.GRADE_NO_SUBMISSION.format(path=submission))
    in_place = options.in_place or submission == catalog.ROOT
    if in_place:
        comparison = manifest.compare(catalog.ROOT)
        if comparison.no_manifest:
            raise GradingError(comparison.lines()[0])
        if not comparison.ok:
            files = ", ".join(comparison.problems[:10])
            raise GradingError(messages.GRADE_REFUSED_IN_PLACE.format(manifest=comparison.manifest, files=files))
    return Grader(submission, options).grade()


def register(subparsers: Any) -> None:
    g = subparsers.add_parser(
        "grade", help="提出物を採点してレポートを書き出す (講師・CI 用)",
        description="学習者のリポジトリ (その exercises/) を、このリポジトリのチェックと模範解答で採点します。"
                    "章ごとに別プロセスで、時間とメモリの制限をかけて実行します。レポートを書き出せば、"
                    "点数にかかわらず終了コードは 0 です。")
    g.add_argument("submission", type=Path, help="提出物のフォルダ (リポジトリのコピー、exercises フォルダ、またはファイルを並べたもの)")
    g.add_argument("--format", choices=report.FORMATS, default="json", help="レポートの形式 (既定: json)")
    g.add_argument("--output", type=Path, help="レポートの書き出し先 (既定: 標準出力)")
    g.add_argument("--chapters", help="採点する章 (例: 01,03 や 01-04。既定: すべて)")
    g.add_argument("--seed", type=int, help="チェックの入力を作る乱数のシード (既定: 毎回ランダム。レポートに記録されます)")
    g.add_argument("--jobs", type=int, help="同時に走らせる章の数 (既定: CPU 数)")
    g.add_argument("--check-timeout", type=float, default=10.0, help="チェック 1 つの制限時間 (秒、既定: 10)")
    g.add_argument("--chapter-timeout", type=float, default=60.0, help="章のプロセス 1 回の制限時間 (秒、既定: 60)")
    g.add_argument("--memory-limit", type=int, default=2048, metavar="MiB",
                   help="章のプロセスが新たに使えるアドレス空間 (MiB、既定: 2048、0 で無制限)")
    g.add_argument("--restarts", type=int, default=3, help="途中で落ちた章を、落ちたチェックの先から再開する回数 (既定: 3)")
    g.add_argument("--isolation", choices=("fork", "spawn"), help="子プロセスの作り方 (既定: fork が使えれば fork)")
    g.add_argument("--user", help="root で実行するとき、学習者のコードをこのユーザーの権限で動かす (例: nobody)")
    g.add_argument("--in-place", action="store_true",
                   help="このリポジトリ自身を採点する (チェック類がマニフェストと一致しなければ拒否します)")
    g.add_argument("--visibility", default="visible",
                   choices=("visible", "hidden", "after_due_date", "after_published"),
                   help="gradescope 形式の visibility (既定: visible)")
    g.add_argument("--keep", action="store_true", help="作業フォルダを消さずに残す (デバッグ用)")
    g.add_argument("--quiet", action="store_true", help="標準エラーに要約を書かない")
    g.set_defaults(func=grade_command)

    v = subparsers.add_parser(
        "verify", help="チェック・エンジン・模範解答が配布時のマニフェストと一致するか確かめる",
        description="kata/, checks/, solutions/, conftest.py, pyproject.toml のハッシュを kata/MANIFEST.sha256 と"
                    "比べ、変更されたファイルを挙げます。一致すれば終了コード 0、しなければ 1 です。")
    v.add_argument("--root", type=Path, default=catalog.ROOT, help="確かめるリポジトリ (既定: このリポジトリ)")
    v.add_argument("--manifest", type=Path, help="比べるマニフェスト (既定: <root>/kata/MANIFEST.sha256)")
    v.add_argument("--digest", help="マニフェスト自体の SHA-256 (講師がワークフローに固定した値)")
    v.set_defaults(func=verify_command)


def grade_command(args: argparse.Namespace) -> int:
    # Ask NVML, not the CUDA runtime, whether there is a GPU: a runtime started here could not be used by forks.
    if "torch" not in sys.modules:
        os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    options = Options(chapters=args.chapters, seed=args.seed, jobs=args.jobs, check_timeout=args.check_timeout,
                      chapter_timeout=args.chapter_timeout, memory_mb=args.memory_limit or None,
                      isolation=args.isolation, user=args.user, in_place=args.in_place, restarts=args.restarts,
                      keep=args.keep)
    try:
        result = grade(args.submission, options)
        if args.format == "gradescope":
            text = json.dumps(report.to_gradescope(result, args.visibility), ensure_ascii=False, indent=1) + "\n"
        else:
            text = report.render(result, args.format)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    except GradingError as err:
        sys.stderr.write(f"kata grade: {err}\n")
        return 2
    except Exception as err:  # noqa: BLE001 - one line, not a traceback, whatever went wrong
        sys.stderr.write(f"kata grade: 採点を実行できませんでした: {type(err).__name__}: {err}\n")
        return 2
    if not args.quiet:
        lines = result.summary_lines() + result.warnings
        if args.output:
            lines.append(messages.GRADE_WROTE.format(format=args.format, path=args.output))
        sys.stderr.write("\n".join(lines) + "\n")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    comparison = manifest.compare(args.root, args.manifest)
    lines = comparison.lines()
    ok = comparison.ok
    if args.digest and not comparison.no_manifest:
        actual = manifest.file_hash(comparison.manifest)
        if actual != args.digest.strip().lower():
            lines.append(messages.VERIFY_DIGEST.format(expected=args.digest, actual=actual))
            ok = False
    if ok:
        print(messages.VERIFY_OK.format(manifest=comparison.manifest, count=comparison.count))
        return 0
    for line in lines:
        print(line)
    if not comparison.no_manifest:
        print(messages.VERIFY_FAILED.format(count=len(lines)))
    return 1
