"""Grading speed: every chapter in isolated child processes (`kata grade`) against one in-process pytest run of the
same checks on the same submission (a copy of the references), each in a fresh interpreter.

    python benchmarks/grading_speed.py [REPEATS]

``measure_grading(repeats)`` returns the median wall-clock seconds of both and their ratio; the target is
``ratio <= 1.5``.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 1234


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}


def _timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_clean_env(), timeout=1800)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # pytest exits 1 when a check fails; that is still a timed run
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def measure_grading(repeats: int = 3, chapters: str | None = None) -> dict:
    """Median seconds of ``kata grade`` (isolated) and of ``pytest checks --kata-submission`` (in-process)."""
    sys.path.insert(0, str(ROOT))
    from kata import catalog
    from kata.grading import select_chapters

    selected = select_chapters(chapters)
    work = Path(tempfile.mkdtemp(prefix="kata-bench-"))
    try:
        sub = work / "submission"
        for ch in selected:
            shutil.copytree(catalog.SOLUTIONS / ch.key, sub / "exercises" / ch.key)
        report = work / "report.json"
        isolated_cmd = [sys.executable, "-m", "kata", "grade", str(sub), f"--seed={SEED}", "--quiet",
                        f"--output={report}"] + ([f"--chapters={chapters}"] if chapters else [])
        in_process_cmd = [sys.executable, "-m", "pytest", *[str(catalog.CHECKS / ch.key) for ch in selected],
                          f"--kata-submission={sub}", f"--kata-seed={SEED}", "-p", "no:cacheprovider", "-q"]
        isolated, in_process = [], []
        for _ in range(repeats):  # interleaved, so that a change of machine load hits both alike
            isolated.append(_timed(isolated_cmd, ROOT))
            in_process.append(_timed(in_process_cmd, ROOT))
        result = json.loads(report.read_text(encoding="utf-8"))
        iso, inp = statistics.median(isolated), statistics.median(in_process)
        return {
            "isolated_s": round(iso, 3), "in_process_s": round(inp, 3), "ratio": round(iso / inp, 3),
            "target_ratio": 1.5, "chapters": len(selected),
            "checks": sum(len(e["checks"]) for e in result["exercises"]),
            "score": result["score"], "max_score": result["max_score"], "repeats": repeats,
            "isolated_runs": [round(x, 3) for x in isolated], "in_process_runs": [round(x, 3) for x in in_process],
            "cpus": os.cpu_count(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(measure_grading(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=1))
