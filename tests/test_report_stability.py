"""Report files stay byte-compatible: a fixed submission graded with a fixed seed gives the stored reports.

The stored files in ``tests/data/`` were written by the engine before the check-result types were unified
(``kata.status``); only fields that vary from run to run are normalised (seconds, the submission's path, the
isolation in force, the grader's warning about a stale manifest).  Regenerate them only for an intended change of a report format::

    python tests/test_report_stability.py --write
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = "4242"

#: Chapter 01 with one exercise right, one wrong (dtype), one raising in learner code and one left as a stub;
#: chapter 02 is the untouched stub.  Pass, fail (two attributes), todo and the per-check lines all appear.
SUBMISSION_01 = '''import torch


def torch_version() -> str:
    return str(torch.__version__)


def seeded_rand(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.rand(shape, dtype=torch.float64)


def same_random_twice(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    first = torch.randn(n)
    return first, first.view(n + 1)


def rand_with_generator(seed: int, n: int) -> torch.Tensor:
    raise NotImplementedError
'''


def _submission(where: Path) -> Path:
    sub = where / "submission"
    (sub / "exercises" / "01_setup").mkdir(parents=True)
    (sub / "exercises" / "01_setup" / "seeds.py").write_text(SUBMISSION_01, encoding="utf-8")
    shutil.copytree(ROOT / "exercises" / "02_creation", sub / "exercises" / "02_creation",
                    ignore=shutil.ignore_patterns("__pycache__", ".kata*"))
    return sub


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _normalise(text: str, sub: Path) -> str:
    """Paths of the submission as ``<SUB>``; seconds as 0; the isolation as ``<ISOLATION>``."""
    for form in {str(sub), str(sub.resolve()), json.dumps(str(sub.resolve()))[1:-1]}:
        text = text.replace(form, "<SUB>")
    text = re.sub(r'"(seconds|execution_time)": [0-9.]+', r'"\1": 0', text)
    return re.sub(r'"isolation": "[a-z]+"', '"isolation": "<ISOLATION>"', text)


#: The grader's warning that the checks differ from the manifest depends on the working tree, not on the engine.
STALE_MANIFEST = re.compile(r"採点側のファイル \d+ 個がマニフェストと一致しません")


def _without_stale_manifest(text: str) -> str:
    """The report without that warning (in ``warnings`` and in Gradescope's ``output``), written back with the
    renderers' own ``json.dumps`` settings, so the bytes of everything else are compared as written."""
    data = json.loads(text)
    if isinstance(data.get("warnings"), list):
        data["warnings"] = [w for w in data["warnings"] if not STALE_MANIFEST.search(w)]
    if isinstance(data.get("output"), str):
        data["output"] = "\n".join(line for line in data["output"].split("\n") if not STALE_MANIFEST.search(line))
    again = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    if not STALE_MANIFEST.search(text):
        assert again == text, "the report is not in the renderers' JSON layout"
    return again


def learning_report(where: Path) -> str:
    """``pytest --kata-submission`` (the learning plugin's ``--kata-report``) on the fixed submission."""
    sub = _submission(where)
    out = where / "learning.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--kata-submission={sub}",
                           f"--kata-seed={SEED}", f"--kata-report={out}", "exercises/01", "exercises/02"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, encoding="utf-8", timeout=900)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return _normalise(out.read_text(encoding="utf-8"), sub)


def grading_reports(where: Path) -> dict[str, str]:
    """``kata grade`` of the fixed submission in every format (the grader's channel and the report renderers)."""
    sub = _submission(where)
    out = where / "grade.json"
    proc = subprocess.run([sys.executable, "-m", "kata", "grade", str(sub), "--chapters", "01,02", "--seed", SEED,
                           "--format", "json", "--output", str(out), "--quiet"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, encoding="utf-8", timeout=900)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    reports = {"grade.json": _without_stale_manifest(_normalise(out.read_text(encoding="utf-8"), sub))}
    # The other formats from the same result (as the Classroom workflow renders them), so the run is paid once.
    code = ("import json, sys; from kata import report; r = report.from_json(json.load(open(sys.argv[1], "
            "encoding='utf-8'))); [open(f'{sys.argv[2]}/grade.{f}.json', 'w', encoding='utf-8').write("
            "report.render(r, f)) for f in ('gradescope', 'classroom', 'exercism')]")
    subprocess.run([sys.executable, "-c", code, str(out), str(where)], cwd=ROOT, env=_env(), check=True, timeout=300)
    for fmt in ("gradescope", "classroom", "exercism"):
        name = f"grade.{fmt}.json"
        reports[name] = _without_stale_manifest(_normalise((where / name).read_text(encoding="utf-8"), sub))
    return reports


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_learning_report_of_a_fixed_submission_is_unchanged(tmp_path):
    assert learning_report(tmp_path) == (DATA / "learning.json").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_grading_reports_of_a_fixed_submission_are_unchanged(tmp_path):
    for name, text in grading_reports(tmp_path).items():
        assert text == (DATA / name).read_text(encoding="utf-8"), name


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        (DATA / "learning.json").write_text(learning_report(Path(tmp) / "a"), encoding="utf-8")
        for name, text in grading_reports(Path(tmp) / "b").items():
            (DATA / name).write_text(text, encoding="utf-8")
