"""The pytest plugin as a learner and an instructor meet it: argument mapping, verdicts, isolation, timeouts."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kata import catalog, messages

ROOT = catalog.ROOT
CH01 = catalog.chapter("01")
CHECKS_01 = CH01.check_file.read_text(encoding="utf-8").count("\ndef test_")  # chapter 01 has no parametrised check


def run(args: list[str], cwd: Path = ROOT, timeout: float = 300) -> tuple[int, pytest.LineMatcher, str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    return proc.returncode, pytest.LineMatcher(out.splitlines()), out


def make_submission(tmp_path: Path, ch01_source: str | None = None) -> Path:
    """A learner's copy: the references everywhere, chapter 01 replaced by ``ch01_source``."""
    shutil.copytree(ROOT / "solutions", tmp_path / "exercises")
    if ch01_source is not None:
        (tmp_path / "exercises" / CH01.key / CH01.file).write_text(textwrap.dedent(ch01_source), encoding="utf-8")
    return tmp_path


def graded(tmp_path: Path, *args: str) -> tuple[int, pytest.LineMatcher, str]:
    """Grade the submission in ``tmp_path`` as an instructor does: from the grader's copy (cwd = ROOT)."""
    return run([f"--kata-submission={tmp_path}", *args])


REFERENCE_01 = (ROOT / "solutions" / CH01.key / CH01.file).read_text(encoding="utf-8")


# -- the learner's run on the untouched stubs -----------------------------------------------------------------------

def test_learner_run_reads_todo_not_traceback():
    code, lines, out = run(["exercises/01"])
    assert code == 1
    lines.fnmatch_lines(["* failed*", f"*{messages.SUMMARY_TITLE}*", f"{messages.MARK_TODO} 01 torch_version",
                         f"{messages.MARK_TODO} 01 rand_with_generator"])
    assert out.count(messages.TODO) == 0, "an untouched exercise is one line, not a block per check"
    assert "NotImplementedError" not in out.replace(messages.TODO, "")
    assert "Traceback" not in out


@pytest.mark.parametrize("arg", ["exercises/01", "exercises/01_setup", f"exercises/01_setup/{CH01.file}",
                                 "exercises/1"])
def test_chapter_arguments_select_the_same_checks(arg):
    code, lines, _ = run([arg, "--collect-only", "-q"])
    assert code == 0
    lines.fnmatch_lines([f"checks/01_setup/test_{CH01.file}::test_torch_version_is_str", f"*{CHECKS_01} tests collected*"])


def test_k_selects_exactly_one_exercise():
    code, lines, out = run(["exercises/01", "-k", "seeded_rand", "--collect-only", "-q"])
    lines.fnmatch_lines(["*::test_seeded_rand_source_values", "*::test_seeded_rand_matches_reference",
                         "*/* tests collected (* deselected)*"])


def test_unknown_chapter_is_a_japanese_usage_error():
    code, lines, _ = run(["exercises/99"])
    assert code == 4
    lines.fnmatch_lines(["*章 '99' はありません。選べる章: 01_setup*"])


def test_solutions_pass_and_table_is_printed():
    code, lines, _ = run(["--solutions", "exercises/01"])
    assert code == 0
    lines.fnmatch_lines(["** passed*", f"{messages.MARK_PASS} 01 torch_version", "章  タイトル*",
                         "01  環境確認と乱数シード*4 / 4*"])


# -- verdicts -------------------------------------------------------------------------------------------------------

def test_wrong_answer_verdict_names_difference_and_next_hint(tmp_path):
    make_submission(tmp_path, REFERENCE_01.replace("return torch.rand(shape)",
                                                   "return torch.rand(shape, dtype=torch.float64)"))
    code, lines, out = graded(tmp_path, "exercises/01")
    assert code == 1
    lines.fnmatch_lines([f"{messages.MARK_FAIL} 01 seeded_rand — 『戻り値』のデータ型 (dtype) が違います。"
                         "期待: torch.float32、実際: torch.float64",
                         "    ヒント: *float64*", "    さらにヒントを見る: kata hint 01 seeded_rand"])
    assert out.count("『戻り値』のデータ型") == 1, "one verdict per exercise, not one per check"


def test_learner_exception_shows_learner_line_without_internals(tmp_path):
    make_submission(tmp_path, REFERENCE_01.replace("return torch.rand(shape)", "return torch.rand(shape).view(-1, 7, 3)"))
    code, lines, out = graded(tmp_path, "exercises/01", "-k", "seeded_rand")
    lines.fnmatch_lines([f"*『exercises/01_setup/{CH01.file}:*(seeded_rand)』で例外が発生しました: RuntimeError: *",
                         "        return torch.rand(shape).view(-1, 7, 3)"])
    assert "site-packages" not in out and "kata/" not in out.replace("kata hint", "")


def test_missing_function_is_named(tmp_path):
    source = REFERENCE_01.replace("def torch_version()", "def torch_versio()")
    make_submission(tmp_path, source)
    code, lines, _ = graded(tmp_path, "exercises/01", "-k", "torch_version")
    lines.fnmatch_lines(["*seeds.py』に『torch_version』が定義されていません*"])


# -- isolation ------------------------------------------------------------------------------------------------------

def test_syntax_error_fails_only_that_file(tmp_path):
    make_submission(tmp_path, REFERENCE_01.replace("def seeded_rand(", "def seeded_rand(:"))
    code, lines, out = graded(tmp_path, f"--kata-report={tmp_path / 'r.json'}")
    import json
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    by_chapter = {}
    for t in report["tests"]:
        by_chapter.setdefault(t["chapter"], set()).add(t["status"])
    assert by_chapter.pop(CH01.key) == {"fail"}
    assert all(statuses <= {"pass", "skip"} for statuses in by_chapter.values()), by_chapter
    lines.fnmatch_lines([f"*『exercises/01_setup/{CH01.file}』の * 行目に構文エラーがあります*"])


def test_global_state_changes_do_not_leak(tmp_path):
    """Import-time and call-time changes of default dtype, grad mode and seeds stay inside one check."""
    source = REFERENCE_01.replace("import torch\n", textwrap.dedent("""\
        import numpy, random, torch
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.manual_seed(1234)
        numpy.random.seed(1)
        """), 1).replace("    return str(torch.__version__)", textwrap.indent(textwrap.dedent("""\
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        torch.manual_seed(99)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
        torch.cuda.is_available = lambda: True
        return str(torch.__version__)"""), "    "))
    make_submission(tmp_path, source)
    code, lines, out = graded(tmp_path, "-q")
    assert code == 0, out[-4000:]
    lines.fnmatch_lines([f"{messages.MARK_PASS} 01 torch_version", f"{messages.MARK_PASS} 01 seeded_rand"])


def test_endless_loop_times_out_and_the_run_goes_on(tmp_path):
    source = REFERENCE_01.replace("    return str(torch.__version__)",
                                  "    while True:\n        try:\n            pass\n        except Exception:\n            pass")
    make_submission(tmp_path, source)
    code, lines, out = graded(tmp_path, "exercises/01", "-o", "timeout=4")
    lines.fnmatch_lines(["*2 failed, * passed*",
                         f"{messages.MARK_FAIL} 01 torch_version — {messages.TIMEOUT.format(seconds=4.0)}",
                         "    " + messages.NOT_RUN_AFTER_TIMEOUT.format(count=1),
                         f"{messages.MARK_PASS} 01 seeded_rand"])


def test_sys_exit_in_learner_code_is_a_verdict(tmp_path):
    source = REFERENCE_01.replace("    return str(torch.__version__)", "    import sys\n    sys.exit(3)")
    make_submission(tmp_path, source)
    code, lines, out = graded(tmp_path, "exercises/01")
    lines.fnmatch_lines(["*2 failed, * passed*", "*sys.exit(3)*", f"{messages.MARK_PASS} 01 seeded_rand"])


def test_report_json_has_points_and_statuses(tmp_path):
    code, _, _ = run(["--solutions", "exercises/01", f"--kata-report={tmp_path / 'r.json'}"])
    import json
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["mode"] == "solutions"
    assert [e["exercise"] for e in report["exercises"]] == [e.name for e in CH01.exercises]
    assert all(e["status"] == "pass" and e["points"] == 1 for e in report["exercises"])


def test_bad_seed_names_where_it_came_from():
    code, lines, _ = run(["exercises/01", "--kata-seed=abc"])
    assert code == 4
    lines.fnmatch_lines(["*『--kata-seed』の値 'abc' は整数ではありません*"])
