"""The chapter table at the end of a run: right with -k, -x and --lf, counting exercises not run in this session from
pytest's cache, and never counting an exercise as solved from a partial run of its checks."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kata import catalog, messages
from kata.authoring import stubs
from kata.display import display_width

ROOT = catalog.ROOT
CH01 = catalog.chapter("01")
REFERENCE = CH01.reference_file().read_text(encoding="utf-8")
STUB = stubs.stub_source(CH01)
ROW = f"01  {CH01.title}*"
# seeded_rand right for seed 0 only: its "source values" check passes, its "matches reference" check fails.
SEED_ZERO_ONLY = REFERENCE.replace("    torch.manual_seed(seed)\n    return torch.rand(shape)",
                                   "    torch.manual_seed(0)\n    return torch.rand(shape)")
FLOAT64 = REFERENCE.replace("return torch.rand(shape)", "return torch.rand(shape, dtype=torch.float64)")

pytestmark = pytest.mark.timeout(300)  # several in-process pytest runs per test


def solved(*names: str) -> str:
    """Chapter 01 with ``names`` solved (reference bodies) and the rest left as stubs."""
    source = STUB
    for name in names:
        source = stubs.replace_exercise(source, REFERENCE, name)[0]
    return source


class Learner:
    """A learner's copy of exercises/ graded in-process by pytester, with its own pytest cache."""

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

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("exercises/01", f"--kata-submission={self.root}", "--kata-seed=1",
                                       "--assert=plain", "-p", "no:unraisableexception",
                                       "-o", f"cache_dir={self.cache}", *args)


@pytest.fixture
def learner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Learner:
    root = tmp_path / "learner"
    shutil.copytree(catalog.EXERCISES, root / "exercises")
    monkeypatch.chdir(ROOT)  # as the learner runs it: `pytest exercises/01` from the repository
    return Learner(pytester, root, tmp_path / "cache")


def table_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("01  ")]


def test_table_shows_solved_and_next_exercise_and_keeps_pytest_summary(learner):
    learner.write(solved("torch_version", "seeded_rand"))
    result = learner.run()
    result.stdout.fnmatch_lines([
        "* failed, * passed*",  # pytest's own summary line stays, above the engine's
        f"*{messages.SUMMARY_TITLE}*",
        f"{messages.MARK_PASS} 01 torch_version",
        f"{messages.MARK_PASS} 01 seeded_rand",
        f"{messages.MARK_TODO} 01 same_random_twice",
        "章  タイトル*解答済み  次の演習",
        f"{ROW} 2 / 4    same_random_twice",
        messages.LEGEND.format(items="*"),
        messages.READ_LESSON.format(chapter="01", key=CH01.key),
        messages.NEXT_STEP.format(file="*", exercise="same_random_twice", chapter="01"),
    ])
    assert result.outlines[-1] == messages.NEXT_STEP.format(file=f"exercises/01_setup/{CH01.file}",
                                                            exercise="same_random_twice", chapter="01")


def test_table_columns_line_up(learner):
    learner.write(STUB)
    result = learner.run()
    header = next(line for line in result.outlines if line.startswith("章  "))
    row = table_lines(result)[0]
    width = display_width
    assert width(header[:header.index("解答済み")]) == width(row[:row.index(" 0 / 4")])


def test_k_counts_exercises_it_did_not_run_from_the_cache(learner):
    learner.write(solved("torch_version", "seeded_rand"))
    learner.run()
    learner.write(solved("torch_version", "seeded_rand", "rand_with_generator"))
    result = learner.run("-k", "rand_with_generator")
    result.stdout.fnmatch_lines(["** passed, * deselected*", f"{messages.MARK_PASS} 01 rand_with_generator",
                                 f"{ROW} 3 / 4    same_random_twice"])
    assert not any(line.endswith(" 01 torch_version") for line in result.outlines), "only what ran is listed"


def test_k_on_some_checks_of_an_exercise_does_not_count_it_solved(learner):
    learner.write(REFERENCE)
    result = learner.run("-k", "source_values")
    result.stdout.fnmatch_lines([
        "** passed, * deselected*",
        f"{messages.MARK_PASS} 01 seeded_rand{messages.PARTIAL_DETAIL}",
        f"{ROW} 0 / 4    torch_version",
        messages.TABLE_PARTIAL_NOTE.format(exercises="01 seeded_rand, 01 rand_with_generator"),
    ])
    result = learner.run()
    result.stdout.fnmatch_lines([f"{ROW} 4 / 4    {messages.TABLE_ALL_DONE}"])
    assert messages.TABLE_PARTIAL_NOTE.split("{")[0] not in result.stdout.str()


def test_an_earlier_full_pass_stands_after_a_partial_run(learner):
    learner.write(REFERENCE)
    learner.run().stdout.fnmatch_lines([f"{ROW} 4 / 4    {messages.TABLE_ALL_DONE}"])
    result = learner.run("-k", "source_values")
    result.stdout.fnmatch_lines([f"{ROW} 4 / 4    {messages.TABLE_ALL_DONE}"])


def test_a_check_picked_by_node_id_is_a_partial_run(learner):
    learner.write(REFERENCE)
    result = learner.pytester.runpytest(f"exercises/01_setup/{CH01.file}::test_seeded_rand_source_values",
                                        f"--kata-submission={learner.root}", "--assert=plain",
                                        "-o", f"cache_dir={learner.cache}")
    result.stdout.fnmatch_lines(["** passed*", f"{messages.MARK_PASS} 01 seeded_rand{messages.PARTIAL_DETAIL}",
                                 f"{ROW} 0 / 4    torch_version"])


def test_x_stops_at_the_first_failure_and_keeps_earlier_results_for_the_rest(learner):
    learner.write(REFERENCE)
    learner.run()
    learner.write(FLOAT64)
    result = learner.run("-x")
    result.stdout.fnmatch_lines([
        "*stopping after 1 failures*",
        "*1 failed, * passed*",
        f"{messages.MARK_PASS} 01 torch_version",
        f"{messages.MARK_FAIL} 01 seeded_rand — *データ型 (dtype)*",
        f"{ROW} 3 / 4    seeded_rand",
        messages.NEXT_STEP.format(file="*", exercise="seeded_rand", chapter="01"),
    ])
    assert not any(" 01 same_random_twice" in line for line in result.outlines if line.startswith("✔"))


def test_x_on_a_fresh_cache_counts_only_what_it_reached(learner):
    learner.write(FLOAT64)
    result = learner.run("-x")
    result.stdout.fnmatch_lines(["*1 failed, * passed*", f"{ROW} 1 / 4    seeded_rand"])


def test_lf_rerunning_only_the_failed_check_does_not_count_the_exercise_solved(learner):
    learner.write(SEED_ZERO_ONLY)
    learner.run().stdout.fnmatch_lines(["* failed, * passed*", f"{messages.MARK_FAIL} 01 seeded_rand — *",
                                        f"{ROW} 3 / 4    seeded_rand"])
    learner.write(REFERENCE)
    result = learner.run("--lf")
    result.stdout.fnmatch_lines([
        "** passed in*",
        f"{messages.MARK_PASS} 01 seeded_rand{messages.PARTIAL_DETAIL}",
        f"{ROW} 3 / 4    seeded_rand",
        messages.TABLE_PARTIAL_NOTE.format(exercises="01 seeded_rand"),
    ])
    result = learner.run()
    result.stdout.fnmatch_lines(["** passed*", f"{ROW} 4 / 4    {messages.TABLE_ALL_DONE}"])


def test_lf_keeps_a_new_failure_even_from_a_partial_run(learner):
    learner.write(SEED_ZERO_ONLY)
    learner.run()
    learner.write(FLOAT64)
    result = learner.run("--lf")
    result.stdout.fnmatch_lines([f"{messages.MARK_FAIL} 01 seeded_rand — *データ型*", f"{ROW} 3 / 4    seeded_rand"])


def test_the_table_lists_every_chapter(learner):
    learner.write(STUB)
    result = learner.run()
    for chapter in catalog.chapters():
        result.stdout.fnmatch_lines([f"{chapter.number}  {chapter.title}* 0 / {len(chapter.exercises):<2}*"])


def test_next_prefers_the_chapter_just_run(learner):
    """Inside `kata watch 02` or after `pytest exercises/02`, 「次はこれ」 points into chapter 02, not chapter 01."""
    ch02 = catalog.chapter("02")
    result = learner.pytester.runpytest("exercises/02", f"--kata-submission={learner.root}", "--assert=plain",
                                        "-o", f"cache_dir={learner.cache}")
    assert result.outlines[-1] == messages.NEXT_STEP.format(file=f"exercises/{ch02.key}/{ch02.file}",
                                                            exercise=ch02.exercises[0].name, chapter=ch02.number)


def test_a_chapter_whose_file_changed_since_its_run_is_marked(learner):
    learner.write(SEED_ZERO_ONLY)
    learner.run().stdout.fnmatch_lines([f"{ROW} 3 / 4    seeded_rand"])
    learner.write(REFERENCE)  # fixed, but not checked again yet
    result = learner.pytester.runpytest("exercises/02", f"--kata-submission={learner.root}", "--assert=plain",
                                        "-o", f"cache_dir={learner.cache}")
    result.stdout.fnmatch_lines([f"{ROW} 3 / 4 {messages.STALE_MARK}  seeded_rand",
                                 "*" + messages.LEGEND_STALE.format(mark=messages.STALE_MARK) + "*"])
    result = learner.run()
    result.stdout.fnmatch_lines([f"{ROW} 4 / 4    {messages.TABLE_ALL_DONE}"])
    assert messages.LEGEND_STALE.format(mark=messages.STALE_MARK) not in result.stdout.str()
