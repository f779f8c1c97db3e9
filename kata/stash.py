"""The keys under which the engine keeps its state on pytest's objects (``config.stash``, ``item.stash``) that both
the learning plugin (:mod:`kata.plugin`) and the grading glue (:mod:`kata.sandbox.pytest_glue`) read.

Here, below both, so that the glue reads them without importing the plugin that loads it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from kata.status import CheckResult

if TYPE_CHECKING:
    from kata.plugin import Settings  # noqa: F401 (named in a string: the plugin imports this module)

__all__ = ["ITEM_INFO", "RECORDS", "SETTINGS"]

#: The run's settings (mode, submission, report, seed, course): on ``config.stash``.
SETTINGS = pytest.StashKey["Settings"]()
#: Every check's result so far, by node id: on ``config.stash``.
RECORDS = pytest.StashKey[dict[str, CheckResult]]()
#: A check's chapter key and exercise name: on ``item.stash`` of the course's checks only.
ITEM_INFO = pytest.StashKey[tuple[str, str]]()
