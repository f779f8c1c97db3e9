"""Turn whatever a check raised into one short Japanese verdict."""
from __future__ import annotations

import functools
import linecache
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from kata import messages
from kata.api import hints
from kata.api.compare import Mismatch
from kata.display import display_path
from kata.errors import KataTimeout, LearnerImportError
from kata.loader import LEARNER_FILES
from kata.status import Attribute, CheckStatus

__all__ = ["Verdict", "classify"]


@dataclass
class Verdict:
    status: CheckStatus
    text: str = ""
    attribute: str = Attribute.NONE  # an Attribute, or what a comparison found different


@functools.lru_cache(maxsize=512)
def _resolved(filename: str) -> str:
    return str(Path(filename).resolve())


def _learner_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(exc.__traceback__) if _resolved(f.filename) in LEARNER_FILES]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 300 else line[:297] + "…"


def _raised_by_stub(exc: BaseException) -> bool:
    """The innermost Python frame is a learner's ``raise NotImplementedError`` line (not torch's own, e.g. meta)."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb or _resolved(tb[-1].filename) not in LEARNER_FILES:
        return False
    line = tb[-1].line or linecache.getline(tb[-1].filename, tb[-1].lineno or 0)
    return "NotImplementedError" in line


def _remote(exc: BaseException) -> Verdict | None:
    """An exception raised by learner code in the grading sandbox (it arrives as data, with its frames)."""
    from kata.grading.sandbox.client import LearnerException, WorkerDied

    if isinstance(exc, WorkerDied):
        return Verdict(CheckStatus.FAIL, messages.WORKER_DIED.format(how=exc.how), Attribute.CRASH)
    if not isinstance(exc, LearnerException):
        return None
    if exc.stub and isinstance(exc, NotImplementedError):
        return Verdict(CheckStatus.TODO, messages.TODO, Attribute.TODO)
    if exc.frames:
        file, line, func, source = exc.frames[-1]
        where = f"{file}:{line} ({func})"
    else:
        where, source = exc.filename, ""
    text = messages.EXCEPTION.format(where=where, exc_type=exc.type_name, exc_msg=_first_line(exc))
    if str(source).strip():
        text += f"\n    {str(source).strip()}"
    hint = hints.for_exception(exc)
    if hint:
        text += f"\n{messages.HINT_PREFIX}{hint}"
    return Verdict(CheckStatus.FAIL, text, Attribute.EXCEPTION)


def classify(exc: BaseException) -> Verdict:
    remote = _remote(exc) if "kata.grading.sandbox.client" in sys.modules else None
    if remote is not None:
        return remote
    if isinstance(exc, Mismatch):
        return Verdict(CheckStatus.FAIL, exc.verdict, exc.attribute)
    if isinstance(exc, LearnerImportError):
        return Verdict(CheckStatus.FAIL, exc.verdict, exc.attribute)
    if isinstance(exc, KataTimeout):
        return Verdict(CheckStatus.FAIL, messages.TIMEOUT.format(seconds=exc.seconds), Attribute.TIMEOUT)
    frames = _learner_frames(exc)
    if isinstance(exc, NotImplementedError) and _raised_by_stub(exc):
        return Verdict(CheckStatus.TODO, messages.TODO, Attribute.TODO)
    if isinstance(exc, SystemExit):
        return Verdict(CheckStatus.FAIL, messages.EXIT_CALLED.format(what=f"sys.exit({exc.code!r})"), Attribute.EXIT)
    if frames:
        last = frames[-1]
        where = f"{display_path(Path(last.filename))}:{last.lineno} ({last.name})"
        text = messages.EXCEPTION.format(where=where, exc_type=type(exc).__name__, exc_msg=_first_line(exc))
        source = (last.line or linecache.getline(last.filename, last.lineno or 0)).strip()
        if source:
            text += f"\n    {source}"
        hint = hints.for_exception(exc)
        if hint:
            text += f"\n{messages.HINT_PREFIX}{hint}"
        return Verdict(CheckStatus.FAIL, text, Attribute.EXCEPTION)
    if isinstance(exc, AssertionError):
        return Verdict(CheckStatus.FAIL, _first_line(exc) or messages.ASSERT_FAILED, Attribute.ASSERT)
    return Verdict(CheckStatus.FAIL, messages.CHECK_ERROR.format(exc_type=type(exc).__name__, exc_msg=_first_line(exc)),
                   Attribute.CHECK)
