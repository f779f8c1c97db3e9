"""エンジン試験用の第 2 章 (講座の内容ではありません)

形状を扱う小さな演習です。
"""
import torch


def flat(x: torch.Tensor) -> torch.Tensor:
    """テンソル x を 1 次元に並べ直して返してください。

    入力: x (任意の形状のテンソル)
    出力: 形状 (x.numel(),) のテンソル
    """
    return x.reshape(-1)


def first_row(x: torch.Tensor) -> torch.Tensor:
    """行列 x の最初の行を返してください。

    入力: x (形状 (n, m) のテンソル、n >= 1)
    出力: 形状 (m,) のテンソル
    """
    return x[0]
