"""``kata grade`` and ``kata verify``: points, isolation of every chapter, hostile submissions, the tamper check."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kata import catalog, grading, guard, manifest, messages, report

from conftest import ROOT
from hostile import CASES, REFERENCE

pytestmark = pytest.mark.timeout(600)
#: Small limits keep the hostile catalogue quick; they are generous for the reference answers.
LIMITS = {"check_timeout": 4.0, "chapter_timeout": 15.0, "memory_mb": 512}


def _other_chapter() -> catalog.Chapter | None:
    """A second chapter that must keep full marks beside a hostile chapter 01."""
    keys = [c.key for c in catalog.chapters() if c.key != "01_setup"]
    key = "02_creation" if "02_creation" in keys else (keys[0] if keys else None)
    return catalog.chapter_of_key(key) if key else None


def _submission(tmp_path: Path, chapters: list[catalog.Chapter], source: str | None = None) -> Path:
    """A learner's copy holding the references of ``chapters``, chapter 01's file replaced by ``source``."""
    sub = tmp_path / "submission"
    for ch in chapters:
        shutil.copytree(catalog.SOLUTIONS / ch.key, sub / "exercises" / ch.key, dirs_exist_ok=True)
    if source is not None:
        (sub / "exercises" / "01_setup" / "seeds.py").write_text(source, encoding="utf-8")
    return sub


def _texts(result: report.GradeResult, chapter: str = "01_setup") -> list[str]:
    exercises = [e for e in result.exercises if e.chapter == chapter]
    return [e.verdict for e in exercises] + [c.verdict for e in exercises for c in e.checks]


def _kata(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
    return subprocess.run([sys.executable, "-m", "kata", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


# -- choosing chapters and reading the submission --------------------------------------------------------------

def test_chapters_are_chosen_by_number_list_and_range():
    keys = [c.key for c in catalog.chapters()]
    assert [c.key for c in grading.select_chapters(None)] == keys
    assert [c.key for c in grading.select_chapters("01")] == ["01_setup"]
    assert [c.key for c in grading.select_chapters(f"01-{keys[-1][:2]}")] == keys
    with pytest.raises(grading.GradingError, match="01_setup"):
        grading.select_chapters("99")


def test_the_learner_file_is_found_in_a_repository_an_exercises_folder_or_a_flat_upload(tmp_path):
    ch = catalog.chapter_of_key("01_setup")
    for layout in ("exercises/01_setup/seeds.py", "01_setup/seeds.py", "seeds.py"):
        sub = tmp_path / layout.replace("/", "_")
        (sub / layout).parent.mkdir(parents=True)
        (sub / layout).write_text(REFERENCE, encoding="utf-8")
        staged = grading.stage(sub, ch)
        assert staged.source == REFERENCE.encode() and staged.problem is None


def test_a_symlink_or_an_oversized_file_is_not_graded(tmp_path):
    ch = catalog.chapter_of_key("01_setup")
    link = tmp_path / "link" / "exercises" / "01_setup" / "seeds.py"
    link.parent.mkdir(parents=True)
    link.symlink_to(catalog.SOLUTIONS / "01_setup" / "seeds.py")
    assert grading.stage(tmp_path / "link", ch).problem == messages.GRADE_BAD_FILE_SYMLINK
    big = tmp_path / "big" / "exercises" / "01_setup" / "seeds.py"
    big.parent.mkdir(parents=True)
    big.write_bytes(b"#" * (grading.MAX_SOURCE_BYTES + 1))
    assert "大きすぎます" in grading.stage(tmp_path / "big", ch).problem


def test_static_scan_flags_reaching_into_the_grader_and_nothing_in_the_references():
    hostile = ("import _pytest.runner\nfrom kata import compare\nimport ctypes\nimport sys\n"
               "f = sys._getframe(1)\ng = f.f_globals\nimport pytest\npytest.skip('x')\nx = 'kata.compare'\n")
    found = {what for what, _ in guard.scan_source(hostile)}
    assert {"import _pytest.runner", "from kata import …", "import ctypes", "._getframe", ".f_globals",
            "pytest.skip", "'kata.compare'"} <= found
    for ch in catalog.chapters():
        assert guard.scan_source(ch.reference_file().read_text(encoding="utf-8")) == [], ch.key
        assert guard.scan_source(ch.learner_file().read_text(encoding="utf-8")) == [], ch.key


# -- the guard's parts -----------------------------------------------------------------------------------------

def test_signed_lines_round_trip_and_a_forged_line_is_rejected():
    read_fd, write_fd = os.pipe()
    send = guard.make_sender(write_fd, b"k" * 32)
    send("test", nodeid="a::b", status="pass")
    os.close(write_fd)
    line = os.read(read_fd, 1 << 16).rstrip(b"\n")
    os.close(read_fd)
    assert guard.verify_line(line, b"k" * 32) == {"nodeid": "a::b", "status": "pass", "kind": "test", "seq": 0}
    assert guard.verify_line(line, b"x" * 32) is None
    assert guard.verify_line(line.replace(b'"pass"', b'"fail"'), b"k" * 32) is None
    assert guard.verify_line(b"0" * 64 + b' {"kind": "end"}', b"k" * 32) is None


def test_snapshot_sees_a_replaced_a_deleted_and_an_added_name(monkeypatch):
    import types
    module = types.ModuleType("fake_module")
    module.f, module.g = (lambda: 1), (lambda: 2)
    monkeypatch.setitem(sys.modules, "fake_module", module)
    snap = guard.Snapshot()
    snap.add_module(module)
    assert snap.verify() == []
    module.f = lambda: 3
    del module.g
    module.isinstance = lambda *a: True
    assert set(snap.verify()) == {"fake_module.f", "fake_module.g", "fake_module.isinstance"}
    monkeypatch.setitem(sys.modules, "fake_module", types.ModuleType("fake_module"))
    assert "sys.modules['fake_module']" in snap.verify()


def test_snapshot_accepts_new_submodules_of_a_package():
    import types
    package = types.ModuleType("torch_like")
    package.__name__ = "torch_like"
    snap = guard.Snapshot()
    snap.add_namespace("torch_like", vars(package), new_names="non-module")
    package.lazy = types.ModuleType("torch_like.lazy")
    assert snap.verify() == []
    package.helper = len
    assert snap.verify() == ["torch_like.helper"]


def _as_learner(audit: guard.AuditGuard, learner: str, body: str):
    """Run ``body`` (which calls ``audit``) as if it were learner code from the file ``learner``."""
    namespace = {"audit": audit, "sys": sys, "gc": __import__("gc")}
    exec(compile(f"def run():\n    {body}\n", learner, "exec"), namespace)
    return namespace["run"]


def test_audit_guard_blocks_frame_peeking_from_learner_code_only(tmp_path):
    learner = str(tmp_path / "seeds.py")
    audit = guard.AuditGuard({learner}, allowed=[str(tmp_path / "work")], protected=[str(ROOT)])
    with pytest.raises(PermissionError, match="採点中は"):
        _as_learner(audit, learner, "audit('sys._getframe', (None,))")()
    assert audit.take() == [messages.TAMPER_FRAMES.format(how="sys._getframe")]
    audit("sys._getframe", (None,))  # the grader's own code may
    assert audit.take() == []


def test_audit_guard_refuses_writes_outside_the_work_folder_and_flags_writes_to_the_grader(tmp_path):
    learner = str(tmp_path / "seeds.py")
    work = tmp_path / "work"
    audit = guard.AuditGuard({learner}, allowed=[str(work)], protected=[str(ROOT)])
    _as_learner(audit, learner, f"audit('open', ({str(work / 'model.pt')!r}, 'wb', 0))")()  # allowed
    with pytest.raises(PermissionError):
        _as_learner(audit, learner, "audit('open', ('/tmp/elsewhere.json', 'w', 0))")()
    assert audit.take() == []  # refused, not tampering
    with pytest.raises(PermissionError):
        _as_learner(audit, learner, f"audit('os.remove', ({str(ROOT / 'checks')!r},))")()
    assert audit.take() == [messages.TAMPER_WRITE.format(path=os.path.realpath(ROOT / "checks"))]
    _as_learner(audit, learner, "audit('open', ('/etc/hostname', 'r', 0))")()  # reading is fine


def test_audit_guard_refuses_new_processes_and_signals_to_others(tmp_path):
    learner = str(tmp_path / "seeds.py")
    audit = guard.AuditGuard({learner}, allowed=[str(tmp_path)], protected=[])
    with pytest.raises(PermissionError, match="子プロセス"):
        _as_learner(audit, learner, "audit('os.fork', ())")()
    with pytest.raises(PermissionError, match="シグナル"):
        _as_learner(audit, learner, "audit('os.kill', (1, 9))")()
    _as_learner(audit, learner, f"audit('os.kill', ({os.getpid()}, 0))")()  # its own process: allowed
    assert audit.take() == []


# -- grading the references: full marks, nothing flagged ---------------------------------------------------------

@pytest.fixture(scope="module")
def reference_result(tmp_path_factory) -> report.GradeResult:
    sub = _submission(tmp_path_factory.mktemp("ref"), list(catalog.chapters()))
    return grading.grade(sub, seed=5)


def test_every_reference_scores_its_points_with_nothing_flagged(reference_result):
    for chapter in reference_result.chapters:
        assert chapter.findings == [], (chapter.key, chapter.findings)
        assert chapter.outcome == report.COMPLETED, (chapter.key, chapter.outcome, chapter.message)
    wrong = [(e.name, e.status, e.verdict[:200]) for e in reference_result.exercises if e.status != report.PASS]
    assert not wrong
    assert reference_result.score == reference_result.max_score == sum(
        e.points for c in catalog.chapters() for e in c.exercises)


def test_points_come_from_chapter_toml(reference_result):
    for ex in reference_result.exercises:
        assert ex.points == catalog.chapter_of_key(ex.chapter).exercise(ex.exercise).points


def test_stubs_score_zero_and_read_todo(tmp_path):
    sub = tmp_path / "stub"
    shutil.copytree(catalog.EXERCISES / "01_setup", sub / "exercises" / "01_setup")
    result = grading.grade(sub, chapters="01", **LIMITS)
    assert result.score == 0 and result.max_score == 4
    assert {e.status for e in result.exercises} == {report.TODO}
    assert all(e.verdict == messages.TODO for e in result.exercises)


def test_a_missing_file_scores_zero_with_a_verdict_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    result = grading.grade(tmp_path / "empty", chapters="01", **LIMITS)
    assert result.score == 0
    assert all("seeds.py" in e.verdict and "見つかりません" in e.verdict for e in result.exercises)


def test_a_symlinked_file_is_not_graded(tmp_path):
    target = tmp_path / "sub" / "exercises" / "01_setup" / "seeds.py"
    target.parent.mkdir(parents=True)
    target.symlink_to(catalog.SOLUTIONS / "01_setup" / "seeds.py")
    result = grading.grade(tmp_path / "sub", chapters="01", **LIMITS)
    assert result.score == 0
    assert all(messages.GRADE_BAD_FILE_SYMLINK in e.verdict for e in result.exercises)


def test_ordinary_learner_code_is_not_taken_for_tampering(tmp_path):
    """Helpers a learner may write (a dict with attribute access, a dataclass, a module, logging, a namedtuple,
    a file written into the work folder) raise no finding."""
    helpers = REFERENCE + """

import collections, dataclasses, logging, tempfile, typing
import torch.nn as _nn


class AttrDict(dict):
    def __getattr__(self, name):
        return self[name]


@dataclasses.dataclass
class Config:
    seed: int = 0


class Tiny(_nn.Module):
    def forward(self, x):
        return x


Pair = collections.namedtuple("Pair", "a b")
Point = typing.NamedTuple("Point", [("x", int), ("y", int)])
logging.getLogger("learner").info("imported")
with tempfile.TemporaryFile() as _f:
    _f.write(b"scratch")
_ = (AttrDict(a=1).a, Config() == Config(), Tiny(), Pair(1, 2) == Pair(1, 2), Point(1, 2))
"""
    sub = _submission(tmp_path, [catalog.chapter_of_key("01_setup")], helpers)
    result = grading.grade(sub, chapters="01", seed=3, **LIMITS)
    assert result.chapters[0].findings == []
    assert result.score == 4


# -- the catalogue of hostile submissions ------------------------------------------------------------------------

def test_the_hostile_catalogue_has_at_least_ten_kinds():
    assert len(CASES) >= 10
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_submission_gets_its_expected_score(tmp_path, case):
    other = _other_chapter() if case.others else None
    chapters = [catalog.chapter_of_key("01_setup")] + ([other] if other else [])
    sub = _submission(tmp_path, chapters, case.source)
    result = grading.grade(sub, chapters=",".join(c.number for c in chapters), seed=3, restarts=case.restarts,
                           **LIMITS)
    by_key = {c.key: c for c in result.chapters}
    first = by_key["01_setup"]
    assert first.score == case.expected, [(e.name, e.status, e.verdict[:200]) for e in result.exercises]
    if case.fragment:
        assert any(case.fragment in text for text in _texts(result)), _texts(result)
    if case.outcome:
        assert first.outcome == case.outcome, (first.outcome, first.message)
    if other is not None:
        assert by_key[other.key].score == by_key[other.key].max_score > 0, by_key[other.key]
        assert by_key[other.key].findings == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["function_os_exit", "patch_torch_testing"])
def test_hostile_submission_in_a_spawned_interpreter(tmp_path, name):
    case = next(c for c in CASES if c.name == name)
    sub = _submission(tmp_path, [catalog.chapter_of_key("01_setup")], case.source)
    result = grading.grade(sub, chapters="01", isolation="spawn", seed=3, **{**LIMITS, "chapter_timeout": 60})
    assert result.isolation == "spawn"
    assert result.score == case.expected


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to switch users")
def test_learner_code_runs_as_another_user(tmp_path):
    import pwd
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody'")
    unreadable = grading._unreadable_for(entry.pw_uid, entry.pw_gid)
    if unreadable:
        pytest.skip(f"user 'nobody' cannot read {unreadable} here")
    probe = REFERENCE + "\n\nimport os as _os\n\ndef torch_version():\n    return str(_os.getuid())\n"
    sub = _submission(tmp_path, [catalog.chapter_of_key("01_setup")], probe)
    result = grading.grade(sub, chapters="01", user="nobody", seed=3, **LIMITS)
    version = next(e for e in result.exercises if e.exercise == "torch_version")
    assert str(pwd.getpwnam("nobody").pw_uid) in version.verdict  # the learner's code saw nobody's uid
    assert result.score == 3


# -- the command ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_grade_command_writes_the_report_and_exits_zero(tmp_path):
    sub = _submission(tmp_path, [catalog.chapter_of_key("01_setup")])
    out = tmp_path / "out" / "results.json"
    proc = _kata("grade", str(sub), "--chapters", "01", "--format", "gradescope", f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["score"] == 4 and len(data["tests"]) == 4
    assert "採点結果: 4 / 4 点" in proc.stderr


@pytest.mark.slow
def test_grade_command_exits_zero_for_a_zero_score_and_two_when_it_cannot_run(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = _kata("grade", str(tmp_path / "empty"), "--chapters", "01", "--quiet")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["score"] == 0
    missing = _kata("grade", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "nowhere" in missing.stderr
    bad = _kata("grade", str(tmp_path / "empty"), "--chapters", "99")
    assert bad.returncode == 2 and "01_setup" in bad.stderr


# -- the tamper check ------------------------------------------------------------------------------------------

def test_shipped_manifest_is_current():
    result = manifest.compare(ROOT)
    assert result.ok, ("kata/MANIFEST.sha256 is stale: run `python -m kata.manifest --write` and commit it.\n"
                       + "\n".join(result.lines()))


def test_manifest_lists_the_grading_path_in_sha256sum_format():
    text = manifest.manifest_path(ROOT).read_text(encoding="utf-8")
    paths = [line.split("  ", 1)[1] for line in text.splitlines()]
    assert "conftest.py" in paths and "pyproject.toml" in paths and "kata/plugin.py" in paths
    assert any(p.startswith("checks/01_setup/") for p in paths)
    assert any(p.startswith("solutions/01_setup/") for p in paths)
    assert not any(p.startswith(("exercises/", "tests/")) or "__pycache__" in p for p in paths)
    assert all(len(line.split("  ", 1)[0]) == 64 for line in text.splitlines())


def _repository_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    for name in ("kata", "checks", "solutions", "exercises"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, copy / name)
    manifest.write(copy)
    return copy


@pytest.mark.slow
def test_verify_and_in_place_grading_refuse_a_changed_check(tmp_path):
    copy = _repository_copy(tmp_path)
    ok = _kata("verify", cwd=copy)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "一致しました" in ok.stdout
    graded = _kata("grade", ".", "--in-place", "--chapters", "01", "--quiet", cwd=copy)
    assert graded.returncode == 0, graded.stderr
    check = copy / "checks" / "01_setup" / "test_seeds.py"
    check.write_text(check.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    (copy / "checks" / "01_setup" / "conftest.py").write_text("# new\n", encoding="utf-8")
    changed = _kata("verify", cwd=copy)
    assert changed.returncode == 1
    assert messages.VERIFY_CHANGED.format(path="checks/01_setup/test_seeds.py") in changed.stdout
    assert messages.VERIFY_EXTRA.format(path="checks/01_setup/conftest.py") in changed.stdout
    refused = _kata("grade", ".", "--in-place", "--chapters", "01", cwd=copy)
    assert refused.returncode == 2
    assert "checks/01_setup/test_seeds.py" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_verify_checks_the_pinned_digest_of_the_manifest(tmp_path, capsys):
    import argparse
    copy = _repository_copy(tmp_path)
    digest = manifest.digest_of_manifest(copy)
    assert grading.verify_command(argparse.Namespace(root=copy, manifest=None, digest=digest)) == 0
    assert grading.verify_command(argparse.Namespace(root=copy, manifest=None, digest="0" * 64)) == 1
    assert "マニフェスト自体のハッシュ" in capsys.readouterr().out


# -- the instructors' templates --------------------------------------------------------------------------------

@pytest.mark.slow
def test_gradescope_run_autograder_writes_results_json(tmp_path):
    upload = tmp_path / "submission"
    upload.mkdir()
    shutil.copy2(catalog.SOLUTIONS / "01_setup" / "seeds.py", upload / "seeds.py")  # a flat upload
    results = tmp_path / "results" / "results.json"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))},
           "KATA_SOURCE": str(ROOT), "KATA_SUBMISSION": str(upload), "KATA_RESULTS": str(results),
           "KATA_PYTHON": sys.executable, "KATA_GRADE_OPTIONS": "--chapters 01"}
    if _nobody_cannot_read():
        env["KATA_USER"] = ""  # this machine's Python is not readable by 'nobody'; Gradescope's venv is
    proc = subprocess.run(["bash", str(ROOT / "autograder" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["score"] == 4 and {t["status"] for t in data["tests"]} == {"passed"}


def _nobody_cannot_read() -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    import pwd
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return True
    return grading._unreadable_for(entry.pw_uid, entry.pw_gid) is not None


def test_classroom_workflow_grades_in_place_and_feeds_the_reporter():
    text = (ROOT / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8")
    assert "python -m kata verify" in text
    assert "python -m kata grade . --in-place --format classroom" in text
    assert "classroom-resources/autograding-grading-reporter@v1" in text
    assert 'KATA_RESULTS: "${{ steps.kata.outputs.result }}"' in text and "runners: kata" in text
    assert "base64 -w 0" in text


def test_instructor_guide_is_japanese_and_covers_both_platforms_and_points():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = text[text.index("## 講師の方へ"):text.index("## 開発者向け")]
    for needle in ("GitHub Classroom", "Gradescope", "points", "kata grade", "kata verify",
                   "python -m kata.manifest --write", "run_autograder", "setup.sh"):
        assert needle in text, needle
