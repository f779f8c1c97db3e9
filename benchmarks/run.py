"""Speed and memory of the suite, as ratios to the floor ``python -c "import torch, numpy, pytest"``.

Machines here are shared and noisy, so every command is measured in the same run, in interleaved rounds, and the
median of the rounds is reported.  Usage::

    python benchmarks/run.py [--rounds 5] [--json FILE] [--skip-watch] [--skip-grading]

Targets (from the issues): each of chapters 01-07 <= 1.3x the floor, each of 08-12 <= 1.5x, chapters 01-07
together <= 2x, all twelve <= 2.5x, peak memory <= 1.3x the floor's; watch mode save-to-verdict <= 0.3 s;
grading in isolated child processes <= 1.5x the in-process run of the same checks.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kata import catalog  # noqa: E402

FLOOR = [sys.executable, "-c", "import torch, numpy, pytest"]
# Not a target: what torch 2.13 itself adds when a chapter's own code does meta-device arithmetic (07) or takes an
# optimizer step (10, 11): both import torch._dynamo lazily.  Shown so the ratios of those chapters can be read.
FLOOR_DYNAMO = [sys.executable, "-c", "import torch, numpy, pytest, torch._dynamo"]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--solutions"]


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,):
        raise SystemExit(f"command failed with {code}: {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-watch", action="store_true")
    parser.add_argument("--skip-grading", action="store_true")
    args = parser.parse_args(argv)

    chapters = catalog.chapters()
    early = [c for c in chapters if int(c.number) <= 7]
    commands: dict[str, tuple[list[str], float]] = {"floor": (FLOOR, 1.0),
                                                    "floor + torch._dynamo (info)": (FLOOR_DYNAMO, float("inf"))}
    for c in chapters:
        commands[f"pytest exercises/{c.number}"] = (PYTEST + [f"exercises/{c.key}"], 1.3 if int(c.number) <= 7 else 1.5)
    commands["chapters 01-07"] = (PYTEST + [f"exercises/{c.key}" for c in early], 2.0)
    commands["all chapters"] = (PYTEST, 2.5)

    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[int]] = {name: [] for name in commands}
    measure(FLOOR)  # warm the file cache
    for r in range(args.rounds):
        for name, (cmd, _) in commands.items():
            t, rss = measure(cmd)
            times[name].append(t)
            peaks[name].append(rss)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    floor_t = statistics.median(times["floor"])
    floor_m = statistics.median(peaks["floor"])
    rows = []
    print(f"{'command':<28} {'median s':>9} {'x floor':>8} {'target':>7} {'peak MiB':>9} {'x floor':>8}  ok")
    for name, (_, target) in commands.items():
        t, m = statistics.median(times[name]), statistics.median(peaks[name])
        ok = t / floor_t <= target and (m / floor_m <= 1.3 or target == float("inf"))
        rows.append({"command": name, "median_s": t, "ratio": t / floor_t, "target": target,
                     "peak_mib": m / 1024, "mem_ratio": m / floor_m, "ok": ok})
        print(f"{name:<28} {t:9.3f} {t / floor_t:8.2f} {target:7.1f} {m / 1024:9.1f} {m / floor_m:8.2f}  "
              f"{'✓' if ok else '✗'}")

    result: dict = {"rounds": args.rounds, "rows": rows}
    if not args.skip_watch:
        try:
            from watch_latency import measure_watch_latency
        except ImportError:
            print("watch latency: benchmarks/watch_latency.py not available")
        else:
            lat = measure_watch_latency("01", max(5, args.rounds))
            med = statistics.median(lat)
            cold = statistics.median(times["pytest exercises/01"])
            result["watch"] = {"latencies_s": lat, "median_s": med, "cold_pytest_01_s": cold}
            print(f"watch: save-to-verdict median {med:.3f} s over {len(lat)} saves (target <= 0.3 s) "
                  f"{'✓' if med <= 0.3 else '✗'}; cold `pytest exercises/01` {cold:.3f} s")
    if not args.skip_grading:
        try:
            from grading_speed import measure_grading
        except ImportError:
            print("grading: benchmarks/grading_speed.py not available")
        else:
            g = measure_grading(max(3, args.rounds // 2))
            result["grading"] = g
            print("grading: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                          for k, v in g.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
