"""``kata class``: grade a whole class (``kata class grade``), combine shards (``kata class merge``), and see where
the class struggles (``CLASS_DIR/index.html``).  The sub-commands' arguments are registered by
:mod:`kata.cli.classroom`; the commands are here.

Importing this package (and everything the class parent runs) imports neither torch, NumPy nor pytest: the parent
handles hostile input, and learner code runs only in the sandbox workers.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from kata.classroom import messages
from kata.errors import UsageError
from kata.grading import parent

__all__ = ["grade_command", "merge_command"]


def grade_command(args: argparse.Namespace) -> int:
    from kata.classroom import grade, roster
    from kata.grading.parent import GradingError

    try:
        shard = roster.parse_shard(args.shard)
        contract = parent.contract_of(args)
    except (ValueError, UsageError) as err:
        sys.stderr.write(f"kata class grade: {err}\n")
        return 2
    options = grade.ClassOptions(chapters=args.chapters, seed=args.seed, jobs=args.jobs, contract=contract,
                                 shard=shard, regrade=args.regrade, quiet=args.quiet)
    # Stopped with SIGTERM (a CI job cancelled, a batch system's time limit): the rows already written stay, the
    # processes of the run are ended, and the next run continues from there.
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        outcome = grade.grade_class(args.roster, args.out, options)
    except GradingError as err:
        sys.stderr.write(f"kata class grade: {err}\n")
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    for warning in outcome.warnings:
        sys.stderr.write(f"kata class grade: {warning}\n")
    if not args.quiet:
        from kata.classroom import outputs

        rows = outputs.read_states(args.out)
        scores = [float(r.get("score", 0)) for r in rows]
        top = max((float(r.get("max_score", 0)) for r in rows), default=0.0)
        mean = round(sum(scores) / len(scores), 1) if scores else 0
        sys.stderr.write(messages.SUMMARY.format(graded=outcome.graded, unchanged=outcome.unchanged,
                                                 problems=outcome.problems, mean=mean,
                                                 max_score=outputs.number(top)) + "\n")
        sys.stderr.write(messages.WROTE.format(path=args.out) + "\n")
    return 0


def _stop(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def merge_command(args: argparse.Namespace) -> int:
    from kata.classroom import merge
    from kata.grading.parent import GradingError

    try:
        merge.merge(args.shards, args.out)
    except GradingError as err:
        sys.stderr.write(f"kata class merge: {err}\n")
        return 2
    sys.stderr.write(messages.WROTE.format(path=args.out) + "\n")
    return 0
