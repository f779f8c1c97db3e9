"""The catalogue of wrong answers that proves the checks bite.

A mutant file in ``tests/mutants/`` defines wrong versions of exercises::

    from kata.mutants import mutant

    @mutant("03", "numpy_to_tensor", expect="メモリを共有")
    def copies_instead_of_sharing(a):
        return torch.tensor(a)

Run with ``pytest --kata-mutants`` every check of that exercise gets the reference module with that one name
replaced by the mutant.  Self-verification requires that at least one check fails and that its verdict contains
every ``expect`` fragment (the Japanese name of what differs).  ``headline=True``: the exercise's headline verdict
(the failing check with the most basic difference, :func:`kata.status.headline_rank`) is the one that must contain
them.  ``absent``: fragments that no failing check's verdict may contain (a hint whose premise is false for this
wrong answer must not fire).
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

__all__ = ["REGISTRY", "Mutant", "apply", "for_exercise", "load_all", "mutant"]


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


def load_all(folder: Path, course: catalog.Catalog | None = None) -> list[Mutant]:
    """Import every mutant file in ``folder`` once and return the registry; the chapters and exercises the mutants
    name must exist in ``course`` (default: this repository's)."""
    course = course or catalog.default()
    for path in sorted(folder.glob("*.py")):
        name = f"kata_mutants.{path.stem}"
        if name in sys.modules or path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        first = len(REGISTRY)
        spec.loader.exec_module(module)
        for i in range(first, len(REGISTRY)):
            m = REGISTRY[i]
            ch = course.chapter(m.chapter)
            if ch is None or ch.exercise(m.exercise) is None:
                del REGISTRY[first:]
                del sys.modules[name]
                raise ValueError(f"unknown chapter/exercise for a mutant: {m.chapter} {m.exercise} ({path})")
            REGISTRY[i] = replace(m, chapter=ch.key)
    return REGISTRY


def for_exercise(chapter: str, exercise: str) -> list[Mutant]:
    return [m for m in REGISTRY if m.chapter == chapter and m.exercise == exercise]


def apply(reference: types.ModuleType, m: Mutant) -> types.ModuleType:
    """A copy of the reference module with one name replaced by the mutant."""
    clone = types.ModuleType(f"{reference.__name__}__mutant_{m.exercise}_{m.name}")
    clone.__dict__.update({k: v for k, v in vars(reference).items() if k not in ("__name__", "__spec__")})
    setattr(clone, m.exercise, m.obj)
    return clone
