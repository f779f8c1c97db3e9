"""The engine's own exceptions."""
from __future__ import annotations

from kata.status import Attribute

__all__ = ["KataTimeout", "LearnerImportError", "UsageError"]


class LearnerImportError(Exception):
    """The learner's file could not be imported; ``verdict`` is the Japanese message for every check of it."""

    def __init__(self, verdict: str, attribute: str = Attribute.IMPORT):
        super().__init__(verdict)
        self.verdict = verdict
        self.attribute = attribute  # Attribute.IMPORT, or Attribute.SYNTAX when the grader knows it was syntax


class UsageError(Exception):
    """A bad argument found by a ``kata`` sub-command or a library call it makes (``kata.finale.run``); the message is
    one Japanese line that lists the valid choices.  ``kata.cli.main`` prints it and exits with status 2."""


class KataTimeout(BaseException):
    """Raised by the engine's timer; a BaseException so that a learner's ``except Exception`` cannot eat it."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds
