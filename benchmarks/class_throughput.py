"""A whole class: ``kata class grade`` against a shell loop of ``kata grade`` over the same synthetic submissions, both
in one run (same machine, same seed, same checks; the loop's first half runs before the class run, its second half
after it).

    python benchmarks/class_throughput.py [--count 100] [--chapters 01-12] [--jobs N] [--seed 1234]

Each synthetic learner worked through the chapters in order and stopped somewhere: the chapters before that point
are a reference (``solutions/``) or a reference with one catalogued wrong answer (``tests/mutants/``, turned into
one chapter file as the sandbox's mutant runs do), the rest the untouched stubs (``exercises/``).  The mixture is
drawn with a fixed seed, so every run grades the same class.

Reported: wall seconds of both halves, seconds per submission, their ratio (target: ``>= 4``), the peak memory of
each process tree (sampled from /proc: the sum of PSS and the sum of RSS), and whether both gave every learner the
same score (they must: same checks, same seed).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from grading_speed import run  # noqa: E402  (the process-tree sampler of the grading benchmark)


def build_class(target: Path, count: int, chapters: list, seed: int) -> dict[str, str]:
    """``count`` learner folders under ``target``; returns each learner's recipe (for the report)."""
    from kata.api import mutants
    from kata.grading.glue import mutant_source

    catalogue = mutants.load_all(ROOT / "tests" / "mutants")
    by_chapter: dict[str, list] = {}
    for m in catalogue:
        by_chapter.setdefault(m.chapter, []).append(m)
    rng = random.Random(seed)
    recipes = {}
    for i in range(count):
        name = f"learner{i:03d}"
        reached = rng.randint(0, len(chapters))
        recipe = []
        for n, ch in enumerate(chapters):
            dest = target / name / "exercises" / ch.key / ch.file
            dest.parent.mkdir(parents=True, exist_ok=True)
            if n >= reached:
                shutil.copyfile(ch.learner_file(), dest)
                recipe.append("stub")
            elif rng.random() < 0.5 or not by_chapter.get(ch.key):
                shutil.copyfile(ch.reference_file(), dest)
                recipe.append("reference")
            else:
                m = rng.choice(by_chapter[ch.key])
                source, _, _ = mutant_source(ch.reference_file(), m)
                dest.write_bytes(source)
                recipe.append(f"mutant {m.id}")
        recipes[name] = "; ".join(recipe)
    return recipes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--chapters")
    parser.add_argument("--jobs", type=int, help="--jobs of kata class grade (kata grade keeps its default)")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()

    from kata.grading.parent import select_chapters

    chapters = select_chapters(args.chapters)
    work = Path(tempfile.mkdtemp(prefix="kata-class-bench-"))
    try:
        roster = work / "roster"
        build_class(roster, args.count, chapters, args.seed)
        reports = work / "single"
        reports.mkdir()
        names = sorted(p.name for p in roster.iterdir())
        chosen = ["--chapters", args.chapters] if args.chapters else []

        def loop(part: list[str]) -> dict:
            script = " ".join(
                f"{sys.executable} -m kata grade {roster / n} --seed {args.seed} --quiet --output {reports / n}.json "
                + " ".join(chosen) + ";" for n in part)
            return run(["bash", "-c", script], ROOT, timeout=6 * 3600)

        # The loop's two halves before and after the class run: a change of the machine's load during the run (other
        # work on a shared machine) falls on both sides alike.
        first = loop(names[: len(names) // 2])
        print(json.dumps({"kata_grade_first_half_s": round(first["seconds"], 1)}), file=sys.stderr, flush=True)
        klass = run([sys.executable, "-m", "kata", "class", "grade", str(roster), "--out", str(work / "class"),
                     "--seed", str(args.seed), "--quiet", *chosen]
                    + ([f"--jobs={args.jobs}"] if args.jobs else []), ROOT, timeout=6 * 3600)
        print(json.dumps({"class_grade_s": round(klass["seconds"], 1)}), file=sys.stderr, flush=True)
        second = loop(names[len(names) // 2:])
        single = {"seconds": first["seconds"] + second["seconds"], "pss_mib": max(first["pss_mib"], second["pss_mib"]),
                  "rss_mib": max(first["rss_mib"], second["rss_mib"])}
        single_scores = {n: json.loads((reports / f"{n}.json").read_text(encoding="utf-8"))["score"] for n in names}
        with open(work / "class" / "scores.csv", encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        total_column = rows[0].index("合計")
        class_scores = {r[0]: float(r[total_column]) for r in rows[1:]}
        differ = sorted(n for n in names if float(single_scores[n]) != class_scores.get(n))
        for n in differ:  # which chapters, and what each side said there
            one = json.loads((reports / f"{n}.json").read_text(encoding="utf-8"))
            found = sorted((work / "class" / "reports").glob(f"{n}-*.json"))
            if not found:
                continue
            other = json.loads(found[0].read_text(encoding="utf-8"))
            for a, b in zip(one["chapters"], other["chapters"]):
                if a.get("score") != b.get("score"):
                    print(json.dumps({"learner": n, "chapter": a.get("key"), "kata_grade": a.get("score"),
                                      "class": b.get("score"), "class_outcome": b.get("outcome"),
                                      "class_message": b.get("message")}, ensure_ascii=False), file=sys.stderr)
        out = {
            "submissions": len(names), "chapters": len(chapters), "cpus": os.cpu_count(),
            "kata_grade_loop_s": round(single["seconds"], 1), "class_grade_s": round(klass["seconds"], 1),
            "per_submission_loop_s": round(single["seconds"] / len(names), 2),
            "per_submission_class_s": round(klass["seconds"] / len(names), 2),
            "ratio": round(single["seconds"] / klass["seconds"], 2), "target_ratio": 4.0,
            "loop_peak_pss_mib": round(single["pss_mib"]), "loop_peak_rss_sum_mib": round(single["rss_mib"]),
            "class_peak_pss_mib": round(klass["pss_mib"]), "class_peak_rss_sum_mib": round(klass["rss_mib"]),
            "mean_score": round(sum(class_scores.values()) / max(1, len(class_scores)), 2),
            "scores_that_differ": differ,
        }
        print(json.dumps(out, indent=1, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
