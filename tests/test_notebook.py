"""The notebook front end, in a real Jupyter kernel: a notebook built with nbformat and run by nbclient on an
ipykernel that runs this interpreter, against a learner's copy of ``exercises/`` in a temporary folder.

What a learner in Jupyter or Colab sees: the verdicts and the table, every next step written as a call of the
package (``kata.hint("01", "seeded_rand")``, ``force=True``, ``kata.check("01")``) and never as a command of the
terminal, no ANSI escape codes and no pytest header.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import replace_exactly
from kata import catalog, messages
from kata.authoring import stubs
from kata.frontend import FrontEnd, current, say, using

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CH01 = catalog.chapter("01")
REFERENCE = CH01.reference_file().read_text(encoding="utf-8")
KERNEL = "kata-test-python"
# What only the terminal's front end writes, and pytest's English header.
TERMINAL_WORDS = ("kata hint ", "kata solution ", "kata read ", "--force", "pytest exercises/", "platform linux",
                  "rootdir:", "plugins:", "timeout method", "test session starts", " failed", " passed")


# -- one notion of the front end ---------------------------------------------------------------------------------

def test_every_next_step_has_a_form_for_each_front_end():
    terminal, notebook = (messages.NEXT_STEP_FORMS[f] for f in FrontEnd)
    assert terminal.keys() == notebook.keys()


def test_the_terminal_writes_commands_and_a_notebook_python_calls():
    assert say(messages.NEXT_HINT, "06", "grad_of_mean") == "さらにヒントを見る: kata hint 06 grad_of_mean"
    with using(FrontEnd.NOTEBOOK):
        assert say(messages.NEXT_HINT, "06", "grad_of_mean") == 'さらにヒントを見る: kata.hint("06", "grad_of_mean")'
        assert "force=True" in say(messages.SOLUTION_FORCED, "06", "grad_of_mean", status="未着手")
        assert say(messages.FINALE_ERR_TODO, "08", n=8, nn="08", name="SimpleClassifier").endswith('kata.check("08")')


def test_an_active_ipython_shell_is_the_notebook(monkeypatch):
    class Shell:
        pass

    fake = type(sys)("IPython")
    fake.get_ipython = lambda: Shell()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert current() == FrontEnd.NOTEBOOK
    fake.get_ipython = lambda: None  # type: ignore[attr-defined]  # IPython imported, no shell running
    assert current() == FrontEnd.TERMINAL


def test_read_and_reset_are_calls_too(tmp_path, capsys):
    import kata
    from kata.lessons import lesson_file

    kata.read("01")
    assert capsys.readouterr().out.rstrip("\n") == lesson_file(CH01).read_text(encoding="utf-8").rstrip("\n")
    shutil.copytree(catalog.EXERCISES, tmp_path / "exercises")
    CH01.learner_file(tmp_path).write_text(REFERENCE, encoding="utf-8")
    kata.reset("01", "seeded_rand", root=tmp_path)
    out = capsys.readouterr().out
    pytest.LineMatcher(out.splitlines()).fnmatch_lines([messages.RESET_EXERCISE.format(file="*", exercise="seeded_rand")])
    assert "raise NotImplementedError" in CH01.learner_file(tmp_path).read_text(encoding="utf-8")
    kata.read("99")
    assert "kata read: " in capsys.readouterr().err


# -- a real kernel ------------------------------------------------------------------------------------------------

@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec, in a folder of its own, whose kernel is this interpreter (the virtual environment's python)."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kata test", "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("KATA_SEED", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("PY_COLORS", raising=False)
    return KERNEL


def run_notebook(cells: list[str], cwd: Path, kernel: str) -> list[str]:
    """Run the cells in a fresh kernel; return each cell's output (streams, results, errors) as text."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbclient.NotebookClient(nb, kernel_name=kernel, timeout=600, resources={"metadata": {"path": str(cwd)}}).execute()
    texts = []
    for cell in nb.cells:
        parts = []
        for output in cell.outputs:
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.data.get("text/plain", ""))
            elif output.output_type == "error":
                parts.append("\n".join(output.traceback))
        texts.append("".join(parts))
    return texts


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_notebook_shows_python_calls_as_next_steps_and_no_terminal_output(kernel, tmp_path):
    root = tmp_path / "learner"
    shutil.copytree(catalog.EXERCISES, root / "exercises")
    # torch_version solved, seeded_rand wrong (a verdict with its next hint), the rest untouched.
    source, _ = stubs.replace_exercise(stubs.stub_source(CH01), REFERENCE, "torch_version")
    source, _ = stubs.replace_exercise(source, replace_exactly(REFERENCE, "return torch.rand(shape)",
                                                               "return torch.rand(shape).double()"), "seeded_rand")
    CH01.learner_file(root).write_text(source, encoding="utf-8")
    r = repr(str(root))
    outputs = run_notebook([
        "import kata",
        f'kata.check("01", root={r})',
        f'kata.hint("01", "seeded_rand", root={r})',
        f'kata.solution("01", "seeded_rand", root={r})',
        f'kata.progress("01", root={r})',
    ], catalog.ROOT, kernel)
    check, hint, solution, progress = outputs[1:]
    everything = "\n".join(outputs)

    assert "\x1b[" not in everything, "no ANSI escape codes in a notebook"
    assert [word for word in TERMINAL_WORDS if word in everything] == [], everything[-3000:]
    assert "Traceback" not in everything, everything[-3000:]
    with using(FrontEnd.NOTEBOOK):
        # kata.check: the verdicts, the failing exercise's next hint and the lesson as calls, the table.
        assert f"{messages.MARK_PASS} 01 torch_version" in check
        assert f"{messages.MARK_FAIL} 01 seeded_rand — " in check
        assert "    " + say(messages.NEXT_HINT, "01", "seeded_rand") in check
        assert say(messages.READ_LESSON, "01", key=CH01.key) in check
        assert 'kata.check("01", "--kata-seed=1")' in check  # how to replay the same inputs
        assert f"01  {CH01.title}" in check
        # kata.hint: the next level is another call.
        assert say(messages.HINT_MORE, "01", "seeded_rand") in hint
        # kata.solution before the exercise passes: the hint and force=True, as calls.
        assert say(messages.SOLUTION_LOCKED, "01", "seeded_rand", status=messages.STATUS_WORDS["fail"]) in solution
        assert 'kata.solution("01", "seeded_rand", force=True)' in solution
        # kata.progress: every exercise's state.
        assert "torch_version" in progress and messages.MARK_PASS in progress
