"""``kata run xor``: the finale (``kata.finale``) as a sub-command.

Cheap to import: ``kata.finale`` imports torch only when the run starts.
"""
from __future__ import annotations

import argparse
import sys

from kata import finale

__all__ = ["cmd_run", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="フィナーレ: 第 8〜12 章の自分の関数で XOR の学習を最初から最後まで実行する (kata run xor)",
        description=("チュートリアルと同じ設定で XOR の分類器を学習し、our_model.tar に保存して読み込み直し、"
                     "テストデータの正解率を表示して、決定境界と損失の推移を PNG 画像に書き出します。"))
    p.add_argument("task", choices=finale.TASKS, metavar="課題", help="実行する課題 (xor)")
    p.add_argument("--solutions", action="store_true", help="自分の関数の代わりに模範解答の関数を使う")
    p.add_argument("--output", metavar="DIR", default=None,
                   help=f"our_model.tar と画像を書き出すフォルダ (既定: 学習者のフォルダの {finale.OUTPUT_DIR}/)")
    p.add_argument("--epochs", type=int, default=finale.EPOCHS, metavar="N", help=f"エポック数 (既定: {finale.EPOCHS})")
    p.add_argument("--root", metavar="DIR", default=None,
                   help="学習者のフォルダ (exercises/ があるところ)。既定: このリポジトリ (環境変数 KATA_ROOT も可)")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    try:
        finale.run(solutions=args.solutions, root=args.root, output=args.output, epochs=args.epochs)
    except finale.FinaleError as err:
        print(err, file=sys.stderr)
        return 1
    return 0
