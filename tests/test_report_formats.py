"""The report formats of ``kata grade``: every output is checked against the fields its reader documents."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from kata import catalog, grading, messages, report
from kata.report import CheckResult, ChapterResult, ExerciseResult, GradeResult

from conftest import ROOT

# -- the documented fields (the independent oracle) ---------------------------------------------------------------
# Gradescope autograder specification, results.json
GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
                   "visibility", "extra_data"}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
GRADESCOPE_STATUS = {"passed", "failed"}
# GitHub Classroom autograding reporter (classroom-resources/autograding-grading-reporter): reads status, max_score,
# tests[].name / status / score / message of each runner's base64-encoded JSON
CLASSROOM_TOP = {"version", "status", "message", "max_score", "tests"}
CLASSROOM_TEST = {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}
CLASSROOM_STATUS = {"pass", "fail", "error"}
# Exercism test runner interface, version 3
EXERCISM_TOP = {"version", "status", "message", "tests"}
EXERCISM_TEST = {"name", "test_code", "status", "message", "output", "task_id"}
EXERCISM_STATUS = {"pass", "fail", "error"}


def _check(nodeid_fn: str, exercise: str, status: str, verdict: str = "", chapter: str = "01_setup") -> CheckResult:
    return CheckResult(f"checks/{chapter}/test_seeds.py::{nodeid_fn}", chapter, exercise, nodeid_fn.split("[")[0],
                       status, verdict)


@pytest.fixture
def mixed() -> GradeResult:
    """A result with every exercise status: pass, fail (and a check that did not run), todo, skip, tampered, error."""
    result = GradeResult("/tmp/submission", seed=7, seconds=3.2)
    result.chapters = [ChapterResult("01_setup", "環境確認と乱数シード", "seeds.py", outcome=report.CRASHED,
                                     message=messages.GRADE_NOT_RUN_CRASH.format(signal="SIGSEGV"), score=1.5,
                                     max_score=4),
                       ChapterResult("02_creation", "テンソルの作成", "creation.py", outcome=report.TAMPERED,
                                     findings=["torch.equal が差し替えられています"], score=0, max_score=2)]
    result.exercises = [
        ExerciseResult("01_setup", "torch_version", 1.5, 1.5, report.PASS, messages.GRADE_PASS,
                       [_check("test_torch_version_is_str", "torch_version", "pass"),
                        _check("test_torch_version_on_gpu", "torch_version", "skip", messages.SKIP_NO_CUDA)]),
        ExerciseResult("01_setup", "seeded_rand", 1, 0, report.FAIL, "戻り値 の形状 (shape) が違います。",
                       [_check("test_seeded_rand_source_values", "seeded_rand", "fail", "戻り値 の形状 (shape) が違います。"),
                        _check("test_seeded_rand_matches_reference", "seeded_rand", "notrun",
                               messages.GRADE_NOT_RUN_CRASH.format(signal="SIGSEGV"))]),
        ExerciseResult("01_setup", "same_random_twice", 1, 0, report.TODO, messages.TODO,
                       [_check("test_same_random_twice_equal", "same_random_twice", "todo", messages.TODO)]),
        ExerciseResult("01_setup", "rand_with_generator", 0.5, 0, report.SKIP, messages.SKIP_NO_CUDA,
                       [_check("test_rand_with_generator_on_gpu", "rand_with_generator", "skip",
                               messages.SKIP_NO_CUDA)]),
        ExerciseResult("02_creation", "make_empty", 1, 0, report.TAMPERED,
                       messages.GRADE_TAMPERED.format(what="torch.equal が差し替えられています"),
                       [_check("test_make_empty_shape", "make_empty", "pass", chapter="02_creation")]),
        ExerciseResult("02_creation", "make_zeros", 1, 0, report.ERROR, messages.GRADE_NO_CHECKS, []),
    ]
    return result


@pytest.fixture(scope="session")
def real_result(tmp_path_factory) -> GradeResult:
    """Chapter 01's reference graded for real, beside its untouched stub of another chapter."""
    sub = tmp_path_factory.mktemp("refsub")
    shutil.copytree(catalog.SOLUTIONS / "01_setup", sub / "exercises" / "01_setup")
    other = next((c for c in catalog.chapters() if c.key != "01_setup"), None)
    keys = "01" + (f",{other.number}" if other else "")
    if other:
        shutil.copytree(catalog.EXERCISES / other.key, sub / "exercises" / other.key)
    return grading.grade(sub, chapters=keys, seed=11)


def _both(request: pytest.FixtureRequest) -> list[GradeResult]:
    return [request.getfixturevalue("mixed"), request.getfixturevalue("real_result")]


# -- totals --------------------------------------------------------------------------------------------------

def test_total_is_the_sum_of_points_of_passed_exercises(mixed):
    assert mixed.score == 1.5
    assert mixed.max_score == 6


def test_plain_json_gives_per_exercise_score_max_and_japanese_verdict(mixed):
    data = report.to_json(mixed)
    assert data["score"] == 1.5 and data["max_score"] == 6
    by_name = {e["name"]: e for e in data["exercises"]}
    assert by_name["01 torch_version"]["score"] == 1.5 and by_name["01 torch_version"]["max_score"] == 1.5
    assert by_name["01 torch_version"]["verdict"] == messages.GRADE_PASS
    assert by_name["01 seeded_rand"]["score"] == 0 and "形状" in by_name["01 seeded_rand"]["verdict"]
    assert all(e["verdict"] for e in data["exercises"])
    assert [c["key"] for c in data["chapters"]] == ["01_setup", "02_creation"]
    assert json.loads(report.render(mixed, "json")) == data


def test_unknown_format_names_the_valid_ones(mixed):
    with pytest.raises(ValueError, match="gradescope"):
        report.render(mixed, "junit")


# -- Gradescope ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["mixed", "real_result"])
def test_gradescope_fields(request, which):
    result = request.getfixturevalue(which)
    data = report.to_gradescope(result)
    assert set(data) <= GRADESCOPE_TOP
    assert data["visibility"] in GRADESCOPE_VISIBILITY and data["stdout_visibility"] in GRADESCOPE_VISIBILITY
    assert isinstance(data["execution_time"], int)
    assert len(data["tests"]) == len(result.exercises)
    for test in data["tests"]:
        assert set(test) <= GRADESCOPE_TEST
        assert {"name", "score", "max_score", "status", "output"} <= set(test)
        assert test["status"] in GRADESCOPE_STATUS and test["visibility"] in GRADESCOPE_VISIBILITY
        assert 0 <= test["score"] <= test["max_score"]
        assert isinstance(test["tags"], list) and all(isinstance(t, str) for t in test["tags"])
    assert data["score"] == sum(t["score"] for t in data["tests"]) == result.score


def test_gradescope_visibility_is_configurable(mixed):
    data = report.to_gradescope(mixed, visibility="after_published")
    assert data["visibility"] == "after_published"
    assert {t["visibility"] for t in data["tests"]} == {"after_published"}


# -- GitHub Classroom ---------------------------------------------------------------------------------------

def _reporter_totals(encoded: str) -> tuple[float, float, int]:
    """What the classroom reporter computes from a runner's base64 payload: total, max, passed tests."""
    results = json.loads(base64.b64decode(encoded).decode("utf-8"))
    total = sum(t["score"] for t in results["tests"])
    passed = sum(t["status"] == "pass" for t in results["tests"])
    return total, results["max_score"], passed


@pytest.mark.parametrize("which", ["mixed", "real_result"])
def test_classroom_fields_and_reporter_totals(request, which):
    result = request.getfixturevalue(which)
    data = report.to_classroom(result)
    assert set(data) <= CLASSROOM_TOP
    assert data["status"] in CLASSROOM_STATUS
    for test in data["tests"]:
        assert set(test) <= CLASSROOM_TEST
        assert {"name", "status", "score", "message"} <= set(test)
        assert test["status"] in CLASSROOM_STATUS
    encoded = base64.b64encode(report.render(result, "classroom").encode("utf-8")).decode("ascii")
    total, max_score, passed = _reporter_totals(encoded)
    assert (total, max_score) == (result.score, result.max_score)
    assert passed == sum(e.status == report.PASS for e in result.exercises)


def test_classroom_status_is_fail_when_an_exercise_fails(mixed):
    assert report.to_classroom(mixed)["status"] == "fail"


# -- Exercism -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["mixed", "real_result"])
def test_exercism_v3_fields(request, which):
    result = request.getfixturevalue(which)
    data = report.to_exercism(result)
    assert set(data) <= EXERCISM_TOP
    assert data["version"] == 3 and data["status"] in EXERCISM_STATUS
    assert ("message" in data) == (data["status"] == "error")
    task_ids = set()
    for test in data["tests"]:
        assert set(test) <= EXERCISM_TEST
        assert {"name", "test_code", "status", "task_id"} <= set(test)
        assert test["status"] in EXERCISM_STATUS
        assert isinstance(test["task_id"], int) and test["task_id"] >= 1
        assert ("message" in test) == (test["status"] != "pass")
        assert len(test.get("output", "")) <= report.EXERCISM_OUTPUT_LIMIT
        task_ids.add(test["task_id"])
    assert task_ids <= set(range(1, len(result.exercises) + 1))


def test_exercism_marks_checks_that_did_not_run_as_error_and_leaves_out_skips(mixed):
    tests = {t["name"]: t for t in report.to_exercism(mixed)["tests"]}
    assert tests["01 seeded_rand: test_seeded_rand_matches_reference"]["status"] == "error"
    assert not any("on_gpu" in name for name in tests)
    assert tests["02 make_empty: test_make_empty_shape"]["status"] == "fail"  # a pass in a tampered chapter


def test_exercism_test_code_is_the_check_source(real_result):
    tests = report.to_exercism(real_result)["tests"]
    first = next(t for t in tests if t["name"].endswith("test_torch_version_is_str"))
    assert first["test_code"].startswith("def test_torch_version_is_str(sub):")


def test_exercism_status_error_when_no_check_ran():
    result = GradeResult("/x", seed=1)
    result.chapters = [ChapterResult("01_setup", "t", "seeds.py", outcome=report.TIMEOUT, message="時間切れ")]
    result.exercises = [ExerciseResult("01_setup", "torch_version", 1, 0, report.FAIL, "時間切れ",
                                       [_check("test_torch_version_is_str", "torch_version", "notrun", "時間切れ")])]
    data = report.to_exercism(result)
    assert data["status"] == "error" and data["message"] == "時間切れ"


# -- the real run -------------------------------------------------------------------------------------------

def test_real_run_scores_the_reference_and_not_the_stub(real_result):
    by_chapter = {c.key: c for c in real_result.chapters}
    assert by_chapter["01_setup"].score == by_chapter["01_setup"].max_score > 0
    for key, chapter in by_chapter.items():
        if key != "01_setup":
            assert chapter.score == 0
            assert all(e.status == report.TODO for e in real_result.exercises if e.chapter == key)


# -- JUnit XML: pytest's own option keeps working ------------------------------------------------------------

@pytest.mark.slow
def test_junit_xml_through_pytest_option(tmp_path):
    xml = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "--solutions", "exercises/01", f"--junitxml={xml}",
                           "-p", "no:cacheprovider", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:]
    suite = ET.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert int(suite.get("tests")) >= 9 and int(suite.get("failures")) == 0 and int(suite.get("errors")) == 0
