"""Intro2DL カタ: a self-grading PyTorch kata suite.

From a notebook cell::

    import kata
    kata.check("06")          # the checks of chapter 06, with the same verdicts and table as `pytest exercises/06`
    kata.check("06", "-k", "grad_of_mean")

Importing this package is cheap: torch and pytest are imported by ``check`` only.
"""
from __future__ import annotations

import os

__all__ = ["check", "run_xor"]


def check(chapter: str | int | None = None, *pytest_args: str, root: str | os.PathLike | None = None) -> int:
    """Run a chapter's checks (every chapter when ``chapter`` is None) in this process and print the verdicts.

    Extra arguments go to pytest as they are (``"-x"``, ``"-k", "name"``).  ``root`` is a learner's folder other
    than this repository.  Returns pytest's exit status (0 when every check passed); a notebook does not show it.
    The learner's file is re-imported on every call, so edits made since the last call are checked.
    """
    from kata.learn import check_here

    return check_here(chapter, pytest_args, root=root)


def run_xor(*, solutions: bool = False, root: str | os.PathLike | None = None,
            output: str | os.PathLike | None = None, epochs: int = 100):
    """The finale (``kata run xor``): the tutorial's XOR run with your functions of chapters 08-12.

    Trains, saves and reloads ``our_model.tar``, prints the test accuracy and writes the pictures to ``kata_output/``;
    in a notebook the pictures are shown below the cell.  Returns the result (accuracy, losses, files), or None
    when one of your functions still needs work (a Japanese line says which).
    """
    from kata.finale import notebook_run

    return notebook_run(solutions=solutions, root=root, output=output, epochs=epochs)
