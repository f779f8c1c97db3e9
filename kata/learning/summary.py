"""The learner's summary after pytest's last line, and the progress kept across runs.

A bare ``pytest`` must fit a screen and end with what to do next.  So, unless -v asks for every check: pytest's own
failure blocks and short-summary lines are left out for the kata checks, and after pytest's last line comes one line
per exercise (the headline failing check's verdict once, with how many more of its checks failed), the chapter table
and 「次はこれ」.  Registered by :mod:`kata.plugin` as ``kata-summary``; it reads the run's checks from
:class:`kata.plugin.CheckRun`.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kata import catalog, messages
from kata.display import display_path, display_width, pad
from kata.frontend import say
from kata.report import exercise_statuses, status_counts
from kata.status import SOLVED, Attribute, CheckResult, CheckStatus, ExerciseStatus

if TYPE_CHECKING:
    from kata.plugin import CheckRun, Settings

CACHE_KEY = "kata/progress"
FILE_FAILURES = (Attribute.IMPORT, Attribute.SYNTAX)  # verdicts about the learner's file, not about an exercise


class LearnerSummary:
    """The per-exercise lines, the chapter table and what to do next (in every mode but the wrong answers'), and the
    learner's progress across runs of the same tree in pytest's cache (learner runs only)."""

    def __init__(self, config: pytest.Config, settings: Settings, run: CheckRun):
        self.config = config
        self.settings = settings
        self.run = run

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config):
        """Keep pytest's per-check failure blocks and short-summary lines of the kata checks out of a non-verbose run
        (the engine prints each failing exercise's verdict once instead)."""
        tr = terminalreporter
        hidden: list[Any] = []
        records = self.run.records
        failed = tr.stats.get("failed", [])
        if config.option.verbose < 1 and records and failed:
            hidden = [r for r in failed if getattr(r, "nodeid", None) in records]
            failed[:] = [r for r in failed if getattr(r, "nodeid", None) not in records]
        try:
            return (yield)
        finally:
            if hidden:
                tr.stats["failed"] = hidden + tr.stats.get("failed", [])

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self):
        """After pytest's last line (the terminal reporter's own wrapper is inside this one): the learner's
        summary."""
        result = yield
        from kata.learning.reporter import LearnerReporter

        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if not isinstance(tr, LearnerReporter):  # that one asked for the summary under its closing counts
            self.write(messages.SUMMARY_TITLE, {"bold": True})
        return result

    def write(self, title: str, markup: dict[str, bool]) -> bool:
        """The learner's summary under ``title``, if the run checked anything of the course; whether it was
        written."""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None or getattr(tr, "no_summary", False) or not self.run.records or self.settings.mutants:
            return False
        self._write_summary(tr, title, markup)
        return True

    def _write_summary(self, tr: Any, title: str, markup: dict[str, bool]) -> None:
        settings, config = self.settings, self.config
        records = {nodeid: rec for nodeid, rec in self.run.records.items() if nodeid in self.run.done}  # not Ctrl+C'd
        per_exercise = exercise_statuses(records)
        counts = status_counts(records)
        complete = self._complete_exercises()
        ran = [c for c in settings.course.chapters() if any((c.key, e.name) in per_exercise for e in c.exercises)]
        progress, stale = self._merged_progress(per_exercise, complete, counts, ran)
        fullwidth = config.get_terminal_writer().fullwidth
        tr.write_sep("=", title, fullwidth=fullwidth - (display_width(title) - len(title)), **markup)
        if settings.learner and all(r.status == CheckStatus.TODO for r in per_exercise.values()) \
                and not any(status in SOLVED for status in progress.values()):
            for line in messages.FIRST_RUN.splitlines():  # the first run: nothing is wrong
                tr.write_line(line)
        marks: dict[str, str] = {CheckStatus.PASS: messages.MARK_PASS, CheckStatus.FAIL: messages.MARK_FAIL,
                                 CheckStatus.TODO: messages.MARK_TODO, CheckStatus.SKIP: messages.MARK_SKIP}
        colours: dict[str, dict[str, bool]] = {CheckStatus.PASS: {"green": True}, CheckStatus.FAIL: {"red": True},
                                               CheckStatus.TODO: {"yellow": True}, CheckStatus.SKIP: {"yellow": True}}
        show_verdicts = config.option.tbstyle != "no" and config.option.verbose < 1
        untouched = []
        for chapter in ran:
            recs = [(e, r) for e in chapter.exercises if (r := per_exercise.get((chapter.key, e.name))) is not None]
            if len(ran) > 1 and all(r.status == CheckStatus.TODO for _, r in recs):
                untouched.append(chapter.number)  # a chapter not started yet: one word on one line, not a line each
                continue
            # The file itself could not be imported (a syntax error, an error at import time): every exercise of it fails
            # with the same verdict, which is the file's, not an exercise's.  Said once, with no exercise's hint.
            unreadable = [ex.name for ex, rec in recs if rec.status == CheckStatus.FAIL and rec.attribute in FILE_FAILURES]
            if unreadable:
                first, *rest = next(r for e, r in recs if e.name == unreadable[0]).verdict.splitlines()
                tr.write_line(messages.FILE_LINE.format(mark=marks[CheckStatus.FAIL], chapter=chapter.number,
                                                        file=chapter.file, detail=" — " + first), red=True)
                if show_verdicts:
                    for line in [*rest, messages.FILE_UNREADABLE_EXERCISES.format(count=len(unreadable))]:
                        tr.write_line(f"    {line}")
            for ex, rec in recs:
                if ex.name in unreadable:
                    continue
                key = (chapter.key, ex.name)
                n = counts.get(key, {})
                detail, more = "", []
                if rec.status == CheckStatus.FAIL and rec.verdict:
                    first, *rest = rec.verdict.splitlines()
                    detail = " — " + first
                    if show_verdicts:
                        more = [f"    {line}" for line in rest]
                        others = n.get(CheckStatus.FAIL, 0) - 1
                        not_run = n.get(Attribute.TIMEOUT_NOT_RUN, 0)
                        if not_run:
                            more.append("    " + messages.NOT_RUN_AFTER_TIMEOUT.format(count=not_run))
                            others -= not_run
                        if others > 0:
                            more.append("    " + messages.MORE_FAILED.format(count=others))
                        if settings.learner:
                            more.append("    " + say(messages.NEXT_HINT, chapter.number, ex.name))
                elif rec.status in (CheckStatus.PASS, CheckStatus.SKIP) and key not in complete:
                    detail = messages.PARTIAL_DETAIL
                elif rec.status == CheckStatus.PASS and n.get(CheckStatus.SKIP):
                    detail = messages.UNVERIFIED_DETAIL.format(count=n[CheckStatus.SKIP])
                tr.write_line(messages.EXERCISE_LINE.format(mark=marks[rec.status], chapter=chapter.number,
                                                            exercise=ex.name, detail=detail), **colours[rec.status])
                for line in more:
                    tr.write_line(line)
        if untouched:
            tr.write_line(messages.UNTOUCHED_CHAPTERS.format(mark=messages.MARK_TODO, chapters=" ".join(untouched)),
                          yellow=True)
        self._write_table(tr, progress, ran, stale)

    def _complete_exercises(self) -> set[tuple[str, str]]:
        """Exercises every check of which ran to an outcome in this session (not cut short by -k, -x, --lf, Ctrl+C)."""
        return {key for key, nodeids in self.run.expected.items() if nodeids <= self.run.done}

    def _merged_progress(self, per_exercise: dict[tuple[str, str], CheckResult], complete: set[tuple[str, str]],
                         counts: dict[tuple[str, str], dict[str, int]], ran: list[catalog.Chapter]) -> tuple[dict[str, str], set[str]]:
        """Status per exercise ("NN_topic/name"): this run's results over what earlier runs of the same tree found, and
        the chapters whose file changed since the run that the table's row comes from (``stale``).

        A failure or a todo is final even from a partial run; a pass counts only when all of the exercise's checks ran
        (else an earlier full pass stands, and anything else becomes ``ExerciseStatus.PARTIAL``: not solved yet); a pass
        with skipped checks is ``ExerciseStatus.UNVERIFIED``.
        """
        settings = self.settings
        suffix = f"{settings.mode}/{zlib.crc32(str(settings.learner_root).encode()):08x}"
        cache = getattr(self.config, "cache", None) if settings.learner else None
        stored: dict[str, str] = dict(cache.get(f"{CACHE_KEY}/{suffix}", {}) or {}) if cache is not None else {}
        stamps: dict[str, str | None] = dict(cache.get(f"{CACHE_KEY}-files/{suffix}", {}) or {}) if cache is not None else {}
        for (key, name), rec in per_exercise.items():
            exercise, status = f"{key}/{name}", rec.status
            if status in (CheckStatus.PASS, CheckStatus.SKIP) and (key, name) not in complete:
                before = stored.get(exercise)
                status = before if before is not None and before in SOLVED else ExerciseStatus.PARTIAL
            elif status == CheckStatus.PASS and counts.get((key, name), {}).get(CheckStatus.SKIP):
                status = ExerciseStatus.UNVERIFIED
            stored[exercise] = status
        files = {c.key: _file_stamp(c.learner_file(settings.learner_root)) for c in settings.course.chapters()}
        for chapter in ran:
            stamps[chapter.key] = files[chapter.key]
        stale = {key for key, stamp in stamps.items() if key in files and stamp != files[key]}
        if cache is not None:
            cache.set(f"{CACHE_KEY}/{suffix}", stored)
            cache.set(f"{CACHE_KEY}-files/{suffix}", stamps)
        return stored, stale

    def _write_table(self, tr: Any, progress: dict[str, str], ran: list[catalog.Chapter], stale: set[str]) -> None:
        settings = self.settings
        tr.write_line("")
        course = settings.course
        width = max(display_width(c.title) for c in course.chapters())
        tr.write_line(messages.TABLE_HEADER_ALIGNED.format(title=pad(messages.TABLE_HEADER_TITLE, width)))
        learner = settings.learner
        shown_stale = False
        for chapter in course.chapters():
            statuses = [progress.get(f"{chapter.key}/{e.name}") for e in chapter.exercises]
            if not learner and not any(s is not None for s in statuses):
                continue  # the reference run: only the chapters this run checked
            solved = sum(s in SOLVED for s in statuses)
            todo = next((e.name for e, s in zip(chapter.exercises, statuses) if s not in SOLVED), None)
            if todo is None:
                todo = messages.TABLE_UNVERIFIED if ExerciseStatus.UNVERIFIED in statuses else messages.TABLE_ALL_DONE
            mark = messages.STALE_MARK if chapter.key in stale and chapter not in ran else " "
            shown_stale |= mark != " "
            tr.write_line(messages.TABLE_ROW.format(chapter=chapter.number, title=pad(chapter.title, width),
                                                    solved=solved, total=len(chapter.exercises), mark=mark, next=todo))
        partial = [f"{c.number} {e.name}" for c in course.chapters() for e in c.exercises
                   if progress.get(f"{c.key}/{e.name}") == ExerciseStatus.PARTIAL]
        if partial:
            tr.write_line(messages.TABLE_PARTIAL_NOTE.format(exercises=", ".join(partial)), yellow=True)
        tr.write_line(self._legend(tr, shown_stale))
        if not learner:
            return  # "what to do next" is the learner's question, not the reference run's
        upcoming = next_exercise(progress, ran, course)
        if upcoming is None:
            done = messages.ALL_DONE_UNVERIFIED if ExerciseStatus.UNVERIFIED in progress.values() else messages.ALL_DONE
            tr.write_line(done, green=True)
        else:
            ch = course.chapter_of_key(upcoming.chapter)
            assert ch is not None, upcoming
            file = display_path(ch.learner_file(settings.learner_root))
            tr.write_line(say(messages.READ_LESSON, ch.number, key=ch.key))
            tr.write_line(messages.NEXT_STEP.format(file=file, exercise=upcoming.name, chapter=ch.number), bold=True)

    @staticmethod
    def _legend(tr: Any, stale: bool) -> str:
        """Every mark of this run explained once: the progress letters pytest printed, and the table's mark."""
        letters = []
        if tr.config.option.verbose < 1:
            seen = {category for category, reports in tr.stats.items() if reports and category != "failed"}
            for report in tr.stats.get("failed", []):
                seen.add("todo" if getattr(report, "kata_status", None) == CheckStatus.TODO else "failed")
            letters = [text for category, text in messages.LEGEND_LETTERS if category in seen]
        if stale:
            letters.append(messages.LEGEND_STALE.format(mark=messages.STALE_MARK))
        return messages.LEGEND.format(items=messages.LEGEND_SEPARATOR.join(letters)) if letters else ""


def _file_stamp(path: Path) -> str | None:
    try:
        return f"{zlib.crc32(path.read_bytes()):08x}"
    except OSError:
        return None


def next_exercise(progress: dict[str, str], prefer: Sequence[catalog.Chapter] = (),
                  course: catalog.Catalog | None = None) -> catalog.Exercise | None:
    """The first unsolved exercise of the chapters just run, else of the whole course."""
    for chapters in (prefer, (course or catalog.default()).chapters()):
        for chapter in chapters:
            for ex in chapter.exercises:
                if progress.get(f"{chapter.key}/{ex.name}") not in SOLVED:
                    return ex
    return None
