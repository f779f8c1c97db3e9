"""``kata dev new``, ``kata dev sync`` and ``kata dev check``: their arguments; the commands themselves are
:mod:`kata.authoring.dev`'s.

Cheap to import: ``check`` imports the mutant catalogue (and with it torch) when it runs.
"""
from __future__ import annotations

import argparse

from kata import messages
from kata.authoring import dev

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dev", help=messages.DEV_HELP, description=messages.DEV_DESCRIPTION)
    commands = p.add_subparsers(dest="dev_command", metavar=messages.CLI_COMMAND, parser_class=type(p))
    commands.required = True

    new = commands.add_parser("new", help=messages.DEV_NEW_HELP, description=messages.DEV_NEW_HELP)
    new.add_argument("chapter", metavar=messages.ARG_CHAPTER, help=messages.DEV_ARG_CHAPTER)
    new.add_argument("name", metavar=messages.ARG_NAME, help=messages.DEV_ARG_NAME)
    new.add_argument("--title", help=messages.DEV_ARG_TITLE)
    new.add_argument("--file", help=messages.DEV_ARG_FILE)
    new.set_defaults(func=dev.cmd_new)

    sync = commands.add_parser("sync", help=messages.DEV_SYNC_HELP, description=messages.DEV_SYNC_HELP)
    sync.add_argument("--check", action="store_true", help=messages.DEV_ARG_SYNC_CHECK)
    sync.set_defaults(func=dev.cmd_sync)

    check = commands.add_parser("check", help=messages.DEV_CHECK_HELP, description=messages.DEV_CHECK_HELP)
    check.add_argument("chapters", nargs="*", metavar=messages.ARG_CHAPTER, help=messages.DEV_ARG_CHAPTERS)
    check.add_argument("--seed", type=int, default=None, help=messages.DEV_ARG_SEED)
    check.add_argument("--seeds", type=int, default=1, metavar="N", help=messages.DEV_ARG_SEEDS)
    check.set_defaults(func=dev.cmd_check)
