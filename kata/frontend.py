"""The tool the learner is using, and how a next step is written in it.

Two front ends: the terminal (``pytest exercises/06``, ``kata hint 06 grad_of_mean``) and a notebook, where the same
steps are Python calls (``kata.check("06")``, ``kata.hint("06", "grad_of_mean")``).  Every line that tells the learner
what to do next is a template of kata.messages with named step fields (``{hint}``, ``{check}``, …); :func:`say`
fills them in for the current front end, so no caller decides between the two.

The front end is the notebook while one of the package's calls (``kata.check`` …) runs, and whenever an IPython
shell is active (Jupyter, Colab, IPython in a terminal); else the terminal.  Cheap to import (no torch, no pytest).
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from enum import StrEnum

from kata import messages

__all__ = ["FrontEnd", "current", "say", "steps", "using"]


class FrontEnd(StrEnum):
    TERMINAL = "terminal"
    NOTEBOOK = "notebook"


_ACTIVE: ContextVar[FrontEnd | None] = ContextVar("kata_front_end", default=None)


def current() -> FrontEnd:
    active = _ACTIVE.get()
    if active is not None:
        return active
    return FrontEnd.NOTEBOOK if _in_ipython() else FrontEnd.TERMINAL


@contextlib.contextmanager
def using(front_end: FrontEnd) -> Iterator[None]:
    """Write next steps for ``front_end`` inside the block (the package's calls use the notebook's)."""
    token = _ACTIVE.set(front_end)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _in_ipython() -> bool:
    ipython = sys.modules.get("IPython")  # never imported here: a terminal run has no IPython to find
    get = getattr(ipython, "get_ipython", None)
    try:
        return get is not None and get() is not None
    except Exception:  # pragma: no cover - a broken IPython install reads as no IPython
        return False


def steps(chapter: str | None = None, exercise: str | None = None, *, seed: int | None = None,
          front_end: FrontEnd | None = None) -> dict[str, str]:
    """Every next step about ``chapter`` (two digits) and ``exercise``, written for the front end: the fields of the
    templates in kata.messages (``hint``, ``solution``, ``solution_force``, ``force``, ``check``, ``check_seed``,
    ``read``, ``reset``, ``install_plot``)."""
    forms = messages.NEXT_STEP_FORMS[front_end or current()]
    names = {"chapter": chapter or "", "exercise": exercise or "", "seed": "" if seed is None else seed,
             "chapter_arg": f'"{chapter}"' if chapter else "None"}
    return {step: form.format(**names) for step, form in forms.items()}


def say(template: str, chapter: str | None = None, exercise: str | None = None, *, seed: int | None = None,
        **fields: object) -> str:
    """``template`` with its step fields written for the current front end, and ``chapter``, ``exercise`` and any
    other ``fields`` as given."""
    return template.format(**steps(chapter, exercise, seed=seed), chapter=chapter, exercise=exercise, seed=seed,
                           **fields)
