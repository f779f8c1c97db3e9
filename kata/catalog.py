"""Where things are: the chapters, their files, exercises, points and hints.

Each chapter has a data file ``checks/NN_topic/chapter.toml``::

    title = "NumPy との相互変換"
    file = "numpy_bridge.py"
    selftest = "numpy_to_float32(np.arange(6).reshape(2, 3))"  # optional: kata.grading.sandbox.selftest

    [exercises.numpy_to_tensor]
    points = 1
    hints = ["最初のヒント (問いかけ)", "より近いヒント"]

    [exercises.normalise_columns_in_place]
    points = 2
    track = "challenge"  # optional: "core" (the default) or "challenge"

The order of ``[exercises.*]`` tables is the order in which a learner should solve them.

Tracks: every exercise belongs to one track, ``core`` unless its table says ``track = "challenge"``.  A course may
keep only some tracks with a setting in its root ``pyproject.toml`` (the grading path, so it is hashed in the
manifest and a submission cannot change it)::

    [tool.kata]
    tracks = ["core"]   # leave the challenges out; absent: every track

An exercise of a track the course leaves out is not in :attr:`Chapter.exercises`: its checks are deselected, it is
neither run nor scored (learning mode, ``kata grade``, ``kata class grade``) and the progress table does not list it.
It stays in :attr:`Chapter.left_out`, so that its checks and mutants still belong to it.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kata import messages
from kata.errors import UsageError

__all__ = ["CHECKS", "CORE", "EXERCISES", "ROOT", "SOLUTIONS", "TRACKS", "Catalog", "CatalogError", "Chapter",
           "Exercise", "chapter", "chapter_of_key", "chapters", "default", "named_chapter", "named_chapters"]

#: This repository (the package's own course).  Constants: a run against another course builds a ``Catalog`` for its
#: root instead of changing these.
ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "checks"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

#: The track of an exercise whose table names none.
CORE = "core"
#: Every track an exercise may name (``track = "…"``) and a course may keep (``[tool.kata] tracks``).
TRACKS = (CORE, "challenge")


class CatalogError(ValueError):
    """A course's data that the engine cannot read as meant (an unknown track, a malformed setting): in Japanese."""


@dataclass(frozen=True)
class Exercise:
    chapter: str  # "03_numpy"
    name: str
    points: float = 1.0
    hints: tuple[str, ...] = ()
    track: str = CORE  # "core" or "challenge" (TRACKS)

    @property
    def number(self) -> str:
        return self.chapter[:2]


@dataclass(frozen=True)
class Chapter:
    key: str  # "03_numpy"
    title: str
    file: str  # "numpy_bridge.py"
    exercises: tuple[Exercise, ...] = field(default=())
    root: Path = ROOT  # the course this chapter belongs to (its checks/, solutions/, exercises/)
    #: One call of the reference, ``"name(args…)"``, that the grader's self-test makes in the sandbox and here and
    #: compares (``kata.grading.sandbox.selftest``); optional.
    selftest: str = ""
    #: The exercises of tracks the course leaves out (``[tool.kata] tracks``): not run, not scored, not listed.
    left_out: tuple[Exercise, ...] = field(default=())

    @property
    def number(self) -> str:
        return self.key[:2]

    @property
    def check_file(self) -> Path:
        return self.root / "checks" / self.key / f"test_{self.file}"

    def learner_file(self, root: Path | None = None) -> Path:
        """The learner's file in ``root`` (a learner's copy of the course; default: the course itself)."""
        return (self.root if root is None else root) / "exercises" / self.key / self.file

    def reference_file(self) -> Path:
        return self.root / "solutions" / self.key / self.file

    def exercise(self, name: str) -> Exercise | None:
        return next((e for e in self.exercises if e.name == name), None)

    def owner_of_test(self, test_name: str) -> Exercise | None:
        """The exercise a check is named after, ``test_<exercise>_<fact>`` (longest name wins), whether the course
        keeps its track or not."""
        best = None
        for ex in self.exercises + self.left_out:
            named = test_name == f"test_{ex.name}" or test_name.startswith(f"test_{ex.name}_")
            if named and (best is None or len(ex.name) > len(best.name)):
                best = ex
        return best

    def exercise_of_test(self, test_name: str) -> Exercise | None:
        """The exercise a check belongs to; ``None`` when it belongs to none or to one the course leaves out."""
        owner = self.owner_of_test(test_name)
        return owner if owner is not None and owner.name in {e.name for e in self.exercises} else None

    def is_left_out_test(self, test_name: str) -> bool:
        """Whether the check belongs to an exercise of a track the course leaves out (it is deselected)."""
        owner = self.owner_of_test(test_name)
        return owner is not None and owner not in self.exercises


class Catalog:
    """The chapters of one course: a folder with ``checks/NN_topic/chapter.toml``, ``solutions/`` and
    ``exercises/``.  Read once, on first use."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.checks = self.root / "checks"
        self.solutions = self.root / "solutions"
        self.exercises = self.root / "exercises"
        self._of_check: dict[str, Chapter | None] = {}

    def __repr__(self) -> str:
        return f"Catalog({str(self.root)!r})"

    def is_course(self) -> bool:
        """Whether ``root`` has at least one chapter."""
        return any(self.checks.glob("[0-9][0-9]_*/chapter.toml"))

    @functools.cached_property
    def tracks(self) -> tuple[str, ...]:
        """The tracks this course keeps: ``[tool.kata] tracks`` in its ``pyproject.toml``; absent, every track."""
        config = self.root / "pyproject.toml"
        raw = tomllib.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
        value = raw.get("tool", {}).get("kata", {}).get("tracks")
        if value is None:
            return TRACKS
        if not isinstance(value, list) or not value or any(t not in TRACKS for t in value):
            raise CatalogError(messages.BAD_TRACKS_SETTING.format(file=config, value=value,
                                                                  choices=", ".join(TRACKS)))
        return tuple(value)

    @functools.cached_property
    def _chapters(self) -> tuple[Chapter, ...]:
        out = []
        for data in sorted(self.checks.glob("[0-9][0-9]_*/chapter.toml")):
            key = data.parent.name
            raw = tomllib.loads(data.read_text(encoding="utf-8"))
            every = []
            for name, spec in raw.get("exercises", {}).items():
                track = spec.get("track", CORE)
                if track not in TRACKS:
                    raise CatalogError(messages.BAD_TRACK.format(file=data, exercise=name, track=track,
                                                                 choices=", ".join(TRACKS)))
                every.append(Exercise(key, name, float(spec.get("points", 1)), tuple(spec.get("hints", ())), track))
            kept = tuple(e for e in every if e.track in self.tracks)
            left_out = tuple(e for e in every if e.track not in self.tracks)
            out.append(Chapter(key, raw["title"], raw["file"], kept, self.root, str(raw.get("selftest", "")),
                               left_out))
        return tuple(out)

    def chapters(self) -> tuple[Chapter, ...]:
        return self._chapters

    def chapter(self, token: str | int) -> Chapter | None:
        """The chapter named by "6", "06", "06_autograd" or a relative path such as
        "exercises/06_autograd/autograd.py" (``solutions/`` and ``checks/`` too); ``None`` when no chapter has that
        name."""
        text = str(token).strip().replace("\\", "/").removeprefix("./").rstrip("/")
        file = None
        m = re.fullmatch(r"(?:exercises|solutions|checks)/([^/]+)(?:/([^/]+))?", text)
        if m:
            text, file = m.group(1), m.group(2)
        for c in self.chapters():
            if text == c.key or (text.isdigit() and int(text) == int(c.number)):
                return c if file in (None, c.file, f"test_{c.file}", "chapter.toml") else None
        return None

    def chapter_of_key(self, key: str) -> Chapter | None:
        return next((c for c in self.chapters() if c.key == key), None)

    # -- chapters named on a command line: the one parser of every command -----------------------------------------
    def named_chapter(self, token: str | int | None) -> Chapter:
        """The one chapter ``token`` names (as :meth:`chapter` reads it); a :class:`kata.errors.UsageError` listing
        every chapter when it names none or is empty."""
        choices = ", ".join(c.key for c in self.chapters())
        if token is None or not str(token).strip():
            raise UsageError(messages.NO_CHAPTER.format(choices=choices))
        found = self.chapter(token)
        if found is None:
            raise UsageError(messages.BAD_CHAPTER.format(token=token, choices=choices))
        return found

    def named_chapters(self, tokens: str | list[str] | tuple[str, ...] | None) -> list[Chapter]:
        """The chapters ``tokens`` name, in the order named, each once: each token a chapter, a comma-separated list
        (``03,01``) or a range of numbers (``01-04``).  None or nothing: every chapter.  A token that names no
        chapter is a :class:`kata.errors.UsageError` listing every chapter."""
        if isinstance(tokens, str):
            tokens = [tokens]
        parts = [p.strip() for token in tokens or () for p in str(token).split(",") if p.strip()]
        if not parts:
            return list(self.chapters())
        wanted: list[Chapter] = []
        for part in parts:
            lo, dash, hi = part.partition("-")
            if dash and lo.strip().isdigit() and hi.strip().isdigit():
                found = [c for c in self.chapters() if int(lo) <= int(c.number) <= int(hi)]
                if not found:
                    raise UsageError(messages.BAD_CHAPTER.format(
                        token=part, choices=", ".join(c.key for c in self.chapters())))
            else:
                found = [self.named_chapter(part)]
            wanted += [c for c in found if c not in wanted]
        return wanted

    def chapter_of_check(self, path: Path) -> Chapter | None:
        """The chapter whose ``checks/NN_topic/`` holds ``path`` (a check file or anything below the folder).

        Asked for every check several times (collection, fixtures, reports): remembered per path."""
        text = str(path)
        if text not in self._of_check:
            try:
                rel = Path(path).resolve().relative_to(self.checks)
            except ValueError:
                self._of_check[text] = None
            else:
                self._of_check[text] = self.chapter_of_key(rel.parts[0]) if len(rel.parts) > 1 else None
        return self._of_check[text]


@functools.cache
def default() -> Catalog:
    """The catalog of this repository (what ``kata`` and ``kata grade`` use)."""
    return Catalog(ROOT)


# Thin wrappers over the default catalog, for check authors and the learner commands.

def chapters() -> tuple[Chapter, ...]:
    return default().chapters()


def chapter(token: str | int) -> Chapter | None:
    return default().chapter(token)


def chapter_of_key(key: str) -> Chapter | None:
    return default().chapter_of_key(key)


def named_chapter(token: str | int | None) -> Chapter:
    return default().named_chapter(token)


def named_chapters(tokens: str | list[str] | tuple[str, ...] | None) -> list[Chapter]:
    return default().named_chapters(tokens)
