"""``kata grade`` and ``kata verify``: grade a submission behind a process boundary.

Three kinds of process (README.md, 「1. 採点の仕組み」; the boundary's contract: docs/grading-contract.md):

- **this parent** reads nothing of the submission but its chapter files (opened without following links, size
  bounded), copies the grader's own files named in the manifest into a private folder, starts the trusted
  processes, enforces the submission's time budget and writes the report — progressively, so that a report is on
  disk even if this process is killed from outside.  It imports neither torch nor pytest.
- **trusted pytest processes** (``--jobs`` of them, chapters shared out) run the checks, the engine and the
  references from that private copy, with ``sub`` a proxy to a sandbox worker (``kata.grading.sandbox``).  They never
  import, execute or unpickle anything the learner made.
- **sandbox workers**, one per chapter, forked from a zygote: the only processes that run learner code.

An exercise earns its points (``checks/NN_topic/chapter.toml``) when every one of its scored checks passed; checks
marked ``advisory`` (facts observed inside the learner's own process) are reported but not scored.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kata import catalog, manifest, messages, report
from kata.errors import UsageError
from kata.grading.contract import CONTRACT_OPTION, GradingContract
from kata.grading.sandbox.files import BadSubmissionFile, read_submission_file
from kata.grading.sandbox.zygote import GC_OFF, ZYGOTE_FD_ENV, Zygote
from kata.status import Attribute, ChapterOutcome, CheckResult, CheckStatus

#: The shortest interval (seconds) between two progress reports written while the checks run.
PROGRESS_EVERY = 1.0
#: Rough peak memory of one trusted process with its zygote and a worker (MiB), for the default ``--jobs``.
MEMORY_PER_JOB_MB = 700


class GradingError(Exception):
    """Grading itself could not run; the message is the one-line Japanese reason (exit status 2)."""


@dataclass
class Options:
    """One grading run: the chapters, the seed, how many trusted processes and where the report goes.  The limits and
    the sandbox's options are the grading contract's (:class:`kata.grading.contract.GradingContract`)."""

    chapters: str | None = None
    seed: int | None = None
    jobs: int | None = None
    contract: GradingContract = field(default_factory=GradingContract)
    in_place: bool = False
    keep: bool = False
    output: Path | None = None
    render: Callable[[report.GradeResult], str] | None = None


# -- chapters, files -------------------------------------------------------------------------------------------------

def select_chapters(spec: str | None) -> list[catalog.Chapter]:
    """``None`` for all, else a list such as ``01,03`` or a range ``01-04`` (numbers or keys), in the course's order
    (:func:`kata.catalog.named_chapters`, the parser of every command)."""
    try:
        return sorted(catalog.named_chapters(spec), key=lambda c: c.key)
    except UsageError as err:
        raise GradingError(str(err)) from None


def learner_file_parts(submission: Path, chapter: catalog.Chapter) -> tuple[str, ...]:
    """Where the chapter's file is in a submission: a repository copy, its exercises folder, or files laid flat."""
    layouts = [("exercises", chapter.key, chapter.file), (chapter.key, chapter.file), (chapter.file,)]
    for parts in layouts:
        if os.path.lexists(submission.joinpath(*parts[:1])) and _first_existing(submission, parts):
            return parts
    return layouts[0]


def _first_existing(root: Path, parts: tuple[str, ...]) -> bool:
    path = root
    for part in parts:
        path = path / part
        if not os.path.lexists(path):
            return False
    return True


def read_learner_file(submission: Path, chapter: catalog.Chapter) -> bytes:
    parts = learner_file_parts(submission, chapter)
    return read_submission_file(submission, parts, "/".join(("exercises", chapter.key, chapter.file)))


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of /proc/PID/stat), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def work_folder(prefix: str) -> Path:
    """A private (0700) temporary folder for one grading run, named after this process (pid and start time).

    A run stopped by SIGKILL (or a machine that lost power) cannot remove its folder, which holds a copy of the
    checks and the submissions staged: the next run removes the folders of runs whose process is gone.  Linux only
    (it reads /proc); elsewhere the folder is simply made."""
    tmp = Path(tempfile.gettempdir())
    me = _start_time(os.getpid())
    if me is not None:
        for old in tmp.glob(f"{prefix}*-*-*"):
            parts = old.name[len(prefix):].split("-")
            if len(parts) < 3 or not parts[0].isdigit() or not parts[1].isdigit():
                continue
            with contextlib.suppress(OSError):
                if old.is_symlink() or not old.is_dir() or old.stat().st_uid != os.getuid():
                    continue
                if _start_time(int(parts[0])) != parts[1]:  # that process is gone (or its pid is someone else's)
                    shutil.rmtree(old, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-{me or 0}-"))
    os.chmod(work, 0o700)
    return work


def private_copy(root: Path, target: Path, in_place: bool) -> list[str]:
    """The grading path (engine, checks, references, pytest settings) copied into ``target``, which the trusted
    processes then import from.  In place (the learner's own repository), only files the manifest names, each
    checked against its hash as it is copied."""
    import hashlib

    changed: list[str] = []
    listed = manifest.parse(manifest.manifest_path(root).read_text(encoding="utf-8")) \
        if manifest.manifest_path(root).is_file() else {}
    names = manifest.grading_files(root)
    for name in names:
        data = (root / name).read_bytes()
        if listed.get(name) != hashlib.sha256(data).hexdigest():
            if in_place:
                raise GradingError(messages.GRADE_REFUSED_IN_PLACE.format(manifest=manifest.MANIFEST_NAME,
                                                                          files=name))
            changed.append(name)
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return changed


# -- resources -------------------------------------------------------------------------------------------------------

def usable_cpus() -> int:
    """CPUs this process may really use: its affinity mask and its cgroup's CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    return max(1, cpus)


def usable_memory_mb() -> int | None:
    """Memory this process tree may use: the cgroup limit, else what the machine has available."""
    with contextlib.suppress(OSError, ValueError):
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw != "max":
            return int(raw) >> 20
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) >> 10
    return None


def default_jobs(chapters: int) -> int:
    """Half the usable CPUs (each job keeps two processes busy: its trusted pytest and, in turn, its sandbox worker;
    and both import torch at the start), at most what the memory allows, at least one."""
    jobs = max(1, usable_cpus() // 2)
    memory = usable_memory_mb()
    if memory is not None:
        jobs = min(jobs, max(1, memory // MEMORY_PER_JOB_MB))
    return max(1, min(jobs, chapters))


# -- the trusted processes -------------------------------------------------------------------------------------------

#: What a zygote imports before it forks (torch's compiler: see ``kata.grading.glue.WARM``).
ZYGOTE_WARM = ("torch._dynamo",)


@dataclass(frozen=True)
class TrustedRun:
    """One trusted pytest run: its arguments (pytest's own), whole environment, working folder and log, and the
    grader's private copy it imports the engine and the checks from."""

    suite: Path
    pytest_args: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path


class TrustedProcesses:
    """How ``kata grade`` runs its trusted processes: a zygote per job and a fresh Python per trusted run, both ended
    with the submission's grading.  ``kata class grade`` shares long-lived ones instead
    (:class:`kata.classroom.grade.SlotProcesses`)."""

    def zygotes(self, count: int, work: Path, suite: Path, contract: GradingContract) -> list[Zygote]:
        """``count`` zygotes, started now: their import of torch is the longest step before the first check."""
        return [Zygote(contract.isolation, log=work / f"zygote-{i}.log", warm=ZYGOTE_WARM, root=suite)
                for i in range(count)]

    def launch(self, run: TrustedRun, zygote: Zygote) -> Any:
        """Start the trusted run, handed ``zygote``; returns its :class:`subprocess.Popen` (or an object with the
        same ``pid``, ``poll``, ``wait`` and ``returncode``)."""
        # Once pytest is done (the stream closed, the workers and the zygote told to go), the process ends without
        # finalising the interpreter: tearing down torch's modules takes a few tenths of a second and helps nothing
        # (the class template's children end the same way).
        code = (GC_OFF + "import os, sys; sys.path.insert(0, %r); import pytest; rc = int(pytest.main(sys.argv[1:])); "
                "sys.stdout.flush(); sys.stderr.flush(); os._exit(rc)") % str(run.suite)
        env = {**run.env, ZYGOTE_FD_ENV: str(zygote.control.fileno())}
        with open(run.log, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-I", "-c", code, *run.pytest_args], cwd=run.cwd,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True, pass_fds=[zygote.control.fileno()])
        zygote.control.close()  # the trusted process holds it now
        return proc

    def finished(self, zygote: Zygote) -> None:
        """The trusted run handed ``zygote`` ended: the zygote saw its control socket close, kills its workers and
        exits."""
        proc = getattr(zygote, "proc", None)
        if proc is None:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def unused(self, zygote: Zygote) -> None:
        """A zygote no trusted run was handed (fewer chapters to grade than zygotes)."""
        zygote.close()


# -- chapters already graded in this run ----------------------------------------------------------------------------

#: Attributes of a check result that depend on more than the file and the seed (the time it took, the process
#: dying, the budget): a chapter with any of them is never reused for another submission.
UNSTABLE = frozenset({Attribute.TIMEOUT, Attribute.TIMEOUT_NOT_RUN, Attribute.NOT_RUN, Attribute.CRASH,
                      Attribute.CHECK})


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class KnownChapter:
    """A chapter graded earlier in the same run (same checks, same seed, same limits) for a file with these exact
    bytes: its checks' results, in run order.  ``kata class grade`` grades the grader's own distributed stubs once
    and reuses the result for every learner whose chapter file is still that stub, byte for byte."""

    digest: str
    checks: tuple[CheckResult, ...]


# -- the grader --------------------------------------------------------------------------------------------------------

@dataclass
class Job:
    chapters: list[catalog.Chapter]
    stream: Path
    log: Path
    proc: subprocess.Popen | None = None
    offset: int = 0
    buffer: bytes = b""
    done: bool = False
    exit: int | None = None
    zygote: Any = None


@dataclass
class Grader:
    """Grades one submission (:meth:`grade`).  ``suite`` is the grader's private copy when it is shared by several
    submissions (else one is made for this submission), ``processes`` how the trusted processes run, ``hide`` more
    folders the sandbox worker must not see, and ``warnings`` what the report says in any case."""

    submission: Path
    options: Options
    suite: Path | None = None
    processes: TrustedProcesses = field(default_factory=TrustedProcesses)
    hide: tuple[str, ...] = ()
    #: chapter key -> a result to reuse when the submission's file has its digest (:class:`KnownChapter`).
    known: dict[str, KnownChapter] = field(default_factory=dict)
    chapters: list[catalog.Chapter] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)  # chapter key -> verdict (file not gradeable)
    collected: dict[str, CheckResult] = field(default_factory=dict)  # nodeid -> the check, before it ran
    results: dict[str, CheckResult] = field(default_factory=dict)  # nodeid -> its result
    finished_jobs: dict[str, str] = field(default_factory=dict)  # chapter key -> why it ended early
    seed: int = 0
    started: float = 0.0
    isolation: str = ""
    warnings: list[str] = field(default_factory=list)
    selftest_failure: str | None = None  # why the sandbox's self-test failed (the grade is then refused)
    selftest_seconds: list[float] = field(default_factory=list)  # what each trusted process's self-test took
    work: Path | None = None  # this submission's private work folder, while it is graded
    digests: dict[str, str] = field(default_factory=dict)  # chapter key -> the digest of the file staged for it

    def grade(self) -> report.GradeResult:
        self.started = time.monotonic()
        self.chapters = select_chapters(self.options.chapters)
        self.seed = self.options.seed if self.options.seed is not None else int.from_bytes(os.urandom(3), "little")
        work = self.work = work_folder("kata-grade-")
        try:
            return self._grade_in(work)
        finally:
            if not self.options.keep:
                shutil.rmtree(work, ignore_errors=True)
            else:
                sys.stderr.write(messages.GRADE_KEPT.format(path=work) + "\n")

    def _grade_in(self, work: Path) -> report.GradeResult:
        suite = self.suite
        if suite is None:
            suite = work / "grader"
            changed = private_copy(catalog.ROOT, suite, self.options.in_place)
            if changed:
                # An instructor's own edits since the manifest was written: graded as they are, and said so.
                self.warnings.append(messages.GRADE_MANIFEST_STALE.format(count=len(changed),
                                                                          files=", ".join(changed[:5])))
        # The zygotes start first: their import of torch is the longest step before the first check.
        count = max(1, min(self.options.jobs or default_jobs(len(self.chapters)), len(self.chapters)))
        zygotes = self.processes.zygotes(count, work, suite, self.options.contract)
        stage = work / "submission"
        good = self._stage(stage)
        self._write_progress()
        jobs = self._start_jobs(good, suite, stage, work, zygotes)
        for unused in zygotes[len(jobs):]:
            self.processes.unused(unused)
        self._watch(jobs)
        self.refuse_if_self_test_failed()
        result = self._result()
        self._write_progress(result)
        return result

    def refuse_if_self_test_failed(self) -> None:
        if self.selftest_failure is not None:
            if self.options.output is not None and self.options.render is not None:
                with contextlib.suppress(OSError):  # the report written as the run began: no grade stands
                    Path(self.options.output).unlink()
            raise GradingError(messages.GRADE_SELFTEST_FAILED.format(why=report.clean(self.selftest_failure, 300)))

    def _stage(self, stage: Path) -> list[catalog.Chapter]:
        """Copy each chapter file of the submission into ``stage`` (read without following links, size bounded);
        a file that cannot be graded is recorded in ``bad`` with its verdict.  The chapters staged are returned."""
        good: list[catalog.Chapter] = []
        if self.options.contract.selftest == "only":  # no submission: the references only
            (stage / "exercises").mkdir(parents=True, exist_ok=True)
            return list(self.chapters)
        for ch in self.chapters:
            try:
                data = read_learner_file(self.submission, ch)
            except BadSubmissionFile as err:
                self.bad[ch.key] = err.verdict
                continue
            digest = self.digests[ch.key] = file_digest(data)
            known = self.known.get(ch.key)
            if known is not None and known.digest == digest:
                for check in known.checks:
                    self.collected[check.nodeid] = self.results[check.nodeid] = check
                continue
            dest = stage / "exercises" / ch.key / ch.file
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            good.append(ch)
        return good

    def known_chapter(self, ch: catalog.Chapter) -> KnownChapter | None:
        """This submission's result for ``ch`` as a :class:`KnownChapter`, to be reused for another submission of
        the same run whose file has the same bytes; ``None`` when it may depend on more than the file: the chapter
        was not graded to the end, a check did not report, or one timed out, crashed the worker or failed in the
        check itself."""
        digest = self.digests.get(ch.key)
        if digest is None or ch.key in self.finished_jobs or self.selftest_failure is not None:
            return None
        checks = [self.results.get(nodeid) for nodeid, c in self.collected.items() if c.chapter == ch.key]
        if not checks or any(c is None or c.status == CheckStatus.NOT_RUN or c.attribute in UNSTABLE
                             or (self.work is not None and str(self.work) in c.verdict) for c in checks):
            return None
        return KnownChapter(digest, tuple(c for c in checks if c is not None))

    # processes -----------------------------------------------------------------------------------------------------
    def _start_jobs(self, chapters: list[catalog.Chapter], suite: Path, stage: Path, work: Path,
                    zygotes: list[Zygote]) -> list[Job]:
        if not chapters:
            return []
        terms = self.options.contract
        count = max(1, min(len(zygotes), len(chapters)))
        groups: list[list[catalog.Chapter]] = [[] for _ in range(count)]
        weights = [0] * count
        for ch in sorted(chapters, key=lambda c: -len(c.exercises)):
            i = weights.index(min(weights))
            groups[i].append(ch)
            weights[i] += len(ch.exercises)
        deadline = time.time() + terms.budget - 5.0  # leave time to write the report
        jobs = []
        for i, group in enumerate(groups):
            group.sort(key=lambda c: c.key)
            job = Job(group, work / f"stream-{i}.jsonl", work / f"pytest-{i}.log")
            job.stream.touch()
            temp = work / f"tmp-{i}"
            zygote = zygotes[i]
            hide = [str(catalog.ROOT), str(self.submission), str(work)]
            if self.options.output is not None:
                hide.append(str(Path(self.options.output).resolve().parent))
            contract = terms.for_run(deadline=deadline, hide=(*hide, *self.hide), zygote_isolation=zygote.isolation,
                                     zygote_ready=zygote.ready, zygote_log=str(work / f"zygote-{i}.log"))
            contract_file = contract.to_file(work / f"contract-{i}.json")
            # Only the plugins grading needs (PYTEST_DISABLE_PLUGIN_AUTOLOAD below): a grade must not depend on the
            # pytest plugins installed beside it (one that reorders checks or reseeds the RNGs would change it).
            args = ["-p", "kata.plugin", "-p", "pytest_timeout", "--noconftest",
                    "-c", str(suite / "pyproject.toml"), "--rootdir", str(suite), "-p", "no:cacheprovider",
                    # The sandbox's own per-call limit is the one that fires; pytest-timeout only guards trusted code.
                    "-q", "--no-header", "-o", f"timeout={3 * terms.check_timeout + 30}",
                    # The plugin replaces every failed check's traceback with its verdict: pytest's default style
                    # would first parse each traceback entry's source file (about 0.3 s per failed check), and even
                    # the native style formats a traceback nobody reads (the log then shows no verdicts either).
                    "--tb=no",
                    # Nothing of a check's output is read (learner code prints in the worker, which reports it): no
                    # per-check capture of stdout and stderr, which the log takes instead.
                    "--capture=no",
                    # Nor of its log records: pytest's logging plugin attaches two handlers to every non-propagating
                    # logger around each phase of each check, and torch's compiler (imported up front here) makes
                    # dozens of them -- about 1 ms per check of the trusted process, for records nobody reads.
                    "-p", "no:logging",
                    f"--kata-submission={stage}", "--kata-sandbox", f"--kata-seed={self.seed}",
                    f"--kata-stream={job.stream}", f"--basetemp={temp}", f"{CONTRACT_OPTION}={contract_file}"]
            args += [str(suite / "checks" / ch.key) for ch in group]
            env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")}
            env.update({"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
                        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
            self.isolation = zygote.isolation
            job.proc = self.processes.launch(TrustedRun(suite, args, env, work, job.log), zygote)
            job.zygote = zygote
            jobs.append(job)
        return jobs

    def _watch(self, jobs: list[Job]) -> None:
        budget = self.options.contract.budget
        end = self.started + budget - 3.0
        last_write, write_every = 0.0, PROGRESS_EVERY
        while any(not j.done for j in jobs):
            changed = False
            for job in jobs:
                if job.done:
                    continue
                changed |= self._read_stream(job)
                if job.proc is not None and job.proc.poll() is not None:
                    self._read_stream(job)
                    job.done, job.exit = True, job.proc.returncode
                    self._reap_zygote(job)
                    if job.exit not in (0, 1):
                        for ch in job.chapters:
                            self.finished_jobs.setdefault(ch.key, messages.GRADE_NOT_RUN_EXIT.format(code=job.exit))
            if self.selftest_failure is not None or time.monotonic() > end:
                for job in jobs:
                    if not job.done:
                        self._kill(job)
                        self._read_stream(job)
                        job.done = True
                        for ch in job.chapters:
                            self.finished_jobs.setdefault(ch.key, messages.GRADE_NOT_RUN_TIMEOUT.format(
                                seconds=int(budget)))
                break
            now = time.monotonic()
            if changed and now - last_write > write_every:
                self._write_progress()
                last_write = time.monotonic()
                # Rendering the whole report costs this process's CPU, which the trusted runs and their workers
                # share: at most about 5 % of it goes to progress reports (and never more than one a second).
                write_every = max(PROGRESS_EVERY, 20 * (last_write - now))
            # Wait a twentieth of a second, or less when a trusted run ends sooner (its end is what the grade waits
            # for).
            running = next((j.proc for j in jobs if not j.done and j.proc is not None), None)
            if running is None:
                time.sleep(0.05)
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    running.wait(timeout=0.05)

    def _kill(self, job: Job) -> None:
        if job.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(job.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                job.proc.wait(timeout=10)
        self._reap_zygote(job)

    def _reap_zygote(self, job: Job) -> None:
        if job.zygote is not None:
            self.processes.finished(job.zygote)

    def _read_stream(self, job: Job) -> bool:
        try:
            with open(job.stream, "rb") as f:
                f.seek(job.offset)
                data = f.read(64 << 20)
        except OSError:
            return False
        job.offset += len(data)
        job.buffer += data
        changed = False
        while b"\n" in job.buffer:
            line, job.buffer = job.buffer.split(b"\n", 1)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            changed = True
            if event.get("event") == "collected":
                for test in event.get("checks", []):
                    check = CheckResult.from_dict(test)
                    self.collected[check.nodeid] = check
            elif event.get("event") == "result":
                check = CheckResult.from_dict(event["check"])
                self.results[check.nodeid] = check
            elif event.get("event") == "selftest":
                with contextlib.suppress(TypeError, ValueError):
                    self.selftest_seconds.append(float(event.get("seconds", 0.0)))
                if not event.get("ok"):
                    self.selftest_failure = str(event.get("why") or "?")
        return changed

    # the result ------------------------------------------------------------------------------------------------------
    def _result(self) -> report.GradeResult:
        result = report.GradeResult(str(self.submission), self.seed, seconds=time.monotonic() - self.started,
                                    isolation=self.isolation or self._isolation_name(),
                                    warnings=list(self.warnings))
        checks: list[CheckResult] = []
        for nodeid, check in self.collected.items():
            rec = self.results.get(nodeid)
            if rec is None:
                why = self.finished_jobs.get(check.chapter) or messages.GRADE_NOT_RUN.format(
                    why=messages.GRADE_PENDING)
                rec = replace(check, status=CheckStatus.NOT_RUN, verdict=why, attribute=Attribute.NOT_RUN)
            checks.append(rec)
        by_exercise = report.by_exercise(checks)
        for ch in self.chapters:
            chapter = report.ChapterResult(ch.key, ch.title, ch.file)
            if ch.key in self.bad:
                chapter.outcome, chapter.message = ChapterOutcome.ERROR, self.bad[ch.key]
            elif ch.key in self.finished_jobs:
                chapter.outcome, chapter.message = ChapterOutcome.TIMEOUT, self.finished_jobs[ch.key]
            for ex in ch.exercises:
                result.exercises.append(report.score_exercise(ex, by_exercise.get((ch.key, ex.name), []),
                                                              self.bad.get(ch.key), self.finished_jobs.get(ch.key)))
            chapter.max_score = sum(e.points for e in result.exercises if e.chapter == ch.key)
            chapter.score = sum(e.score for e in result.exercises if e.chapter == ch.key)
            result.chapters.append(chapter)
        return result

    def _isolation_name(self) -> str:
        if self.options.contract.isolation:
            return self.options.contract.isolation
        from kata.grading.sandbox.zygote import strongest_isolation

        self.isolation = strongest_isolation()
        return self.isolation

    def _write_progress(self, result: report.GradeResult | None = None) -> None:
        """Write the report as it stands (every check not yet known counts as not run), atomically."""
        if self.options.output is None or self.options.render is None:
            return
        result = result or self._result()
        text = self.options.render(result)
        out = Path(self.options.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)


# -- the public function and the commands (registered by kata.cli.grade) ------------------------------------------------

#: The keyword arguments of :func:`grade` that are the contract's (``check_timeout``, ``budget``, ...).
CONTRACT_FIELDS = frozenset(f.name for f in fields(GradingContract))


def grade(submission: Path | str, options: Options | None = None, **overrides: Any) -> report.GradeResult:
    """Grade ``submission`` (a learner's copy of the repository, an exercises folder or a flat upload); keyword
    arguments override fields of ``options`` or of its contract."""
    options = options or Options()
    limits = {name: overrides.pop(name) for name in list(overrides) if name in CONTRACT_FIELDS}
    if limits:
        options.contract = replace(options.contract, **limits)
    for name, value in overrides.items():
        setattr(options, name, value)
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise GradingError(messages.GRADE_NO_SUBMISSION.format(path=submission))
    if sys.platform != "linux" and not sys.platform.startswith("linux"):
        raise GradingError(messages.GRADE_NEEDS_LINUX)
    options.in_place = options.in_place or submission == catalog.ROOT
    if options.in_place:
        comparison = manifest.compare(catalog.ROOT)
        if comparison.no_manifest:
            raise GradingError(comparison.lines()[0])
        if not comparison.ok:
            files = ", ".join(comparison.problems[:10])
            raise GradingError(messages.GRADE_REFUSED_IN_PLACE.format(manifest=comparison.manifest, files=files))
    return Grader(submission, options).grade()


def contract_of(args: argparse.Namespace) -> GradingContract:
    """The grading contract of the limit options on a command line (:func:`kata.cli.grade.add_limit_options`); a
    limit that is not positive is a :class:`kata.errors.UsageError`."""
    for option, value in (("--check-timeout", args.check_timeout), ("--budget", args.budget),
                          ("--memory-limit", args.memory_limit)):
        if not value > 0:
            raise UsageError(messages.GRADE_BAD_LIMIT.format(option=option, value=value))
    return GradingContract(check_timeout=args.check_timeout, budget=args.budget, memory_mb=args.memory_limit,
                           isolation=args.isolation)


def grade_command(args: argparse.Namespace) -> int:
    def render(result: report.GradeResult) -> str:
        return report.render(result, args.format, visibility=args.visibility)

    options = Options(chapters=args.chapters, seed=args.seed, jobs=args.jobs, contract=contract_of(args),
                      in_place=args.in_place, keep=args.keep, output=args.output,
                      render=render if args.output else None)
    try:
        result = grade(args.submission, options)
        text = render(result)
        if not args.output:
            sys.stdout.write(text)
    except GradingError as err:
        sys.stderr.write(f"kata grade: {err}\n")
        return 2
    except Exception as err:  # one line, not a traceback, whatever went wrong
        sys.stderr.write(messages.GRADE_CRASHED.format(exc_type=type(err).__name__,
                                                        exc_msg=report.clean(str(err), 300)) + "\n")
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
