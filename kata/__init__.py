"""Intro2DL カタ: a self-grading PyTorch kata suite.

From a notebook cell::

    import kata
    kata.check("06")          # the checks of chapter 06, with the same verdicts and table as `pytest exercises/06`
    kata.check("06", "-k", "grad_of_mean")

Importing this package is cheap: torch and pytest are imported by ``check`` only.
"""
from __future__ import annotations

import os

__all__ = ["check"]


def check(chapter: str | int | None = None, *pytest_args: str, root: str | os.PathLike | None = None) -> int:
    """Run a chapter's checks (every chapter when ``chapter`` is None) in this process and print the verdicts.

    Extra arguments go to pytest as they are (``"-x"``, ``"-k", "name"``).  ``root`` is a learner's folder other
    than this repository.  Returns pytest's exit status (0 when every check passed); a notebook does not show it.
    The learner's file is re-imported on every call, so edits made since the last call are checked.
    """
    from kata.learn import check_here

    return check_here(chapter, pytest_args, root=root)
