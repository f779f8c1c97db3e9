"""The hostile catalogue (``tests/hostile/__init__.py``) graded by ``kata grade``: each case gets its score, the
chapter graded beside it keeps full marks, and the report is written and parses."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hostile import BYSTANDER, CASES, SLOTS, Hostile
from kata import catalog, report
from kata.grading import parent
from kata.grading.sandbox import client, uids, zygote

#: Small limits keep the catalogue quick and are still generous for the references on a busy 2-core machine.
CHECK_TIMEOUT = 10.0
BUDGET = 200.0
SANDBOX_UIDS = uids.HIGH  # where each run's own block of uids is taken (kata.grading.sandbox.uids)
WORLD_WRITABLE = ("/dev/shm", "/var/tmp", "/run/lock")

ISOLATION = client.strongest_isolation()


@dataclass
class Batch:
    name: str
    cases: dict[str, str] = field(default_factory=dict)  # case name -> chapter key
    options: dict = field(default_factory=dict)
    bystander: bool = True


def _plan() -> tuple[list[Batch], dict[str, Batch]]:
    """Cases into runs: one case per chapter slot beside the bystander; the alone ones in runs of their own."""
    batches: list[Batch] = []
    of: dict[str, Batch] = {}
    shared: list[Batch] = []
    for case in CASES:
        if case.kind == "tree":
            continue  # graded by a copy of the grader: test_writes_into_the_graders_tree_...
        if case.alone:
            batch = Batch(case.name, {case.name: case.chapter or SLOTS[0]}, dict(case.options),
                          bystander=case.name != "link_exercises")
            batches.append(batch)
            of[case.name] = batch
            continue
        for batch in shared:
            used = set(batch.cases.values())
            free = [s for s in SLOTS if s not in used and case.chapter in (None, s)]
            if free:
                batch.cases[case.name] = free[0]
                of[case.name] = batch
                break
        else:
            batch = Batch(f"batch{len(shared)}", {case.name: case.chapter or SLOTS[0]})
            shared.append(batch)
            batches.append(batch)
            of[case.name] = batch
    return batches, of


BATCHES, BATCH_OF = _plan()


@dataclass
class Graded:
    result: report.GradeResult | None
    report: dict | None
    report_text: str
    seconds: float
    submission: Path
    leftovers: list[str]
    error: str = ""

    def score(self, key: str) -> float:
        return next(c.score for c in self.result.chapters if c.key == key)

    def texts(self, key: str) -> list[str]:
        ex = [e for e in self.result.exercises if e.chapter == key]
        return [e.verdict for e in ex] + [c.verdict for e in ex for c in e.checks] + \
            [c.message for c in self.result.chapters if c.key == key]


def _ours(pid: str, marker: str) -> bool:
    """Whether a sandbox process belongs to this run: its mount namespace hides ``marker`` (other graders may be
    running on this machine)."""
    try:
        with open(f"/proc/{pid}/mountinfo", encoding="utf-8", errors="replace") as f:
            return marker in f.read()
    except OSError:
        return False


def _sandbox_processes(marker: str) -> list[str]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid in SANDBOX_UIDS and _ours(entry, marker):
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    out.append(f"pid {entry} uid {os.stat(f'/proc/{entry}').st_uid}: {f.read()[:80]!r}")
        except OSError:
            continue
    return out


def _sandbox_files(roots: list[str]) -> list[str]:
    out = []
    for root in roots:
        for top, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(top, name)
                try:
                    if os.lstat(path).st_uid in SANDBOX_UIDS:
                        out.append(path)
                except OSError:
                    pass
    return out


def _clean_sandbox_files(paths: list[str]) -> None:
    for path in sorted(paths, key=len, reverse=True):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _kill_sandbox_processes(marker: str) -> None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid in SANDBOX_UIDS and _ours(entry, marker):
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def _root_files() -> dict[str, str]:
    """Hashes of the grader's own checkout's files that hostile code aims at (others edit the rest meanwhile)."""
    out = {}
    for rel in ("conftest.py", "pyproject.toml", "kata/plugin.py", "kata/__init__.py", "kata-hostile-outlive.txt"):
        p = catalog.ROOT / rel
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else ""
    for p in list((catalog.ROOT / "checks").rglob("conftest.py")) + list(catalog.ROOT.glob("*.pth")) + \
            list((catalog.ROOT / "checks").rglob("test_zz_hostile.py")):
        out[str(p.relative_to(catalog.ROOT))] = "new"
    return out


def grade_batch(batch: Batch, work: Path, linger: float = 0.0) -> Graded:
    submission = work / "submission"
    out = work / "out" / "report.json"
    out.parent.mkdir(parents=True)
    chapters = sorted(set(batch.cases.values()) | ({BYSTANDER} if batch.bystander else set()))
    if batch.bystander:
        shutil.copytree(catalog.SOLUTIONS / BYSTANDER, submission / "exercises" / BYSTANDER)
    for name, key in batch.cases.items():
        case = next(c for c in CASES if c.name == name)
        case.write(submission, catalog.chapter_of_key(key), out)
    before = _root_files()
    options = dict(chapters=",".join(chapters), check_timeout=CHECK_TIMEOUT, budget=BUDGET, memory_mb=1024,
                   output=out, render=lambda r: report.render(r, "json"), seed=1234)
    options.update(batch.options)
    start = time.monotonic()
    try:
        result = parent.grade(submission, **options)
        error = ""
    except parent.GradingError as err:
        result, error = None, str(err)
    seconds = time.monotonic() - start
    if linger:
        time.sleep(linger)
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    leftovers = []
    time.sleep(0.5)
    procs = _sandbox_processes(str(submission))
    if procs:
        leftovers += ["process outlived the grader: " + p for p in procs]
        _kill_sandbox_processes(str(submission))
    files = _sandbox_files(list(WORLD_WRITABLE) + [str(out.parent)])
    if files:
        leftovers += ["file left by the sandbox: " + f for f in files]
        _clean_sandbox_files(files)
    after = _root_files()
    if after != before:
        leftovers += [f"grader's checkout changed: {k}" for k in sorted(set(before) | set(after))
                      if before.get(k) != after.get(k)]
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return Graded(result, parsed, text, seconds, submission, leftovers, error)


_RESULTS: dict[str, Graded] = {}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    def get(case: Hostile) -> Graded:
        batch = BATCH_OF[case.name]
        if batch.name not in _RESULTS:
            linger = 7.0 if any(c.kind == "outlive" for c in CASES if c.name in batch.cases) else 0.0
            _RESULTS[batch.name] = grade_batch(batch, tmp_path_factory.mktemp(batch.name), linger)
        return _RESULTS[batch.name]
    return get


def _params():
    out = []
    for case in CASES:
        if case.name not in BATCH_OF:
            continue
        marks = [pytest.mark.timeout(int(BUDGET) + 240)]
        if case.slow or case.alone:
            marks.append(pytest.mark.slow)
        if case.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
@pytest.mark.slow
def test_hostile_case(case: Hostile, graded):
    if case.dangerous and ISOLATION == "basic":
        pytest.skip("without namespaces the worker has the test runner's uid: this case would hit the runner")
    if case.options.get("isolation") == "userns" and not zygote._userns_works():
        pytest.skip("user namespaces are not available here")
    if case.name == "device_file" and os.geteuid() != 0:
        pytest.skip("mknod needs root (the link to /dev/zero is link_file's case)")
    run = graded(case)
    assert not run.error, f"kata grade refused the submission: {run.error}"
    key = BATCH_OF[case.name].cases[case.name]
    chapter = catalog.chapter_of_key(key)
    # The report was written and parses, and says what the result says.
    assert run.report is not None, f"no valid report on disk:\n{run.report_text[:2000]}"
    assert run.report["score"] == report.json_number(run.result.score)
    for fmt in report.FORMATS:
        json.loads(report.render(run.result, fmt))
    verdicts = "\n".join(run.texts(key))
    expected = case.expected(chapter)
    assert run.score(key) == expected, (
        f"{case.name} ({case.what}) in chapter {key}: expected {expected}, got {run.score(key)}\n{verdicts[:3000]}")
    if BATCH_OF[case.name].bystander:
        by = catalog.chapter_of_key(BYSTANDER)
        assert run.score(BYSTANDER) == sum(e.points for e in by.exercises), \
            "the untouched chapter beside it lost points:\n" + "\n".join(run.texts(BYSTANDER))[:3000]
    if case.fragment:
        assert case.fragment in verdicts, verdicts[:3000]
    assert not run.leftovers, "\n".join(run.leftovers)
    # Nothing the learner's code produced reaches a report unescaped or unbounded.
    for fmt in report.FORMATS:
        text = report.render(run.result, fmt)
        assert "\x1b" not in text and "\x00" not in text and "\ud800" not in text
        assert len(text) < 2_000_000
    assert run.seconds < BUDGET + 30


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_writes_into_the_graders_tree_leave_it_intact_and_the_next_stub_scores_zero(tmp_path):
    """The grader runs from a copy of this checkout (so that a hole cannot damage the real one); a submission that
    writes everywhere it can into that copy scores its full marks, the copy is unchanged, and the next submission
    (untouched stubs) scores 0 with 未着手 verdicts."""
    if ISOLATION == "basic":
        pytest.skip("without namespaces the worker has the grader's uid and may write where the grader may")
    grader = tmp_path / "grader"
    from kata import manifest

    for name in manifest.grading_files(catalog.ROOT):
        (grader / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(catalog.ROOT / name, grader / name)
    shutil.copy2(manifest.manifest_path(catalog.ROOT), grader / "kata" / "MANIFEST.sha256")
    for folder in ("exercises",):
        shutil.copytree(catalog.ROOT / folder, grader / folder)

    def snapshot() -> dict[str, str]:
        return {str(p.relative_to(grader)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(grader.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}

    before = snapshot()
    case = next(c for c in CASES if c.name == "tree_write_everything")
    out = tmp_path / "out" / "report.json"
    sub = tmp_path / "sub"
    case.write(sub, catalog.chapter_of_key("01_setup"), out, root=grader)
    shutil.copytree(catalog.SOLUTIONS / BYSTANDER, sub / "exercises" / BYSTANDER)

    def kata_grade(submission: Path, report_path: Path) -> dict:
        code = "import sys; sys.path.insert(0, %r); from kata.cli import main; sys.exit(main(sys.argv[1:]))" % str(
            grader)
        proc = subprocess.run([sys.executable, "-I", "-c", code, "grade", str(submission), "--chapters",
                               f"01,{BYSTANDER[:2]}", "--check-timeout", "10", "--budget", "200", "--output",
                               str(report_path), "--seed", "7"], capture_output=True, text=True, timeout=400,
                              cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(report_path.read_text(encoding="utf-8"))

    first = kata_grade(sub, out)
    full = [sum(e.points for e in catalog.chapter_of_key(key).exercises) for key in ("01_setup", BYSTANDER)]
    assert [c["score"] for c in first["chapters"]] == full, json.dumps(first["exercises"], ensure_ascii=False)[:3000]
    leftovers = _sandbox_files(list(WORLD_WRITABLE) + [str(grader), str(out.parent)])
    _clean_sandbox_files(leftovers)
    assert snapshot() == before, "the grader's copy changed"
    assert not leftovers, leftovers
    stubs = tmp_path / "stubs"
    shutil.copytree(catalog.EXERCISES / "01_setup", stubs / "exercises" / "01_setup")
    shutil.copytree(catalog.EXERCISES / BYSTANDER, stubs / "exercises" / BYSTANDER)
    second = kata_grade(stubs, tmp_path / "out" / "next.json")
    assert second["score"] == 0
    assert {e["status"] for e in second["exercises"]} == {"todo"}
