"""``kata run xor``: the finale (``kata.finale``) as a sub-command.

Cheap to import: ``kata.finale`` imports torch only when the run starts.
"""
from __future__ import annotations

import argparse
import sys

from kata import finale, messages
from kata.cli.learner import add_root

__all__ = ["cmd_run", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help=messages.FINALE_RUN_HELP, description=messages.FINALE_RUN_DESCRIPTION)
    p.add_argument("task", choices=finale.TASKS, metavar=messages.FINALE_ARG_TASK, help=messages.FINALE_ARG_TASK_HELP)
    p.add_argument("--solutions", action="store_true", help=messages.FINALE_ARG_SOLUTIONS)
    p.add_argument("--output", metavar="DIR", default=None,
                   help=messages.FINALE_ARG_OUTPUT.format(output=finale.OUTPUT_DIR))
    p.add_argument("--epochs", type=int, default=finale.EPOCHS, metavar="N",
                   help=messages.FINALE_ARG_EPOCHS.format(epochs=finale.EPOCHS))
    add_root(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    try:
        finale.run(solutions=args.solutions, root=args.root, output=args.output, epochs=args.epochs)
    except finale.FinaleError as err:
        print(err, file=sys.stderr)
        return 1
    return 0
