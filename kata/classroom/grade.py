"""``kata class grade``: every submission of a roster, graded as ``kata grade`` grades one, but without paying for
the import of torch and pytest per submission.

Processes (the trust boundary of ``kata grade`` is unchanged):

- **this parent** (no torch, NumPy or pytest): finds the roster, unpacks zips safely, hashes what each learner
  submitted, and runs ``--jobs`` graders side by side (threads: each one waits on its processes).  Per submission it
  stages the chapter files exactly as ``kata grade`` does (:class:`kata.grading.parent.Grader`) and writes the report.
- **one warm trusted template** (:mod:`kata.classroom.template`) that imported torch, pytest and the engine once
  from the grader's private copy, and forks one trusted pytest run per submission.
- **one zygote per job slot**, long-lived: it imported torch once and forks a sandbox worker per chapter per
  submission, which drops its privileges before it loads the learner's file (:mod:`kata.grading.sandbox.worker`).  A zygote
  whose trusted run was killed (the submission's budget ran out) is replaced, with every worker it still had.

Resumable: each learner's row is keyed on a hash of what grading reads of their submission, the manifest's hash of
the checks and the grading options.  A row whose key has not changed is not graded again; an interrupted run
continues with the learners it had not finished.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import queue
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kata import catalog, manifest, report
from kata.classroom import dashboard, messages, outputs, roster
from kata.classroom.template import TrustedTemplate
from kata.grading import parent
from kata.grading.contract import GradingContract
from kata.grading.sandbox.zygote import Zygote, strongest_isolation
from kata.status import ChapterOutcome

__all__ = ["CLASS_FILE", "ClassOptions", "Outcome", "Progress", "Slot", "SlotProcesses", "default_jobs", "grade_class",
           "learner_key", "load_class", "problem_result", "submission_grader", "write_atomic"]

STATE = "state"
REPORTS = "reports"
CLASS_FILE = "class.json"


@dataclass
class ClassOptions:
    chapters: str | None = None
    seed: int | None = None
    jobs: int | None = None
    contract: GradingContract = field(default_factory=GradingContract)  # the per-submission limits: kata grade's
    shard: tuple[int, int] | None = None
    regrade: bool = False
    quiet: bool = False
    progress: Any = None  # a callable(done, total) for tests; default: the progress bar on stderr


@dataclass
class Outcome:
    graded: int = 0
    unchanged: int = 0
    problems: int = 0
    learners: list[str] = field(default_factory=list)  # names graded in this run
    warnings: list[str] = field(default_factory=list)  # about the roster as a whole (Japanese)


def default_jobs(learners: int) -> int:
    """One submission more than the usable CPUs, at most what the memory allows, at least one.

    A submission's trusted run and its worker take turns (each waits on the other's reply), so one submission per CPU
    leaves the CPUs idle between turns: on 2 CPUs, 100 submissions took 248 s with 2 at a time, 179 s with 3 and
    178 s with 4 (benchmarks/class_throughput.py's class, same seed and scores; an earlier, slower
    version of the grader: the order is what counts)."""
    jobs = parent.usable_cpus() + 1
    memory = parent.usable_memory_mb()
    if memory is not None:
        jobs = min(jobs, max(1, memory // parent.MEMORY_PER_JOB_MB))
    return max(1, min(jobs, max(1, learners)))


def manifest_hash() -> str:
    path = manifest.manifest_path(catalog.ROOT)
    return manifest.file_hash(path) if path.is_file() else "none"


def options_key(options: ClassOptions, seed: int, chapters: list[catalog.Chapter], isolation: str) -> str:
    terms = options.contract
    return json.dumps({"chapters": [c.key for c in chapters], "seed": seed, "check_timeout": terms.check_timeout,
                       "budget": terms.budget, "memory_mb": terms.memory_mb, "isolation": isolation},
                      sort_keys=True)


def learner_key(content: str, manifest_digest: str, opts: str) -> str:
    return hashlib.sha256("\0".join((content, manifest_digest, opts)).encode()).hexdigest()


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# -- one slot: a long-lived zygote ----------------------------------------------------------------------------------

class Slot:
    def __init__(self, index: int, suite: Path, work: Path, isolation: str | None):
        self.index, self.suite, self.work, self.isolation_wanted = index, suite, work, isolation
        self.generation = 0
        self.zygote = self._start()

    def _start(self) -> Zygote:
        self.generation += 1
        return Zygote(self.isolation_wanted, log=self.work / f"zygote-{self.index}-{self.generation}.log",
                      warm=parent.ZYGOTE_WARM, root=self.suite)

    def ready(self) -> Zygote:
        if self.zygote.proc is not None and self.zygote.proc.poll() is not None:
            self.recycle()
        self.zygote.wait_ready()
        return self.zygote

    def recycle(self) -> None:
        """A new zygote: closing the old one's socket kills it and every worker (and their children) it had."""
        self.zygote.close()
        self.zygote = self._start()

    def close(self) -> None:
        self.zygote.close()


class SlotProcesses(parent.TrustedProcesses):
    """The trusted processes of one submission in a class: the slot's long-lived zygote (ready, and outliving the
    submission: the slot recycles it when a run did not end normally) and a trusted run forked by the warm template."""

    def __init__(self, slot: Slot, template: TrustedTemplate):
        self.slot, self.template = slot, template

    def zygotes(self, count: int, work: Path, suite: Path, contract: GradingContract) -> list[Zygote]:  # noqa: ARG002 (parent.TrustedProcesses' signature)
        return [self.slot.ready()]

    def launch(self, run: parent.TrustedRun, zygote: Zygote) -> Any:
        fd = os.dup(zygote.control.fileno())
        try:
            return self.template.spawn(run.pytest_args, run.env, run.cwd, run.log, fd)
        finally:
            os.close(fd)

    def finished(self, zygote: Zygote) -> None:
        """The zygote outlives the submission."""

    def unused(self, zygote: Zygote) -> None:
        """The zygote waits for the slot's next submission."""


def submission_grader(submission: Path, options: parent.Options, slot: Slot, template: TrustedTemplate,
                      warnings: list[str], hide: list[str],
                      known: dict[str, parent.KnownChapter] | None = None) -> parent.Grader:
    """A :class:`kata.grading.parent.Grader` for one submission of the class, with the grader's copy, the zygote and the
    trusted template shared by the class, and the chapters already graded in this run (``known``)."""
    return parent.Grader(submission, options, suite=slot.suite, processes=SlotProcesses(slot, template),
                          hide=tuple(hide), warnings=list(warnings), known=dict(known or {}),
                          isolation=slot.zygote.isolation)


# -- the run -------------------------------------------------------------------------------------------------------

class Progress:
    """done/total/ETA on stderr: tqdm's bar on a terminal when it is installed, else one line now and then."""

    def __init__(self, total: int, quiet: bool, callback: Any = None):
        self.total, self.done, self.quiet, self.callback = total, 0, quiet, callback
        self.started = time.monotonic()
        self.last_line = 0.0
        self.bar: Any = None
        if not quiet and total and sys.stderr.isatty():
            try:
                tqdm = importlib.import_module("tqdm").tqdm  # the optional extra "class"

                self.bar = tqdm(total=total, desc=messages.PROGRESS_DESC, unit=messages.PROGRESS_UNIT, file=sys.stderr,
                                dynamic_ncols=True)
            except ImportError:
                self.bar = None

    def step(self) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(1)
            return
        now = time.monotonic()
        if self.done == self.total or now - self.last_line >= 5.0:
            self.last_line = now
            elapsed = now - self.started
            eta = elapsed / self.done * (self.total - self.done)
            sys.stderr.write(messages.PROGRESS.format(done=self.done, total=self.total,
                                                      percent=100 * self.done // max(1, self.total),
                                                      elapsed=_clock(elapsed), eta=_clock(eta)) + "\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds: float) -> str:
    s = int(seconds)
    return messages.TIME_MS.format(minutes=s // 60, seconds=s % 60)


def load_class(out: Path) -> dict[str, Any]:
    path = out / CLASS_FILE
    if path.is_file():
        with contextlib.suppress(ValueError, OSError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
    return {}


def grade_class(roster_dir: Path, out: Path, options: ClassOptions | None = None) -> Outcome:
    options = options or ClassOptions()
    roster_dir = Path(roster_dir).resolve()
    out = Path(out).resolve()
    if not roster_dir.is_dir():
        raise parent.GradingError(messages.NO_ROSTER.format(path=roster_dir))
    if not sys.platform.startswith("linux"):
        raise parent.GradingError(parent.messages.GRADE_NEEDS_LINUX)
    chapters = parent.select_chapters(options.chapters)
    previous = load_class(out)
    seed = options.seed
    if seed is None:
        seed = int(previous["seed"]) if "seed" in previous else int.from_bytes(os.urandom(3), "little")
    isolation = options.contract.isolation or strongest_isolation()
    digest = manifest_hash()
    opts = options_key(options, seed, chapters, isolation)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"format": "kata-class", "version": 1, "seed": seed, "chapters": [c.key for c in chapters],
            "manifest": digest, "isolation": isolation, "options": json.loads(opts),
            "shard": f"{options.shard[0]}/{options.shard[1]}" if options.shard else None}
    write_atomic(out / CLASS_FILE, json.dumps(meta, ensure_ascii=False, indent=1) + "\n")

    work = parent.work_folder("kata-class-")
    outcome = Outcome()
    try:
        people, warning = roster.gradescope_people(roster_dir)
        if warning:
            outcome.warnings.append(warning)
        learners = roster.discover(roster_dir, work / "unpacked", options.shard, exclude=(out,), people=people)
        todo: list[tuple[roster.Learner, str]] = []
        keep = set()
        for learner in learners:
            key = learner_key(roster.content_hash(learner, chapters), digest, opts)
            keep.add(learner.slug)
            state = _read_state(out, learner.slug)
            if not options.regrade and state.get("key") == key and not state.get("retry") \
                    and (out / REPORTS / f"{learner.slug}.json").is_file():
                outcome.unchanged += 1
                if state.get("people", []) != learner.people:  # who submitted it is not graded: kept up to date
                    _write_state(out, {**state, "people": learner.people})
                continue
            todo.append((learner, key))
        _prune(out, keep)
        progress = Progress(len(todo), options.quiet, options.progress)
        try:
            if todo:
                _grade_all(todo, out, work, options, seed, chapters, isolation, [str(roster_dir), str(out)],
                           outcome, progress)
        finally:
            progress.close()
        dashboard.write_all(out)
        outcome.problems = sum(1 for s in outputs.read_states(out) if s.get("problem"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return outcome


def _read_state(out: Path, slug: str) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((out / STATE / f"{slug}.json").read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return {}


def _prune(out: Path, keep: set[str]) -> None:
    """Rows of learners no longer in this roster (or shard) go, with their files."""
    for path in (out / STATE).glob("*.json") if (out / STATE).is_dir() else []:
        slug = path.stem
        if slug not in keep:
            for stale in (path, out / REPORTS / f"{slug}.json", out / outputs.PAGES / f"{slug}.html"):
                with contextlib.suppress(OSError):
                    stale.unlink()


def _grade_all(todo: list[tuple[roster.Learner, str]], out: Path, work: Path, options: ClassOptions, seed: int,
               chapters: list[catalog.Chapter], isolation: str, hide: list[str], outcome: Outcome,
               progress: Progress) -> None:
    pending: queue.Queue[tuple[roster.Learner, str]] = queue.Queue()
    gradeable = []
    for learner, key in todo:
        if learner.submission is None:
            _finish(out, learner, key, problem_result(learner, chapters, seed, isolation), learner.problem, outcome)
            progress.step()
        else:
            gradeable.append((learner, key))
    if not gradeable:
        return
    suite = work / "grader"
    changed = parent.private_copy(catalog.ROOT, suite, False)
    warnings = [parent.messages.GRADE_MANIFEST_STALE.format(count=len(changed), files=", ".join(changed[:5]))] \
        if changed else []
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")}
    # Without PYTHONDONTWRITEBYTECODE (kata grade sets it): the checks' compiled (assertion-rewritten) modules are
    # cached in the private copy by the first submission's run and read by every later one.
    env.update({"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"})
    jobs = max(1, min(options.jobs or default_jobs(len(gradeable)), len(gradeable)))
    lock = threading.Lock()
    stopping = threading.Event()  # the run is being stopped: what a thread finds now is not a result
    holder: dict[str, TrustedTemplate] = {"t": TrustedTemplate(suite, env, work / "template.log")}
    slots = [Slot(i, suite, work, options.contract.isolation) for i in range(jobs)]
    try:
        _self_test(options, seed, slots[0], holder["t"], warnings, hide, work)
    except BaseException:
        for slot in slots:
            slot.close()
        holder["t"].close()
        raise
    known = _untouched_chapters(options, seed, chapters, slots[0], holder["t"], warnings, hide, work)
    for learner_key_pair in gradeable:
        pending.put(learner_key_pair)

    def template() -> TrustedTemplate:
        with lock:
            if not holder["t"].alive():
                holder["t"].close()
                holder["t"] = TrustedTemplate(suite, env, work / "template.log")
            return holder["t"]

    def run(slot: Slot) -> None:
        while True:
            try:
                learner, key = pending.get_nowait()
            except queue.Empty:
                return
            assert learner.submission is not None
            gopts = parent.Options(chapters=options.chapters, seed=seed, jobs=1,
                                    contract=replace(options.contract, selftest="none"))
            problem = ""
            try:
                grader = submission_grader(learner.submission, gopts, slot, template(), warnings, hide, known)
                result = grader.grade()
                if grader.finished_jobs:
                    slot.recycle()  # killed or ended abnormally: its workers go, and no reply is left unread
            except Exception as err:  # a grader-side failure costs this row (graded again next run), not the run
                problem = messages.STATUS_GRADER_ERROR.format(why=f"{type(err).__name__}: {report.clean(err, 200)}")
                result = problem_result(learner, chapters, seed, isolation, problem)
                with contextlib.suppress(Exception):
                    slot.recycle()
            result.submission = learner.name
            with lock:
                if stopping.is_set():
                    return
                _finish(out, learner, key, result, problem, outcome)
                progress.step()

    threads = [threading.Thread(target=run, args=(slot,), daemon=True) for slot in slots]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        with lock:
            stopping.set()
        for slot in slots:
            slot.close()
        holder["t"].close()


def _self_test(options: ClassOptions, seed: int, slot: Slot, template: TrustedTemplate, warnings: list[str],
               hide: list[str], work: Path) -> None:
    """The sandbox's self-test (:mod:`kata.grading.sandbox.selftest`), once for the run, through the slot's zygote and the
    template as every submission is graded; raises :class:`kata.grading.parent.GradingError` (exit status 2) if it fails."""
    empty = work / "selftest-submission"
    empty.mkdir(exist_ok=True)
    gopts = parent.Options(chapters=options.chapters, seed=seed, jobs=1,
                            contract=replace(options.contract, selftest="only"))
    grader = submission_grader(empty, gopts, slot, template, warnings, hide)
    grader.grade()  # raises GradingError when the self-test failed
    if not grader.selftest_seconds:
        # No word from the self-test at all (its trusted process died first): no grade can be trusted either.
        why = next(iter(grader.finished_jobs.values()), "no self-test result")
        raise parent.GradingError(parent.messages.GRADE_SELFTEST_FAILED.format(why=report.clean(why, 300)))
    if grader.finished_jobs:
        slot.recycle()


def _untouched_chapters(options: ClassOptions, seed: int, chapters: list[catalog.Chapter], slot: Slot,
                        template: TrustedTemplate, warnings: list[str], hide: list[str],
                        work: Path) -> dict[str, parent.KnownChapter]:
    """The grader's own exercise files (the stubs handed out), graded once for the run exactly as a learner's
    submission is: every learner whose chapter file is still that file, byte for byte, gets this result for it
    (:attr:`kata.grading.parent.Grader.known`) instead of a run of the same checks on the same bytes with the same
    seed.  A chapter whose result could depend on more than its file (a timeout, a crash, a check that did not
    report) is not reused; nor is anything when this run fails: every submission is then graded in full."""
    untouched = work / "untouched-submission"
    for ch in chapters:
        with contextlib.suppress(OSError):
            dest = untouched / "exercises" / ch.key / ch.file
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ch.learner_file(), dest)
    gopts = parent.Options(chapters=options.chapters, seed=seed, jobs=1,
                            contract=replace(options.contract, selftest="none"))
    grader = submission_grader(untouched, gopts, slot, template, warnings, hide)
    try:
        grader.grade()
    except Exception:  # a shortcut only: without it, every submission is graded in full
        with contextlib.suppress(Exception):
            slot.recycle()
        return {}
    if grader.finished_jobs:
        slot.recycle()
    found = {ch.key: grader.known_chapter(ch) for ch in chapters}
    return {key: known for key, known in found.items() if known is not None}


def problem_result(learner: roster.Learner, chapters: list[catalog.Chapter], seed: int, isolation: str,
                   problem: str | None = None) -> report.GradeResult:
    """The report of a submission that could not be graded at all: every exercise failed with the reason."""
    why = problem or learner.problem
    result = report.GradeResult(learner.name, seed, isolation=isolation)
    for ch in chapters:
        chapter = report.ChapterResult(ch.key, ch.title, ch.file, outcome=ChapterOutcome.ERROR, message=why)
        for ex in ch.exercises:
            result.exercises.append(report.score_exercise(ex, [], why, None))
        chapter.max_score = sum(e.points for e in result.exercises if e.chapter == ch.key)
        result.chapters.append(chapter)
    return result


def _finish(out: Path, learner: roster.Learner, key: str, result: report.GradeResult, problem: str,
            outcome: Outcome) -> None:
    """Write the learner's report, then their row (the key last: a run stopped in between grades them again)."""
    result.submission = learner.name
    write_atomic(out / REPORTS / f"{learner.slug}.json", report.render(result, "json"))
    status = problem or outputs.row_status(result)
    # A grader-side failure is graded again by the next run, whatever the key.
    retry = bool(problem) and learner.submission is not None
    state = {"learner": learner.name, "people": learner.people, "slug": learner.slug, "kind": learner.kind,
             "key": key, "retry": retry,
             "problem": bool(problem) or status != messages.STATUS_OK, "status": status,
             "score": result.score, "max_score": result.max_score}
    _write_state(out, state)
    outcome.graded += 1
    outcome.learners.append(learner.name)


def _write_state(out: Path, state: dict[str, Any]) -> None:
    write_atomic(out / STATE / f"{state['slug']}.json", json.dumps(state, ensure_ascii=False, indent=1) + "\n")
