"""The pytest plugin as a learner and an instructor meet it: argument mapping, verdicts, isolation, timeouts.

Run in-process (pytester) against the engine's test course, ``tests/engine_course/`` (its own rootdir, checks,
references, stubs and mutant catalogue), so that these tests follow the engine and not the real chapters.  Two slow
tests start fresh interpreters: a learner's plain run, and grading mode (learner code behind the sandbox boundary).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ENGINE_COURSE, counts_line, replace_exactly, run_checks
from kata import catalog, messages
from kata.api import mutants
from kata.authoring import stubs

COURSE = catalog.Catalog(ENGINE_COURSE)
CH01, CH02 = COURSE.chapter("01"), COURSE.chapter("02")
CHECKS_01 = CH01.check_file.read_text(encoding="utf-8").count("\ndef test_")  # no parametrised check in chapter 01
REFERENCE_01 = CH01.reference_file().read_text(encoding="utf-8")


class Course:
    """pytest runs of the engine's test course, in this process, from its folder (as a learner runs them)."""

    def __init__(self, pytester: pytest.Pytester):
        self.pytester = pytester

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("-p", "no:cacheprovider", "--assert=plain", "-p", "no:unraisableexception",
                                       *args)

    def graded(self, submission: Path, *args: str) -> pytest.RunResult:
        """Grade a submission as an instructor does: from the course's folder, with ``--kata-submission``."""
        return self.run(f"--kata-submission={submission}", *args)


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Course:
    monkeypatch.chdir(ENGINE_COURSE)
    return Course(pytester)


def make_submission(tmp_path: Path, ch01_source: str | None = None) -> Path:
    """A learner's copy: the references everywhere, chapter 01 replaced by ``ch01_source``."""
    root = tmp_path / "submission"
    shutil.copytree(COURSE.solutions, root / "exercises")
    if ch01_source is not None:
        (root / "exercises" / CH01.key / CH01.file).write_text(textwrap.dedent(ch01_source), encoding="utf-8")
    return root


# -- the learner's run on the untouched stubs -----------------------------------------------------------------------

def test_learner_run_reads_todo_not_traceback(course):
    result = course.run("exercises/01")
    assert result.ret == 1
    result.stdout.fnmatch_lines([counts_line(todo=CHECKS_01), *messages.FIRST_RUN.splitlines(),
                                 f"{messages.MARK_TODO} 01 answer", f"{messages.MARK_TODO} 01 scaled_twice"])
    out = result.stdout.str()
    assert out.count(messages.TODO) == 0, "an untouched exercise is one line, not a block per check"
    assert "NotImplementedError" not in out.replace(messages.TODO, "")
    assert "Traceback" not in out


ENGLISH_HEADER = ("test session starts", "platform ", "rootdir:", "configfile:", "plugins:", "timeout:",
                  "timeout method", "collected ", "collecting ", " failed", " passed")


def test_a_learner_run_has_no_english_header_or_counts_and_keeps_the_exit_status(course):
    result = course.run("exercises/01")
    assert result.ret == 1  # pytest's: some check did not pass
    out = result.stdout.str()
    assert [word for word in ENGLISH_HEADER if word in out] == []
    result.stdout.fnmatch_lines([f"*{messages.SUMMARY_TITLE}*", "kata: *", messages.COLLECTED.format(count=CHECKS_01),
                                 counts_line(todo=CHECKS_01)])


def test_verbose_lists_every_check_under_the_japanese_header(course):
    result = course.run("exercises/01", "-v")
    assert result.ret == 1
    result.stdout.fnmatch_lines([messages.COLLECTED.format(count=CHECKS_01),
                                 f"*::test_answer_is_int {messages.MARK_TODO}*", counts_line(todo=CHECKS_01)])
    assert "platform " not in result.stdout.str() and "collecting" not in result.stdout.str()


def test_the_engines_own_tests_and_the_reference_run_keep_pytests_reporter(course):
    result = course.run("--solutions", "exercises/01")
    result.stdout.fnmatch_lines(["*test session starts*", f"*{CHECKS_01} passed*"])


@pytest.mark.parametrize("arg", ["exercises/01", f"exercises/{CH01.key}", f"exercises/{CH01.key}/{CH01.file}",
                                 "exercises/1"])
def test_chapter_arguments_select_the_same_checks(course, arg):
    result = course.run(arg, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"checks/{CH01.key}/test_{CH01.file}::test_answer_is_int",
                                 f"*{CHECKS_01} tests collected*"])


def test_k_selects_exactly_one_exercise_not_every_name_it_is_part_of(course):
    result = course.run("exercises/01", "-k", "scaled", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*::test_scaled_source_values", "*::test_scaled_matches_reference",
                                 f"2/{CHECKS_01} tests collected ({CHECKS_01 - 2} deselected)*"])
    assert "scaled_twice" not in result.stdout.str()


def test_unknown_chapter_is_a_japanese_usage_error(course):
    result = course.run("exercises/99")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"*章 '99' はありません。選べる章: {CH01.key}, {CH02.key}*"])


def test_a_wrong_file_name_in_a_chapter_is_a_japanese_usage_error(course):
    result = course.run(f"exercises/{CH01.key}/nope.py")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"*『{CH01.key}』のファイルは {CH01.file} です ('nope.py' はありません)*"])


def test_solutions_pass_and_table_is_printed(course):
    result = course.run("--solutions", "exercises/01")
    assert result.ret == 0
    n = len(CH01.exercises)
    result.stdout.fnmatch_lines([f"*{CHECKS_01} passed*", f"{messages.MARK_PASS} 01 answer", "章  タイトル*",
                                 f"01  {CH01.title}*{n} / {n}*"])


# -- verdicts -------------------------------------------------------------------------------------------------------

def test_wrong_answer_verdict_names_difference_and_next_hint(course, tmp_path):
    sub = make_submission(tmp_path, replace_exactly(REFERENCE_01, "return x * k", "return (x * k).double()"))
    result = course.graded(sub, "exercises/01")
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"{messages.MARK_FAIL} 01 scaled — 『戻り値』のデータ型 (dtype) が違います。"
                                 "期待: torch.float32、実際: torch.float64",
                                 "    ヒント: *float64*", "    さらにヒントを見る: kata hint 01 scaled"])
    assert result.stdout.str().count("『戻り値』のデータ型") == 1, "one verdict per exercise, not one per check"


def test_learner_exception_shows_learner_line_without_internals(course, tmp_path):
    sub = make_submission(tmp_path, replace_exactly(REFERENCE_01, "return x * k", "return (x * k).view(-1, 7, 3)"))
    result = course.graded(sub, "exercises/01", "-k", "scaled")
    result.stdout.fnmatch_lines([f"*『exercises/{CH01.key}/{CH01.file}:*(scaled)』で例外が発生しました: RuntimeError: *",
                                 "        return (x * k).view(-1, 7, 3)"])
    out = result.stdout.str()
    assert "site-packages" not in out and "kata/" not in out.replace("kata hint", "")


def test_missing_function_is_named(course, tmp_path):
    sub = make_submission(tmp_path, replace_exactly(REFERENCE_01, "def answer()", "def answr()"))
    result = course.graded(sub, "exercises/01", "-k", "answer")
    result.stdout.fnmatch_lines([f"*{CH01.file}』に『answer』が定義されていません*"])


# -- isolation ------------------------------------------------------------------------------------------------------

def test_syntax_error_fails_only_that_file(course, tmp_path):
    sub = make_submission(tmp_path, replace_exactly(REFERENCE_01, "def scaled(", "def scaled(:"))
    result = course.graded(sub, f"--kata-report={tmp_path / 'r.json'}")
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    by_chapter: dict[str, set[str]] = {}
    for t in report["tests"]:
        by_chapter.setdefault(t["chapter"], set()).add(t["status"])
    assert by_chapter == {CH01.key: {"fail"}, CH02.key: {"pass"}}
    line = REFERENCE_01.splitlines().index(next(t for t in REFERENCE_01.splitlines() if t.startswith("def scaled("))) + 1
    result.stdout.fnmatch_lines([f"{messages.MARK_FAIL} 01 {CH01.file} — 『exercises/{CH01.key}/{CH01.file}』の {line} "
                                 "行目に構文エラーがあります*"])


@pytest.mark.parametrize("edit", [("def scaled(", "def scaled(:"),  # a syntax error
                                  ("def answer(", "import no_such_module_here\n\n\ndef answer(")],  # at import
                         ids=["syntax", "import"])
def test_a_file_that_cannot_be_imported_is_one_line_with_no_exercise_hint(course, tmp_path, edit):
    result = course.graded(make_submission(tmp_path, replace_exactly(REFERENCE_01, *edit)), "exercises/01")
    out = result.stdout.str()
    result.stdout.fnmatch_lines([f"{messages.MARK_FAIL} 01 {CH01.file} — 『exercises/{CH01.key}/{CH01.file}』*",
                                 "    " + messages.FILE_UNREADABLE_EXERCISES.format(count=len(CH01.exercises))])
    assert out.count(f"『exercises/{CH01.key}/{CH01.file}』") == 1, "the file's error once, not once per exercise"
    assert messages.NEXT_HINT.split("{")[0] not in out, "no exercise's hint for the file's own error"
    assert not any(line.startswith(f"{messages.MARK_FAIL} 01 {ex.name}") for ex in CH01.exercises
                   for line in result.outlines)


def test_global_state_changes_do_not_leak(course, tmp_path):
    """Import-time and call-time changes of default dtype, grad mode and seeds stay inside one check."""
    source = replace_exactly(REFERENCE_01, "import torch\n", textwrap.dedent("""\
        import numpy, random, torch
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.manual_seed(1234)
        numpy.random.seed(1)
        """))
    source = replace_exactly(source, "    return 42\n", textwrap.indent(textwrap.dedent("""\
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.manual_seed(99)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
        torch.cuda.is_available = lambda: True
        return 42
        """), "    "))
    result = course.graded(make_submission(tmp_path, source), "-q")
    assert result.ret == 0, result.stdout.str()[-4000:]
    result.stdout.fnmatch_lines([f"{messages.MARK_PASS} 01 answer", f"{messages.MARK_PASS} 01 scaled"])


def test_endless_loop_times_out_and_the_run_goes_on(course, tmp_path):
    source = replace_exactly(REFERENCE_01, "    return 42\n",
                             "    while True:\n        try:\n            pass\n        except Exception:\n            pass\n")
    result = course.graded(make_submission(tmp_path, source), "exercises/01", "-o", "timeout=2")
    result.stdout.fnmatch_lines([counts_line(passed=CHECKS_01 - 2, failed=2),
                                 f"{messages.MARK_FAIL} 01 answer — {messages.TIMEOUT.format(seconds=2.0)}",
                                 "    " + messages.NOT_RUN_AFTER_TIMEOUT.format(count=1),
                                 f"{messages.MARK_PASS} 01 scaled"])


def test_sys_exit_in_learner_code_is_a_verdict(course, tmp_path):
    source = replace_exactly(REFERENCE_01, "    return 42\n", "    import sys\n    sys.exit(3)\n")
    result = course.graded(make_submission(tmp_path, source), "exercises/01")
    result.stdout.fnmatch_lines([counts_line(passed=CHECKS_01 - 2, failed=2), "*sys.exit(3)*",
                                 f"{messages.MARK_PASS} 01 scaled"])


def test_report_json_has_points_from_chapter_toml_and_statuses(course, tmp_path):
    course.run("--solutions", "exercises/01", f"--kata-report={tmp_path / 'r.json'}")
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["mode"] == "solutions"
    assert [e["exercise"] for e in report["exercises"]] == [e.name for e in CH01.exercises]
    assert [e["points"] for e in report["exercises"]] == [e.points for e in CH01.exercises]
    assert CH01.exercise("scaled").points == 2, "the course gives one exercise other points than the default"
    assert all(e["status"] == "pass" for e in report["exercises"])


def test_report_in_kata_grades_format_comes_from_the_same_model(course, tmp_path):
    """--kata-report-format=json: the learning run's report in kata grade's own format (one report model)."""
    from kata import report

    sub = make_submission(tmp_path, replace_exactly(REFERENCE_01, "    return 42\n", "    return 41\n"))
    course.graded(sub, "exercises/01", f"--kata-report={tmp_path / 'v2.json'}", "--kata-report-format=json",
                  "--kata-seed=7")
    course.graded(sub, "exercises/01", f"--kata-report={tmp_path / 'v1.json'}", "--kata-seed=7")
    text = (tmp_path / "v2.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "kata-grade" and data["version"] == 2 and data["seed"] == 7
    assert report.render(report.from_json(data), "json") == text  # kata grade's renderer, byte for byte
    v1 = json.loads((tmp_path / "v1.json").read_text(encoding="utf-8"))
    assert [(e["exercise"], e["status"]) for e in data["exercises"]] == \
        [(e["exercise"], e["status"]) for e in v1["exercises"]]
    assert "fail" in {e["status"] for e in data["exercises"]} and "pass" in {e["status"] for e in data["exercises"]}
    assert data["score"] == sum(e["points"] for e in v1["exercises"] if e["status"] == "pass")
    assert sorted(c["nodeid"] for e in data["exercises"] for c in e["checks"]) == sorted(t["nodeid"] for t in v1["tests"])


def test_bad_seed_names_where_it_came_from(course):
    result = course.run("exercises/01", "--kata-seed=abc")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*『--kata-seed』の値 'abc' は整数ではありません*"])


# -- in a fresh interpreter -----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_fresh_interpreter_loads_the_plugin_from_the_course_conftest():
    """What a learner types, in a new process: the course's conftest.py loads the plugin, no other set-up."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "exercises/01"],
                          cwd=ENGINE_COURSE, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    pytest.LineMatcher(proc.stdout.splitlines()).fnmatch_lines([
        counts_line(todo=CHECKS_01), f"{messages.MARK_TODO} 01 answer", f"01  {CH01.title}*0 / {len(CH01.exercises)}*"])


# -- the engine's test course itself ----------------------------------------------------------------------------------

@pytest.mark.parametrize("chapter", COURSE.chapters(), ids=lambda c: c.key)
def test_the_engine_course_stubs_are_built_from_its_references(chapter):
    assert chapter.learner_file().read_text(encoding="utf-8") == stubs.stub_source(chapter)


def test_the_engine_course_references_pass_every_check(course):
    result = course.run("--solutions")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"{c.number}  {c.title}*{len(c.exercises)} / {len(c.exercises)}*"
                                 for c in COURSE.chapters()])


# -- grading mode: the same verdicts behind the sandbox boundary ---------------------------------------------------

@pytest.mark.slow
def test_grading_mode_gives_the_learning_mode_outcome_for_every_check(tmp_path):
    """A wrong type, a wrong dtype, an exception, an untouched stub and a right answer: every check ends the same
    way (status and attribute) whether the learner's code runs in this process or in a sandbox worker."""
    source = replace_exactly(REFERENCE_01, "    return 42\n", '    return "42"\n')
    source = replace_exactly(source, "return x * k", "return (x * k).double()")
    source = replace_exactly(source, "    return once, once * k\n", "    raise ValueError('boom')\n")
    sub = make_submission(tmp_path, source)
    stub_02 = stubs.replace_exercise(stubs.stub_source(CH02), CH02.reference_file().read_text(encoding="utf-8"),
                                     "first_row")[0]
    (sub / "exercises" / CH02.key / CH02.file).write_text(stub_02, encoding="utf-8")
    runs = {mode: run_checks(tmp_path / f"{mode}.json", f"--kata-submission={sub}", "--kata-seed=5", *extra,
                             cwd=ENGINE_COURSE)[0]
            for mode, extra in (("learning", ()), ("grading", ("--kata-sandbox",)))}
    assert runs["grading"]["mode"] == runs["learning"]["mode"] == "submission"
    outcome = {mode: {t["nodeid"]: (t["status"], t["attribute"]) for t in run["tests"]} for mode, run in runs.items()}
    assert outcome["grading"] == outcome["learning"]
    assert {status for status, _ in outcome["grading"].values()} == {"pass", "fail", "todo"}
    exercises = {e["exercise"]: e for e in runs["grading"]["exercises"]}
    assert [exercises[name]["status"] for name in ("answer", "scaled", "scaled_twice", "flat", "first_row")] == \
        ["fail", "fail", "fail", "todo", "pass"]
    assert "データ型 (dtype)" in exercises["scaled"]["verdict"] and "ValueError" in exercises["scaled_twice"]["verdict"]


@pytest.mark.slow
def test_global_state_reported_by_learner_code_is_never_taken_on_by_the_check(tmp_path):
    """Learner code that changes the global configuration (here the default dtype) changes the learner's world only:
    the check builds its expected values in its own state in both modes (the trusted process never applies what
    the worker reports; learning mode fences the learner's configuration), so both modes give the same outcome."""
    source = replace_exactly(REFERENCE_01, "return x * k", "torch.set_default_dtype(torch.float64)\n    return x * k")
    sub = make_submission(tmp_path, source)
    runs = {mode: run_checks(tmp_path / f"{mode}.json", f"--kata-submission={sub}", "--kata-seed=5", *extra,
                             cwd=ENGINE_COURSE)[0]
            for mode, extra in (("learning", ()), ("grading", ("--kata-sandbox",)))}
    outcome = {mode: {t["nodeid"]: (t["status"], t["attribute"]) for t in run["tests"]} for mode, run in runs.items()}
    assert outcome["grading"] == outcome["learning"]
    scaled = {nodeid: status for nodeid, (status, _) in outcome["grading"].items() if "scaled" in nodeid}
    assert scaled and set(scaled.values()) == {"pass"}, scaled


# -- the mutant catalogue: wrong answers the checks must reject -----------------------------------------------------

def test_mutant_mode_rejects_every_wrong_answer_naming_what_differs(course, tmp_path, monkeypatch):
    """``--kata-mutants`` runs each check against the reference with one wrong answer swapped in (the course's own
    ``tests/mutants/``); every wrong answer fails a check whose verdict says what differs."""
    monkeypatch.setattr(mutants, "REGISTRY", [])  # this run's catalogue only, not this process's
    course.run("--kata-mutants", f"--kata-report={tmp_path / 'r.json'}")
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["mode"] == "mutants"
    assert {(m.chapter, m.exercise) for m in mutants.REGISTRY} == {(CH01.key, "answer"), (CH01.key, "scaled"),
                                                                    (CH01.key, "scaled_twice")}
    for m in mutants.REGISTRY:
        failing = [t["verdict"] for t in report["tests"] if t["mutant"] == m.id and t["status"] == "fail"]
        assert any(all(fragment in v for fragment in m.expect) for v in failing), (m.id, failing)
    assert {t["mutant"] for t in report["tests"]} == {m.id for m in mutants.REGISTRY}, "only mutated checks run"
