"""The ``kata`` command (also ``python -m kata``): every sub-command is registered in this package.

Each module of :data:`COMMAND_MODULES` exposes ``register(subparsers)``, which adds its sub-commands' arguments and
sets ``func`` on each parser; ``func(args) -> int`` is the exit status.  The commands themselves live with what they
do: the learner's (list, hint, check, watch, reset, solution) in ``kata.cli.commands`` and ``kata.cli.watch``;
``kata grade`` and ``kata verify`` in ``kata.grading.parent`` (registered by ``kata.cli.grade``); ``kata run`` in
``kata.finale`` (``kata.cli.run``); ``kata read`` in ``kata.lessons`` (``kata.cli.read``); ``kata dev`` in
``kata.authoring.dev`` (``kata.cli.dev``); ``kata class`` in ``kata.classroom`` (``kata.cli.classroom``).  A
sub-command that meets a bad argument raises ``kata.errors.UsageError``: one Japanese line on stderr, exit status 2.

Imports: this module imports the command modules by name only when the parser is built, so ``import kata.cli`` stays
cheap.  ``kata.cli.learner`` (the learner's folder, chapter and exercise names, running pytest) is imported by the
learner's commands, ``kata.cli.watch`` and ``kata.cli.run``; ``kata.cli.classroom`` takes the limit options from
``kata.cli.grade``.  The implementations do not import this package, except ``kata.finale`` (the learner's folder,
inside a function) and the notebook functions of ``kata/__init__.py``, which are the learner's commands called from
Python.
``tests/test_architecture.py`` (``LAYERS``) holds every module of ``kata`` to its layer, imports inside
functions included.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys

from kata import messages
from kata.errors import UsageError

__all__ = ["COMMAND_MODULES", "USAGE_EXIT", "JapaneseArgumentParser", "UsageError", "build_parser", "main"]

COMMAND_MODULES = ("kata.cli.commands", "kata.cli.grade", "kata.cli.run", "kata.cli.read", "kata.cli.dev",
                   "kata.cli.classroom")
USAGE_EXIT = 2


class JapaneseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix=messages.CLI_USAGE if prefix is None else prefix)


# argparse's own error messages (Python 3.10-3.13), translated; anything else is passed through.
_ARGPARSE_ERRORS = (
    (re.compile(r"the following arguments are required: (?P<names>.+)"), messages.CLI_ARG_REQUIRED),
    (re.compile(r"argument (?P<name>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)"),
     messages.CLI_ARG_CHOICE),
    (re.compile(r"unrecognized arguments: (?P<args>.+)"), messages.CLI_ARG_UNKNOWN),
)


def _translate(message: str) -> str:
    for pattern, template in _ARGPARSE_ERRORS:
        match = pattern.fullmatch(message.strip())
        if match:
            return template.format(**match.groupdict())
    return messages.CLI_ARG_OTHER.format(message=message)


class JapaneseArgumentParser(argparse.ArgumentParser):
    """Bad arguments: one Japanese line on stderr, exit status 2.  Help texts and headings in Japanese."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", JapaneseHelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = messages.CLI_POSITIONALS
        self._optionals.title = messages.CLI_OPTIONS
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=messages.CLI_HELP)

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: {_translate(message)}\n")
        raise SystemExit(USAGE_EXIT)


def build_parser() -> argparse.ArgumentParser:
    parser = JapaneseArgumentParser(prog="kata", description=messages.CLI_DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar=messages.CLI_COMMAND, parser_class=JapaneseArgumentParser)
    commands.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from kata.display import plain_consoles
    from kata.pyversion import problem

    unsupported = problem()
    if unsupported is not None:  # the `kata` script: an interpreter outside 3.11-3.13, one line
        sys.stderr.write(unsupported + "\n")
        return USAGE_EXIT
    plain_consoles()  # a console that cannot print ✔ / ✘ (cp932) gets ○ / × instead of an error
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()  # `kata` alone: what the commands are
        return 0
    args, extras = parser.parse_known_args(argv)
    if extras:
        # Sub-commands that run pytest (check, watch) pass the arguments they do not know on to it.
        if not hasattr(args, "pytest_args"):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        args.pytest_args = [a for a in extras if a != "--"]
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        sys.stderr.write(messages.CLI_ERROR.format(command=args.command, message=err) + "\n")
        return USAGE_EXIT
