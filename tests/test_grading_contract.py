"""The grading contract (``kata.grading.contract``): one typed, versioned object from the grading parent to the trusted run.

Its file round-trips, each limit has one default, a file the engine cannot read is refused with one clear error, the
parent passes it as one option (and no settings through the environment), and no ``KATA_*`` grading variable is left
in the engine.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kata import catalog
from kata.classroom import grade as class_grade
from kata.cli.grade import add_limit_options
from kata.grading import contract, parent
from kata.grading.contract import CONTRACT_OPTION, ContractError, GradingContract
from kata.grading.sandbox import client

KATA = Path(__file__).resolve().parent.parent / "kata"


# -- the object and its file -----------------------------------------------------------------------------------------

def test_a_contract_round_trips_through_its_file(tmp_path):
    terms = GradingContract(check_timeout=3.5, budget=90, memory_mb=2048, isolation="basic", selftest="only",
                            deadline=1.5e9, hide=("/a", "/b c"), zygote_isolation="userns", zygote_ready=True,
                            zygote_log="/w/zygote-0.log")
    path = terms.to_file(tmp_path / "contract.json")
    assert GradingContract.from_file(path) == terms
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == contract.VERSION and data["hide"] == ["/a", "/b c"]
    assert path.stat().st_mode & 0o077 == 0  # the parent's private file
    assert GradingContract.from_file(GradingContract().to_file(tmp_path / "d.json")) == GradingContract()


def test_the_worker_profile_is_a_contract_field_that_reaches_the_worker_config():
    """A maintainer's profile of the sandbox workers travels in the contract like every other setting."""
    terms = GradingContract(worker_profile="/tmp/kata-profile")
    assert GradingContract.from_dict(terms.to_dict()) == terms
    assert client.Limits.of(terms).profile == "/tmp/kata-profile"
    assert client.Limits.of(GradingContract()).profile is None


def test_every_field_has_its_type_listed():
    assert [f.name for f in dataclasses.fields(GradingContract)] == list(contract.FIELD_TYPES)


def test_each_limit_has_one_default_that_every_user_takes():
    defaults = GradingContract()
    assert parent.Options().contract == defaults
    assert class_grade.ClassOptions().contract == defaults
    limits = client.Limits()
    assert (limits.call_timeout, limits.import_timeout, limits.memory_mb) == (
        defaults.check_timeout, defaults.check_timeout, defaults.memory_mb)
    parser = argparse.ArgumentParser()
    add_limit_options(parser)
    args = parser.parse_args([])
    assert parent.contract_of(args) == defaults
    helps = {a.dest: a.help for a in parser._actions}
    assert f"{defaults.check_timeout:g}" in helps["check_timeout"]
    assert f"{defaults.budget:g}" in helps["budget"]
    assert str(defaults.memory_mb) in helps["memory_limit"]
    # A sandbox run without a grading parent: the same limits, without the self-test.
    assert dataclasses.replace(defaults, selftest="none") == contract.UNGRADED


def test_the_defaults_are_written_nowhere_else():
    """The grading modules name the contract's defaults rather than repeat them."""
    for rel in ("grading/parent.py", "classroom/grade.py", "classroom/__init__.py", "grading/glue.py",
                "grading/sandbox/client.py", "grading/sandbox/zygote.py", "cli/grade.py", "cli/classroom.py"):
        tree = ast.parse((KATA / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id in (
                    "check_timeout", "call_timeout", "import_timeout", "budget", "memory_mb"):
                assert not isinstance(node.value, ast.Constant) or node.value.value is None, (rel, node.target.id)
            if isinstance(node, ast.keyword) and node.arg in ("memory_mb", "check_timeout", "budget"):
                assert not isinstance(node.value, ast.Constant), (rel, node.arg)


# -- refusals --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "words"), [
    ({"version": 2}, "version 2 is not supported"),
    ({"version": None}, "version None is not supported"),
    ({"call_timeout_s": 5}, "unknown grading contract field(s): 'call_timeout_s'"),
    ({"check_timeout": "10"}, "'check_timeout' must be float or int"),
    ({"memory_mb": 1.5}, "'memory_mb' must be int"),
    ({"zygote_ready": 1}, "'zygote_ready' must be bool"),
    ({"memory_mb": True}, "'memory_mb' must be int"),
    ({"hide": "/a"}, "'hide' must be tuple"),
    ({"hide": ["/a", 3]}, "'hide' must be tuple"),
    ({"check_timeout": 0}, "'check_timeout' must be positive"),
    ({"selftest": "twice"}, "'selftest' is 'twice'"),
    ({"isolation": "chroot"}, "'isolation' is 'chroot'"),
])
def test_a_contract_the_engine_cannot_read_is_refused_with_one_clear_error(change, words):
    data = {**GradingContract().to_dict(), **change}
    with pytest.raises(ContractError) as info:
        GradingContract.from_dict(data)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_file_that_is_not_a_contract_is_refused(tmp_path):
    for text, words in (("{", "is not JSON"), ("[1]", "is a JSON object, not list")):
        path = tmp_path / "c.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ContractError, match=re.escape(words)):
            GradingContract.from_file(path)
    with pytest.raises(ContractError, match=r"missing\.json"):
        GradingContract.from_file(tmp_path / "missing.json")


def test_a_trusted_run_given_a_bad_contract_stops_before_any_check(tmp_path):
    bad = tmp_path / "contract.json"
    bad.write_text(json.dumps({**GradingContract().to_dict(), "version": 99}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "exercises/01_setup", "-p", "no:cacheprovider", "-q",
                           "--solutions", "--kata-sandbox", f"{CONTRACT_OPTION}={bad}"], cwd=catalog.ROOT,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert "grading contract version 99 is not supported" in proc.stdout + proc.stderr


# -- the parent passes it as one option --------------------------------------------------------------------------------

class _Zygote:
    isolation = "basic"
    ready = False
    proc = None


class _Exited:
    pid = 0
    returncode = 0

    def poll(self) -> int:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0


class _Recording(parent.TrustedProcesses):
    """Trusted processes that record what they are asked to run and run nothing."""

    def __init__(self) -> None:
        self.runs: list[tuple[parent.TrustedRun, GradingContract]] = []

    def zygotes(self, count: int, work: Path, suite: Path, terms: GradingContract) -> list[Any]:
        return [_Zygote() for _ in range(count)]

    def launch(self, run: parent.TrustedRun, zygote: Any) -> Any:
        given = [a for a in run.pytest_args if a.startswith(CONTRACT_OPTION)]
        assert len(given) == 1, run.pytest_args
        self.runs.append((run, GradingContract.from_file(given[0].split("=", 1)[1])))
        return _Exited()

    def finished(self, zygote: Any) -> None:
        pass

    def unused(self, zygote: Any) -> None:
        pass


def test_the_parent_passes_every_setting_in_one_contract_and_none_in_the_environment(tmp_path):
    chapter = catalog.chapters()[0]
    submission = tmp_path / "submission"
    (submission / "exercises" / chapter.key).mkdir(parents=True)
    shutil.copy(chapter.reference_file(), submission / "exercises" / chapter.key / chapter.file)
    terms = GradingContract(check_timeout=7, budget=120, memory_mb=900, isolation="basic")
    processes = _Recording()
    options = parent.Options(chapters=chapter.number, jobs=1, contract=terms)
    parent.Grader(submission.resolve(), options, processes=processes, hide=("/extra",)).grade()
    assert len(processes.runs) == 1
    run, given = processes.runs[0]
    assert given == terms.for_run(deadline=given.deadline, hide=given.hide, zygote_isolation="basic",
                                  zygote_ready=False, zygote_log=given.zygote_log)
    assert given.deadline is not None and str(submission.resolve()) in given.hide and given.hide[-1] == "/extra"
    assert given.syscall_filter == "try"  # weaker isolation asked for by name
    assert not [k for k in run.env if k.startswith("KATA_")]
    assert not [a for a in run.pytest_args if a.startswith("--kata-isolation")]
    assert f"timeout={3 * 7 + 30}" in run.pytest_args


def test_kata_class_grade_composes_a_grader_through_public_methods_only():
    """No subclass of the Grader and no use of its private names: the class grader composes one per submission."""
    private = {name for name in vars(parent.Grader) if name.startswith("_") and not name.startswith("__")}
    assert "_grade_in" in private  # the guard sees the Grader's private methods
    tree = ast.parse((KATA / "classroom" / "grade.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            assert "parent.Grader" not in [ast.unparse(b) for b in node.bases], node.name
        if isinstance(node, ast.Attribute):
            assert node.attr not in private, ast.unparse(node)


# -- no grading setting through the environment ------------------------------------------------------------------------

#: ``KATA_*`` names the engine may still read: the learner's conveniences (``kata check``'s seed, ``kata``'s root) and
#: the number of a handed-over zygote's socket (a mechanism: its settings are the contract's).
ALLOWED = {"KATA_SEED", "KATA_ROOT", "KATA_ZYGOTE_FD"}
GONE = {"KATA_CALL_TIMEOUT", "KATA_MEMORY_MB", "KATA_DEADLINE", "KATA_SANDBOX_HIDE", "KATA_SANDBOX_LOG",
        "KATA_SELFTEST", "KATA_ZYGOTE_ISOLATION", "KATA_SYSCALL_FILTER", "KATA_ZYGOTE_READY", "KATA_WORKER_PROFILE"}


def test_no_kata_grading_variable_is_left_in_the_engine():
    found: dict[str, set[str]] = {}
    for path in sorted(KATA.rglob("*.py")):
        for name in re.findall(r"\bKATA_[A-Z0-9_]+", path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(KATA)))
    assert not set(found) & GONE, {n: found[n] for n in set(found) & GONE}
    assert set(found) <= ALLOWED, {n: found[n] for n in set(found) - ALLOWED}


@pytest.mark.parametrize("command", [["grade", "."], ["class", "grade", "roster", "--out", "out"]])
@pytest.mark.parametrize(("option", "value"), [("--check-timeout", "0"), ("--budget", "-5"), ("--memory-limit", "0")])
def test_a_limit_that_is_not_positive_is_one_japanese_line(command, option, value, capsys):
    from kata import cli, messages

    assert cli.main([*command, option, value]) == 2
    err = capsys.readouterr().err
    prog = "kata class grade" if command[0] == "class" else "kata grade"
    assert err == f"{prog}: " + messages.GRADE_BAD_LIMIT.format(option=option, value=float(value)) + "\n"
