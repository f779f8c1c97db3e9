"""The engine's own exceptions."""
from __future__ import annotations


class LearnerImportError(Exception):
    """The learner's file could not be imported; ``verdict`` is the Japanese message for every check of it."""

    def __init__(self, verdict: str):
        super().__init__(verdict)
        self.verdict = verdict


class KataTimeout(BaseException):
    """Raised by the engine's timer; a BaseException so that a learner's ``except Exception`` cannot eat it."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds
