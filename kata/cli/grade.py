"""``kata grade`` and ``kata verify``: their arguments; the commands themselves are :mod:`kata.grading.parent`'s.

Cheap to import, and torch-, NumPy- and pytest-free like the grading parent it starts.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kata import catalog, messages, report
from kata.grading import parent
from kata.grading.contract import ISOLATIONS, GradingContract

__all__ = ["add_limit_options", "register"]


def add_limit_options(parser: Any) -> None:
    """The per-submission limits and isolation, shared by ``kata grade`` and ``kata class grade`` (defaults from
    :class:`kata.grading.contract.GradingContract`; :func:`kata.grading.parent.contract_of` reads them back)."""
    defaults = GradingContract()
    parser.add_argument("--check-timeout", type=float, default=defaults.check_timeout,
                        help=messages.GRADE_ARG_CHECK_TIMEOUT.format(default=f"{defaults.check_timeout:g}"))
    parser.add_argument("--budget", type=float, default=defaults.budget,
                        help=messages.GRADE_ARG_BUDGET.format(default=f"{defaults.budget:g}"))
    parser.add_argument("--memory-limit", type=int, default=defaults.memory_mb, metavar="MiB",
                        help=messages.GRADE_ARG_MEMORY.format(default=defaults.memory_mb))
    parser.add_argument("--isolation", choices=ISOLATIONS, help=messages.OPT_ISOLATION)


def register(subparsers: argparse._SubParsersAction) -> None:
    g = subparsers.add_parser("grade", help=messages.GRADE_HELP, description=messages.GRADE_DESCRIPTION)
    g.add_argument("submission", type=Path, help=messages.GRADE_ARG_SUBMISSION)
    g.add_argument("--format", choices=report.FORMATS, default="json", help=messages.GRADE_ARG_FORMAT)
    g.add_argument("--output", type=Path, help=messages.GRADE_ARG_OUTPUT)
    g.add_argument("--chapters", help=messages.GRADE_ARG_CHAPTERS)
    g.add_argument("--seed", type=int, help=messages.GRADE_ARG_SEED)
    g.add_argument("--jobs", type=int, help=messages.GRADE_ARG_JOBS)
    add_limit_options(g)
    g.add_argument("--in-place", action="store_true", help=messages.GRADE_ARG_IN_PLACE)
    g.add_argument("--visibility", default="visible",
                   choices=("visible", "hidden", "after_due_date", "after_published"),
                   help=messages.GRADE_ARG_VISIBILITY)
    g.add_argument("--keep", action="store_true", help=messages.GRADE_ARG_KEEP)
    g.add_argument("--quiet", action="store_true", help=messages.GRADE_ARG_QUIET)
    g.set_defaults(func=parent.grade_command)

    v = subparsers.add_parser("verify", help=messages.VERIFY_HELP, description=messages.VERIFY_DESCRIPTION)
    v.add_argument("--root", type=Path, default=catalog.ROOT, help=messages.VERIFY_ARG_ROOT)
    v.add_argument("--manifest", type=Path, help=messages.VERIFY_ARG_MANIFEST)
    v.add_argument("--digest", help=messages.VERIFY_ARG_DIGEST)
    v.set_defaults(func=parent.verify_command)
