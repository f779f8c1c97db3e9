"""The learner's first hour on any machine: Windows (no SIGALRM, no fork), a cp932 console, a fresh clone's bare
`pytest`, one timeout per endless loop, pytest's usual flags, and the GitHub Actions workflow that runs this suite on
ubuntu, windows and macos."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from conftest import counts_line, replace_exactly
from kata import catalog, messages
from kata.display import PLAIN_SYMBOLS, display_width
from kata.frontend import say

ROOT = catalog.ROOT
CH01 = catalog.chapter("01")
REFERENCE_01 = CH01.reference_file().read_text(encoding="utf-8")
ENDLESS = replace_exactly(REFERENCE_01, "    return str(torch.__version__)",
                          "    while True:\n        try:\n            pass\n        except Exception:\n            pass")
FLOAT64 = replace_exactly(REFERENCE_01, "return torch.rand(shape)", "return torch.rand(shape, dtype=torch.float64)")
ENDLESS_AND_FLOAT64 = replace_exactly(ENDLESS, "return torch.rand(shape)", "return torch.rand(shape, dtype=torch.float64)")

# What Windows lacks, removed before pytest (and pytest-timeout, which looks at SIGALRM on import) starts.
AS_WINDOWS = textwrap.dedent("""\
    import os, signal, sys
    for name in ("SIGALRM", "alarm", "setitimer", "getitimer", "ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF",
                 "pause", "SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCHLD", "siginterrupt",
                 "pthread_kill", "sigwait"):
        if hasattr(signal, name):
            delattr(signal, name)
    for name in ("fork", "forkpty"):
        if hasattr(os, name):
            delattr(os, name)
    import pytest
    sys.exit(pytest.main(sys.argv[1:]))
    """)


def submission(tmp_path: Path, ch01: str) -> Path:
    root = tmp_path / "learner"
    shutil.copytree(ROOT / "solutions", root / "exercises")
    (root / "exercises" / CH01.key / CH01.file).write_text(ch01, encoding="utf-8")
    return root


def pytest_run(args: list[str], *, cwd: Path = ROOT, wrapper: str | None = None, encoding: str = "utf-8",
               timeout: float = 300, env: dict | None = None) -> tuple[int, list[str]]:
    command = [sys.executable, "-c", wrapper, *args] if wrapper else [sys.executable, "-m", "pytest", *args]
    environment = dict(os.environ, PYTHONIOENCODING=encoding, COLUMNS="80", **(env or {}))
    for name in ("PYTEST_ADDOPTS", "KATA_ROOT", "KATA_SEED"):
        environment.pop(name, None)
    proc = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, timeout=timeout)
    out = (proc.stdout + proc.stderr).decode(encoding)  # strict: every byte must be valid in that encoding
    return proc.returncode, out.splitlines()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_windows_without_sigalrm_or_fork_and_a_cp932_console(tmp_path):
    """The learner flow with SIGALRM, setitimer and fork removed and a cp932 stdout: checks run, an endless loop
    times out once with the Japanese verdict (watchdog thread), verdicts print with plain symbols."""
    root = submission(tmp_path, ENDLESS_AND_FLOAT64)
    report = tmp_path / "report.json"
    code, out = pytest_run(["exercises/01", f"--kata-submission={root}", "-p", "no:cacheprovider", "-o", "timeout=4",
                            f"--kata-report={report}"], wrapper=AS_WINDOWS, encoding="cp932")
    text = "\n".join(out)
    assert code == 1, text
    assert "INTERNALERROR" not in text and "Traceback" not in text and "AttributeError" not in text, text
    plain_pass, plain_fail, dash = PLAIN_SYMBOLS["✔"], PLAIN_SYMBOLS["✘"], PLAIN_SYMBOLS["—"]
    pytest.LineMatcher(out).fnmatch_lines([
        messages.SLOW_CHECK.format(chapter="01", exercise="torch_version", seconds="2", limit="4"),
        counts_line(passed="*", failed="*"),
        f"{plain_fail} 01 torch_version {dash} {messages.TIMEOUT.format(seconds=4.0)}",
        "    " + messages.NOT_RUN_AFTER_TIMEOUT.format(count=1),
        f"{plain_fail} 01 seeded_rand {dash} 『戻り値』のデータ型 (dtype) が違います。*",
        f"{plain_pass} 01 same_random_twice",
        f"{plain_pass} 01 rand_with_generator",
    ])
    tests = [t for t in json.loads(report.read_text(encoding="utf-8"))["tests"] if t["exercise"] == "torch_version"]
    assert sorted(t["attribute"] for t in tests) == ["timeout", "timeout-not-run"], "one timeout, not one per check"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_fresh_clone_bare_pytest_ends_with_the_table(tmp_path):
    """`pytest` with no arguments in a fresh copy of the repository: one screen, the table and 「次はこれ」 last."""
    clone = tmp_path / "clone"
    for name in ("kata", "checks", "solutions", "exercises"):
        shutil.copytree(ROOT / name, clone / name, ignore=shutil.ignore_patterns("__pycache__", ".kata"))
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(ROOT / name, clone / name)
    code, out = pytest_run([], cwd=clone)
    assert code == 1
    first = CH01.exercises[0].name
    assert out[-1] == messages.NEXT_STEP.format(file=f"exercises/{CH01.key}/{CH01.file}", exercise=first, chapter=CH01.number), out[-30:]
    assert out[-2] == say(messages.READ_LESSON, CH01.number, key=CH01.key)  # the lesson beside it
    assert out[-3].startswith(messages.LEGEND.format(items=""))
    last_chapter = catalog.chapters()[-1]
    assert out[-4].startswith(f"{last_chapter.number}  {last_chapter.title}")
    assert len(out) <= 50, "\n".join(out)  # 44 lines here (814 before the summary was folded)
    assert not any(line.startswith(messages.MARK_TODO + " checks/") for line in out), "no line per check"
    summary = out[next(i for i, line in enumerate(out) if messages.SUMMARY_TITLE + " — " in line):]
    too_wide = [line for line in summary if display_width(line) > 80]
    assert too_wide == [], "an 80-column terminal would wrap these"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_verbose_shows_every_check_and_x_stops(tmp_path):
    root = submission(tmp_path, FLOAT64)
    code, out = pytest_run(["exercises/01", f"--kata-submission={root}", "-p", "no:cacheprovider", "-v"])
    text = "\n".join(out)
    for check in ("test_torch_version_is_str", "test_seeded_rand_source_values", "test_seeded_rand_matches_reference"):
        assert any(check in line and ("PASSED" in line or "FAILED" in line) for line in out), check
    assert "FAILURES" in text, "-v keeps pytest's block for every failing check"
    code, out = pytest_run(["exercises/01", f"--kata-submission={root}", "-p", "no:cacheprovider", "-x", "--tb=no"])
    pytest.LineMatcher(out).fnmatch_lines([f"*{messages.STOPPED_AFTER.format(count=1)}*",
                                           f"{messages.MARK_FAIL} 01 seeded_rand — *"])
    assert not any(line.startswith("    ヒント") for line in out), "--tb=no: one line per exercise"


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the run without a GPU")
def test_skipped_device_checks_are_not_shown_as_plainly_solved():
    code, out = pytest_run(["--solutions", "exercises/11", "-p", "no:cacheprovider", "-rs"])
    assert code == 0
    pytest.LineMatcher(out).fnmatch_lines([
        f"SKIPPED [[]1[]] *{messages.SKIP_NO_CUDA}",  # -rs still lists the skip reasons
        f"{messages.MARK_PASS} 11 load_state{messages.UNVERIFIED_DETAIL.format(count=1)}",
        f"11  *{len(catalog.chapter('11').exercises)} / {len(catalog.chapter('11').exercises)}    "
        f"{messages.TABLE_UNVERIFIED}",
    ])
    assert not any(line.startswith("11  ") and messages.TABLE_ALL_DONE in line for line in out)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_the_learner_workflow_is_valid_and_covers_three_systems():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "learner.yml").read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    assert {"push", "pull_request"} <= set(workflow[True])  # YAML 1.1 reads the key "on" as True
    (job,) = jobs.values()
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "windows-latest", "macos-latest"}
    assert job["runs-on"] == "${{ matrix.os }}"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    oldest = min(matrix["torch"], key=lambda v: tuple(map(int, v.split("."))))
    assert f"torch>={oldest.rsplit('.', 1)[0]}" in declared["dependencies"], "the oldest torch declared is run"
    # The workflow runs the oldest and the newest Python the project declares.
    oldest, newest = min(matrix["python"], key=_version), max(matrix["python"], key=_version)
    below = f"{newest.split('.')[0]}.{int(newest.split('.')[1]) + 1}"
    assert declared["requires-python"] == f">={oldest},<{below}"
    steps = " ".join(str(step.get("run", "")) for step in job["steps"])
    assert "pytest" in steps and "download.pytorch.org/whl/cpu" in steps
