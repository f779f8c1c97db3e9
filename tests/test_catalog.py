"""The catalog of a course (kata/catalog.py): chapters, exercises and their tracks.

An exercise is in the ``core`` track unless its ``chapter.toml`` table says ``track = "challenge"``; a course keeps
only some tracks with ``[tool.kata] tracks`` in its ``pyproject.toml``.  An exercise of a track left out is neither
run nor scored nor listed.  The runs here use a copy of the engine's test course (``tests/engine_course/``), whose
chapter 01 has ``scaled`` and ``scaled_twice``: a name that is a prefix of another, so that a left-out exercise's
checks must not fall to the other one.  ``kata grade`` with a left-out track: tests/test_grading.py.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ENGINE_COURSE, replace_exactly
from kata import catalog, messages
from kata.authoring import stubs
from kata.cli.learner import resolve_exercise
from kata.errors import UsageError

CHALLENGE = "scaled_twice"
KEEP_CORE = '[tool.kata]\ntracks = ["core"]\n'


def engine_course(tmp_path: Path, pyproject: str | None = None, challenge: str | None = CHALLENGE) -> Path:
    """A copy of the engine's test course with ``challenge`` marked ``track = "challenge"`` and, when given, a root
    ``pyproject.toml``."""
    root = tmp_path / "course"
    shutil.copytree(ENGINE_COURSE, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    if challenge is not None:
        data = root / "checks" / "01_basics" / "chapter.toml"
        text = data.read_text(encoding="utf-8")
        data.write_text(replace_exactly(text, f"[exercises.{challenge}]\n",
                                        f'[exercises.{challenge}]\ntrack = "challenge"\n'), encoding="utf-8")
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return root


# -- reading the mark and the setting -------------------------------------------------------------------------------

def test_every_exercise_is_core_unless_its_table_names_a_track(tmp_path):
    course = catalog.Catalog(engine_course(tmp_path))
    assert course.tracks == catalog.TRACKS, "no setting: every track"
    ch = course.chapter("01")
    assert {e.name: e.track for e in ch.exercises} == {"answer": "core", "scaled": "core", CHALLENGE: "challenge"}
    assert ch.left_out == ()
    assert ch.exercise_of_test(f"test_{CHALLENGE}_matches_reference").name == CHALLENGE


def test_the_real_course_reads_and_keeps_every_track():
    assert catalog.default().tracks == catalog.TRACKS
    assert all(ex.track in catalog.TRACKS for ch in catalog.chapters() for ex in ch.exercises)
    assert all(ch.left_out == () for ch in catalog.chapters())


def test_a_course_that_keeps_only_core_leaves_the_challenge_out(tmp_path):
    course = catalog.Catalog(engine_course(tmp_path, KEEP_CORE))
    assert course.tracks == ("core",)
    ch = course.chapter("01")
    assert [e.name for e in ch.exercises] == ["answer", "scaled"]
    assert [e.name for e in ch.left_out] == [CHALLENGE]
    assert ch.exercise(CHALLENGE) is None
    # Its checks belong to it, not to `scaled` (a prefix of its name), and are left out.
    for check in (f"test_{CHALLENGE}_matches_reference", f"test_{CHALLENGE}_second_is_first_times_k"):
        assert ch.owner_of_test(check).name == CHALLENGE
        assert ch.exercise_of_test(check) is None
        assert ch.is_left_out_test(check)
    assert ch.exercise_of_test("test_scaled_matches_reference").name == "scaled"
    assert not ch.is_left_out_test("test_scaled_matches_reference")
    assert not ch.is_left_out_test("test_something_else")


def test_a_course_that_keeps_only_challenges_leaves_the_core_out(tmp_path):
    ch = catalog.Catalog(engine_course(tmp_path, '[tool.kata]\ntracks = ["challenge"]\n')).chapter("01")
    assert [e.name for e in ch.exercises] == [CHALLENGE]
    assert ch.exercise_of_test("test_scaled_matches_reference") is None
    assert ch.exercise_of_test(f"test_{CHALLENGE}_matches_reference").name == CHALLENGE


def test_other_tool_settings_in_pyproject_keep_every_track(tmp_path):
    course = catalog.Catalog(engine_course(tmp_path, '[tool.ruff]\nline-length = 120\n'))
    assert course.tracks == catalog.TRACKS
    assert len(course.chapter("01").exercises) == 3


@pytest.mark.parametrize("setting", ['tracks = ["core", "challenges"]', "tracks = []", 'tracks = "core"'])
def test_a_malformed_tracks_setting_is_a_japanese_error_naming_the_file(tmp_path, setting):
    course = catalog.Catalog(engine_course(tmp_path, f"[tool.kata]\n{setting}\n"))
    with pytest.raises(catalog.CatalogError, match=r"pyproject\.toml") as info:
        course.chapters()
    assert "[tool.kata] tracks" in str(info.value) and "core, challenge" in str(info.value)


def test_an_unknown_track_in_chapter_toml_is_a_japanese_error_naming_the_exercise(tmp_path):
    root = engine_course(tmp_path, challenge=None)
    data = root / "checks" / "01_basics" / "chapter.toml"
    data.write_text(replace_exactly(data.read_text(encoding="utf-8"), "[exercises.scaled]\n",
                                    '[exercises.scaled]\ntrack = "bonus"\n'), encoding="utf-8")
    with pytest.raises(catalog.CatalogError, match="scaled") as info:
        catalog.Catalog(root).chapters()
    assert "『bonus』" in str(info.value) and "chapter.toml" in str(info.value)


def test_a_learner_asking_for_a_left_out_exercise_is_told_why(tmp_path):
    ch = catalog.Catalog(engine_course(tmp_path, KEEP_CORE)).chapter("01")
    with pytest.raises(UsageError) as info:
        resolve_exercise(ch, CHALLENGE)
    assert str(info.value) == messages.LEFT_OUT_EXERCISE.format(name=CHALLENGE, track="challenge")
    assert resolve_exercise(ch, "scaled").name == "scaled"


# -- learning mode: the checks run, the report and the progress table ------------------------------------------------

def _learner_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, root: Path, tmp_path: Path,
                 *args: str) -> tuple[pytest.RunResult, dict]:
    """The references in a learner's copy (all solved), run from the course's folder; the JSON report too."""
    learner = tmp_path / "learner"
    if not learner.exists():
        shutil.copytree(root / "solutions", learner / "exercises")
    monkeypatch.chdir(root)
    report = tmp_path / "report.json"
    result = pytester.runpytest("exercises/01", f"--kata-submission={learner}", "--kata-seed=1", "--assert=plain",
                                "-p", "no:cacheprovider", "-p", "no:unraisableexception", f"--kata-report={report}",
                                *args)
    return result, json.loads(report.read_text(encoding="utf-8"))


def test_a_left_out_exercise_is_not_run_scored_or_listed_when_learning(pytester, monkeypatch, tmp_path):
    root = engine_course(tmp_path, KEEP_CORE)
    result, report = _learner_run(pytester, monkeypatch, root, tmp_path)
    assert result.ret == 0
    assert [e["exercise"] for e in report["exercises"]] == ["answer", "scaled"]
    ran = {t["nodeid"].split("::")[-1] for t in report["tests"]}
    assert ran and not any(name.startswith(f"test_{CHALLENGE}") for name in ran), ran
    out = result.stdout.str()
    assert CHALLENGE not in out
    result.stdout.fnmatch_lines([messages.COLLECTED.format(count=len(ran))])
    title = catalog.Catalog(root).chapter("01").title
    result.stdout.fnmatch_lines([f"01  {title}* 2 / 2 *"])
    # `-k` with the left-out exercise's name runs nothing of it.
    result, report = _learner_run(pytester, monkeypatch, root, tmp_path, "-k", CHALLENGE)
    assert report["tests"] == []


def test_without_the_setting_the_challenge_is_run_and_listed(pytester, monkeypatch, tmp_path):
    root = engine_course(tmp_path)
    result, report = _learner_run(pytester, monkeypatch, root, tmp_path)
    assert result.ret == 0
    assert [e["exercise"] for e in report["exercises"]] == ["answer", "scaled", CHALLENGE]
    title = catalog.Catalog(root).chapter("01").title
    result.stdout.fnmatch_lines([f"01  {title}* 3 / 3 *"])


def test_the_stub_of_a_left_out_exercise_stays_in_the_learners_file(tmp_path):
    """The learner's file keeps every exercise (the stub is made from the reference, whatever the tracks): a
    teacher who turns the challenges back on needs no new stubs."""
    ch = catalog.Catalog(engine_course(tmp_path, KEEP_CORE)).chapter("01")
    assert f"def {CHALLENGE}(" in stubs.stub_source(ch)


# -- chapters named on a command line: one parser for every command --------------------------------------------------

def test_chapters_are_named_by_number_key_path_list_or_range():
    every = list(catalog.chapters())
    first, second, third = every[:3]
    assert catalog.named_chapters(None) == every and catalog.named_chapters([]) == every
    assert catalog.named_chapters(f"{third.number},{first.number}") == [third, first]  # the order named
    assert catalog.named_chapters([first.key, first.number, f"exercises/{first.key}"]) == [first]
    assert catalog.named_chapters(f"{first.number}-{third.number}") == [first, second, third]
    assert catalog.named_chapter(int(second.number)) == second


def test_every_command_refuses_a_chapter_with_the_same_japanese_line():
    from kata.grading import parent

    choices = ", ".join(c.key for c in catalog.chapters())
    bad = messages.BAD_CHAPTER.format(token="99", choices=choices)
    for call in (lambda: catalog.named_chapter("99"), lambda: catalog.named_chapters(["01", "99"]),
                 lambda: catalog.named_chapters("98-99")):
        with pytest.raises(UsageError) as info:
            call()
        assert str(info.value) in (bad, messages.BAD_CHAPTER.format(token="98-99", choices=choices))
    with pytest.raises(parent.GradingError) as graded:
        parent.select_chapters("01,99")
    assert str(graded.value) == bad
    with pytest.raises(UsageError) as none:
        catalog.named_chapter(" ")
    assert str(none.value) == messages.NO_CHAPTER.format(choices=choices)


def test_no_command_parses_chapter_names_by_itself():
    """The Japanese errors about a chapter name are written by the one parser (and the plugin's path mapping)."""
    kata = Path(catalog.__file__).parent
    users = sorted(str(p.relative_to(kata)) for p in kata.rglob("*.py")
                   if "BAD_CHAPTER.format" in p.read_text(encoding="utf-8")
                   or "NO_CHAPTER.format" in p.read_text(encoding="utf-8"))
    assert users == ["catalog.py", "plugin.py"]
