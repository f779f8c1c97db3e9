"""The ``kata`` command as the learner sees it: list, hint, check, reset, solution, bad arguments, and
``kata.check`` from a notebook, on a copy of exercises/ (``KATA_ROOT``).  The commands that run checks run as
``python -m kata`` in a fresh interpreter (marked slow); the others (hint, reset, argument errors) call
``kata.cli.main`` in this process, and a few tests run the entry point itself.

The learner commands serve this repository's course, so these tests use its chapter 01: its counts come from the
catalog and every edit of its source goes through ``replace_exactly`` (a test fails, not passes vacuously, when the
chapter changes under it)."""
from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import counts_line, replace_exactly
from kata import catalog, cli, messages
from kata.authoring import stubs
from kata.frontend import FrontEnd, say, using

ROOT = catalog.ROOT
CH01 = catalog.chapter("01")
REFERENCE = CH01.reference_file().read_text(encoding="utf-8")
STUB = stubs.stub_source(CH01)
N01 = len(CH01.exercises)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

pytestmark = pytest.mark.timeout(600)


def solved(*names: str) -> str:
    source = STUB
    for name in names:
        source, appended = stubs.replace_exercise(source, REFERENCE, name)
        assert not appended, f"{name} is not in the stub of chapter 01"
    return source


class Learner:
    def __init__(self, tmp_path: Path):
        self.root = tmp_path / "learner"
        shutil.copytree(catalog.EXERCISES, self.root / "exercises")
        self.file = CH01.learner_file(self.root)
        self.env = dict(os.environ, KATA_ROOT=str(self.root), KATA_SEED="1", PYTHONIOENCODING="utf-8",
                        PYTEST_ADDOPTS=f"-o cache_dir={tmp_path / 'cache'}")

    def write(self, source: str) -> None:
        self.file.write_text(source, encoding="utf-8")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """``kata ARGS`` in this process, for the commands that run no checks (hint, reset, bad arguments): the same
        ``kata.cli.main`` as ``python -m kata`` without an interpreter's start-up."""
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            for name in ("KATA_ROOT", "KATA_SEED"):
                mp.setenv(name, self.env[name])
            mp.chdir(ROOT)
            try:
                code = cli.main(list(args))
            except SystemExit as exc:  # argparse's errors
                code = exc.code if isinstance(exc.code, int) else 1
        return subprocess.CompletedProcess(["kata", *args], code, out.getvalue(), err.getvalue())

    def kata(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kata", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, encoding="utf-8", timeout=timeout)

    def python(self, code: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              encoding="utf-8", timeout=timeout)


@pytest.fixture
def learner(tmp_path: Path) -> Learner:
    return Learner(tmp_path)


def lines(text: str) -> pytest.LineMatcher:
    return pytest.LineMatcher(text.splitlines())


# -- kata list ------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_list_shows_every_chapter_and_exercise_from_a_real_run(learner):
    learner.write(replace_exactly(solved("torch_version"), "def same_random_twice(", "def same_random_twice(:"))
    proc = learner.kata("list")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for ch in catalog.chapters():
        assert re.search(rf"^{ch.number}  {re.escape(ch.title)}  \(\d+ / {len(ch.exercises)}\)$", out, re.M), ch.key
        for ex in ch.exercises:
            assert re.search(rf"^    \S+ +{ex.name}\b", out, re.M), f"{ch.key} {ex.name} missing from kata list"
    lines(out).fnmatch_lines([  # a syntax error fails every exercise of the file, and only that file
        f"01  {CH01.title}  (0 / {N01})",
        f"    {messages.MARK_FAIL} *torch_version — *構文エラー*",
        f"    {messages.MARK_FAIL} *rand_with_generator — *構文エラー*",
    ])
    assert out.count("構文エラー") == len(CH01.exercises)


@pytest.mark.slow
def test_list_of_one_chapter_marks_pass_fail_and_todo(learner):
    wrong = replace_exactly(solved("torch_version", "same_random_twice"), "return first, second",
                            "return first, second * 2")
    learner.write(wrong)
    proc = learner.kata("list", "01")
    assert proc.returncode == 0, proc.stderr
    lines(proc.stdout).fnmatch_lines([
        f"01  {CH01.title}  (1 / {N01})",
        f"    {messages.MARK_PASS} *torch_version",
        f"    {messages.MARK_TODO}  seeded_rand",
        f"    {messages.MARK_FAIL} *same_random_twice — *値が違います*",
        f"    {messages.MARK_TODO}  rand_with_generator",
        messages.NEXT_STEP.format(file="*seeds.py", exercise="seeded_rand", chapter="01"),
    ])
    assert "02  " not in proc.stdout


# -- kata hint ------------------------------------------------------------------------------------------------------

def test_hint_shows_the_next_level_each_time_and_remembers_it(learner):
    ex = CH01.exercise("seeded_rand")
    first, second, third = (learner.cli("hint", "01", "seeded_rand") for _ in range(3))
    assert first.returncode == second.returncode == third.returncode == 0
    lines(first.stdout).fnmatch_lines([
        messages.HINT_TITLE.format(level=1, total=len(ex.hints), chapter="01", exercise="seeded_rand"),
        f"  {ex.hints[0]}", say(messages.HINT_MORE, "01", "seeded_rand")])
    lines(second.stdout).fnmatch_lines([
        messages.HINT_TITLE.format(level=2, total=len(ex.hints), chapter="01", exercise="seeded_rand"),
        f"  {ex.hints[1]}"])
    assert ex.hints[0] not in second.stdout
    assert say(messages.HINT_LAST, "01", "seeded_rand") in third.stdout
    assert (learner.root / ".kata" / "hints.json").exists()
    assert (learner.root / ".kata" / ".gitignore").read_text(encoding="utf-8").strip().endswith("*")


def test_hint_levels_are_per_exercise_and_can_start_over(learner):
    learner.cli("hint", "1", "seeded_rand")
    other = learner.cli("hint", "01_setup", "torch_version")
    assert "ヒント 1 / " in other.stdout
    assert "ヒント 2 / " in learner.cli("hint", "01", "seeded_rand").stdout
    reset = learner.cli("hint", "01", "seeded_rand", "--reset")
    assert say(messages.HINT_FORGOTTEN, "01", "seeded_rand") in reset.stdout
    assert "ヒント 1 / " in learner.cli("hint", "01", "seeded_rand").stdout


# -- kata check -----------------------------------------------------------------------------------------------------

def _normalised(text: str) -> str:
    # The closing counts' time (kata.learning.reporter), and the rule around it, whose length follows the time's digits.
    return re.sub(r"=* ?(.*?) \(\d+\.\d 秒\) ?=*", r"\1 (X 秒)", text)


@pytest.mark.parametrize("extra", [[], ["-x"], ["-k", "seeded_rand"]], ids=["plain", "-x", "-k"])
@pytest.mark.slow
def test_check_prints_and_exits_as_pytest_exercises_nn(tmp_path, extra):
    """In the repository itself (no KATA_ROOT): the output and the exit status of `pytest exercises/01`."""
    env = dict(os.environ, KATA_SEED="7", PYTEST_ADDOPTS=f"-o cache_dir={tmp_path / 'cache'}")
    env.pop("KATA_ROOT", None)
    run = [subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=600)
           for cmd in ([sys.executable, "-m", "pytest", "exercises/01", *extra],
                       [sys.executable, "-m", "kata", "check", "01", *extra])]
    assert run[1].returncode == run[0].returncode == 1
    assert _normalised(run[1].stdout) == _normalised(run[0].stdout)
    assert f"{messages.MARK_TODO} 01 " in run[1].stdout


@pytest.mark.slow
def test_check_of_a_solved_chapter_exits_0(learner):
    learner.write(REFERENCE)
    proc = learner.kata("check", "01", "-q")
    assert proc.returncode == 0, proc.stdout[-3000:]
    lines(proc.stdout).fnmatch_lines([counts_line(passed="*"), f"{messages.MARK_PASS} 01 rand_with_generator",
                                      f"01  {CH01.title}*{N01} / {N01}*"])


# -- kata reset -----------------------------------------------------------------------------------------------------

def _backup_path(stdout: str) -> Path:
    match = re.search(messages.RESET_BACKUP.format(backup="(.+)").replace("(.+)", "(?P<p>.+)"), stdout)
    assert match, stdout
    return Path(match["p"]) if Path(match["p"]).is_absolute() else ROOT / match["p"]


def test_reset_chapter_restores_the_stub_and_says_where_the_backup_is(learner):
    learner.write(REFERENCE)
    proc = learner.cli("reset", "01")
    assert proc.returncode == 0, proc.stderr
    assert messages.RESET_CHAPTER.format(file=str(learner.file)) in proc.stdout
    assert learner.file.read_text(encoding="utf-8") == CH01.learner_file().read_text(encoding="utf-8")
    backup = _backup_path(proc.stdout)
    assert backup.read_text(encoding="utf-8") == REFERENCE
    assert backup.is_relative_to(learner.root / ".kata" / "backup")


def test_reset_one_exercise_keeps_the_others(learner):
    learner.write(REFERENCE)
    proc = learner.cli("reset", "01", "seeded_rand")
    assert proc.returncode == 0, proc.stderr
    assert messages.RESET_EXERCISE.format(file=str(learner.file), exercise="seeded_rand") in proc.stdout
    assert learner.file.read_text(encoding="utf-8") == solved(*(e.name for e in CH01.exercises
                                                                 if e.name != "seeded_rand"))
    assert _backup_path(proc.stdout).read_text(encoding="utf-8") == REFERENCE


def test_reset_one_exercise_works_in_a_file_with_a_syntax_error(learner):
    learner.write(replace_exactly(REFERENCE, "return torch.rand(shape)", "return torch.rand(shape"))
    proc = learner.cli("reset", "01", "seeded_rand")
    assert proc.returncode == 0, proc.stderr
    ast.parse(learner.file.read_text(encoding="utf-8"))
    assert learner.file.read_text(encoding="utf-8") == solved(*(e.name for e in CH01.exercises
                                                                 if e.name != "seeded_rand"))


def test_reset_puts_back_an_exercise_the_learner_deleted(learner):
    source = solved("torch_version")
    start, end = stubs.definition_span(source, "seeded_rand")
    learner.write("".join(source.splitlines(keepends=True)[:start] + source.splitlines(keepends=True)[end:]))
    proc = learner.cli("reset", "01", "seeded_rand")
    assert messages.RESET_APPENDED.format(file=str(learner.file), exercise="seeded_rand") in proc.stdout
    tree = ast.parse(learner.file.read_text(encoding="utf-8"))
    assert "seeded_rand" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_reset_of_an_untouched_file_changes_nothing_and_makes_no_backup(learner):
    proc = learner.cli("reset", "01")
    assert proc.returncode == 0
    assert messages.RESET_UNCHANGED.format(target=str(learner.file)) in proc.stdout
    assert not (learner.root / ".kata" / "backup").exists()


def test_reset_recreates_a_deleted_file(learner):
    learner.file.unlink()
    proc = learner.cli("reset", "01")
    assert proc.returncode == 0
    assert messages.RESET_CREATED.format(file=str(learner.file)) in proc.stdout
    assert learner.file.read_text(encoding="utf-8") == STUB


@pytest.mark.parametrize("chapter", [pytest.param(c, id=c.key) for c in catalog.chapters()])
def test_the_stub_rebuilt_from_the_reference_is_the_committed_stub(chapter):
    """What `kata reset` writes is exactly the stub the learner started from."""
    assert stubs.stub_source(chapter) == chapter.learner_file().read_text(encoding="utf-8")


# -- kata solution --------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_solution_is_refused_before_the_exercise_passes(learner):
    proc = learner.kata("solution", "01", "seeded_rand")
    assert proc.returncode == 1
    assert say(messages.SOLUTION_LOCKED, "01", "seeded_rand", status=messages.STATUS_WORDS["todo"]) in proc.stderr
    assert "torch.manual_seed(seed)" not in proc.stdout


@pytest.mark.slow
def test_solution_with_force_shows_it_with_a_warning(learner):
    proc = learner.kata("solution", "01", "seeded_rand", "--force")
    assert proc.returncode == 0
    assert proc.stderr.strip().splitlines()[-1].startswith("警告: 01 seeded_rand はまだ正解していません")
    assert stubs.reference_source(CH01, "seeded_rand") in proc.stdout


@pytest.mark.slow
def test_solution_is_shown_once_the_exercise_passes(learner):
    learner.write(solved("seeded_rand"))
    proc = learner.kata("solution", "01", "seeded_rand")
    assert proc.returncode == 0, proc.stderr
    lines(proc.stdout).fnmatch_lines([
        messages.SOLUTION_TITLE.format(chapter="01", exercise="seeded_rand", file="solutions/01_setup/seeds.py",
                                       status="*"),
        "def seeded_rand(seed: int, shape: tuple[int, ...]) -> torch.Tensor:",
        "    # Seeding the global generator*",
    ])
    assert "警告" not in proc.stderr


# -- bad arguments: one Japanese line listing the valid choices, exit status 2 --------------------------------------

CHAPTERS = ", ".join(c.key for c in catalog.chapters())
EXERCISES_01 = ", ".join(e.name for e in CH01.exercises)


@pytest.mark.parametrize("args, expected", [
    (["hint", "99", "x"], f"kata hint: 章 '99' はありません。選べる章: {CHAPTERS}"),
    (["hint", "01_wrong", "x"], f"kata hint: 章 '01_wrong' はありません。選べる章: {CHAPTERS}"),
    (["hint"], f"kata hint: 章を指定してください。選べる章: {CHAPTERS}"),
    (["hint", "01"], f"kata hint: 演習を指定してください。『01_setup』の演習: {EXERCISES_01}"),
    (["hint", "01", "nope"], f"kata hint: 『01_setup』に演習 'nope' はありません。選べる演習: {EXERCISES_01}"),
    (["solution", "01", "nope"], f"kata solution: 『01_setup』に演習 'nope' はありません。選べる演習: {EXERCISES_01}"),
    (["reset", "99"], f"kata reset: 章 '99' はありません。選べる章: {CHAPTERS}"),
    (["reset", "01", "nope"], f"kata reset: 『01_setup』に演習 'nope' はありません。選べる演習: {EXERCISES_01}"),
    (["check", "99"], f"kata check: 章 '99' はありません。選べる章: {CHAPTERS}"),
    (["list", "99"], f"kata list: 章 '99' はありません。選べる章: {CHAPTERS}"),
    (["watch", "99"], f"kata watch: 章 '99' はありません。選べる章: {CHAPTERS}"),
    (["frobnicate"], "kata: 『コマンド』に指定できない値です: 'frobnicate'。選べるもの: 'list', 'hint', 'check', "
                     "'watch', 'reset', 'solution'*"),
    (["hint", "01", "seeded_rand", "--bogus"], "kata: 知らない引数です: --bogus"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_arguments_get_one_japanese_line_and_exit_2(learner, args, expected):
    proc = learner.cli(*args)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1, proc.stderr
    lines(err[0]).fnmatch_lines([expected])
    assert proc.stdout == ""


def test_a_missing_learner_file_is_a_bad_argument(learner):
    learner.file.unlink()
    proc = learner.cli("reset", "01", "seeded_rand")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "kata reset: " + say(messages.MISSING_LEARNER_FILE, "01",
                                                                            file=str(learner.file))


def test_a_root_without_exercises_is_a_bad_argument(learner, tmp_path):
    proc = learner.cli("hint", "01", "seeded_rand", "--root", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "kata hint: " + messages.BAD_ROOT.format(root=tmp_path / "nowhere")


def test_every_sub_command_is_registered_in_kata_cli():
    """The argparse wiring of every sub-command is in ``kata/cli/``; the commands themselves live with what they do."""
    assert all(name.startswith("kata.cli.") for name in cli.COMMAND_MODULES)
    kata = Path(cli.__file__).resolve().parent.parent
    outside = sorted(str(p.relative_to(kata)) for p in kata.rglob("*.py") if p.relative_to(kata).parts[0] != "cli"
                     and re.search(r"\.add_(sub)?parsers?\(", p.read_text(encoding="utf-8")))
    assert outside == []
    names = next(a for a in cli.build_parser()._actions if a.dest == "command").choices
    assert list(names) == ["list", "hint", "check", "watch", "reset", "solution", "grade", "verify", "run", "read",
                           "dev", "class"]


def test_help_is_japanese():
    proc = subprocess.run([sys.executable, "-m", "kata", "--help"], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert proc.returncode == 0
    lines(proc.stdout).fnmatch_lines(["使い方: kata*", "*list*", "*hint*", "*check*", "*watch*", "*reset*",
                                      "*solution*"])
    sub = subprocess.run([sys.executable, "-m", "kata", "hint", "--help"], cwd=ROOT, capture_output=True, text=True,
                         encoding="utf-8", timeout=120)
    assert sub.returncode == 0 and sub.stdout.startswith("使い方: kata hint ")


# -- kata.check in a notebook ---------------------------------------------------------------------------------------

def test_import_kata_is_cheap(learner):
    proc = learner.python("import sys, kata; print(sorted(m for m in ('torch', 'pytest', 'kata.plugin') "
                          "if m in sys.modules))")
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.slow
def test_notebook_check_runs_in_process_and_sees_each_edit(learner):
    code = f"""
import kata, pathlib, sys
first = kata.check("01")
pathlib.Path({str(learner.file)!r}).write_text({REFERENCE!r}, encoding="utf-8")
second = kata.check("01")
print("EXIT", int(first), int(second), "torch" in sys.modules)
print(repr(kata.check("99")))
"""
    proc = learner.python(code)
    out = proc.stdout
    assert "EXIT 1 0 True" in out, out[-3000:] + proc.stderr[-3000:]
    first, second = out.split(f"{messages.SUMMARY_TITLE} — ")[1:3]  # the closing counts of each run
    assert f"{messages.MARK_TODO} 01 torch_version" in first and f"01  {CH01.title}" in first
    assert f"{messages.MARK_PASS} 01 torch_version" in second and f"{N01} / {N01}" in second
    assert "PytestAssertRewriteWarning" not in out
    assert f"kata check: 章 '99' はありません。選べる章: {CHAPTERS}" in proc.stderr
    assert out.strip().endswith("2")


@pytest.mark.slow
def test_notebook_hint_solution_and_progress_follow_the_cli_rules(learner):
    """kata.hint / kata.solution / kata.progress beside kata.check: the same output and the same rules as the CLI."""
    learner.write(solved("seeded_rand"))
    code = """
import kata
print("R1", kata.hint("01", "seeded_rand"))
kata.hint("01", "seeded_rand")
kata.solution("01", "torch_version")
kata.solution("01", "seeded_rand")
kata.progress("01")
kata.hint("99", "x")
"""
    proc = learner.python(code)
    ex = CH01.exercise("seeded_rand")
    out, err = proc.stdout, proc.stderr
    lines(out).fnmatch_lines([
        messages.HINT_TITLE.format(level=1, total=len(ex.hints), chapter="01", exercise="seeded_rand"),
        "R1 None",
        messages.HINT_TITLE.format(level=2, total=len(ex.hints), chapter="01", exercise="seeded_rand"),
        messages.SOLUTION_TITLE.format(chapter="01", exercise="seeded_rand", file="*", status="*"),
        "def seeded_rand(*",
        f"01  {CH01.title}  (1 / {N01})",
        f"    {messages.MARK_PASS} *seeded_rand",
    ])
    with using(FrontEnd.NOTEBOOK):  # every next step as a call of the package, as the notebook's cell would write it
        assert say(messages.SOLUTION_LOCKED, "01", "torch_version", status=messages.STATUS_WORDS["todo"]) in err
        assert say(messages.HINT_MORE, "01", "seeded_rand") in out
    assert 'kata.hint("01", "seeded_rand")' in out and "kata hint 01" not in out + err
    assert "def torch_version(" not in out
    assert f"kata hint: 章 '99' はありません。選べる章: {CHAPTERS}" in err
    assert "Traceback" not in err


def test_kata_alone_prints_the_commands():
    proc = subprocess.run([sys.executable, "-m", "kata"], cwd=ROOT, capture_output=True, text=True, encoding="utf-8",
                          timeout=120)
    assert proc.returncode == 0
    lines(proc.stdout).fnmatch_lines(["使い方: kata*", "*list*", "*hint*", "*solution*"])


@pytest.mark.slow
def test_a_non_editable_install_says_what_to_do(tmp_path):
    """`pip install .` copies kata/ away from checks/ and exercises/: every learner command says so in Japanese."""
    package = tmp_path / "site-packages" / "kata"
    shutil.copytree(ROOT / "kata", package, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(package.parent), PYTHONIOENCODING="utf-8")
    env.pop("KATA_ROOT", None)
    for args in (["hint", "01", "seeded_rand"], ["list"], ["check", "01"]):
        proc = subprocess.run([sys.executable, "-m", "kata", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, encoding="utf-8", timeout=120)
        assert proc.returncode == 2, proc.stderr
        expected = messages.NOT_A_CHECKOUT.format(where=package.parent.resolve())
        assert proc.stderr.strip() == f"kata {args[0]}: {expected}"
    proc = subprocess.run([sys.executable, "-c", "import kata; kata.hint('01', 'seeded_rand')"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert "pip install -e ." in proc.stderr
