"""``kata grade`` and ``kata verify``: grade a submission behind a process boundary.

Three kinds of process (README.md, 「1. 採点の仕組み」; the boundary's contract: docs/grading-contract.md):

- **this parent** reads nothing of the submission but its chapter files (opened without following links, size
  bounded), copies the grader's own files named in the manifest into a private folder, starts the trusted
  processes, enforces the submission's time budget and writes the report — progressively, so that a report is on
  disk even if this process is killed from outside.  It imports neither torch nor pytest.
- **trusted pytest processes** (``--jobs`` of them, chapters shared out) run the checks, the engine and the
  references from that private copy, with ``sub`` a proxy to a sandbox worker (``kata.sandbox``).  They never
  import, execute or unpickle anything the learner made.
- **sandbox workers**, one per chapter, forked from a zygote: the only processes that run learner code.

An exercise earns its points (``checks/NN_topic/chapter.toml``) when every one of its scored checks passed; checks
marked ``advisory`` (facts observed inside the learner's own process) are reported but not scored.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kata import catalog, manifest, messages, report
from kata.sandbox.files import BadSubmissionFile, read_submission_file
from kata.sandbox.zygote import SYSCALL_FILTER_ENV, Zygote
from kata.status import Attribute, ChapterOutcome, CheckResult, CheckStatus, ExerciseStatus, headline_rank

#: Rough peak memory of one trusted process with its zygote and a worker (MiB), for the default ``--jobs``.
MEMORY_PER_JOB_MB = 700


class GradingError(Exception):
    """Grading itself could not run; the message is the one-line Japanese reason (exit status 2)."""


@dataclass
class Options:
    chapters: str | None = None
    seed: int | None = None
    jobs: int | None = None
    check_timeout: float = 10.0
    budget: float = 300.0
    memory_mb: int = 1024
    isolation: str | None = None  # root / userns / basic (default: the strongest this machine allows)
    in_place: bool = False
    keep: bool = False
    output: Path | None = None
    render: Callable[[report.GradeResult], str] | None = None
    #: The sandbox's self-test (``kata.sandbox.selftest``): ``first`` (before the checks, in each trusted process),
    #: ``only`` (nothing else: ``kata class grade`` runs it once per run) or ``none``.
    selftest: str = "first"


# -- chapters, files -------------------------------------------------------------------------------------------------

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
    submission: Path
    options: Options
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

    def grade(self) -> report.GradeResult:
        self.started = time.monotonic()
        self.chapters = select_chapters(self.options.chapters)
        self.seed = self.options.seed if self.options.seed is not None else int.from_bytes(os.urandom(3), "little")
        work = work_folder("kata-grade-")
        try:
            return self._grade_in(work)
        finally:
            if not self.options.keep:
                shutil.rmtree(work, ignore_errors=True)
            else:
                sys.stderr.write(messages.GRADE_KEPT.format(path=work) + "\n")

    def _grade_in(self, work: Path) -> report.GradeResult:
        suite = work / "grader"
        changed = private_copy(catalog.ROOT, suite, self.options.in_place)
        # The zygotes start first: their import of torch is the longest step before the first check.
        count = max(1, min(self.options.jobs or default_jobs(len(self.chapters)), len(self.chapters)))
        self._zygotes = [Zygote(self.options.isolation, log=work / f"zygote-{i}.log", warm=("torch._dynamo",),
                                root=suite) for i in range(count)]
        stage = work / "submission"
        good = self._stage(stage)
        if changed:
            # An instructor's own edits since the manifest was written: graded as they are, and said so.
            self.warnings.append(messages.GRADE_MANIFEST_STALE.format(count=len(changed),
                                                                      files=", ".join(changed[:5])))
        self._write_progress()
        jobs = self._start_jobs(good, suite, stage, work)
        for unused in self._zygotes[len(jobs):]:
            unused.close()
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
        if self.options.selftest == "only":  # no submission: the references only
            (stage / "exercises").mkdir(parents=True, exist_ok=True)
            return list(self.chapters)
        for ch in self.chapters:
            try:
                data = read_learner_file(self.submission, ch)
            except BadSubmissionFile as err:
                self.bad[ch.key] = err.verdict
                continue
            dest = stage / "exercises" / ch.key / ch.file
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            good.append(ch)
        return good

    # processes -----------------------------------------------------------------------------------------------------
    def _start_jobs(self, chapters: list[catalog.Chapter], suite: Path, stage: Path, work: Path) -> list[Job]:
        if not chapters:
            return []
        count = max(1, min(len(self._zygotes), len(chapters)))
        groups: list[list[catalog.Chapter]] = [[] for _ in range(count)]
        weights = [0] * count
        for ch in sorted(chapters, key=lambda c: -len(c.exercises)):
            i = weights.index(min(weights))
            groups[i].append(ch)
            weights[i] += len(ch.exercises)
        deadline = time.time() + self.options.budget - 5.0  # leave time to write the report
        jobs = []
        for i, group in enumerate(groups):
            group.sort(key=lambda c: c.key)
            job = Job(group, work / f"stream-{i}.jsonl", work / f"pytest-{i}.log")
            job.stream.touch()
            temp = work / f"tmp-{i}"
            code = ("import sys; sys.path.insert(0, %r); import pytest; sys.exit(pytest.main(sys.argv[1:]))"
                    % str(suite))
            # Only the plugins grading needs (PYTEST_DISABLE_PLUGIN_AUTOLOAD below): a grade must not depend on the
            # pytest plugins installed beside it (one that reorders checks or reseeds the RNGs would change it).
            args = [sys.executable, "-I", "-c", code, "-p", "kata.plugin", "-p", "pytest_timeout", "--noconftest",
                    "-c", str(suite / "pyproject.toml"), "--rootdir", str(suite), "-p", "no:cacheprovider",
                    # The sandbox's own per-call limit is the one that fires; pytest-timeout only guards trusted code.
                    "-q", "--no-header", "-o", f"timeout={3 * self.options.check_timeout + 30}",
                    # The plugin replaces every failed check's traceback with its verdict: pytest's default style
                    # would first parse each traceback entry's source file (about 0.3 s per failed check), and even
                    # the native style formats a traceback nobody reads (the log then shows no verdicts either).
                    "--tb=no",
                    # Nothing of a check's output is read (learner code prints in the worker, which reports it): no
                    # per-check capture of stdout and stderr, which the log takes instead.
                    "--capture=no",
                    f"--kata-submission={stage}", "--kata-sandbox", f"--kata-seed={self.seed}",
                    f"--kata-stream={job.stream}", f"--basetemp={temp}"]
            if self.options.isolation:
                args.append(f"--kata-isolation={self.options.isolation}")
            args += [str(suite / "checks" / ch.key) for ch in group]
            hide = [str(catalog.ROOT), str(self.submission), str(work)]
            if self.options.output is not None:
                hide.append(str(Path(self.options.output).resolve().parent))
            env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")}
            env.update({"KATA_CALL_TIMEOUT": str(self.options.check_timeout),
                        "KATA_MEMORY_MB": str(self.options.memory_mb),
                        "KATA_SANDBOX_HIDE": os.pathsep.join(hide), "KATA_DEADLINE": str(deadline),
                        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
                        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "KATA_SANDBOX_LOG": str(work / f"zygote-{i}.log")})
            if self.options.selftest in ("first", "only"):
                env["KATA_SELFTEST"] = self.options.selftest
            # Without a system-call filter only where weaker isolation was asked for by name.
            env[SYSCALL_FILTER_ENV] = "try" if self.options.isolation == "basic" else "require"
            zygote = self._zygotes[i]
            env["KATA_ZYGOTE_ISOLATION"] = zygote.isolation
            self.isolation = zygote.isolation
            job.proc = self._launch(args, env, work, job.log, zygote)
            job.zygote = zygote
            jobs.append(job)
        return jobs

    def _launch(self, args: list[str], env: dict[str, str], work: Path, log_path: Path, zygote: Zygote) -> Any:
        """Start one trusted pytest process (``args``: a Python command line) that is handed ``zygote``; returns its
        :class:`subprocess.Popen` (or an object with the same ``pid``, ``poll``, ``wait`` and ``returncode``)."""
        env["KATA_ZYGOTE_FD"] = str(zygote.control.fileno())
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(args, cwd=work, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                    pass_fds=[zygote.control.fileno()])
        zygote.control.close()  # the trusted process holds it now
        return proc

    def _watch(self, jobs: list[Job]) -> None:
        end = self.started + self.options.budget - 3.0
        last_write = 0.0
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
                                seconds=int(self.options.budget)))
                break
            now = time.monotonic()
            if changed and now - last_write > 1.0:
                self._write_progress()
                last_write = now
            time.sleep(0.05)

    def _kill(self, job: Job) -> None:
        if job.proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(job.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                job.proc.wait(timeout=10)
        self._reap_zygote(job)

    @staticmethod
    def _reap_zygote(job: Job) -> None:
        """The zygote sees its control socket close when the trusted process ends, kills its workers and exits."""
        proc = getattr(job.zygote, "proc", None)
        if proc is None:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

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
        by_exercise: dict[tuple[str, str], list[CheckResult]] = {}
        for nodeid, check in self.collected.items():
            rec = self.results.get(nodeid)
            if rec is None:
                why = self.finished_jobs.get(check.chapter) or messages.GRADE_NOT_RUN.format(
                    why=messages.GRADE_PENDING)
                rec = replace(check, status=CheckStatus.NOT_RUN, verdict=why, attribute=Attribute.NOT_RUN)
            by_exercise.setdefault((check.chapter, check.exercise), []).append(rec)
        for ch in self.chapters:
            chapter = report.ChapterResult(ch.key, ch.title, ch.file)
            if ch.key in self.bad:
                chapter.outcome, chapter.message = ChapterOutcome.ERROR, self.bad[ch.key]
            elif ch.key in self.finished_jobs:
                chapter.outcome, chapter.message = ChapterOutcome.TIMEOUT, self.finished_jobs[ch.key]
            for ex in ch.exercises:
                checks = by_exercise.get((ch.key, ex.name), [])
                result.exercises.append(score_exercise(ex, checks, self.bad.get(ch.key),
                                                       self.finished_jobs.get(ch.key)))
            chapter.max_score = sum(e.points for e in result.exercises if e.chapter == ch.key)
            chapter.score = sum(e.score for e in result.exercises if e.chapter == ch.key)
            result.chapters.append(chapter)
        return result

    def _isolation_name(self) -> str:
        if self.options.isolation:
            return self.options.isolation
        from kata.sandbox.zygote import strongest_isolation

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


def score_exercise(ex: catalog.Exercise, checks: list[CheckResult], bad: str | None,
                   ended: str | None) -> report.ExerciseResult:
    def out(status: ExerciseStatus, verdict: str) -> report.ExerciseResult:
        score = ex.points if status == ExerciseStatus.PASS else 0.0
        return report.ExerciseResult(ex.chapter, ex.name, ex.points, score, status, verdict, checks)

    if bad is not None:
        return out(ExerciseStatus.FAIL, bad)
    if not checks:
        return out(ExerciseStatus.ERROR, ended or messages.GRADE_NO_CHECKS)
    scored = [c for c in checks if not c.advisory]
    advice = [c for c in checks if c.advisory and c.status in (CheckStatus.FAIL, CheckStatus.TODO)]
    failing = [c for c in scored if c.status == CheckStatus.FAIL]
    bad_check = min(failing, key=lambda c: headline_rank(c.attribute), default=None) or next(
        (c for c in scored if c.status == CheckStatus.NOT_RUN), None)
    if bad_check is not None:
        return out(ExerciseStatus.FAIL, bad_check.verdict)
    todo = next((c for c in scored if c.status == CheckStatus.TODO), None)
    if todo is not None:
        return out(ExerciseStatus.TODO, todo.verdict or messages.TODO)
    if any(c.status == CheckStatus.PASS for c in scored):
        verdict = messages.GRADE_PASS
        if advice:
            verdict += "\n" + advice[0].verdict + "\n" + messages.ADVISORY_NOTE
        return out(ExerciseStatus.PASS, verdict)
    return out(ExerciseStatus.SKIP, next((c.verdict for c in checks if c.verdict), ""))


# -- the public function and the commands -------------------------------------------------------------------------------

def grade(submission: Path | str, options: Options | None = None, **overrides: Any) -> report.GradeResult:
    """Grade ``submission`` (a learner's copy of the repository, an exercises folder or a flat upload)."""
    options = options or Options()
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


def add_limit_options(parser: Any) -> None:
    """The per-submission limits and isolation, shared by ``kata grade`` and ``kata class grade`` (defaults from
    :class:`Options`)."""
    parser.add_argument("--check-timeout", type=float, default=Options.check_timeout,
                        help=messages.GRADE_ARG_CHECK_TIMEOUT)
    parser.add_argument("--budget", type=float, default=Options.budget, help=messages.GRADE_ARG_BUDGET)
    parser.add_argument("--memory-limit", type=int, default=Options.memory_mb, metavar="MiB",
                        help=messages.GRADE_ARG_MEMORY)
    parser.add_argument("--isolation", choices=("root", "userns", "basic"), help=messages.OPT_ISOLATION)


def register(subparsers: Any) -> None:
    g = subparsers.add_parser("grade", help=messages.GRADE_HELP, description=messages.GRADE_DESCRIPTION)
    g.add_argument("submission", type=Path, help=messages.GRADE_ARG_SUBMISSION)
    g.add_argument("--format", choices=report.FORMATS, default="json", help=messages.GRADE_ARG_FORMAT)
    g.add_argument("--output", type=Path, help=messages.GRADE_ARG_OUTPUT)
    g.add_argument("--chapters", help=messages.GRADE_ARG_CHAPTERS)
    g.add_argument("--seed", type=int, help=messages.GRADE_ARG_SEED)
    g.add_argument("--jobs", type=int, help=messages.GRADE_ARG_JOBS)
    add_limit_options(g)
    g.add_argument("--in-place", action="store_true", help=messages.GRADE_ARG_IN_PLACE)
    g.add_argument("--visibility", default="visible",
                   choices=("visible", "hidden", "after_due_date", "after_published"),
                   help=messages.GRADE_ARG_VISIBILITY)
    g.add_argument("--keep", action="store_true", help=messages.GRADE_ARG_KEEP)
    g.add_argument("--quiet", action="store_true", help=messages.GRADE_ARG_QUIET)
    g.set_defaults(func=grade_command)

    v = subparsers.add_parser("verify", help=messages.VERIFY_HELP, description=messages.VERIFY_DESCRIPTION)
    v.add_argument("--root", type=Path, default=catalog.ROOT, help=messages.VERIFY_ARG_ROOT)
    v.add_argument("--manifest", type=Path, help=messages.VERIFY_ARG_MANIFEST)
    v.add_argument("--digest", help=messages.VERIFY_ARG_DIGEST)
    v.set_defaults(func=verify_command)


def grade_command(args: argparse.Namespace) -> int:
    def render(result: report.GradeResult) -> str:
        return report.render(result, args.format, visibility=args.visibility)

    options = Options(chapters=args.chapters, seed=args.seed, jobs=args.jobs, check_timeout=args.check_timeout,
                      budget=args.budget, memory_mb=args.memory_limit, isolation=args.isolation,
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
