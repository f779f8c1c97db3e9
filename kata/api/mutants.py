"""The catalogue of wrong answers that proves the checks bite.

A mutant file in ``tests/mutants/`` defines wrong versions of exercises::

    from kata.api.mutants import mutant

    @mutant("03", "numpy_to_tensor", expect="メモリを共有")
    def copies_instead_of_sharing(a):
        return torch.tensor(a)

Run with ``pytest --kata-mutants`` every check of that exercise gets the reference module with that one name
replaced by the mutant.  Self-verification requires that at least one check fails and that its verdict contains
every ``expect`` fragment (the Japanese name of what differs).  ``headline=True``: the exercise's headline verdict
(the failing check with the most basic difference, :func:`kata.status.headline_rank`) is the one that must contain
them.  ``absent``: fragments that no failing check's verdict may contain (a hint whose premise is false for this
wrong answer must not fire).

The catalogue of *correct* answers written another way than the reference (``tests/answers/``, decorated with
:func:`answer`) runs the same way with ``pytest --kata-answers``: every check must pass, in both modes.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kata import catalog

__all__ = ["ANSWERS", "REGISTRY", "Mutant", "answer", "answers_for", "apply", "for_exercise", "load_all",
           "load_answers", "mutant"]


@dataclass(frozen=True)
class Mutant:
    chapter: str  # "03_numpy"
    exercise: str
    name: str
    obj: Any
    expect: tuple[str, ...]
    file: str
    headline: bool = False
    absent: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.exercise}:{self.name}"


REGISTRY: list[Mutant] = []
#: Correct answers written differently from the reference (``tests/answers/``): every check must accept them.
ANSWERS: list[Mutant] = []


def mutant(chapter: str, exercise: str, *, expect: str | tuple[str, ...], name: str | None = None,
           headline: bool = False, absent: str | tuple[str, ...] = ()) -> Callable[[Any], Any]:
    """Register the decorated function or class as a wrong answer for ``exercise`` of ``chapter`` ("01" or
    "01_setup"; :func:`load_all` checks both against the course and stores the chapter's key)."""
    fragments = (expect,) if isinstance(expect, str) else tuple(expect)
    never = (absent,) if isinstance(absent, str) else tuple(absent)

    def register(obj: Any) -> Any:
        REGISTRY.append(Mutant(chapter, exercise, name or obj.__name__, obj, fragments,
                               str(Path(sys.modules[obj.__module__].__file__ or "").resolve()), headline, never))
        return obj

    return register


def answer(chapter: str, exercise: str, *, name: str | None = None) -> Callable[[Any], Any]:
    """Register the decorated function or class as a correct answer for ``exercise`` of ``chapter``, written
    differently from the reference (a check must accept it, in learning and in grading mode)."""

    def register(obj: Any) -> Any:
        ANSWERS.append(Mutant(chapter, exercise, name or obj.__name__, obj, (),
                              str(Path(sys.modules[obj.__module__].__file__ or "").resolve())))
        return obj

    return register


def load_answers(folder: Path, course: catalog.Catalog | None = None) -> list[Mutant]:
    """:func:`load_all` for the catalogue of correct answers."""
    return load_all(folder, course, ANSWERS, "kata_answers")


def answers_for(chapter: str, exercise: str) -> list[Mutant]:
    return [m for m in ANSWERS if m.chapter == chapter and m.exercise == exercise]


def load_all(folder: Path, course: catalog.Catalog | None = None, registry: list[Mutant] | None = None,
             package: str = "kata_mutants") -> list[Mutant]:
    """Import every mutant file in ``folder`` once and return the registry; the chapters and exercises the mutants
    name must exist in ``course`` (default: this repository's)."""
    course = course or catalog.default()
    found = REGISTRY if registry is None else registry
    for path in sorted(folder.glob("*.py")):
        name = f"{package}.{path.stem}"
        if name in sys.modules or path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        first = len(found)
        spec.loader.exec_module(module)
        for i in range(first, len(found)):
            m = found[i]
            ch = course.chapter(m.chapter)
            if ch is None or all(e.name != m.exercise for e in ch.exercises + ch.left_out):
                del found[first:]
                del sys.modules[name]
                raise ValueError(f"unknown chapter/exercise for a mutant: {m.chapter} {m.exercise} ({path})")
            found[i] = replace(m, chapter=ch.key)
    return found


def for_exercise(chapter: str, exercise: str) -> list[Mutant]:
    return [m for m in REGISTRY if m.chapter == chapter and m.exercise == exercise]


def apply(reference: types.ModuleType, m: Mutant) -> types.ModuleType:
    """A copy of the reference module with one name replaced by the mutant."""
    clone = types.ModuleType(f"{reference.__name__}__mutant_{m.exercise}_{m.name}")
    clone.__dict__.update({k: v for k, v in vars(reference).items() if k not in ("__name__", "__spec__")})
    setattr(clone, m.exercise, m.obj)
    return clone
