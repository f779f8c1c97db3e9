"""The engine's vocabulary: how a check, an exercise and a chapter ended, and one result type for a check.

Torch-free and pytest-free: the grading parent (``kata grade``) imports it.  The enums are ``StrEnum``: a member
equals its string (``CheckStatus.PASS == "pass"``) and JSON writes it as that string, so reports, the grader's
channel and the progress cache keep their words.

- :class:`CheckStatus`: one check (one pytest item) in a run.
- :class:`ExerciseStatus`: an exercise, from its checks (the plugin's per-exercise lines, ``kata grade``'s score, the
  progress table).
- :class:`ChapterOutcome`: how ``kata grade``'s process for a chapter ended.
- :class:`Attribute`: the engine's own verdict attributes (what kind of failure).  A comparison's attribute names what
  differed (``dtype``, ``shape``, ``grad``, ...) and is chosen by the check through :mod:`kata.api.compare`; those stay
  plain strings.
- :class:`CheckResult`: a check's result, the same type in the plugin, on the grader's channel (``to_dict`` /
  ``from_dict``) and in the reports.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

__all__ = ["GRADING_FIELDS", "LEARNING_FIELDS", "SOLVED", "Attribute", "ChapterOutcome", "CheckResult", "CheckStatus",
           "ExerciseStatus", "headline_rank"]


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    TODO = "todo"  # the learner's function still raises the stub's NotImplementedError (未着手)
    SKIP = "skip"  # not applicable here (no GPU); never counted as a pass
    NOT_RUN = "notrun"  # kata grade: the check never reported (the budget ran out, the process was stopped)


class ExerciseStatus(StrEnum):
    PASS = "pass"  # scores its points; nothing else does
    FAIL = "fail"
    TODO = "todo"
    SKIP = "skip"  # every scored check was skipped
    ERROR = "error"  # kata grade: no check of it could run (its chapter's process ended first)
    # The progress table only (the plugin's cache across runs):
    PARTIAL = "partial"  # some of its checks ran, none failed, and no earlier run passed it
    UNVERIFIED = "unverified"  # every check ran and none failed, but some were skipped (no GPU here)


#: Progress statuses that count an exercise as solved.
SOLVED = (ExerciseStatus.PASS, ExerciseStatus.UNVERIFIED)


class ChapterOutcome(StrEnum):
    COMPLETED = "completed"
    TIMEOUT = "timeout"  # the grading budget ran out
    ERROR = "error"  # its file could not be graded


class Attribute(StrEnum):
    """Verdict attributes that the engine itself assigns (comparison attributes are the checks' own words)."""

    NONE = ""
    TODO = "todo"
    TIMEOUT = "timeout"
    TIMEOUT_NOT_RUN = "timeout-not-run"  # not run because the exercise already timed out in this run
    NOT_RUN = "notrun"  # kata grade: never reported
    EXCEPTION = "exception"  # raised inside the learner's code
    CRASH = "crash"  # the sandbox worker died
    EXIT = "exit"  # the learner's code called sys.exit
    ASSERT = "assert"  # a bare assert of the check
    CHECK = "check"  # the check itself raised
    IMPORT = "import"  # the learner's file could not be imported
    SYNTAX = "syntax"  # ... because of a syntax error
    MISSING = "missing"  # a name the check needs is not defined in the learner's file
    FORBIDDEN = "forbidden"  # an operation the exercise forbids was used


#: How basic a difference is: an exercise's headline is the failing check whose attribute comes first here (run order
#: breaks ties).  The learner's code not running at all comes first; then type → shape → dtype → device → graph state
#: → values; a memory layout (view or copy, contiguity) matters only once the values are right.  An attribute not
#: listed (a check's own word: "flags", "rng", "training", ...) ranks with the values.
_RANKS: tuple[tuple[str, ...], ...] = (
    (Attribute.IMPORT, Attribute.SYNTAX, Attribute.MISSING, Attribute.EXCEPTION, Attribute.CRASH, Attribute.EXIT,
     Attribute.TIMEOUT, Attribute.FORBIDDEN),
    ("type",),
    ("length", "shape"),
    ("dtype",),
    ("device",),
    ("requires_grad", "is_leaf", "grad_fn", "grad_mode"),
    (),  # values, and every attribute not listed
    ("contiguous", "shares_memory", "copies_memory"),
)
_VALUES_RANK = _RANKS.index(())
_RANK = {attribute: rank for rank, group in enumerate(_RANKS) for attribute in group}


def headline_rank(attribute: str) -> int:
    """The rank of a failing check's attribute for the exercise's headline (lower: more basic)."""
    return _RANK.get(str(attribute), _VALUES_RANK)


#: The keys of a check in the learning plugin's ``--kata-report`` (version 1) and in ``kata grade``'s json report.
LEARNING_FIELDS = ("nodeid", "chapter", "exercise", "status", "verdict", "attribute", "mutant")
GRADING_FIELDS = ("nodeid", "chapter", "exercise", "function", "status", "verdict", "attribute", "advisory")


@dataclass
class CheckResult:
    """One check's result: identity (node id, chapter, exercise, check function), how it ended and why."""

    nodeid: str
    chapter: str
    exercise: str
    function: str = ""  # the check function's name, without parameters
    status: str = CheckStatus.PASS
    verdict: str = ""  # the Japanese verdict (empty for a pass)
    attribute: str = ""  # an Attribute, or what a comparison found different
    advisory: bool = False  # observed inside the learner's process: reported, not scored by kata grade
    mutant: str | None = None  # self-verification: the wrong answer under test

    @property
    def name(self) -> str:
        """The check's name without the file: ``test_x_fact[param]``."""
        return self.nodeid.split("::", 1)[-1]

    def to_dict(self, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """Plain JSON data (enum members as their strings), with ``keys`` only when given, in field order."""
        wanted = None if keys is None else set(keys)
        out: dict[str, Any] = {}
        for f in fields(self):
            if wanted is None or f.name in wanted:
                value = getattr(self, f.name)
                out[f.name] = str(value) if isinstance(value, StrEnum) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """The result that :meth:`to_dict` wrote; unknown keys are ignored, a known status becomes its enum."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            values["status"] = CheckStatus(values.get("status", CheckStatus.PASS))
        except ValueError:
            pass  # a word from a newer engine: kept as it is
        return cls(**values)
