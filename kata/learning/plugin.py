"""Learning mode's own plugin objects: :class:`LearningPlugin` (``kata-learning``) puts the module under test in this
process; :class:`kata.learning.summary.LearnerSummary` and :mod:`kata.learning.reporter` are the learner's summary and
terminal.  The shared core that registers them (options, fixtures, :class:`kata.plugin.CheckRun`) is
:mod:`kata.plugin`; grading mode's counterpart is :class:`kata.grading.glue.GradingPlugin`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from kata import catalog, loader
from kata.api import mutants
from kata.display import display_path
from kata.undertest import UnderTest, source_of_mutant, source_of_text

if TYPE_CHECKING:
    from kata.plugin import Settings


class LearningPlugin:
    """The module under test in this process (every mode but ``--kata-sandbox``): the learner's file, a submission's,
    the reference or a catalogued wrong answer, imported on a check's first use of it."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def under_test(self, request: pytest.FixtureRequest, chapter: catalog.Chapter,  # noqa: ARG002 (one signature for both plugins)
                   mutant: mutants.Mutant | None, ref: Any) -> UnderTest:
        settings = self.settings
        if mutant is not None:
            loader.LEARNER_FILES.add(mutant.file)
            return UnderTest(lambda: mutants.apply(ref, mutant), mutant.file, source=source_of_mutant(mutant))
        if settings.solutions:
            path, role = chapter.reference_file(), "solutions"
        else:
            path, role = chapter.learner_file(settings.learner_root), settings.mode
        return UnderTest(lambda: loader.load(path, f"kata_under_test.{role}.c{chapter.key}"), display_path(path),
                         source=source_of_text(path.read_bytes, display_path(path)))
