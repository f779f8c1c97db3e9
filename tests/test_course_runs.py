"""The course runs of tests/conftest.py: which chapters each way of running the course is made for, and one
subprocess per way however many chapters and tests need it."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, TESTS, CourseRuns
from kata.api import mutants


def _wanted(pytester: pytest.Pytester, *args: str) -> dict[str, set[str]]:
    """What the course runs would cover for ``pytest ARGS`` (collected in this process, nothing run)."""
    registry = list(mutants.REGISTRY)  # the collected module loads the mutant catalogue into this process's registry
    try:
        rec = pytester.inline_run(*args, "--collect-only", "-p", "no:cacheprovider")
    finally:
        mutants.REGISTRY[:] = registry
    [call] = rec.getcalls("pytest_collection_finish")
    config = call.session.config
    inner = next(p for p in config.pluginmanager.get_plugins()
                 if getattr(p, "__file__", None) == str(TESTS / "conftest.py"))  # that session's own conftest
    return config.stash[inner.WANTED]


def test_k_on_a_chapter_makes_the_runs_for_that_chapter_only(pytester, monkeypatch):
    monkeypatch.chdir(ROOT)
    wanted = _wanted(pytester, "tests/test_self_verification.py", "-k", "06_")
    rotating = {name for name in wanted if name.startswith("mutant_run_seed_")}
    assert len(rotating) == 3  # the rotating seeds of the mutant catalogue (tests/conftest.py, ROTATING_SEEDS)
    assert set(wanted) - rotating == {"reference_run", "copied_reference_run", "stub_run", "mutant_run",
                                      "sandbox_reference_run", "sandbox_stub_run", "sandbox_mutant_run",
                                      "seeded_mutant_run", "answer_run", "sandbox_answer_run"}
    assert all(chapters == {"06_autograd"} for chapters in wanted.values()), wanted


def test_a_run_is_made_only_for_the_tests_that_use_it(pytester, monkeypatch):
    monkeypatch.chdir(ROOT)
    wanted = _wanted(pytester, "tests/test_self_verification.py", "-k", "stub_fails_every_check_as_todo and not grading")
    assert wanted.keys() == {"stub_run"} and len(wanted["stub_run"]) > 1


def test_one_subprocess_per_way_for_every_wanted_chapter(tmp_path: Path, monkeypatch):
    made: list[tuple[str, list[str]]] = []

    def fake_run(name: str, keys: list[str]) -> dict:
        made.append((name, keys))
        return {"mode": name, "exercises": [{"chapter": k, "exercise": "e"} for k in keys],
                "tests": [{"chapter": k, "nodeid": f"checks/{k}"} for k in keys]}

    runs = CourseRuns(tmp_path, {"stub_run": {"01_setup", "06_autograd"}})
    monkeypatch.setattr(runs, "_run", fake_run)
    assert runs.report("stub_run", "06_autograd")["tests"] == [{"chapter": "06_autograd", "nodeid": "checks/06_autograd"}]
    assert runs.report("stub_run", "01_setup")["exercises"] == [{"chapter": "01_setup", "exercise": "e"}]
    assert made == [("stub_run", ["01_setup", "06_autograd"])]
    runs.report("stub_run", "03_numpy")  # not foreseen at collection: made on its own
    runs.report("reference_run", "01_setup")
    assert made[1:] == [("stub_run", ["03_numpy"]), ("reference_run", ["01_setup"])]
