"""How fast ``kata watch`` answers a save, next to a cold ``pytest exercises/NN``.

    python benchmarks/watch_latency.py 01 --saves 9

``measure_watch_latency`` starts the real ``python -m kata watch NN`` on a copy of ``exercises/`` (the learner's
own files are never touched), saves the chapter's file ``saves`` times and returns, per save, the seconds from the
moment the save is complete on disk to the moment the watch has printed the whole verdict (its "waiting" line).
The saves cycle through the reference (all pass), the stub (all 未着手) and a syntax error, and alternate between
writing in place and writing a new file renamed over the old one, as editors do.
"""
from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kata import catalog, messages  # noqa: E402
from kata.authoring import stubs  # noqa: E402
from kata.cli import learner  # noqa: E402

STARTUP_TIMEOUT = 300.0
VERDICT_TIMEOUT = 60.0
PAUSE_BETWEEN_SAVES = 0.4


def _save(path: Path, text: str, rename: bool) -> None:
    if rename:
        tmp = path.with_name(f".{path.name}.kata-bench~")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _versions(chapter: catalog.Chapter) -> list[str]:
    reference = chapter.reference_file().read_text(encoding="utf-8")
    return [reference, stubs.stub_source(chapter), reference + "\ndef _kata_benchmark_broken(:\n"]


class _Lines:
    """Lines of a child's stdout with the time each arrived (read on a thread)."""

    def __init__(self, stream):
        self.queue: queue.Queue[tuple[float, str]] = queue.Queue()
        self.text: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, ""):
            self.queue.put((time.perf_counter(), line))
        self.queue.put((time.perf_counter(), None))

    def wait_for(self, fragment: str, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no line with {fragment!r} within {timeout} s:\n{''.join(self.text[-40:])}")
            try:
                at, line = self.queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"kata watch ended early:\n{''.join(self.text[-40:])}")
            self.text.append(line)
            if fragment in line:
                return at


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by process ``pid`` (Linux only, else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def measure_watch_latency(chapter: str, saves: int, cpu: list[float] | None = None) -> list[float]:
    """Seconds from each save to the whole verdict printed by ``kata watch`` (see the module docstring).

    If ``cpu`` is a list, the CPU seconds the watch process spent on each save are appended to it: on a busy
    machine they show what the latency would be on an idle one.
    """
    ch = learner.resolve_chapter(chapter)
    versions = _versions(ch)
    with tempfile.TemporaryDirectory(prefix="kata-watch-bench-") as tmp:
        root = Path(tmp)
        shutil.copytree(catalog.EXERCISES, root / "exercises")
        target = ch.learner_file(root)
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTEST_ADDOPTS=f"-o cache_dir={root / '.pytest_cache'}")
        proc = subprocess.Popen([sys.executable, "-m", "kata", "watch", ch.number, "--root", str(root)],
                                cwd=catalog.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, encoding="utf-8", errors="replace")
        lines = _Lines(proc.stdout)
        latencies = []
        try:
            lines.wait_for(messages.WATCH_WAITING, STARTUP_TIMEOUT)
            for i in range(saves):
                time.sleep(PAUSE_BETWEEN_SAVES)
                cpu_before = _cpu_seconds(proc.pid)
                text = versions[i % len(versions)] + f"\n# save {i}\n"
                _save(target, text, rename=bool(i % 2))
                saved = time.perf_counter()
                lines.wait_for(messages.WATCH_CHANGED.split("{")[0], VERDICT_TIMEOUT)
                done = lines.wait_for(messages.WATCH_WAITING, VERDICT_TIMEOUT)
                latencies.append(done - saved)
                cpu_after = _cpu_seconds(proc.pid)
                if cpu is not None and cpu_before is not None and cpu_after is not None:
                    cpu.append(cpu_after - cpu_before)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return latencies


def measure_cold_check(chapter: str, repeats: int = 3) -> list[float]:
    """Seconds of a cold ``python -m pytest exercises/NN`` (a fresh interpreter each time) on the untouched stubs."""
    ch = learner.resolve_chapter(chapter)
    out = []
    with tempfile.TemporaryDirectory(prefix="kata-cold-bench-") as tmp:
        env = dict(os.environ, PYTEST_ADDOPTS=f"-o cache_dir={Path(tmp) / '.pytest_cache'}")
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", f"exercises/{ch.key}", "-q"], cwd=catalog.ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", nargs="?", default="01")
    parser.add_argument("--saves", type=int, default=9)
    parser.add_argument("--cold-repeats", type=int, default=3)
    args = parser.parse_args()
    cpu: list[float] = []
    latencies = measure_watch_latency(args.chapter, args.saves, cpu)
    cold = measure_cold_check(args.chapter, args.cold_repeats)
    print(f"kata watch {args.chapter}: save -> verdict, median {statistics.median(latencies):.3f} s "
          f"(min {min(latencies):.3f}, max {max(latencies):.3f}, {len(latencies)} saves): "
          + ", ".join(f"{x:.3f}" for x in latencies))
    if cpu:
        print(f"  CPU time of the watch per save: median {statistics.median(cpu):.3f} s "
              f"(clock ticks of 1/{os.sysconf('SC_CLK_TCK')} s)")
    print(f"  load average during the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")
    print(f"pytest exercises/{args.chapter} (cold): median {statistics.median(cold):.3f} s "
          f"({', '.join(f'{x:.3f}' for x in cold)})")


if __name__ == "__main__":
    main()
