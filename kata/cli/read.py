"""``kata read NN``: its argument; the lesson is printed by :func:`kata.lessons.show_lesson`.

Cheap to import (no torch).
"""
from __future__ import annotations

import argparse

from kata import lessons, messages

__all__ = ["cmd_read", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("read", help=messages.READ_HELP, description=messages.READ_DESCRIPTION)
    p.add_argument("chapter", nargs="?", metavar=messages.ARG_CHAPTER, help=messages.ARG_CHAPTER_NUMBER)
    p.set_defaults(func=cmd_read)


def cmd_read(args: argparse.Namespace) -> int:
    return lessons.show_lesson(args.chapter)
