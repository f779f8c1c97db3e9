"""Grading behind the trust boundary (`kata grade`) against one in-process pytest run of the same checks on the same
submission (a copy of the references), each in a fresh interpreter, in interleaved rounds of one run.

    python benchmarks/grading_speed.py [--repeats 3] [--jobs N] [--worst-case]

Reported: median wall seconds of both and their ratio (target: ``ratio <= 1.3``), and the peak memory of the whole
process tree of each (sampled from /proc: the sum of PSS, which counts a page shared by the zygote and its workers
once, and the sum of RSS).  ``--worst-case`` also grades a submission whose every function loops forever (the
budget must hold: 300 s by default).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 1234


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _memory(pids: list[int]) -> tuple[int, int]:
    """(PSS, RSS) in KiB, summed over ``pids``."""
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^Pss:\s+(\d+)", text, re.M)
        r = re.search(r"^Rss:\s+(\d+)", text, re.M)
        pss += int(m.group(1)) if m else 0
        rss += int(r.group(1)) if r else 0
    return pss, rss


def run(cmd: list[str], cwd: Path, timeout: float = 1800) -> dict:
    """Wall seconds and the peak memory of the process tree of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_clean_env())
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pss, rss = _memory(_tree(proc.pid))
            peak[0], peak[1] = max(peak[0], pss), max(peak[1], rss)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        code = proc.wait(timeout=timeout)
    finally:
        done.set()
        sampler.join()
    elapsed = time.perf_counter() - start
    if code not in (0, 1):  # pytest exits 1 when a check fails; that is still a timed run
        raise RuntimeError(f"{' '.join(cmd)} failed ({code})")
    return {"seconds": elapsed, "pss_mib": peak[0] / 1024, "rss_mib": peak[1] / 1024}


def _looping_submission(target: Path, chapters: list) -> None:
    """Every function and method of every chapter loops forever (the stubs, with the raise replaced)."""
    for ch in chapters:
        text = ch.learner_file().read_text(encoding="utf-8")
        text = re.sub(r"raise NotImplementedError\b.*", "while True:\n            pass", text)
        text = re.sub(r"^(\s*)while True:\n\s*pass", lambda m: f"{m.group(1)}while True:\n{m.group(1)}    pass",
                      text, flags=re.M)
        dest = target / "exercises" / ch.key / ch.file
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")


def measure_grading(repeats: int = 3, chapters: str | None = None, jobs: int | None = None,
                    worst_case: bool = False) -> dict:
    sys.path.insert(0, str(ROOT))
    from kata import catalog
    from kata.grading.parent import default_jobs, select_chapters

    selected = select_chapters(chapters)
    work = Path(tempfile.mkdtemp(prefix="kata-bench-"))
    try:
        sub = work / "submission"
        for ch in selected:
            shutil.copytree(catalog.SOLUTIONS / ch.key, sub / "exercises" / ch.key)
        report = work / "report.json"
        grade_cmd = [sys.executable, "-m", "kata", "grade", str(sub), f"--seed={SEED}", "--quiet",
                     f"--output={report}"] + ([f"--chapters={chapters}"] if chapters else []) \
            + ([f"--jobs={jobs}"] if jobs else [])
        in_process_cmd = [sys.executable, "-m", "pytest", *[str(catalog.CHECKS / ch.key) for ch in selected],
                          f"--kata-submission={sub}", f"--kata-seed={SEED}", "-p", "no:cacheprovider", "-q"]
        graded, in_process = [], []
        for _ in range(repeats):  # interleaved, so that a change of machine load hits both alike
            graded.append(run(grade_cmd, ROOT))
            in_process.append(run(in_process_cmd, ROOT))
        result = json.loads(report.read_text(encoding="utf-8"))
        g = statistics.median(r["seconds"] for r in graded)
        i = statistics.median(r["seconds"] for r in in_process)
        out = {
            "grade_s": round(g, 2), "in_process_s": round(i, 2), "ratio": round(g / i, 3), "target_ratio": 1.3,
            "grade_peak_pss_mib": round(max(r["pss_mib"] for r in graded)),
            "grade_peak_rss_sum_mib": round(max(r["rss_mib"] for r in graded)),
            "in_process_peak_pss_mib": round(max(r["pss_mib"] for r in in_process)),
            "jobs": jobs or default_jobs(len(selected)), "chapters": len(selected),
            "checks": sum(len(e["checks"]) for e in result["exercises"]),
            "score": result["score"], "max_score": result["max_score"], "isolation": result.get("isolation"),
            "repeats": repeats, "grade_runs": [round(r["seconds"], 2) for r in graded],
            "in_process_runs": [round(r["seconds"], 2) for r in in_process], "cpus": os.cpu_count(),
        }
        if worst_case:
            loops = work / "loops"
            _looping_submission(loops, selected)
            worst_report = work / "worst.json"
            worst = run([sys.executable, "-m", "kata", "grade", str(loops), "--quiet", f"--output={worst_report}"]
                        + ([f"--jobs={jobs}"] if jobs else []), ROOT)
            data = json.loads(worst_report.read_text(encoding="utf-8"))
            out["worst_case_s"] = round(worst["seconds"], 1)
            out["worst_case_peak_pss_mib"] = round(worst["pss_mib"])
            out["worst_case_score"] = data["score"]
            out["worst_case_timeouts"] = sum("時間切れ" in e["verdict"] for e in data["exercises"])
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--chapters")
    parser.add_argument("--worst-case", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure_grading(args.repeats, args.chapters, args.jobs, args.worst_case), indent=1,
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
