"""``kata class grade`` and ``kata class merge``: their arguments; the commands themselves are
:mod:`kata.classroom`'s.

Cheap to import, and torch-, NumPy- and pytest-free like the class parent it starts.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from kata import classroom
from kata.classroom import messages
from kata.cli.grade import add_limit_options

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    c = subparsers.add_parser("class", help=messages.CLASS_HELP, description=messages.CLASS_DESCRIPTION)
    commands = c.add_subparsers(dest="class_command", metavar=messages.COMMAND_METAVAR, parser_class=type(c))
    commands.required = True

    g = commands.add_parser("grade", help=messages.GRADE_HELP, description=messages.GRADE_DESCRIPTION)
    g.add_argument("roster", type=Path, metavar="ROSTER_DIR", help=messages.ARG_ROSTER)
    g.add_argument("--out", type=Path, required=True, metavar="CLASS_DIR", help=messages.ARG_OUT)
    g.add_argument("--jobs", type=int, help=messages.ARG_JOBS)
    g.add_argument("--shard", metavar="K/N", help=messages.ARG_SHARD)
    g.add_argument("--chapters", help=messages.ARG_CHAPTERS)
    g.add_argument("--seed", type=int, help=messages.ARG_SEED)
    add_limit_options(g)
    g.add_argument("--regrade", action="store_true", help=messages.ARG_REGRADE)
    g.add_argument("--quiet", action="store_true", help=messages.ARG_QUIET)
    g.set_defaults(func=classroom.grade_command)

    m = commands.add_parser("merge", help=messages.MERGE_HELP, description=messages.MERGE_DESCRIPTION)
    m.add_argument("shards", type=Path, nargs="+", metavar="SHARD_DIR", help=messages.ARG_SHARDS)
    m.add_argument("--out", type=Path, required=True, metavar="CLASS_DIR", help=messages.ARG_OUT)
    m.set_defaults(func=classroom.merge_command)
