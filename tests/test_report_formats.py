"""The report formats of ``kata grade``: every output is checked against the fields its reader documents, and against
what each reader does with it (Gradescope's visibility, the Classroom reporter's arithmetic, Exercism v3's
top-level error).  Learner text (verdicts carry what learner code raised) is made safe in every format."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ROOT
from kata import catalog, messages, report
from kata.grading import parent
from kata.report import ChapterResult, ExerciseResult, GradeResult
from kata.status import ChapterOutcome, CheckResult, ExerciseStatus

pytestmark = pytest.mark.timeout(600)  # real grading runs, on a shared machine

# -- the documented fields (the independent oracle) ---------------------------------------------------------------
# Gradescope autograder specification, results.json
GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
                   "visibility", "extra_data"}
GRADESCOPE_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")
GRADESCOPE_STATUS = {"passed", "failed"}
GRADESCOPE_FORMATS = {"text", "simple_format", "html", "md", "ansi"}
# GitHub Classroom autograding reporter (classroom-resources/autograding-grading-reporter): reads status, max_score,
# tests[].name / status / score / message / line_no / test_code of each runner's base64-encoded JSON; the fields
# autograding-command-grader sends
CLASSROOM_TOP = {"version", "status", "message", "max_score", "tests"}
CLASSROOM_TEST = {"name", "status", "score", "message", "test_code", "filename", "line_no", "execution_time"}
CLASSROOM_STATUS = {"pass", "fail", "error"}
# Exercism test runner interface, version 3
EXERCISM_TOP = {"version", "status", "message", "tests"}
EXERCISM_TEST = {"name", "test_code", "status", "message", "output", "task_id"}
EXERCISM_STATUS = {"pass", "fail", "error"}

#: What learner code can put into a verdict: a lone surrogate, control characters (an ANSI escape, NUL, a C1 and
#: a bidirectional override), HTML and megabytes.
HOSTILE = "a\ud800b\x00c\x1b[31mred\x85\u202eevil\r\n<script>alert(1)</script><b>bold</b>" + "x" * 5_000_000


def _check(fn: str, exercise: str, status: str, verdict: str = "", chapter: str = "01_setup",
           advisory: bool = False) -> CheckResult:
    return CheckResult(f"checks/{chapter}/test_seeds.py::{fn}", chapter, exercise, fn.split("[")[0], status, verdict,
                       advisory=advisory)


@pytest.fixture
def mixed() -> GradeResult:
    """Every exercise status, uneven points (2.5 and 0.5), an advisory check that failed on a passed exercise, a
    check that did not run, and a chapter whose file could not be read."""
    result = GradeResult("/tmp/submission", seed=7, seconds=3.2, isolation="root")
    result.chapters = [ChapterResult("01_setup", "環境確認と乱数シード", "seeds.py", score=2.5, max_score=5),
                       ChapterResult("02_creation", "テンソルの作成", "creation.py", outcome=ChapterOutcome.ERROR,
                                     message="『exercises/02_creation/creation.py』が見つかりません。", max_score=2)]
    advice = "演算の規則: for ループで要素ごとに足しています。"
    result.exercises = [
        ExerciseResult("01_setup", "torch_version", 2.5, 2.5, ExerciseStatus.PASS,
                       messages.GRADE_PASS + "\n" + advice + "\n" + messages.ADVISORY_NOTE,
                       [_check("test_torch_version_is_str", "torch_version", "pass"),
                        _check("test_torch_version_ops", "torch_version", "fail", advice, advisory=True),
                        _check("test_torch_version_on_gpu", "torch_version", "skip", messages.SKIP_NO_CUDA)]),
        ExerciseResult("01_setup", "seeded_rand", 1, 0, ExerciseStatus.FAIL, "戻り値の形状 (shape) が違います。",
                       [_check("test_seeded_rand_source_values", "seeded_rand", "fail", "戻り値の形状 (shape) が違います。"),
                        _check("test_seeded_rand_matches_reference", "seeded_rand", "notrun",
                               messages.GRADE_NOT_RUN.format(why=messages.GRADE_PENDING))]),
        ExerciseResult("01_setup", "same_random_twice", 1, 0, ExerciseStatus.TODO, messages.TODO,
                       [_check("test_same_random_twice_equal", "same_random_twice", "todo", messages.TODO)]),
        ExerciseResult("01_setup", "rand_with_generator", 0.5, 0, ExerciseStatus.SKIP, messages.SKIP_NO_CUDA,
                       [_check("test_rand_with_generator_on_gpu", "rand_with_generator", "skip",
                               messages.SKIP_NO_CUDA)]),
        ExerciseResult("02_creation", "make_empty", 1, 0, ExerciseStatus.FAIL, result.chapters[1].message, []),
        ExerciseResult("02_creation", "make_zeros", 1, 0, ExerciseStatus.ERROR, messages.GRADE_NO_CHECKS, []),
    ]
    return result


def _hostile_result(exercises: int = 3) -> GradeResult:
    """Learner text in every place it can reach a report."""
    result = GradeResult("/tmp/sub\udcffmission", seed=1, isolation="basic", warnings=[HOSTILE])
    result.chapters = [ChapterResult("01_setup", "環境確認と乱数シード", "seeds.py", outcome=ChapterOutcome.TIMEOUT,
                                     message=HOSTILE, max_score=exercises)]
    for i in range(exercises):
        name = f"exercise_{i}"
        result.exercises.append(ExerciseResult("01_setup", name, 1, 0, ExerciseStatus.FAIL, HOSTILE,
                                               [_check(f"test_{name}_fact", name, "fail", HOSTILE),
                                                _check(f"test_{name}_other", name, "notrun", HOSTILE)]))
    return result


@pytest.fixture(scope="session")
def real_result(tmp_path_factory) -> GradeResult:
    """Chapter 01's reference graded for real, beside the untouched stub of another chapter."""
    sub = tmp_path_factory.mktemp("refsub")
    shutil.copytree(catalog.SOLUTIONS / "01_setup", sub / "exercises" / "01_setup")
    other = next((c for c in catalog.chapters() if c.key != "01_setup"), None)
    keys = "01" + (f",{other.number}" if other else "")
    if other:
        shutil.copytree(catalog.EXERCISES / other.key, sub / "exercises" / other.key)
    return parent.grade(sub, chapters=keys, seed=11)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# -- totals and the plain report -------------------------------------------------------------------------------

def test_total_is_the_sum_of_points_of_passed_exercises(mixed):
    assert mixed.score == 2.5
    assert mixed.max_score == 7


def test_plain_json_gives_per_exercise_score_max_and_japanese_verdict(mixed):
    data = report.to_json(mixed)
    assert data["score"] == 2.5 and data["max_score"] == 7 and data["isolation"] == "root"
    by_name = {e["name"]: e for e in data["exercises"]}
    assert by_name["01 torch_version"]["score"] == 2.5 and by_name["01 torch_version"]["max_score"] == 2.5
    assert by_name["01 seeded_rand"]["score"] == 0 and "形状" in by_name["01 seeded_rand"]["verdict"]
    assert all(e["verdict"] for e in data["exercises"])
    assert [c["key"] for c in data["chapters"]] == ["01_setup", "02_creation"]
    assert json.loads(report.render(mixed, "json")) == data


def test_advisory_checks_are_reported_with_their_flag_and_do_not_cost_points(mixed):
    data = report.to_json(mixed)
    torch_version = next(e for e in data["exercises"] if e["exercise"] == "torch_version")
    flags = {c["function"]: c["advisory"] for c in torch_version["checks"]}
    assert flags == {"test_torch_version_is_str": False, "test_torch_version_ops": True,
                     "test_torch_version_on_gpu": False}
    assert torch_version["status"] == "pass" and torch_version["score"] == 2.5
    assert messages.ADVISORY_NOTE in torch_version["verdict"]


@pytest.mark.slow
def test_from_json_gives_back_the_same_report(mixed, real_result):
    for result in (mixed, real_result):
        data = report.to_json(result)
        again = report.from_json(json.loads(json.dumps(data)))
        assert report.to_json(again) == data
        assert report.to_classroom(again) == report.to_classroom(result)


def test_unknown_format_names_the_valid_ones(mixed):
    with pytest.raises(ValueError, match="gradescope"):
        report.render(mixed, "junit")


# -- learner text in every format --------------------------------------------------------------------------------

def test_clean_replaces_surrogates_drops_controls_and_truncates():
    text = report.clean(HOSTILE)
    assert text.encode("utf-8")  # strict: no lone surrogate left
    assert not any(ord(c) < 32 and c not in "\t\n" for c in text)
    assert "\x85" not in text and "\u202e" not in text and "\r" not in text
    assert len(text) <= report.VERDICT_LIMIT + 1 and text.endswith("…")
    assert "<script>" in text  # kept as text: every format below says it is plain text
    assert report.clean("正解") == "正解" and report.clean("a\tb\nc") == "a\tb\nc"


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_every_format_is_valid_utf8_json_whatever_the_learner_text(fmt):
    rendered = report.render(_hostile_result(), fmt, visibility="after_due_date")
    raw = rendered.encode("utf-8")  # strict
    data = json.loads(raw.decode("utf-8"))
    assert len(raw) < 200_000
    for text in _strings(data):
        assert not any(ord(c) < 32 and c not in "\t\n" for c in text), text[:80]
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        assert "\u202e" not in text and "\x1b" not in text
        assert len(text) <= 10_001


def test_gradescope_shows_learner_html_as_text():
    data = report.to_gradescope(_hostile_result())
    assert data["output_format"] == "text" and data["test_output_format"] == "text"
    assert {t["output_format"] for t in data["tests"]} == {"text"}
    assert all("<script>" in t["output"] for t in data["tests"])  # shown literally, never rendered


@pytest.mark.slow
def test_a_grade_with_a_non_utf8_submission_path_still_writes_its_report(tmp_path):
    sub = tmp_path / "sub\udcffmission"  # a folder name that is not UTF-8 (surrogate-escaped by Python)
    sub.mkdir()
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "kata", "grade", str(sub), "--chapters", "01", "--output", str(out),
                           "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["score"] == 0


# -- Gradescope ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["mixed", pytest.param("real_result", marks=pytest.mark.slow)])
def test_gradescope_fields(request, which):
    result = request.getfixturevalue(which)
    data = report.to_gradescope(result)
    assert set(data) <= GRADESCOPE_TOP
    assert data["visibility"] in GRADESCOPE_VISIBILITY and data["stdout_visibility"] == "hidden"
    assert data["output_format"] in GRADESCOPE_FORMATS and data["test_output_format"] in GRADESCOPE_FORMATS
    assert isinstance(data["execution_time"], int)
    assert len(data["tests"]) == len(result.exercises)
    for test in data["tests"]:
        assert set(test) <= GRADESCOPE_TEST
        assert {"name", "score", "max_score", "status", "output"} <= set(test)
        assert test["status"] in GRADESCOPE_STATUS and test["visibility"] in GRADESCOPE_VISIBILITY
        assert 0 <= test["score"] <= test["max_score"]
        assert (test["status"] == "passed") == (test["score"] == test["max_score"] > 0)
        assert isinstance(test["tags"], list) and all(isinstance(t, str) for t in test["tags"])
    assert data["score"] == sum(t["score"] for t in data["tests"]) == result.score


@pytest.mark.parametrize("visibility", GRADESCOPE_VISIBILITY)
def test_gradescope_visibility_is_kept_everywhere(mixed, visibility):
    data = json.loads(report.render(mixed, "gradescope", visibility=visibility))
    assert data["visibility"] == visibility
    assert {t["visibility"] for t in data["tests"]} == {visibility}
    assert data["stdout_visibility"] == "hidden"  # stdout/stderr hold internals: instructors only


def test_gradescope_numbers_are_unique_per_chapter_and_exercise(mixed):
    numbers = [t["number"] for t in report.to_gradescope(mixed)["tests"]]
    assert numbers == ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2"]


# -- GitHub Classroom ---------------------------------------------------------------------------------------

def _reporter(encoded: str) -> dict:
    """What the classroom reporter does with a runner's base64 payload: its log table total (sum of the tests'
    scores), its annotation (``Points total/max``), the passed count and the messages it prints (errored only)."""
    results = json.loads(base64.b64decode(encoded).decode("utf-8"))
    total = sum(t["score"] for t in results["tests"])
    annotation = f"Points {total}/{results['max_score']}" if results["max_score"] else None
    return {"total": total, "max": results["max_score"], "annotation": annotation,
            "passed": sum(t["status"] == "pass" for t in results["tests"]),
            "printed": [t.get("message") for t in results["tests"] if t["status"] == "error"]}


def _encoded(result: GradeResult) -> str:
    return base64.b64encode(report.render(result, "classroom").encode("utf-8")).decode("ascii")


@pytest.mark.parametrize("which", ["mixed", pytest.param("real_result", marks=pytest.mark.slow)])
def test_classroom_fields_and_reporter_totals(request, which):
    result = request.getfixturevalue(which)
    data = report.to_classroom(result)
    assert set(data) <= CLASSROOM_TOP
    assert data["status"] in CLASSROOM_STATUS
    for test in data["tests"]:
        assert set(test) <= CLASSROOM_TEST
        assert {"name", "status", "score", "message"} <= set(test)
        assert test["status"] in CLASSROOM_STATUS
        assert test["line_no"] == 0  # the reporter prints " - line N" for anything else
    seen = _reporter(_encoded(result))
    assert (seen["total"], seen["max"]) == (result.score, result.max_score)
    assert seen["passed"] == sum(e.status == ExerciseStatus.PASS for e in result.exercises)


def test_classroom_uneven_points_give_the_same_total_in_table_and_annotation(mixed):
    seen = _reporter(_encoded(mixed))
    assert seen["total"] == 2.5 and seen["max"] == 7
    assert seen["annotation"] == "Points 2.5/7"
    assert report.to_json(mixed)["score"] == seen["total"]


def test_classroom_status_is_fail_when_an_exercise_fails(mixed):
    assert report.to_classroom(mixed)["status"] == "fail"


def test_classroom_result_stays_far_below_the_environment_limit_when_everything_fails_loudly():
    result = _hostile_result(exercises=64)
    encoded = _encoded(result)
    assert len(encoded) < 64 * 1024  # one environment string may hold 128 KiB
    data = json.loads(base64.b64decode(encoded))
    assert len(data["tests"]) == 64 and all(t["message"] for t in data["tests"])
    assert _reporter(encoded)["max"] == 64


def test_classroom_summary_prints_the_japanese_verdicts_and_the_total_last(mixed):
    text = report.classroom_summary(mixed)
    lines = text.splitlines()
    assert "✔ 01 torch_version (2.5/2.5)" in lines
    assert "✘ 01 seeded_rand (0/1)" in lines and "    戻り値の形状 (shape) が違います。" in lines
    assert "・ 01 same_random_twice (0/1) 未着手" in lines
    assert "    演算の規則: for ループで要素ごとに足しています。" in lines  # advice on a passed exercise
    assert lines[-1] == messages.GRADE_SUMMARY.format(score=2.5, max_score=7, chapters=2, exercises=6)


def test_classroom_summary_of_learner_text_is_bounded_and_clean():
    text = report.classroom_summary(_hostile_result(exercises=64))
    assert text.encode("utf-8") and len(text) < 64 * 2000
    assert "\x1b" not in text and "\x00" not in text


def test_classroom_fallback_result_is_an_error_worth_zero_of_the_full_score():
    data = report.classroom_error(6.5, report.CLASSROOM_NOT_GRADED)
    assert set(data) <= CLASSROOM_TOP and data["status"] == "error"
    seen = _reporter(base64.b64encode(json.dumps(data, ensure_ascii=False).encode()).decode())
    assert (seen["total"], seen["max"]) == (0, 6.5)
    assert seen["printed"] == [report.CLASSROOM_NOT_GRADED]


# -- Exercism -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["mixed", pytest.param("real_result", marks=pytest.mark.slow)])
def test_exercism_v3_fields(request, which):
    result = request.getfixturevalue(which)
    data = report.to_exercism(result)
    assert set(data) <= EXERCISM_TOP
    assert data["version"] == 3 and data["status"] in EXERCISM_STATUS
    assert ("message" in data) == (data["status"] == "error")
    all_ids = set(report.exercise_task_ids().values())
    for test in data["tests"]:
        assert set(test) <= EXERCISM_TEST
        assert {"name", "test_code", "status", "task_id"} <= set(test)
        assert test["status"] in EXERCISM_STATUS
        assert isinstance(test["task_id"], int) and test["task_id"] in all_ids
        assert ("message" in test) == (test["status"] != "pass")
        assert len(test.get("output", "")) <= report.EXERCISM_OUTPUT_LIMIT


def test_exercism_marks_checks_that_did_not_run_as_error_and_leaves_out_skips(mixed):
    tests = {t["name"]: t for t in report.to_exercism(mixed)["tests"]}
    assert tests["01 seeded_rand: test_seeded_rand_matches_reference"]["status"] == "error"
    assert not any("on_gpu" in name for name in tests)


@pytest.mark.slow
def test_exercism_test_code_is_the_check_body(real_result):
    tests = report.to_exercism(real_result)["tests"]
    first = next(t for t in tests if t["name"].endswith("test_torch_version_is_str"))
    code = first["test_code"]
    assert code and "sub.torch_version" in code
    assert not code.startswith(("def ", "@", '"""', "'''", " "))
    assert all(t["test_code"] for t in tests)


def test_exercism_task_id_is_the_exercise_in_the_whole_catalogue_not_a_position_in_this_run():
    ids = report.exercise_task_ids()
    assert sorted(ids.values()) == list(range(1, len(ids) + 1))
    only_02 = GradeResult("/x", seed=1)
    only_02.chapters = [ChapterResult("02_creation", "テンソルの作成", "creation.py", max_score=1)]
    only_02.exercises = [ExerciseResult("02_creation", "make_empty", 1, 0, ExerciseStatus.FAIL, "違います",
                                        [_check("test_make_empty_shape", "make_empty", "fail", "違います",
                                                chapter="02_creation")])]
    [test] = report.to_exercism(only_02)["tests"]
    assert test["task_id"] == ids[("02_creation", "make_empty")] > len(catalog.chapter("01").exercises)


def test_exercism_status_error_when_no_check_ran():
    result = GradeResult("/x", seed=1)
    result.chapters = [ChapterResult("01_setup", "t", "seeds.py", outcome=ChapterOutcome.TIMEOUT, message="時間切れ")]
    result.exercises = [ExerciseResult("01_setup", "torch_version", 1, 0, ExerciseStatus.FAIL, "時間切れ",
                                       [_check("test_torch_version_is_str", "torch_version", "notrun", "時間切れ")])]
    data = report.to_exercism(result)
    assert data == {"version": 3, "status": "error", "message": "時間切れ", "tests": []}


def _grade_cli(sub: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "kata", "grade", str(sub), "--quiet", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_exercism_real_run_with_a_syntax_error_is_a_top_level_error(tmp_path):
    chapter = catalog.chapter("01")
    target = tmp_path / "exercises" / chapter.key / chapter.file
    target.parent.mkdir(parents=True)
    target.write_text((catalog.SOLUTIONS / chapter.key / chapter.file).read_text(encoding="utf-8")
                      + "\ndef broken(:\n", encoding="utf-8")
    data = _grade_cli(tmp_path, "--chapters", "01", "--format", "exercism")
    assert data["status"] == "error" and data["tests"] == []
    assert "構文エラー" in data["message"] and chapter.file in data["message"]
    assert str(tmp_path) not in data["message"]


@pytest.mark.slow
def test_exercism_real_run_of_an_empty_submission_is_a_top_level_error(tmp_path):
    data = _grade_cli(tmp_path, "--chapters", "01,02", "--format", "exercism")
    assert data["status"] == "error" and data["tests"] == [] and data["message"]
    assert str(tmp_path) not in data["message"]


@pytest.mark.slow
def test_exercism_real_runs_give_the_same_task_id_whatever_the_chapters(real_result, tmp_path):
    other = next(c for c in real_result.chapters if c.key != "01_setup")
    sub = tmp_path / "sub"
    shutil.copytree(catalog.EXERCISES / other.key, sub / "exercises" / other.key)
    alone = _grade_cli(sub, "--chapters", other.key[:2], "--format", "exercism", "--seed", "11")
    together = report.to_exercism(real_result)
    ids_alone = {t["name"]: t["task_id"] for t in alone["tests"]}
    ids_together = {t["name"]: t["task_id"] for t in together["tests"] if t["name"] in ids_alone}
    assert ids_alone and ids_alone == ids_together


# -- the real run -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_real_run_scores_the_reference_and_not_the_stub(real_result):
    by_chapter = {c.key: c for c in real_result.chapters}
    assert by_chapter["01_setup"].score == by_chapter["01_setup"].max_score > 0
    for key, chapter in by_chapter.items():
        if key != "01_setup":
            assert chapter.score == 0
            assert all(e.status == ExerciseStatus.TODO for e in real_result.exercises if e.chapter == key)


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
