"""Every pytest stash key of the engine's plugin, in one place.

A run's state lives on the plugin objects that :mod:`kata.plugin` registers in ``pytest_configure`` (the shared
:class:`kata.plugin.CheckRun` and one plugin for where the module under test runs: :class:`kata.plugin.LearningPlugin`
in this process, :class:`kata.grading.glue.GradingPlugin` in a sandbox worker); the config's stash only points
at them.  An item's stash holds what belongs to one check.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # types only: this module is imported by both sides and imports neither
    import threading

    from kata.plugin import CheckRun, Settings

# -- on the config: one run ----------------------------------------------------------------------------------------
SETTINGS: pytest.StashKey[Settings] = pytest.StashKey()  # the run's settings, decided once at configure time
RUN: pytest.StashKey[CheckRun] = pytest.StashKey()  # the shared core: records, progress bookkeeping, verdicts
#: The plugin that supplies the module under test (``sub``): in this process, or through the sandbox.
UNDER_TEST = pytest.StashKey[Any]()
#: kata.learning.reporter's terminal asks for the header lines and the learner's summary through these.
HEADER = pytest.StashKey[Callable[[], list[str]]]()
SUMMARY = pytest.StashKey[Callable[[str, dict[str, bool]], bool]]()

# -- on an item: one check -----------------------------------------------------------------------------------------
ITEM_INFO = pytest.StashKey[tuple[str, str]]()  # (chapter key, exercise name) of a check of the course
TIMER = pytest.StashKey[Any]()  # the check's running timer (kata.plugin's _CheckTimer)
NOTICE: pytest.StashKey[threading.Timer | None] = pytest.StashKey()  # the pending "still running" notice
