"""The Python versions the suite supports, checked before anything else is imported.

pyproject.toml declares ``requires-python = ">=3.11,<3.14"`` and .github/workflows/learner.yml runs the oldest and
newest of that range.  An interpreter outside it gets one Japanese line instead of a traceback from deep inside an
import (torch may not even exist for it): from ``python -m kata`` and ``kata`` (kata/__main__.py, kata.cli.main),
from ``pytest`` in the repository (its conftest.py, before the plugin imports torch) and from ``kata.check`` and the
other calls of a notebook (kata/__init__.py).  This module imports nothing but kata.messages, which imports nothing.
"""
from __future__ import annotations

import sys

from kata import messages

#: The oldest and the newest supported (major, minor), as pyproject.toml's requires-python.
OLDEST = (3, 11)
NEWEST = (3, 13)


def problem(version: tuple[int, ...] | None = None) -> str | None:
    """The Japanese line for an unsupported interpreter (``version`` defaults to this one), else None."""
    major, minor = (version or sys.version_info)[:2]  # a plain tuple too (the tests stand in for 3.14 with one)
    names = {"major": major, "minor": minor, "oldest": "%d.%d" % OLDEST, "newest": "%d.%d" % NEWEST}
    if (major, minor) < OLDEST:
        return messages.PYTHON_TOO_OLD.format(**names)
    if (major, minor) > NEWEST:
        return messages.PYTHON_TOO_NEW.format(**names)
    return None


def refuse_unsupported(status: int) -> None:
    """On an unsupported interpreter: its line on stderr, then exit with ``status`` (SystemExit passes through
    pytest's conftest loading, which would turn any other exception into a traceback)."""
    line = problem()
    if line is not None:
        sys.stderr.write(line + "\n")
        raise SystemExit(status)
