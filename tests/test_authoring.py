"""The authoring kit: ``kata dev new`` / ``sync`` / ``check`` and the stub builder they share.

Everything that writes runs in a throw-away copy of the course under ``tmp_path`` (the engine, checks, references,
stubs and mutant catalogue), never in this repository.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import kata
from conftest import ROOT, replace_exactly
from kata import manifest, messages
from kata.authoring import dev, scaffold
from kata.authoring.stubs import make_stub

#: What a copy of the course needs for the authoring commands and the self-verification runs.
COURSE = ("kata", "checks", "solutions", "exercises", "tests/mutants", "conftest.py", "pyproject.toml")
NAME = "double_it"

# The author's work on the skeleton of `kata dev new 01 double_it`, slot by slot.
REFERENCE = '''

def double_it(x: torch.Tensor) -> torch.Tensor:
    """テンソル x の各要素を 2 倍にした、新しいテンソルを返してください。

    入力: x (float32 のテンソル。形状は任意)
    出力: x と同じ形状・dtype のテンソル。x 自体は書き換えません。
    """
    # Multiplying by a Python number allocates a new tensor; the input is left alone.
    return x * 2
'''
HINTS = r'''
[exercises.double_it]
points = 1
hints = [
    "テンソルとふつうの数の掛け算は、どの要素に働くでしょうか？",
    "数との掛け算は新しいテンソルを作ります。名前が _ で終わるメソッドは x 自体を書き換えます。https://pytorch.org/docs/stable/generated/torch.mul.html",
    "空欄 (____) を埋めて完成させましょう:\nreturn x ____ 2",
]
'''
CHECKS = '''

def test_double_it_values(sub, gen):
    from kata.api.compare import expect_tensor

    x = torch.randn(int(torch.randint(1, 6, (), generator=gen)), 3, generator=gen)
    expect_tensor(sub.double_it(x.clone()), x + x, name="double_it(x)")


def test_double_it_leaves_input_alone(sub, gen):
    from kata.api.compare import expect_unchanged

    x = torch.randn(4, generator=gen)
    before = x.clone()
    sub.double_it(x)
    expect_unchanged(x, before, name="x")
'''
MUTANTS = '''

@mutant("01", "double_it", expect="値が違います")
def double_it_adds_two(x):
    return x + 2


@mutant("01", "double_it", expect="データ型")
def double_it_in_float64(x):
    return x.double() * 2


@mutant("01", "double_it", expect="書き換えられています")
def double_it_in_place(x):
    return x.mul_(2)
'''


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the course to author in."""
    for rel in COURSE:
        source, target = ROOT / rel, tmp_path / "course" / rel
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return tmp_path / "course"


def kata_dev(course: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m kata dev ...`` with the copy's own engine (its catalogue, manifest and checks)."""
    env = dict(os.environ, PYTHONPATH=str(course), PYTHONDONTWRITEBYTECODE="1")
    env.pop("KATA_ROOT", None)
    return subprocess.run([sys.executable, "-m", "kata", "dev", *args], cwd=course, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout, env=env)


def fill_in(course: Path) -> None:
    """Write the skeleton's slots the way an author would."""
    fields = {"name": NAME, "nn": "01"}
    edits = (
        ("solutions/01_setup/seeds.py", "reference.py.tmpl", REFERENCE),
        ("checks/01_setup/chapter.toml", "chapter_entry.toml.tmpl", HINTS),
        ("checks/01_setup/test_seeds.py", "check.py.tmpl", CHECKS),
        ("tests/mutants/m01_setup.py", "mutants.py.tmpl", MUTANTS),
    )
    for rel, template, written in edits:
        path = course / rel
        slot = scaffold.render(template, **fields)
        path.write_text(replace_exactly(path.read_text(encoding="utf-8"), slot, written), encoding="utf-8")


# -- the stubs and the manifest of this repository -----------------------------------------------------------------

def test_every_stub_is_what_sync_writes():
    chapters = scaffold.chapter_files(ROOT)
    assert chapters
    for where, _ in chapters:
        expected = make_stub(where.reference.read_bytes().decode("utf-8")).encode("utf-8")
        assert where.stub.read_bytes() == expected, f"{where.stub} differs from make_stub(reference): kata dev sync"
    assert dev.stale_stubs() == []


def test_manifest_is_in_sync():
    result = manifest.compare(ROOT)
    assert result.ok, "kata/MANIFEST.sha256 is stale (kata dev sync):\n" + "\n".join(result.lines())


def test_version_is_written_once():
    """kata.__version__ is the version: pyproject reads it, and the changelog has a section for it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in pyproject["project"]["dynamic"] and "version" not in pyproject["project"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "kata.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", kata.__version__)
    assert f"## [{kata.__version__}] - " in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


# -- kata dev sync ---------------------------------------------------------------------------------------------------

def test_sync_rewrites_an_edited_stub_and_check_reports_it(course):
    stub = course / "exercises" / "01_setup" / "seeds.py"
    pristine = stub.read_bytes()
    stub.write_text(stub.read_text(encoding="utf-8").replace("raise NotImplementedError", "return 1", 1),
                    encoding="utf-8")
    proc = kata_dev(course, "sync", "--check")
    assert proc.returncode == 1
    assert messages.DEV_SYNC_STALE.format(path="exercises/01_setup/seeds.py") in proc.stdout
    assert messages.DEV_SYNC_RUN in proc.stdout
    assert stub.read_bytes() != pristine  # --check writes nothing

    proc = kata_dev(course, "sync")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stub.read_bytes() == pristine
    assert kata_dev(course, "sync", "--check").returncode == 0


# -- kata dev new ----------------------------------------------------------------------------------------------------

def test_new_scaffolds_every_slot_and_syncs(course):
    proc = kata_dev(course, "new", "01", NAME)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fields = {"name": NAME, "nn": "01"}
    for rel, template in (("solutions/01_setup/seeds.py", "reference.py.tmpl"),
                          ("checks/01_setup/chapter.toml", "chapter_entry.toml.tmpl"),
                          ("checks/01_setup/test_seeds.py", "check.py.tmpl"),
                          ("tests/mutants/m01_setup.py", "mutants.py.tmpl")):
        text = (course / rel).read_text(encoding="utf-8")
        assert text.endswith(scaffold.render(template, **fields)), rel
        assert messages.DEV_NEW_APPENDED.format(path=rel) in proc.stdout
    assert "def test_double_it_" in (course / "checks/01_setup/test_seeds.py").read_text(encoding="utf-8")
    lesson = (course / "exercises/01_setup/README.md").read_text(encoding="utf-8")
    assert "`rand_with_generator`、`double_it`。" in lesson  # listed in the lesson's 演習 section
    assert messages.DEV_NEW_APPENDED.format(path="exercises/01_setup/README.md") in proc.stdout
    assert (course / "tests/mutants/m01_setup.py").read_text(encoding="utf-8").count('@mutant("01", "double_it"') == 3
    # The stub and the manifest follow at once.
    stub = (course / "exercises/01_setup/seeds.py").read_text(encoding="utf-8")
    assert "def double_it(x: torch.Tensor) -> torch.Tensor:" in stub
    assert kata_dev(course, "sync", "--check").returncode == 0


def test_new_refuses_a_taken_or_bad_name(course):
    before = {rel: (course / rel).read_bytes() for rel in ("solutions/01_setup/seeds.py", "checks/01_setup/chapter.toml")}
    taken = kata_dev(course, "new", "01", "seeded_rand")
    assert taken.returncode == 2
    assert "seeded_rand" in taken.stderr and "01_setup" in taken.stderr
    bad = kata_dev(course, "new", "01", "Double-It")
    assert bad.returncode == 2
    assert messages.DEV_BAD_NAME.format(name="Double-It") in bad.stderr
    unknown = kata_dev(course, "new", "99", NAME)
    assert unknown.returncode == 2 and "13_topic" in unknown.stderr
    assert before == {rel: (course / rel).read_bytes() for rel in before}


def test_new_chapter_gets_every_file(course):
    proc = kata_dev(course, "new", "13_extra", "first_step", "--title", "追加の章")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rel in ("solutions/13_extra/extra.py", "checks/13_extra/chapter.toml", "checks/13_extra/test_extra.py",
                "tests/mutants/m13_extra.py", "exercises/13_extra/README.md", "exercises/13_extra/extra.py"):
        assert (course / rel).is_file(), rel
    data = (course / "checks/13_extra/chapter.toml").read_text(encoding="utf-8")
    assert data.startswith('title = "追加の章"\nfile = "extra.py"\n')
    assert kata_dev(course, "sync", "--check").returncode == 0
    # The number is taken now.
    assert kata_dev(course, "new", "13_more", "other").returncode == 2


# -- kata dev check --------------------------------------------------------------------------------------------------

def test_check_refuses_an_unfilled_scaffold(course):
    assert kata_dev(course, "new", "01", NAME).returncode == 0
    proc = kata_dev(course, "check", "01")
    assert proc.returncode == 1
    assert proc.stderr.startswith(messages.DEV_CHECK_UNFILLED.split("{")[0])
    for rel in ("solutions/01_setup/seeds.py", "checks/01_setup/chapter.toml", "checks/01_setup/test_seeds.py",
                "tests/mutants/m01_setup.py"):
        assert f"  {rel}:" in proc.stderr, rel
    assert messages.DEV_CHECK_RUNNING.split("{")[0] not in proc.stdout  # nothing was run


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_new_exercise_filled_in_passes_the_self_verification(course):
    assert kata_dev(course, "new", "01", NAME).returncode == 0
    fill_in(course)
    stale = kata_dev(course, "check", "01")
    assert stale.returncode == 1 and messages.DEV_SYNC_RUN in stale.stderr  # filled in, not yet synced
    assert kata_dev(course, "sync").returncode == 0

    proc = kata_dev(course, "check", "01", "--seeds", "2", timeout=1500)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert messages.DEV_CHECK_OK.format(count=1) in proc.stdout
    assert messages.DEV_CHECK_MORE_SEEDS.split("{")[0] in proc.stdout  # the references and the catalogue again, with a second seed
    assert "01_setup" in proc.stdout and "誤答" in proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_check_fails_on_a_mutant_that_passes(course):
    """A wrong answer no check catches (here: the input check is left out) is reported by name."""
    assert kata_dev(course, "new", "01", NAME).returncode == 0
    fill_in(course)
    checks = course / "checks/01_setup/test_seeds.py"
    text = checks.read_text(encoding="utf-8")
    checks.write_text(text[:text.index("\n\ndef test_double_it_leaves_input_alone")] + "\n", encoding="utf-8")
    assert kata_dev(course, "sync").returncode == 0
    proc = kata_dev(course, "check", "01", timeout=1500)
    assert proc.returncode == 1
    assert messages.DEV_MUTANT_PASSES.format(mutant="double_it:double_it_in_place", exercise=NAME) in proc.stdout
    assert messages.DEV_CHECK_NG.format(failed=1, count=1) in proc.stdout


def test_hint_ladder_problems_are_named():
    from kata.authoring import selfcheck
    from kata.catalog import Exercise

    good = Exercise("01_setup", "double_it", hints=("どう？", "考え方 https://pytorch.org/docs", "骨組み ____"))
    assert selfcheck.hint_problems(good) == []
    two = Exercise("01_setup", "double_it", hints=("どう？", "考え方 https://pytorch.org/docs"))
    assert selfcheck.hint_problems(two) == [messages.DEV_HINT_COUNT.format(exercise="double_it", count=2)]
    flat = Exercise("01_setup", "double_it", hints=("問いではない", "リンクなし ____", "空欄なし"))
    assert selfcheck.hint_problems(flat) == [messages.DEV_HINT_QUESTION.format(exercise="double_it"),
                                             messages.DEV_HINT_CONCEPT.format(exercise="double_it"),
                                             messages.DEV_HINT_SKELETON.format(exercise="double_it")]


def test_a_reference_that_fails_on_one_seed_is_named_with_its_chapter_and_check():
    """``kata dev check --seeds N`` judges every extra seed's reference run with :func:`reference_problems`: a check
    the reference fails there (a correct answer failing on that seed's inputs) is a problem, and so is an exercise
    whose checks all skipped; passes and Japanese skips are not."""
    from kata import catalog
    from kata.authoring import selfcheck

    chapter = catalog.chapter("11")
    node = "checks/11_training/test_training.py::test_train_model_learns_xor"

    def run(*tests: tuple[str, str, str]) -> dict:
        return {"tests": [{"chapter": chapter.key, "exercise": ex, "nodeid": nodeid, "status": status,
                           "verdict": "正解率が 73.5% です。", "mutant": None} for ex, nodeid, status in tests]}

    other = "checks/11_training/test_training.py::test_train_model_sets_train_mode"
    assert selfcheck.reference_problems(chapter, run(("train_model", node, "pass"))) == []
    failing = selfcheck.reference_problems(chapter, run(("train_model", other, "pass"), ("train_model", node, "fail")))
    assert failing == [messages.DEV_REFERENCE_FAILS.format(exercise="train_model", nodeid=node,
                                                           verdict="正解率が 73.5% です。")]
    skipped = selfcheck.reference_problems(chapter, run(("train_model", node, "skip")))
    assert skipped == [messages.DEV_REFERENCE_ALL_SKIPPED.format(exercise="train_model")]
