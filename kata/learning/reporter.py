"""The learner's terminal: pytest's terminal reporter, with Japanese where pytest writes English around the checks.

A learner's run (``pytest exercises/01``, a bare ``pytest``, ``kata check``, ``kata.check``) opens with the engine's
title and its Japanese header lines (what is checked, the seed, the chapter's lesson) instead of pytest's platform,
rootdir, plugins and timeout lines; says how many checks it runs instead of "collected 11 items"; and ends with the
engine's summary (kata.plugin), whose title line carries the counts in Japanese ("チェック 11 個: 未着手 11") instead
of a red "11 failed".  The exit status is pytest's, untouched.  Everything else (progress letters, ``-v``, ``-x``,
``--lf``, ``-k``, warnings) is pytest's own.

Only learning runs get it (not ``--solutions``, mutants or grading), and ``-vv`` keeps pytest's reporter as it is.
Loaded by kata.plugin (its ``pytest_plugins``); the swap follows pytest-sugar's: a ``trylast`` ``pytest_configure``
replaces the registered ``terminalreporter``.
"""
from __future__ import annotations

import re
import sys
import time

import pytest

from kata import messages
from kata.display import display_width
from kata.stash import HEADER, SUMMARY
from kata.status import CheckStatus

_STOPPED = re.compile(r"stopping after (?P<count>\d+) failures?")  # pytest's words for -x and --maxfail


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    standard = config.pluginmanager.get_plugin("terminalreporter")
    if type(standard) is not pytest.TerminalReporter or HEADER not in config.stash or config.option.verbose >= 2:
        return
    config.pluginmanager.unregister(standard)
    config.pluginmanager.register(LearnerReporter(config, sys.stdout), "terminalreporter")


# pytest marks TerminalReporter final for typing; pytest-sugar and others subclass it all the same, and the engine's tests
# (tests/test_plugin.py, tests/test_progress.py) pin what this one overrides.
class LearnerReporter(pytest.TerminalReporter):  # type: ignore[misc]
    """pytest's reporter with the engine's Japanese header, collection line and closing counts."""

    def __init__(self, config: pytest.Config, file=None) -> None:
        super().__init__(config, file)
        self._started = time.perf_counter()

    @property
    def showheader(self) -> bool:
        return False  # pytest's session-start line and its English header: the engine writes its own below

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        super().pytest_sessionstart(session)
        self._started = time.perf_counter()
        if self.verbosity < 0:
            return
        self._title(messages.SUMMARY_TITLE, bold=True)
        for line in self.config.stash[HEADER]():
            self.write_line(line)

    def pytest_collection(self) -> None:
        pass  # pytest's "collecting ..." (the Japanese count follows when collection is done)

    def _write_report_lines_from_hooks(self, lines) -> None:
        # --lf says what it reruns in English; the same in Japanese.
        translated = [messages.LAST_FAILED if isinstance(line, str) and line.startswith("run-last-failure:") else line
                      for line in lines]
        super()._write_report_lines_from_hooks(translated)

    def report_collect(self, final: bool = False) -> None:
        if not final or self.verbosity < 0:
            return
        deselected = len(self.stats.get("deselected", []))
        errors = len(self.stats.get("error", []))
        line = messages.COLLECTED.format(count=self._numcollected - deselected)
        if deselected:
            line += messages.COLLECTED_DESELECTED.format(count=deselected)
        if errors:
            line += messages.COLLECTED_ERRORS.format(count=errors)
        self.write_line(line)

    def summary_stats(self) -> None:
        if self.verbosity < -1 or self.config.option.collectonly:
            super().summary_stats()  # --collect-only: "N tests collected", a maintainer's question
            return
        counts: dict[str, int] = {}
        for category, reports in self.stats.items():
            for report in reports:
                if category == "failed" and getattr(report, "kata_status", None) == CheckStatus.TODO:
                    category = "todo"
                if category in messages.STATS_WORDS:
                    counts[category] = counts.get(category, 0) + 1
        parts = [messages.STATS_PART.format(word=word, count=counts[category])
                 for category, word in messages.STATS_WORDS.items() if counts.get(category)]
        ran = sum(n for category, n in counts.items() if category != "deselected")
        stats = messages.STATS_LINE.format(count=ran, parts=messages.LEGEND_SEPARATOR.join(parts),
                                           seconds=time.perf_counter() - self._started)
        colour = "red" if counts.get("failed") or counts.get("error") else \
            "yellow" if counts.get("todo") or not counts.get("passed") else "green"
        title = messages.SUMMARY_TITLE_STATS.format(title=messages.SUMMARY_TITLE, stats=stats)
        if not self.config.stash[SUMMARY](title, {colour: True}):
            self._title(title, **{colour: True})

    def write_sep(self, sep: str, title: str | None = None, fullwidth: int | None = None, **markup: bool) -> None:
        # pytest's own lines about why the session stopped (-x), in Japanese; anything else as it is.
        match = _STOPPED.fullmatch(title or "")
        if match is not None:
            title = messages.STOPPED_AFTER.format(count=match["count"])
            fullwidth = (fullwidth or self._tw.fullwidth) - (display_width(title) - len(title))
        super().write_sep(sep, title, fullwidth, **markup)

    def _title(self, title: str, **markup: bool) -> None:
        if self.verbosity < 0:
            self.write_line(title, **markup)
            return
        width = self._tw.fullwidth - (display_width(title) - len(title))  # wide characters take two columns
        self.write_sep("=", title, fullwidth=width, **markup)
