"""The graders' glue: Gradescope's ``autograder/`` scripts and GitHub Classroom's workflow, run here as their hosts
would run them (stub ``apt-get``, a Python 3.10 ``python3``, the workflow's own step scripts)."""
from __future__ import annotations

import base64
import glob
import json
import os
import shlex
import shutil
import site as site_module
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from kata import catalog, report

pytestmark = pytest.mark.timeout(600)  # real grading runs, on a shared machine

AUTOGRADER = ROOT / "autograder"
WORKFLOW = ROOT / ".github" / "workflows" / "classroom.yml"
GRADESCOPE_VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")
#: Commands setup.sh's interpreter part may run, linked into a PATH of their own (no system python3.11 on it).
TOOLS = ("bash", "sh", "env", "cat", "grep", "head", "sed", "rm", "mkdir", "mktemp", "chmod", "dirname", "ls", "ln",
         "echo", "printf", "id", "cp", "realpath", "readlink", "uname", "tr", "cut", "true", "false", "test")


def _python(version: str) -> str | None:
    """The real binary of an interpreter of that minor version (pyenv's, or one on PATH; shims resolved)."""
    candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    candidates += [p for p in [shutil.which(f"python{version}")] if p]
    for path in candidates:
        proc = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"],
                              capture_output=True, text=True)
        parts = proc.stdout.split()
        if proc.returncode == 0 and len(parts) == 2 and parts[0] == version:
            return os.path.realpath(parts[1])
    return None


PY310 = _python("3.10")
PY311 = _python("3.11")
needs_310 = pytest.mark.skipif(PY310 is None, reason="no Python 3.10 interpreter here")


def _script(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _toolbin(tmp: Path, python3: str, python311: str | None) -> tuple[Path, Path]:
    """A bin folder with the basic tools, ``python3`` -> the given interpreter, and an ``apt-get`` stub that records
    its arguments and, when asked to install python3.11, makes ``python3.11`` appear (as Ubuntu's package would)."""
    bin_ = tmp / "bin"
    bin_.mkdir()
    for tool in TOOLS:
        where = shutil.which(tool)
        if where:
            (bin_ / tool).symlink_to(where)
    (bin_ / "python3").symlink_to(python3)
    log = tmp / "apt.log"
    install = f'ln -sf "{python311}" "{bin_}/python3.11"' if python311 else ":"
    _script(bin_ / "apt-get", f'#!{shutil.which("bash")}\necho "$*" >> "{log}"\n'
                              f'case " $* " in *" install "*python3.11*) {install} ;; esac\n')
    return bin_, log


def _run_setup(tmp: Path, bin_: Path) -> subprocess.CompletedProcess:
    env = {"PATH": str(bin_), "HOME": str(tmp), "KATA_SOURCE": str(ROOT), "KATA_VENV": str(tmp / "venv"),
           "KATA_SETUP_STOP": "venv"}
    return subprocess.run([str(bin_ / "bash"), str(AUTOGRADER / "setup.sh")], env=env, capture_output=True,
                          text=True, timeout=300)


def _version(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()


# -- Gradescope: setup.sh --------------------------------------------------------------------------------------------

@needs_310
@pytest.mark.skipif(PY311 is None, reason="no Python 3.11 interpreter here")
@pytest.mark.slow
def test_setup_installs_python311_from_ubuntu_when_python3_is_310(tmp_path):
    bin_, log = _toolbin(tmp_path, PY310, PY311)
    proc = _run_setup(tmp_path, bin_)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text().splitlines()
    assert "update -y" in calls
    assert "install -y python3.11 python3.11-venv" in calls
    assert _version(tmp_path / "venv" / "bin" / "python") == "3.11"


@pytest.mark.skipif(PY311 is None, reason="no Python 3.11 interpreter here")
@pytest.mark.slow
def test_setup_uses_python3_when_it_is_new_enough(tmp_path):
    bin_, log = _toolbin(tmp_path, PY311, None)
    proc = _run_setup(tmp_path, bin_)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not log.exists()  # apt-get never called
    assert _version(tmp_path / "venv" / "bin" / "python") == "3.11"


@needs_310
@pytest.mark.slow
def test_setup_stops_with_a_reason_when_no_python311_can_be_installed(tmp_path):
    bin_, log = _toolbin(tmp_path, PY310, None)
    proc = _run_setup(tmp_path, bin_)
    assert proc.returncode != 0
    assert "install -y python3.11 python3.11-venv" in log.read_text()
    assert "no Python 3.11 or newer" in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_setup_installs_the_cpu_torch_and_the_project_dependencies_not_the_project():
    text = (AUTOGRADER / "setup.sh").read_text(encoding="utf-8")
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert '["project"]["dependencies"]' in text  # the list in pyproject.toml, not a copy of it
    assert "pip install /autograder/source" not in text and "pip install -e" not in text
    assert "python3.11 python3.11-venv" in text
    assert "-m kata verify" in text


@needs_310
def test_kata_on_python_310_says_311_is_needed_in_one_line(tmp_path):
    proc = subprocess.run([PY310, "-m", "kata", "grade", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "Python 3.11 以上が必要" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# -- Gradescope: run_autograder ----------------------------------------------------------------------------------

def _run_autograder(tmp: Path, submission: Path, options: str = "", python: str = sys.executable,
                    results: Path | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    results = results or tmp / "results" / "results.json"
    env = dict(os.environ, KATA_SOURCE=str(ROOT), KATA_SUBMISSION=str(submission), KATA_RESULTS=str(results),
               KATA_PYTHON=python, KATA_GRADE_OPTIONS=options)
    proc = subprocess.run(["bash", str(AUTOGRADER / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    return proc, results


def _assert_no_internals(text: str) -> None:
    for word in ("Traceback", "Error", "/tmp", "/autograder", str(ROOT), "kata grade:", "File \""):
        assert word not in text, f"{word!r} shown to the learner: {text!r}"


@pytest.fixture(scope="module")
def reference_01(tmp_path_factory) -> Path:
    sub = tmp_path_factory.mktemp("sub01")
    shutil.copytree(catalog.SOLUTIONS / "01_setup", sub / "exercises" / "01_setup")
    return sub


@pytest.mark.slow
def test_run_autograder_writes_results_json_with_the_requested_visibility(tmp_path, reference_01):
    proc, results = _run_autograder(tmp_path, reference_01, "--chapters 01 --visibility after_published --seed 3")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(results.read_text(encoding="utf-8"))
    chapter = catalog.chapter("01")
    assert data["score"] == sum(ex.points for ex in chapter.exercises) > 0
    assert data["visibility"] == "after_published"
    assert {t["visibility"] for t in data["tests"]} == {"after_published"}
    assert data["output_format"] == "text" and data["stdout_visibility"] == "hidden"


@pytest.mark.parametrize("options, visibility", [
    ("--chapters 01 --visibility after_published", "after_published"),
    ("--visibility=hidden", "hidden"),
    ("", "visible"),
])
@pytest.mark.slow
def test_run_autograder_fallback_keeps_visibility_and_hides_internals(tmp_path, options, visibility):
    stale = tmp_path / "results" / "results.json"
    stale.parent.mkdir()
    stale.write_text('{"score": 99, "tests": []}')
    proc, results = _run_autograder(tmp_path, tmp_path / "no such submission", options, results=stale)
    assert proc.returncode == 0
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["score"] == 0 and data["tests"] == []
    assert data["visibility"] == visibility
    assert data["output_format"] == "text" and data["stdout_visibility"] == "hidden"
    assert "講師に連絡" in data["output"]
    _assert_no_internals(data["output"])
    assert "no such submission" in proc.stderr  # the raw reason, for the instructor only


@pytest.mark.slow
def test_run_autograder_fallback_when_python_itself_fails(tmp_path, reference_01):
    broken = _script(tmp_path / "python", "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                                          "echo 'ModuleNotFoundError: No module named torch' >&2\nexit 1\n")
    proc, results = _run_autograder(tmp_path, reference_01, "--visibility after_due_date", python=str(broken))
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["visibility"] == "after_due_date" and data["score"] == 0
    _assert_no_internals(data["output"])
    assert "ModuleNotFoundError" in proc.stderr


@pytest.mark.slow
def test_run_autograder_fallback_with_an_unknown_visibility_hides(tmp_path):
    proc, results = _run_autograder(tmp_path, tmp_path / "missing", "--visibility sometimes")
    assert json.loads(results.read_text(encoding="utf-8"))["visibility"] == "hidden"


@pytest.mark.slow
def test_run_autograder_keeps_a_partial_report_of_a_grader_stopped_from_outside(tmp_path, reference_01):
    """A grader killed from outside (here: right after writing its progressive report) leaves that report."""
    partial = {"score": 1, "output": "partial", "tests": [{"name": "01 torch_version", "score": 1, "max_score": 1}]}
    killed = _script(tmp_path / "python", f"""#!/bin/sh
[ "$1" = - ] && exec {shlex.quote(sys.executable)} "$@"
out=''; prev=''
for a in "$@"; do [ "$prev" = --output ] && out=$a; prev=$a; done
printf '%s' {shlex.quote(json.dumps(partial))} > "$out"
kill -9 $$
""")
    proc, results = _run_autograder(tmp_path, reference_01, "", python=str(killed))
    assert json.loads(results.read_text(encoding="utf-8")) == partial
    assert "partial report" in proc.stderr and "137" in proc.stderr


def test_run_autograder_no_longer_drops_to_nobody():
    text = (AUTOGRADER / "run_autograder").read_text(encoding="utf-8")
    assert "--user" not in text and "nobody" not in text.replace("# ", "")


@pytest.mark.slow
def test_build_zip_puts_the_scripts_at_the_top_and_the_grading_path_inside(tmp_path):
    proc = subprocess.run(["bash", str(AUTOGRADER / "build_zip.sh"), str(tmp_path / "ag.zip")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "変更" in proc.stdout + proc.stderr:
        pytest.skip("the working tree differs from its manifest (someone is editing the grading path)")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = set(zipfile.ZipFile(tmp_path / "ag.zip").namelist())
    assert {"setup.sh", "run_autograder", "conftest.py", "pyproject.toml", "kata/__main__.py",
            "kata/MANIFEST.sha256"} <= names
    assert any(n.startswith("checks/01_setup/") for n in names) and any(n.startswith("solutions/") for n in names)
    assert not any("__pycache__" in n or n.startswith("exercises/") for n in names)


# -- GitHub Classroom: the workflow ---------------------------------------------------------------------------------

def _steps() -> dict[str, dict]:
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return {s.get("id") or s["name"]: s for s in data["jobs"]["run-autograding-tests"]["steps"]}


def test_workflow_grades_in_place_isolated_and_always_reports():
    steps = _steps()
    grade = steps["kata"]["run"]
    assert "python -I -m kata grade . --in-place" in grade
    assert "classroom_summary" in grade  # the Japanese verdicts in the log
    assert "-I -m kata verify" in steps["verify"]["run"]
    assert steps["fallback"]["if"] == "always() && steps.kata.outputs.result == ''"
    reporter = steps["Autograding Reporter"]
    assert reporter["if"] == "always()"
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == "kata"
    assert reporter["env"]["KATA_RESULTS"] == "${{ steps.kata.outputs.result || steps.fallback.outputs.result }}"


def _reporter(encoded: str) -> dict:
    """What classroom-resources/autograding-grading-reporter does with a runner's result: decode it, print the
    message of errored tests, add up the tests' scores for both its table and its annotation."""
    assert len(encoded) < 64 * 1024
    results = json.loads(base64.b64decode(encoded).decode("utf-8"))
    total = sum(t["score"] for t in results["tests"])
    printed = [t.get("message") or "" for t in results["tests"] if t["status"] == "error"]
    return {"status": results["status"], "total": total, "max": results["max_score"], "printed": printed,
            "results": results}


@pytest.fixture
def learner_repo(tmp_path) -> tuple[Path, Path]:
    """A learner's repository (the grading path, chapter 01 solved, the others untouched) with a Python whose
    ``-I`` imports kata from it, as the workflow's editable install does."""
    repo = tmp_path / "repo"
    for name in ("kata", "checks", "solutions", "exercises"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.rmtree(repo / "exercises" / "01_setup")
    shutil.copytree(ROOT / "solutions" / "01_setup", repo / "exercises" / "01_setup")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The packages of the interpreter running these tests (torch…): with --system-site-packages a venv made from
    # inside another venv sees only the base interpreter's, which on a fresh machine has none of them.
    Path(site, "kata_learner_repo.pth").write_text("".join(f"{p}\n" for p in [str(repo), *site_module.getsitepackages()]))
    # the copy must match its manifest (the shared working tree may be mid-edit)
    subprocess.run([str(venv / "bin" / "python"), "-I", "-m", "kata.manifest", "--write"], cwd=repo, check=True,
                   capture_output=True)
    return repo, venv / "bin"


def _run_step(step: dict, repo: Path, bin_: Path, env: dict[str, str] | None = None) -> tuple[int, str, dict]:
    output = repo.parent / f"github_output_{step.get('id', 'x')}"
    output.write_text("")
    full = {"PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ.get("HOME", str(repo)),
            "GITHUB_OUTPUT": str(output), "KATA_MANIFEST_SHA256": "", "KATA_CHAPTERS": "01", **(env or {})}
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=full, capture_output=True, text=True,
                          timeout=600)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc.returncode, proc.stdout + proc.stderr, outputs


@pytest.mark.slow
def test_workflow_grade_step_prints_japanese_verdicts_and_sends_consistent_totals(learner_repo):
    repo, bin_ = learner_repo
    steps = _steps()
    rc, log, _ = _run_step(steps["verify"], repo, bin_)
    assert rc == 0, log
    rc, log, outputs = _run_step(steps["kata"], repo, bin_)
    assert rc == 0, log
    assert "✔ 01 torch_version" in log and "採点結果:" in log
    plain = json.loads((repo / "kata-report.json").read_text(encoding="utf-8"))
    seen = _reporter(outputs["result"])
    full = sum(e.points for e in catalog.chapter_of_key("01_setup").exercises)  # chapter 01 solved, the rest not
    assert (seen["total"], seen["max"]) == (plain["score"], plain["max_score"]) == (full, full)
    assert all(t["line_no"] == 0 for t in seen["results"]["tests"])


@pytest.mark.slow
def test_workflow_fallback_after_tampering_reports_zero_of_the_full_score(learner_repo):
    repo, bin_ = learner_repo
    steps = _steps()
    check = next((repo / "checks" / "01_setup").glob("test_*.py"))
    check.write_text(check.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    rc, log, _ = _run_step(steps["verify"], repo, bin_)
    assert rc != 0  # so the Grade step is skipped and the fallback runs
    rc, log, outputs = _run_step(steps["fallback"], repo, bin_, {"KATA_TAMPERED": "true"})
    assert rc == 0, log
    seen = _reporter(outputs["result"])
    assert seen["status"] == "error" and seen["total"] == 0
    assert seen["max"] == sum(ex.points for ex in catalog.chapter("01").exercises)
    assert seen["printed"] == [report.CLASSROOM_TAMPERED]


@pytest.mark.slow
def test_workflow_fallback_without_a_working_python_still_sends_a_result(learner_repo, tmp_path):
    repo, _ = learner_repo
    nopy = tmp_path / "nopy"
    nopy.mkdir()
    _script(nopy / "python", "#!/bin/sh\nexit 127\n")
    rc, log, outputs = _run_step(_steps()["fallback"], repo, nopy, {"KATA_TAMPERED": "false"})
    assert rc == 0, log
    seen = _reporter(outputs["result"])
    assert seen["status"] == "error" and seen["printed"] and "講師に連絡" in seen["printed"][0]
