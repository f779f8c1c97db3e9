"""The learner's folder, the chapter and exercise names, and running the checks: what the learner's commands
(``kata.cli.commands``), ``kata watch`` (``kata.cli.watch``) and ``kata run`` (``kata.cli.run``) share.

Cheap to import (no torch, no pytest): ``run_in_process`` imports pytest when it is called.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kata import catalog, messages
from kata.display import display_path
from kata.errors import UsageError

__all__ = ["ROOT_ENV", "add_root", "display", "forget_learner_module", "learner_root", "pytest_args",
           "resolve_chapter", "resolve_exercise", "run_in_process", "run_report"]

ROOT_ENV = "KATA_ROOT"


# -- arguments ----------------------------------------------------------------------------------------------------

def add_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", metavar="DIR", default=None,
                        help=messages.ARG_ROOT)


def learner_root(raw: str | os.PathLike | None = None) -> Path:
    if not catalog.CHECKS.is_dir():
        # Installed with `pip install .`: the package was copied away from the repository's checks and exercises.
        raise UsageError(messages.NOT_A_CHECKOUT.format(where=catalog.ROOT))
    raw = raw or os.environ.get(ROOT_ENV) or None
    root = Path(raw).resolve() if raw else catalog.ROOT
    if not (root / "exercises").is_dir():
        raise UsageError(messages.BAD_ROOT.format(root=root))
    return root


def resolve_chapter(token: str | None) -> catalog.Chapter:
    """A chapter from "6", "06", "06_autograd" or "exercises/06_autograd[/file.py]"; else a UsageError listing all
    (:func:`kata.catalog.named_chapter`)."""
    return catalog.named_chapter(token)


def display(path: Path) -> str:
    """A file the CLI acts on: relative to the working folder when inside it, else absolute."""
    return display_path(path, from_exercises=False)


def resolve_exercise(chapter: catalog.Chapter, name: str | None) -> catalog.Exercise:
    choices = ", ".join(e.name for e in chapter.exercises)
    if name is None or not name.strip():
        raise UsageError(messages.NO_EXERCISE.format(chapter=chapter.key, choices=choices))
    exercise = chapter.exercise(name.strip())
    left_out = next((e for e in chapter.left_out if e.name == name.strip()), None)
    if left_out is not None:
        raise UsageError(messages.LEFT_OUT_EXERCISE.format(name=left_out.name, track=left_out.track))
    if exercise is None:
        raise UsageError(messages.BAD_EXERCISE.format(chapter=chapter.key, name=name, choices=choices))
    return exercise


# -- running the checks -------------------------------------------------------------------------------------------

def pytest_args(chapter: catalog.Chapter | None, root: Path, extra: list[str] | tuple[str, ...] = (),
                base: Path | None = None) -> list[str]:
    """The arguments of ``pytest exercises/NN`` for ``root`` (a submission when it is not this repository).

    The path always names this repository's ``exercises/`` so that pytest finds this repository's configuration
    and plugin; the plugin maps it to the checks and takes the learner's files from ``root``.
    """
    target = catalog.EXERCISES / chapter.key if chapter else catalog.EXERCISES
    base = (base or Path.cwd()).resolve()
    try:
        shown = str(target.relative_to(base))
    except ValueError:
        shown = str(target)
    args = [shown]
    if root.resolve() != catalog.ROOT:
        args.append(f"--kata-submission={root}")
    return args + list(extra)


def run_in_process(args: list[str], plugins: list | None = None) -> int:
    """``pytest <args>`` in this process (torch stays imported between calls)."""
    import pytest

    if "kata.plugin" in sys.modules:
        # A second run in the same process: the plugin was imported by the first one and cannot be rewritten.
        args = [*args, "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    return int(pytest.main(list(args), plugins=plugins))


def forget_learner_module(path: Path) -> None:
    """Make the next check re-import the learner's file even if its size and time stamp did not change."""
    from kata import loader

    loader.forget(path)


def run_report(root: Path, chapter: catalog.Chapter | None, extra: Sequence[str] = ()) -> dict | None:
    """Run the checks in a fresh interpreter (``python -m pytest --kata-report``) and return the JSON report."""
    with tempfile.TemporaryDirectory(prefix="kata-") as tmp:
        report = Path(tmp) / "report.json"
        args = pytest_args(chapter, root, ["-q", "--tb=no", "-rN", "--no-header", f"--kata-report={report}", *extra],
                           base=catalog.ROOT)
        proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=catalog.ROOT, capture_output=True,
                              text=True, encoding="utf-8", errors="replace",
                              env=dict(os.environ, PYTHONIOENCODING="utf-8"))
        if not report.exists():
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            print(messages.RUN_FAILED.format(code=proc.returncode, tail=tail), file=sys.stderr)
            return None
        return json.loads(report.read_text(encoding="utf-8"))
