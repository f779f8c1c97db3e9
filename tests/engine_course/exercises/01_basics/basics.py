"""エンジン試験用の第 1 章 (講座の内容ではありません)

エンジンのテストが、未着手・正解・不正解・例外などの判定を確かめるための小さな演習です。
"""
import torch


def answer() -> int:
    """整数 42 を返してください。

    入力: なし
    出力: int
    """
    raise NotImplementedError


def scaled(x: torch.Tensor, k: float) -> torch.Tensor:
    """テンソル x の各要素を k 倍したテンソルを返してください。

    入力: x (float32 のテンソル)、k (float)
    出力: x と同じ形状、float32 のテンソル。例: x=tensor([1., 2.]), k=2.0 → tensor([2., 4.])
    """
    raise NotImplementedError


def scaled_twice(x: torch.Tensor, k: float) -> tuple[torch.Tensor, torch.Tensor]:
    """x を k 倍したものと、それをさらに k 倍したものをタプルで返してください。

    入力: x (float32 のテンソル)、k (float)
    出力: (x * k, x * k * k) のタプル
    """
    raise NotImplementedError
