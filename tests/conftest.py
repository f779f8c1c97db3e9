"""Shared helpers for the engine's own tests."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kata import catalog

pytest_plugins = ["pytester"]

ROOT = catalog.ROOT


def run_checks(report: Path, *args: str, cwd: Path = ROOT, timeout: float = 900) -> tuple[dict, str]:
    """Run the checks in a fresh interpreter and return the JSON report and the printed output."""
    env = dict(os.environ, KATA_SEED=os.environ.get("KATA_SEED", ""))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--kata-report={report}",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert report.exists(), f"no report written:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(report.read_text(encoding="utf-8")), proc.stdout


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory) -> dict:
    return run_checks(tmp_path_factory.mktemp("ref") / "report.json", "--solutions")[0]


@pytest.fixture(scope="session")
def stub_run(tmp_path_factory) -> dict:
    return run_checks(tmp_path_factory.mktemp("stub") / "report.json")[0]


@pytest.fixture(scope="session")
def copied_reference_run(tmp_path_factory) -> dict:
    """The references copied into a learner's exercises/ tree, graded as a submission."""
    sub = tmp_path_factory.mktemp("copied")
    shutil.copytree(ROOT / "solutions", sub / "exercises")
    return run_checks(sub / "report.json", f"--kata-submission={sub}")[0]


@pytest.fixture(scope="session")
def mutant_run(tmp_path_factory) -> dict:
    return run_checks(tmp_path_factory.mktemp("mut") / "report.json", "--kata-mutants")[0]


#: One seed for the learning-mode and grading-mode runs of the mutant catalogue, so that their verdicts compare.
MUTANT_SEED = str(int.from_bytes(os.urandom(3), "little"))


@pytest.fixture(scope="session")
def sandbox_reference_run(tmp_path_factory) -> dict:
    """The references through the grading boundary (``--kata-sandbox``): learner code in a sandbox worker."""
    return run_checks(tmp_path_factory.mktemp("sbref") / "report.json", "--solutions", "--kata-sandbox")[0]


@pytest.fixture(scope="session")
def sandbox_stub_run(tmp_path_factory) -> dict:
    return run_checks(tmp_path_factory.mktemp("sbstub") / "report.json", "--kata-sandbox")[0]


@pytest.fixture(scope="session")
def sandbox_mutant_run(tmp_path_factory) -> dict:
    return run_checks(tmp_path_factory.mktemp("sbmut") / "report.json", "--kata-mutants", "--kata-sandbox",
                      f"--kata-seed={MUTANT_SEED}")[0]


@pytest.fixture(scope="session")
def seeded_mutant_run(tmp_path_factory) -> dict:
    """The mutant catalogue in learning mode with the same seed as ``sandbox_mutant_run``."""
    return run_checks(tmp_path_factory.mktemp("ipmut") / "report.json", "--kata-mutants",
                      f"--kata-seed={MUTANT_SEED}")[0]


def all_exercises() -> list:
    return [pytest.param(ex, id=f"{ex.chapter}/{ex.name}") for ch in catalog.chapters() for ex in ch.exercises]
