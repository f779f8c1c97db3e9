"""``kata grade`` and ``kata verify`` (the sandboxed grader): points, reports, budget, isolation, in-place mode.

The hostile submissions are in ``tests/hostile/``."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from kata import catalog, manifest, messages, report
from kata.grading import parent
from kata.grading.sandbox import client, uids
from kata.status import Attribute, CheckResult, CheckStatus, ExerciseStatus

ISOLATION = client.strongest_isolation()
REFERENCE_01 = (catalog.SOLUTIONS / "01_setup" / "seeds.py").read_text(encoding="utf-8")
#: Chapter 01's full marks and number of exercises (every track the course keeps).
POINTS_01 = int(sum(e.points for e in catalog.chapter_of_key("01_setup").exercises))
EXERCISES_01 = len(catalog.chapter_of_key("01_setup").exercises)


def _kata(*args: str, cwd: Path = ROOT, timeout: float = 600, python_path: Path | None = None
          ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
    if python_path is None:
        cmd = [sys.executable, "-m", "kata", *args]
    else:
        code = "import sys; sys.path.insert(0, %r); from kata.cli import main; sys.exit(main(sys.argv[1:]))" % str(
            python_path)
        cmd = [sys.executable, "-I", "-c", code, *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def _submission(tmp_path: Path, source: Path, chapters: list[str] | None = None) -> Path:
    sub = tmp_path / "submission"
    for ch in catalog.chapters():
        if chapters is None or ch.key in chapters:
            shutil.copytree(source / ch.key, sub / "exercises" / ch.key)
    return sub


def _points() -> dict[tuple[str, str], float]:
    return {(ch.key, ex.name): ex.points for ch in catalog.chapters() for ex in ch.exercises}


# -- choosing chapters and reading the submission --------------------------------------------------------------

def test_chapters_are_chosen_by_number_list_and_range():
    keys = [c.key for c in catalog.chapters()]
    assert [c.key for c in parent.select_chapters(None)] == keys
    assert [c.key for c in parent.select_chapters("01")] == ["01_setup"]
    assert [c.key for c in parent.select_chapters("03,01")] == ["01_setup", "03_numpy"]
    assert [c.key for c in parent.select_chapters(f"01-{keys[-1][:2]}")] == keys
    with pytest.raises(parent.GradingError, match="01_setup"):
        parent.select_chapters("99")


def test_the_learner_file_is_found_in_a_repository_an_exercises_folder_or_a_flat_upload(tmp_path):
    ch = catalog.chapter_of_key("01_setup")
    for layout in ("exercises/01_setup/seeds.py", "01_setup/seeds.py", "seeds.py"):
        sub = tmp_path / layout.replace("/", "_")
        (sub / layout).parent.mkdir(parents=True)
        (sub / layout).write_text(REFERENCE_01, encoding="utf-8")
        assert parent.read_learner_file(sub, ch) == REFERENCE_01.encode()


# -- points --------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_references_score_full_marks_with_the_points_of_chapter_toml(tmp_path):
    result = parent.grade(_submission(tmp_path, catalog.SOLUTIONS), check_timeout=20, budget=600)
    points = _points()
    assert result.max_score == sum(points.values())
    failed = [(e.name, e.verdict[:200]) for e in result.exercises if e.status != ExerciseStatus.PASS]
    assert not failed, failed
    assert result.score == result.max_score
    assert {(e.chapter, e.exercise): e.points for e in result.exercises} == points
    assert result.isolation == ISOLATION


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_stubs_score_zero_with_todo_verdicts(tmp_path):
    result = parent.grade(_submission(tmp_path, catalog.EXERCISES), check_timeout=20, budget=600)
    assert result.score == 0 and result.max_score == sum(_points().values())
    assert {e.status for e in result.exercises} == {ExerciseStatus.TODO}
    assert all("未着手" in e.verdict for e in result.exercises)


def test_an_exercise_scores_only_when_every_scored_check_passed():
    ex = catalog.chapter_of_key("01_setup").exercises[0]

    def check(status: str, advisory: bool = False) -> CheckResult:
        return CheckResult("n", ex.chapter, ex.name, "f", CheckStatus(status), "v", "", advisory)

    assert report.score_exercise(ex, [check("pass"), check("pass")], None, None).score == ex.points
    assert report.score_exercise(ex, [check("pass"), check("fail")], None, None).score == 0
    assert report.score_exercise(ex, [check("pass"), check("notrun")], None, None).score == 0
    assert report.score_exercise(ex, [check("pass"), check("fail", advisory=True)], None, None).score == ex.points
    assert report.score_exercise(ex, [check("todo")], None, None).status == ExerciseStatus.TODO
    assert report.score_exercise(ex, [check("pass")], "bad file", None).score == 0
    assert report.score_exercise(ex, [], None, None).score == 0


# -- a chapter graded earlier in the same run (kata class grade's untouched stubs) -----------------------------

def _todo(chapter: str, exercise: str, name: str) -> CheckResult:
    path = f"checks/{chapter}/test_x.py::{name}"
    return CheckResult(path, chapter, exercise, name, CheckStatus.TODO, messages.TODO, Attribute.TODO)


def _grader_of(tmp_path: Path, files: dict[str, bytes]) -> parent.Grader:
    sub = tmp_path / "submission"
    for key, data in files.items():
        dest = sub / "exercises" / key / catalog.chapter_of_key(key).file
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    grader = parent.Grader(sub, parent.Options(chapters=",".join(files)))
    grader.chapters = parent.select_chapters(grader.options.chapters)
    return grader


def test_a_chapter_known_in_this_run_is_reused_for_the_same_bytes_and_only_for_them(tmp_path):
    stub01 = catalog.chapter_of_key("01_setup").learner_file().read_bytes()
    stub02 = catalog.chapter_of_key("02_creation").learner_file().read_bytes()
    known01 = (_todo("01_setup", "torch_version", "test_a"), _todo("01_setup", "seeded_rand", "test_b"))
    known02 = (_todo("02_creation", "make_empty", "test_c"),)
    # Chapter 02 differs from the known file in its line endings only: graded, not reused.
    grader = _grader_of(tmp_path, {"01_setup": stub01, "02_creation": stub02.replace(b"\n", b"\r\n")})
    grader.known = {"01_setup": parent.KnownChapter(parent.file_digest(stub01), known01),
                    "02_creation": parent.KnownChapter(parent.file_digest(stub02), known02)}
    staged = grader._stage(tmp_path / "stage")
    assert [ch.key for ch in staged] == ["02_creation"]
    assert grader.collected == grader.results == {c.nodeid: c for c in known01}
    assert not (tmp_path / "stage" / "exercises" / "01_setup").exists()
    assert (tmp_path / "stage" / "exercises" / "02_creation").is_dir()
    # Nothing known: every chapter is staged.
    fresh = _grader_of(tmp_path / "again", {"01_setup": stub01})
    assert [ch.key for ch in fresh._stage(tmp_path / "again" / "stage")] == ["01_setup"] and not fresh.results


def test_a_chapter_is_offered_for_reuse_only_when_its_result_depends_on_nothing_but_the_file(tmp_path):
    from dataclasses import replace

    stub = catalog.chapter_of_key("01_setup").learner_file().read_bytes()
    grader = _grader_of(tmp_path, {"01_setup": stub})
    ch = grader.chapters[0]
    assert grader.known_chapter(ch) is None  # not staged (its file unread) yet
    assert [c.key for c in grader._stage(tmp_path / "stage")] == ["01_setup"]
    done = _todo("01_setup", "torch_version", "test_a")
    passed = replace(_todo("01_setup", "seeded_rand", "test_b"), status=CheckStatus.PASS, verdict="", attribute="")
    grader.collected = {done.nodeid: done, passed.nodeid: passed}
    grader.results = dict(grader.collected)
    assert grader.known_chapter(ch) == parent.KnownChapter(parent.file_digest(stub), (done, passed))
    unstable = [replace(done, status=CheckStatus.FAIL, attribute=Attribute.TIMEOUT),
                replace(done, status=CheckStatus.FAIL, attribute=Attribute.CRASH),
                replace(done, status=CheckStatus.FAIL, attribute=Attribute.CHECK),
                replace(done, status=CheckStatus.NOT_RUN, attribute=Attribute.NOT_RUN)]
    for result in unstable:
        grader.results = {done.nodeid: result, passed.nodeid: passed}
        assert grader.known_chapter(ch) is None, result
    grader.results = {done.nodeid: done}  # a check that never reported
    assert grader.known_chapter(ch) is None
    grader.results = dict(grader.collected)
    grader.work = tmp_path / "work-of-this-run"  # a verdict that names this run's own folders
    grader.results[done.nodeid] = replace(done, status=CheckStatus.FAIL, attribute="values",
                                          verdict=f"{grader.work}/tmp-0/state.pt が読めません")
    assert grader.known_chapter(ch) is None
    grader.results = dict(grader.collected)
    assert grader.known_chapter(ch) is not None
    grader.finished_jobs = {"01_setup": "stopped"}  # its run ended early
    assert grader.known_chapter(ch) is None


# -- reports -------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("fmt", report.FORMATS)
def test_every_report_format_is_written_end_to_end(tmp_path, fmt):
    sub = _submission(tmp_path, catalog.SOLUTIONS, ["01_setup"])
    out = tmp_path / "out" / f"report.{fmt}.json"
    proc = _kata("grade", str(sub), "--chapters", "01", "--format", fmt, "--output", str(out), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    if fmt == "json":
        assert data["score"] == POINTS_01 and data["max_score"] == POINTS_01
    elif fmt == "gradescope":
        assert data["score"] == POINTS_01 and len(data["tests"]) == EXERCISES_01
    elif fmt == "classroom":
        assert data["max_score"] == POINTS_01 and sum(t["score"] for t in data["tests"]) == POINTS_01
    else:
        assert data["version"] == 3 and data["status"] == "pass"
    assert f"{POINTS_01} / {POINTS_01}" in proc.stderr


def _slow_submission(tmp_path: Path, body: str) -> Path:
    sub = tmp_path / "submission"
    target = sub / "exercises" / "01_setup" / "seeds.py"
    target.parent.mkdir(parents=True)
    target.write_text(REFERENCE_01 + "\n\nimport time as _time\n" + "".join(
        f"\n_real_{n} = {n}\n\ndef {n}(*a, **k):\n{body}\n    return _real_{n}(*a, **k)\n"
        for n in (e.name for e in catalog.chapter("01").exercises)), encoding="utf-8")  # every exercise of 01
    return sub


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_grader_killed_from_outside_leaves_a_valid_partial_report(tmp_path):
    sub = _slow_submission(tmp_path, "    _time.sleep(1.5)")
    out = tmp_path / "out" / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
    proc = subprocess.Popen([sys.executable, "-m", "kata", "grade", str(sub), "--chapters", "01", "--output", str(out),
                             "--check-timeout", "20", "--budget", "60"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if out.exists():
                data = json.loads(out.read_text(encoding="utf-8"))  # never half-written: replaced atomically
                statuses = [c["status"] for e in data["exercises"] for c in e["checks"]]
                if "pass" in statuses and "notrun" in statuses:
                    partial = data
                    break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert partial is not None, "no partial report appeared"
    data = json.loads(out.read_text(encoding="utf-8"))
    statuses = [c["status"] for e in data["exercises"] for c in e["checks"]]
    assert "pass" in statuses and "notrun" in statuses
    assert data["max_score"] == POINTS_01 and data["score"] < POINTS_01


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_budget_holds_when_every_function_loops_forever(tmp_path):
    sub = _slow_submission(tmp_path, "    while True:\n        pass")
    budget = 40.0
    start = time.monotonic()
    result = parent.grade(sub, chapters="01", check_timeout=10, budget=budget)
    elapsed = time.monotonic() - start
    assert elapsed < budget + 15, elapsed
    assert result.score == 0
    for ex in result.exercises:
        assert ex.status == ExerciseStatus.FAIL
        assert "時間切れ" in ex.verdict
        ran = [c for c in ex.checks if c.status == "fail" and c.attribute != "timeout-not-run"]
        assert len([c for c in ran if "時間切れ" in c.verdict]) <= 1 or all(c.status != "pass" for c in ex.checks)
        # after the first timeout the exercise's other checks are not waited for
        assert sum(1 for c in ex.checks if c.attribute not in ("timeout-not-run", "notrun")) == 1, \
            [(c.name, c.status, c.attribute) for c in ex.checks]


# -- grader-side errors --------------------------------------------------------------------------------------

def test_a_missing_submission_folder_is_exit_2_with_one_japanese_line(tmp_path):
    proc = _kata("grade", str(tmp_path / "nowhere"), timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "提出物のフォルダ" in lines[0]


def test_an_unknown_chapter_is_exit_2_with_one_japanese_line(tmp_path):
    proc = _kata("grade", str(tmp_path), "--chapters", "99", timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "章 '99' はありません" in lines[0]


# -- the isolation actually in force here ---------------------------------------------------------------------

OBSERVE = '''

def torch_version():
    import json, os, socket
    seen = {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "tmp": sorted(os.listdir("/tmp"))}
    for name, path in (("root", ROOT + "/solutions/01_setup/seeds.py"), ("report", REPORT_DIR)):
        try:
            seen[name] = os.listdir(path) if os.path.isdir(path) else open(path).read(10)
        except OSError as err:
            seen[name] = f"denied {err.errno}"
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        seen["net"] = "reachable"
    except OSError as err:
        seen["net"] = f"unreachable {err.errno}"
    return json.dumps(seen)
'''


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_isolation_in_force_here(tmp_path):
    sub = tmp_path / "submission"
    target = sub / "exercises" / "01_setup" / "seeds.py"
    target.parent.mkdir(parents=True)
    out = tmp_path / "out" / "report.json"
    target.write_text(REFERENCE_01 + f"\nROOT = {str(ROOT)!r}\nREPORT_DIR = {str(out.parent)!r}\n" + OBSERVE,
                      encoding="utf-8")
    out.parent.mkdir()
    (out.parent / "secret.txt").write_text("x")
    result = parent.grade(sub, chapters="01", check_timeout=20, budget=120, output=out,
                           render=lambda r: report.render(r, "json"))
    assert json.loads(out.read_text(encoding="utf-8"))["isolation"] == ISOLATION
    verdict = next(c.verdict for e in result.exercises for c in e.checks
                   if c.function == "test_torch_version_matches_installed")
    seen = json.loads(verdict[verdict.index("{"):verdict.rindex("}") + 1])
    assert result.score == POINTS_01 - 1  # torch_version returned the observations, the rest is the reference
    if ISOLATION == "basic":
        pytest.skip(f"basic isolation: the worker runs as the grader ({seen})")
    assert seen["pid"] == 1  # its own PID namespace
    # A private /tmp: its working folder, and nothing else but the grader's own interpreter where that lives under
    # /tmp (shown again read-only, so that torch's lazy imports work: a venv in /tmp, as in a fresh CI run).
    interpreter = {Path(os.path.realpath(p)).relative_to("/tmp").parts[0]
                   for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__))
                   if os.path.realpath(p).startswith("/tmp/")}
    assert "kata-work" in seen["tmp"] and set(seen["tmp"]) - {"kata-work"} <= interpreter, seen["tmp"]
    assert seen["net"].startswith("unreachable")
    assert seen["root"] in ("denied 2", "denied 13") or seen["root"] == [], seen
    assert seen["report"] == [] or str(seen["report"]).startswith("denied"), seen
    if ISOLATION == "root":
        # A uid of this run's own block (kata.grading.sandbox.uids), far from every account of the machine.
        assert seen["uid"] == seen["gid"] and (seen["uid"] in uids.HIGH or seen["uid"] >= 10000)


# -- in-place (Classroom) mode and kata verify ----------------------------------------------------------------

def _repo_copy(tmp_path: Path) -> Path:
    """A learner's copy of this repository as Classroom checks it out: the grading path, its manifest, the stubs."""
    copy = tmp_path / "repo"
    for name in manifest.grading_files(ROOT):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    (copy / "kata").mkdir(exist_ok=True)
    (copy / manifest.MANIFEST_NAME).write_text(manifest.render(manifest.compute(copy)), encoding="utf-8")
    shutil.copytree(ROOT / "exercises", copy / "exercises")
    shutil.copy2(catalog.SOLUTIONS / "01_setup" / "seeds.py", copy / "exercises" / "01_setup" / "seeds.py")
    return copy


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_in_place_grades_an_intact_copy_and_refuses_a_tampered_one(tmp_path):
    copy = _repo_copy(tmp_path)
    out = tmp_path / "report.json"
    proc = _kata("grade", str(copy), "--in-place", "--chapters", "01", "--output", str(out), python_path=copy,
                 cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["score"] == POINTS_01
    for tamper in ("checks/01_setup/conftest.py", "kata/extra.py", "checks/01_setup/test_seeds.py"):
        target = copy / tamper
        saved = target.read_bytes() if target.exists() else None
        with open(target, "a", encoding="utf-8") as f:
            f.write("\ndef test_extra():\n    pass\n")
        proc = _kata("grade", str(copy), "--in-place", "--chapters", "01", python_path=copy, cwd=tmp_path,
                     timeout=120)
        assert proc.returncode == 2, (tamper, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "拒否" in lines[0] and tamper in lines[0], lines
        if saved is None:
            target.unlink()
        else:
            target.write_bytes(saved)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_in_place_never_imports_modules_planted_at_the_top_of_the_learners_repository(tmp_path):
    copy = _repo_copy(tmp_path)
    marker = tmp_path / "planted-module-ran"
    for name in ("torch.py", "numpy.py", "pytest.py"):
        (copy / name).write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise ImportError('planted')\n",
                                 encoding="utf-8")
    out = tmp_path / "report.json"
    _kata("grade", str(copy), "--in-place", "--chapters", "01", "--output", str(out), python_path=copy,
          cwd=tmp_path, timeout=300)
    assert not marker.exists(), marker.read_text()
    assert json.loads(out.read_text(encoding="utf-8"))["score"] == POINTS_01


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_track_the_course_leaves_out_is_neither_run_nor_counted_in_max_score(tmp_path):
    """A teacher leaves the challenges out (``[tool.kata] tracks = ["core"]`` in pyproject.toml, kata/catalog.py):
    ``kata grade`` scores the other exercises only, and the left-out ones' checks are not run.  Here one more of
    chapter 01's exercises is marked as a challenge in the teacher's copy."""
    copy = _repo_copy(tmp_path)
    chapter = catalog.chapter_of_key("01_setup")
    marked = "rand_with_generator"  # a core exercise, marked as a challenge in the teacher's copy
    left_out = {e.name for e in chapter.exercises if e.track == "challenge"} | {marked}
    data = copy / "checks" / "01_setup" / "chapter.toml"
    text = data.read_text(encoding="utf-8")
    data.write_text(text.replace(f"[exercises.{marked}]\n", f'[exercises.{marked}]\ntrack = "challenge"\n', 1),
                    encoding="utf-8")
    with open(copy / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write('\n[tool.kata]\ntracks = ["core"]\n')
    (copy / manifest.MANIFEST_NAME).write_text(manifest.render(manifest.compute(copy)), encoding="utf-8")
    out = tmp_path / "report.json"
    proc = _kata("grade", str(copy), "--in-place", "--chapters", "01", "--output", str(out), python_path=copy,
                 cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    graded = json.loads(out.read_text(encoding="utf-8"))
    kept = [e for e in chapter.exercises if e.name not in left_out]
    assert [e["exercise"] for e in graded["exercises"]] == [e.name for e in kept]
    assert graded["max_score"] == graded["score"] == sum(e.points for e in kept)
    checks = [c["nodeid"] for e in graded["exercises"] for c in e["checks"]]
    assert checks and not any(f"test_{name}_" in c for c in checks for name in left_out)


@pytest.mark.timeout(120)
@pytest.mark.slow
def test_kata_verify_accepts_an_intact_copy_and_names_a_changed_or_added_file(tmp_path):
    copy = _repo_copy(tmp_path)
    ok = _kata("verify", "--root", str(copy), timeout=60)
    assert ok.returncode == 0, ok.stdout
    digest = manifest.digest_of_manifest(copy)
    assert _kata("verify", "--root", str(copy), "--digest", digest, timeout=60).returncode == 0
    assert _kata("verify", "--root", str(copy), "--digest", "0" * 64, timeout=60).returncode == 1
    with open(copy / "checks" / "01_setup" / "test_seeds.py", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    (copy / "checks" / "01_setup" / "conftest.py").write_text("# added\n", encoding="utf-8")
    bad = _kata("verify", "--root", str(copy), timeout=60)
    assert bad.returncode == 1
    assert "checks/01_setup/test_seeds.py" in bad.stdout and "checks/01_setup/conftest.py" in bad.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_grading_parent_never_imports_torch_numpy_or_pytest(tmp_path):
    """The parent of a grading run holds no copy of what learner code could exploit: torch, NumPy and pytest are
    imported only by the trusted processes and the sandbox."""
    sub = tmp_path / "sub"
    shutil.copytree(catalog.SOLUTIONS / "01_setup", sub / "exercises" / "01_setup")
    code = ("import sys, json; from kata import report; from kata.grading import parent\n"
            "opts = parent.Options(chapters='01', output=sys.argv[2], render=lambda r: report.render(r, 'json'))\n"
            "parent.grade(sys.argv[1], opts)\n"
            "print(json.dumps([m for m in ('torch', 'numpy', 'pytest') if m in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code, str(sub), str(tmp_path / "r.json")], capture_output=True,
                          text=True, timeout=500, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["score"] == POINTS_01
