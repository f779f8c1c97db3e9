"""第 5 章 行列積・インデックス・ブロードキャスト

ニューラルネットワークの計算の中心である行列積と、テンソルの一部の取り出し (インデックス)、
形状の違うテンソル同士の演算 (ブロードキャスト)、その場での更新 (in-place) を練習します。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/05` で確かめましょう。
"""
import torch


def matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """行列 `x` と `w` の行列積を返してください (要素ごとの積ではありません)。

    入力: x (形状 (n, m))、w (形状 (m, p))。どちらも同じ dtype (int64 や float32 など)
    出力: 形状 (n, p)、out[i, j] == sum_k x[i, k] * w[k, j] のテンソル。dtype は入力のまま (int64 なら int64)。
    例: x = torch.arange(6).view(3, 2), w = torch.arange(8).view(2, 4)
        → tensor([[ 4,  5,  6,  7], [12, 17, 22, 27], [20, 29, 38, 47]])
    x, w は変更しないでください。
    """
    raise NotImplementedError


def batched_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """行列のバッチ同士で、バッチの要素ごとに行列積を計算してください。

    入力: a (形状 (B, n, m))、b (形状 (B, m, p))。同じ dtype
    出力: 形状 (B, n, p)、out[i] == a[i] @ b[i] のテンソル (i = 0, ..., B-1)。dtype は入力のまま。
    Python の for ループは使わずに、1 回の演算で計算しましょう。a, b は変更しないでください。
    """
    raise NotImplementedError


def linear_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """全結合層 (nn.Linear) の順伝播を、行列積と足し算で計算してください。

    入力: x (形状 (..., in_features))、weight (形状 (out_features, in_features))、bias (形状 (out_features,))。
          すべて浮動小数点の同じ dtype。nn.Linear と同じく、weight は (出力の数, 入力の数) の向きで持っています。
    出力: 形状 (..., out_features) のテンソルで、out[..., j] == sum_k x[..., k] * weight[j, k] + bias[j]。
          torch.nn.functional.linear(x, weight, bias) と同じ値です。
    weight が requires_grad=True なら、結果から weight へ勾配が流れること (detach や NumPy 経由は不可)。
    """
    raise NotImplementedError


def select_parts(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """2 次元テンソル `x` から、スライスで次の 4 つを取り出してタプルで返してください。

    入力: x (形状 (r, c)、r >= 3, c >= 2。dtype は任意)
    出力: (列 1 全体, 行 0 全体, 先頭 2 行の最後の列, 行 1 と行 2)
        1 つ目: 形状 (r,)    x の列 1 (0 から数えて)
        2 つ目: 形状 (c,)    x の行 0
        3 つ目: 形状 (2,)    x の行 0 と行 1 の、最後の列の値
        4 つ目: 形状 (2, c)  x の行 1 と行 2
    どれも x とメモリを共有する view であること (コピーや、リストによるインデックスは不可)。
    """
    raise NotImplementedError


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 次元テンソル `a`, `b` から、out[i, j] == a[i] + b[j] となる 2 次元テンソルを作ってください。

    入力: a (形状 (n,))、b (形状 (m,))。同じ dtype
    出力: 形状 (n, m) のテンソル。dtype は入力のまま。
    for ループは使わずに、ブロードキャストで計算しましょう。a, b は変更しないでください。
    """
    raise NotImplementedError


def row_normalize(A: torch.Tensor) -> torch.Tensor:
    """行列 `A` の各行を、その行の合計で割って返してください (各行の和が 1 になります)。

    入力: A (形状 (n, m)、浮動小数点。各行の合計は 0 ではない)
    出力: 形状 (n, m)、A と同じ dtype のテンソル。out[i, j] == A[i, j] / A[i, :].sum()
    A 自身は変更しないでください。
    """
    raise NotImplementedError


def add_inplace(dst: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """`src` を `dst` にその場で (in-place で) 足し込み、`dst` そのものを返してください。

    入力: dst (任意の形状)、src (dst と同じ形状、またはブロードキャストで dst の形状になる形状)。dtype は同じ
    出力: dst そのもの (新しいテンソルではなく同じオブジェクト)。呼び出し後の dst の値は、呼び出し前の dst + src です。
    src は変更しないでください。
    """
    raise NotImplementedError
