"""The ``kata`` command (also ``python -m kata``).

Sub-commands are registered by the modules that implement them: ``kata.learn`` (list, hint, check, watch, reset,
solution) and ``kata.grading`` (grade, verify).  Each exposes ``register(subparsers)`` and sets ``func`` on its
parser; ``func(args) -> int`` is the exit status.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("kata.learn", "kata.grading")


class JapaneseArgumentParser(argparse.ArgumentParser):
    """Bad arguments: one Japanese line on stderr, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: 引数が正しくありません: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = JapaneseArgumentParser(prog="kata", description="Intro2DL カタ: PyTorch の基礎を演習で学ぶ")
    commands = parser.add_subparsers(dest="command", metavar="コマンド", parser_class=JapaneseArgumentParser)
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
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
