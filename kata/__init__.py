"""Intro2DL カタ: a self-grading PyTorch kata suite.

From a notebook cell::

    import kata
    kata.check("06")          # the checks of chapter 06, with the same verdicts and table as `pytest exercises/06`
    kata.check("06", "-k", "grad_of_mean")
    kata.hint("06", "grad_of_mean")       # the next hint, as `kata hint 06 grad_of_mean`
    kata.solution("06", "grad_of_mean")   # the reference answer, once the exercise passes
    kata.progress()                       # every exercise's state and what to do next, as `kata list`
    kata.read("06")                       # the chapter's lesson, as `kata read 06`
    kata.reset("06", "grad_of_mean")      # back to the stub (a backup is kept), as `kata reset 06 grad_of_mean`

Every next step these calls print is a call of this package too (``kata.hint("06", "grad_of_mean")``, not
``kata hint 06 grad_of_mean``; see kata.frontend).  Importing this package is cheap: torch and pytest are imported
by ``check`` only.
"""
from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["__version__", "check", "hint", "progress", "read", "reset", "run_xor", "solution"]

#: The version of the suite: the one place it is written (pyproject.toml reads it from here; CHANGELOG.md says what
#: changed in each).
__version__ = "0.1.0"

_Call = TypeVar("_Call", bound=Callable[..., Any])


def _python_call(func: _Call) -> _Call:
    """A call from a notebook (or any Python): refused in one line on an unsupported interpreter, and every next step
    it prints written as a call of this package."""
    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        from kata.frontend import FrontEnd, using
        from kata.pyversion import problem

        unsupported = problem()
        if unsupported is not None:
            print(unsupported, file=sys.stderr)
            return None
        with using(FrontEnd.NOTEBOOK):
            return func(*args, **kwargs)

    return call  # type: ignore[return-value]


@_python_call
def check(chapter: str | int | None = None, *pytest_args: str, root: str | os.PathLike | None = None) -> int:
    """Run a chapter's checks (every chapter when ``chapter`` is None) in this process and print the verdicts.

    Extra arguments go to pytest as they are (``"-x"``, ``"-k", "name"``).  ``root`` is a learner's folder other
    than this repository.  Returns pytest's exit status (0 when every check passed); a notebook does not show it.
    The learner's file is re-imported on every call, so edits made since the last call are checked.
    """
    from kata.cli.commands import check_here

    return check_here(chapter, pytest_args, root=root)


@_python_call
def hint(chapter: str | int | None = None, exercise: str | None = None, *, reset: bool = False,
         root: str | os.PathLike | None = None) -> None:
    """Print the next level of an exercise's hints, as ``kata hint 06 grad_of_mean`` does (levels are remembered;
    ``reset=True`` starts over)."""
    from kata.cli.commands import notebook_call, show_hint

    notebook_call("hint", show_hint, root, chapter, exercise, reset=reset)


@_python_call
def solution(chapter: str | int | None = None, exercise: str | None = None, *, force: bool = False,
             root: str | os.PathLike | None = None) -> None:
    """Print the reference answer of an exercise you have solved, as ``kata solution`` does (the checks are run
    first; ``force=True`` shows it before that, with a warning)."""
    from kata.cli.commands import notebook_call, show_solution

    notebook_call("solution", show_solution, root, chapter, exercise, force=force)


@_python_call
def progress(chapter: str | int | None = None, *, root: str | os.PathLike | None = None) -> None:
    """Run the checks and print every exercise's state and what to do next, as ``kata list`` does."""
    from kata.cli.commands import notebook_call, show_progress

    notebook_call("list", show_progress, root, chapter)


@_python_call
def read(chapter: str | int | None = None) -> None:
    """Print the chapter's lesson (``exercises/NN_topic/README.md``), as ``kata read 06`` does."""
    from kata.cli.commands import notebook_call
    from kata.lessons import show_lesson

    notebook_call("read", lambda root, ch: show_lesson(ch), None, chapter)


@_python_call
def reset(chapter: str | int | None = None, exercise: str | None = None, *,
          root: str | os.PathLike | None = None) -> None:
    """Put a chapter's file, or one exercise of it, back to the stub, as ``kata reset`` does (the file as it was is
    kept under ``.kata/backup/`` and its place printed)."""
    from kata.cli.commands import notebook_call, reset_file

    notebook_call("reset", reset_file, root, chapter, exercise)


@_python_call
def run_xor(*, solutions: bool = False, root: str | os.PathLike | None = None,
            output: str | os.PathLike | None = None, epochs: int = 100):
    """The finale (``kata run xor``): the tutorial's XOR run with your functions of chapters 08-12.

    Trains, saves and reloads ``our_model.tar``, prints the test accuracy and writes the pictures to ``kata_output/``;
    in a notebook the pictures are shown below the cell.  Returns the result (accuracy, losses, files), or None
    when one of your functions still needs work (a Japanese line says which).
    """
    from kata.finale import notebook_run

    return notebook_run(solutions=solutions, root=root, output=output, epochs=epochs)
