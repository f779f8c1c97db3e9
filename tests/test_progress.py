"""The chapter table at the end of a run: right with -k, -x and --lf, counting exercises not run in this session from
pytest's cache, and never counting an exercise as solved from a partial run of its checks.

Run in-process (pytester) against the engine's test course, ``tests/engine_course/``: chapter 01 has three
exercises (answer, scaled, scaled_twice) with two checks each, chapter 02 two.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import ENGINE_COURSE, counts_line, replace_exactly
from kata import catalog, messages
from kata.authoring import stubs
from kata.display import display_width
from kata.frontend import say

COURSE = catalog.Catalog(ENGINE_COURSE)
CH01, CH02 = COURSE.chapter("01"), COURSE.chapter("02")
N01 = len(CH01.exercises)
REFERENCE = CH01.reference_file().read_text(encoding="utf-8")
STUB = stubs.stub_source(CH01)
ROW = f"01  {CH01.title}*"
# scaled right for k = 2 only: its "source values" check passes, its "matches reference" check fails.
K2_ONLY = replace_exactly(REFERENCE, "return x * k", "return x * 2")
FLOAT64 = replace_exactly(REFERENCE, "return x * k", "return (x * k).double()")


def solved(*names: str) -> str:
    """Chapter 01 with ``names`` solved (reference bodies) and the rest left as stubs."""
    source = STUB
    for name in names:
        source, appended = stubs.replace_exercise(source, REFERENCE, name)
        assert not appended, f"{name} is not in the stub"
    return source


class Learner:
    """A learner's copy of the course's exercises/ graded in-process by pytester, with its own pytest cache."""

    def __init__(self, pytester: pytest.Pytester, root: Path, cache: Path):
        self.pytester, self.root, self.cache = pytester, root, cache
        self.file = CH01.learner_file(root)
        self.version = 0

    def write(self, source: str) -> None:
        self.file.write_text(source, encoding="utf-8")
        # A new time stamp for every version, so that the engine's loader re-imports it.
        self.version += 1
        stamp = 1_700_000_000_000_000_000 + self.version * 1_000_000_000
        os.utime(self.file, ns=(stamp, stamp))

    def run(self, *args: str, chapter: str = "01") -> pytest.RunResult:
        return self.pytester.runpytest(f"exercises/{chapter}", f"--kata-submission={self.root}", "--kata-seed=1",
                                       "--assert=plain", "-p", "no:unraisableexception",
                                       "-o", f"cache_dir={self.cache}", *args)


@pytest.fixture
def learner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Learner:
    root = tmp_path / "learner"
    shutil.copytree(COURSE.exercises, root / "exercises")
    monkeypatch.chdir(ENGINE_COURSE)  # as the learner runs it: `pytest exercises/01` from the course
    return Learner(pytester, root, tmp_path / "cache")


def table_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("01  ")]


def test_table_shows_solved_and_next_exercise_under_the_closing_counts(learner):
    learner.write(solved("answer", "scaled"))
    result = learner.run()
    result.stdout.fnmatch_lines([
        counts_line(passed="*", todo="*"),  # the closing counts, in Japanese, as the summary's title
        f"{messages.MARK_PASS} 01 answer",
        f"{messages.MARK_PASS} 01 scaled",
        f"{messages.MARK_TODO} 01 scaled_twice",
        "章  タイトル*解答済み  次の演習",
        f"{ROW} 2 / {N01}    scaled_twice",
        messages.LEGEND.format(items="*"),
        say(messages.READ_LESSON, "01", key=CH01.key),
        messages.NEXT_STEP.format(file="*", exercise="scaled_twice", chapter="01"),
    ])
    assert result.outlines[-1] == messages.NEXT_STEP.format(file=f"exercises/{CH01.key}/{CH01.file}",
                                                            exercise="scaled_twice", chapter="01")


def test_the_first_run_note_stays_until_an_exercise_is_solved(learner):
    learner.write(STUB)
    first = messages.FIRST_RUN.splitlines()[0]
    assert first in learner.run().outlines
    learner.write(solved("answer"))
    assert first not in learner.run().outlines
    learner.write(STUB)  # back to untouched: the exercise solved earlier is still in the table, so no note
    assert first not in learner.run("-k", "scaled").outlines


def test_table_columns_line_up(learner):
    learner.write(STUB)
    result = learner.run()
    header = next(line for line in result.outlines if line.startswith("章  "))
    row = table_lines(result)[0]
    width = display_width
    assert width(header[:header.index("解答済み")]) == width(row[:row.index(f" 0 / {N01}")])


def test_k_counts_exercises_it_did_not_run_from_the_cache(learner):
    learner.write(solved("answer"))
    learner.run()
    learner.write(solved("answer", "scaled_twice"))
    result = learner.run("-k", "scaled_twice")
    result.stdout.fnmatch_lines([counts_line(passed="*", deselected="*"), f"{messages.MARK_PASS} 01 scaled_twice",
                                 f"{ROW} 2 / {N01}    scaled"])
    assert not any(line.endswith(" 01 answer") for line in result.outlines), "only what ran is listed"


def test_k_on_some_checks_of_an_exercise_does_not_count_it_solved(learner):
    learner.write(REFERENCE)
    result = learner.run("-k", "source_values")
    result.stdout.fnmatch_lines([
        counts_line(passed=1, deselected="*"),
        f"{messages.MARK_PASS} 01 scaled{messages.PARTIAL_DETAIL}",
        f"{ROW} 0 / {N01}    answer",
        messages.TABLE_PARTIAL_NOTE.format(exercises="01 scaled"),
    ])
    result = learner.run()
    result.stdout.fnmatch_lines([f"{ROW} {N01} / {N01}    {messages.TABLE_ALL_DONE}"])
    assert messages.TABLE_PARTIAL_NOTE.split("{")[0] not in result.stdout.str()


def test_an_earlier_full_pass_stands_after_a_partial_run(learner):
    learner.write(REFERENCE)
    learner.run().stdout.fnmatch_lines([f"{ROW} {N01} / {N01}    {messages.TABLE_ALL_DONE}"])
    result = learner.run("-k", "source_values")
    result.stdout.fnmatch_lines([f"{ROW} {N01} / {N01}    {messages.TABLE_ALL_DONE}"])


def test_a_check_picked_by_node_id_is_a_partial_run(learner):
    learner.write(REFERENCE)
    result = learner.pytester.runpytest(f"exercises/{CH01.key}/{CH01.file}::test_scaled_source_values",
                                        f"--kata-submission={learner.root}", "--assert=plain",
                                        "-o", f"cache_dir={learner.cache}")
    result.stdout.fnmatch_lines([counts_line(passed=1), f"{messages.MARK_PASS} 01 scaled{messages.PARTIAL_DETAIL}",
                                 f"{ROW} 0 / {N01}    answer"])


def test_x_stops_at_the_first_failure_and_keeps_earlier_results_for_the_rest(learner):
    learner.write(REFERENCE)
    learner.run()
    learner.write(FLOAT64)
    result = learner.run("-x")
    result.stdout.fnmatch_lines([
        f"*{messages.STOPPED_AFTER.format(count=1)}*",
        counts_line(passed=2, failed=1),
        f"{messages.MARK_PASS} 01 answer",
        f"{messages.MARK_FAIL} 01 scaled — *データ型 (dtype)*",
        f"{ROW} 2 / {N01}    scaled",
        messages.NEXT_STEP.format(file="*", exercise="scaled", chapter="01"),
    ])
    assert not any(" 01 scaled_twice" in line for line in result.outlines if line.startswith(messages.MARK_PASS))


def test_x_on_a_fresh_cache_counts_only_what_it_reached(learner):
    learner.write(FLOAT64)
    result = learner.run("-x")
    result.stdout.fnmatch_lines([counts_line(passed=2, failed=1), f"{ROW} 1 / {N01}    scaled"])


def test_lf_rerunning_only_the_failed_check_does_not_count_the_exercise_solved(learner):
    learner.write(K2_ONLY)
    learner.run().stdout.fnmatch_lines([counts_line(passed="*", failed=1), f"{messages.MARK_FAIL} 01 scaled — *",
                                        f"{ROW} 2 / {N01}    scaled"])
    learner.write(REFERENCE)
    result = learner.run("--lf")
    result.stdout.fnmatch_lines([
        messages.LAST_FAILED,  # pytest's "run-last-failure: …", in Japanese
        counts_line(passed=1),
        f"{messages.MARK_PASS} 01 scaled{messages.PARTIAL_DETAIL}",
        f"{ROW} 2 / {N01}    scaled",
        messages.TABLE_PARTIAL_NOTE.format(exercises="01 scaled"),
    ])
    result = learner.run()
    result.stdout.fnmatch_lines([counts_line(passed="*"), f"{ROW} {N01} / {N01}    {messages.TABLE_ALL_DONE}"])


def test_lf_keeps_a_new_failure_even_from_a_partial_run(learner):
    learner.write(K2_ONLY)
    learner.run()
    learner.write(FLOAT64)
    result = learner.run("--lf")
    result.stdout.fnmatch_lines([f"{messages.MARK_FAIL} 01 scaled — *データ型*", f"{ROW} 2 / {N01}    scaled"])


def test_the_table_lists_every_chapter(learner):
    learner.write(STUB)
    result = learner.run()
    for chapter in COURSE.chapters():
        result.stdout.fnmatch_lines([f"{chapter.number}  {chapter.title}* 0 / {len(chapter.exercises):<2}*"])


def test_next_prefers_the_chapter_just_run(learner):
    """Inside `kata watch 02` or after `pytest exercises/02`, 「次はこれ」 points into chapter 02, not chapter 01."""
    result = learner.run(chapter="02")
    assert result.outlines[-1] == messages.NEXT_STEP.format(file=f"exercises/{CH02.key}/{CH02.file}",
                                                            exercise=CH02.exercises[0].name, chapter=CH02.number)


def test_a_chapter_whose_file_changed_since_its_run_is_marked(learner):
    learner.write(K2_ONLY)
    learner.run().stdout.fnmatch_lines([f"{ROW} 2 / {N01}    scaled"])
    learner.write(REFERENCE)  # fixed, but not checked again yet
    result = learner.run(chapter="02")
    result.stdout.fnmatch_lines([f"{ROW} 2 / {N01} {messages.STALE_MARK}  scaled",
                                 "*" + messages.LEGEND_STALE.format(mark=messages.STALE_MARK) + "*"])
    result = learner.run()
    result.stdout.fnmatch_lines([f"{ROW} {N01} / {N01}    {messages.TABLE_ALL_DONE}"])
    assert messages.LEGEND_STALE.format(mark=messages.STALE_MARK) not in result.stdout.str()
