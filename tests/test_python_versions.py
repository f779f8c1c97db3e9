"""The supported Python range (3.11-3.13, pyproject.toml's requires-python): an interpreter outside it gets one
Japanese line from every entry point a learner uses (``kata``, ``python -m kata``, ``pytest`` through the
repository's conftest.py, ``kata.check`` and the other calls of a notebook), never a traceback."""
from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import kata
from kata import messages, pyversion
from kata.cli import main

ROOT = Path(pyversion.__file__).resolve().parents[1]
TOO_NEW = (3, 14, 0, "final", 0)


def test_the_range_is_pyprojects():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    oldest, newest = pyversion.OLDEST, pyversion.NEWEST
    assert declared["project"]["requires-python"] == f">={oldest[0]}.{oldest[1]},<{newest[0]}.{newest[1] + 1}"


@pytest.mark.parametrize("version", [(3, 11), (3, 12), (3, 13), (3, 13, 9)])
def test_supported_versions_pass(version):
    assert pyversion.problem(version) is None


def test_older_and_newer_versions_get_their_line():
    assert pyversion.problem((3, 10)) == messages.PYTHON_TOO_OLD.format(major=3, minor=10, oldest="3.11",
                                                                        newest="3.13")
    assert pyversion.problem((3, 14)) == messages.PYTHON_TOO_NEW.format(major=3, minor=14, oldest="3.11",
                                                                        newest="3.13")
    assert "3.11〜3.13" in pyversion.problem((3, 14))


def test_pytest_through_the_conftest_exits_4_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "version_info", TOO_NEW)
    with pytest.raises(SystemExit) as exited:  # SystemExit passes through pytest's conftest loading
        runpy.run_path(str(ROOT / "conftest.py"))
    assert exited.value.code == 4
    assert capsys.readouterr().err == pyversion.problem(TOO_NEW) + "\n"


def test_the_kata_command_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "version_info", TOO_NEW)
    assert main(["list"]) == 2
    assert capsys.readouterr().err == pyversion.problem(TOO_NEW) + "\n"


def test_a_notebook_call_prints_the_line_and_runs_nothing(monkeypatch, capsys):
    monkeypatch.setattr(sys, "version_info", TOO_NEW)
    assert kata.check("01") is None
    kata.hint("01", "seeded_rand")
    err = capsys.readouterr().err
    assert err == 2 * (pyversion.problem(TOO_NEW) + "\n")


def _python_3_10() -> str | None:
    found = shutil.which("python3.10")
    if found is None or subprocess.run([found, "-c", "pass"], capture_output=True, timeout=60).returncode != 0:
        return None  # none, or a pyenv shim for a version that is not switched on
    return found


def test_a_real_python_3_10_running_python_m_kata_gets_one_line():
    python = _python_3_10()
    if python is None:
        pytest.skip("no Python 3.10 on this machine")
    proc = subprocess.run([python, "-m", "kata", "list"], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 2
    assert proc.stderr == pyversion.problem((3, 10)) + "\n"
