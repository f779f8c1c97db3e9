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
    # torch.matmul (the @ operator) sums over the shared inner dim m; integer inputs stay integer.
    return x @ w


def batched_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """行列のバッチ同士で、バッチの要素ごとに行列積を計算してください。

    入力: a (形状 (B, n, m))、b (形状 (B, m, p))。同じ dtype
    出力: 形状 (B, n, p)、out[i] == a[i] @ b[i] のテンソル (i = 0, ..., B-1)。dtype は入力のまま。
    Python の for ループは使わずに、1 回の演算で計算しましょう。a, b は変更しないでください。
    """
    # matmul treats the leading dim as a batch and multiplies the matrices pairwise.
    return torch.matmul(a, b)


def linear_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """全結合層 (nn.Linear) の順伝播を、行列積と足し算で計算してください。

    入力: x (形状 (..., in_features))、weight (形状 (out_features, in_features))、bias (形状 (out_features,))。
          すべて浮動小数点の同じ dtype。nn.Linear と同じく、weight は (出力の数, 入力の数) の向きで持っています。
    出力: 形状 (..., out_features) のテンソルで、out[..., j] == sum_k x[..., k] * weight[j, k] + bias[j]。
          torch.nn.functional.linear(x, weight, bias) と同じ値です。
    weight が requires_grad=True なら、結果から weight へ勾配が流れること (detach や NumPy 経由は不可)。
    """
    # weight is stored as (out, in), so it is transposed; bias broadcasts over the leading dims.
    return x @ weight.T + bias


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
    # Basic indexing with ints and slices returns views that share x's storage.
    return x[:, 1], x[0], x[:2, -1], x[1:3, :]


def outer_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 次元テンソル `a`, `b` から、out[i, j] == a[i] + b[j] となる 2 次元テンソルを作ってください。

    入力: a (形状 (n,))、b (形状 (m,))。同じ dtype
    出力: 形状 (n, m) のテンソル。dtype は入力のまま。
    for ループは使わずに、ブロードキャストで計算しましょう。a, b は変更しないでください。
    """
    # (n, 1) + (1, m) broadcasts to (n, m).
    return a[:, None] + b[None, :]


def row_normalize(A: torch.Tensor) -> torch.Tensor:
    """行列 `A` の各行を、その行の合計で割って返してください (各行の和が 1 になります)。

    入力: A (形状 (n, m)、浮動小数点。各行の合計は 0 ではない)
    出力: 形状 (n, m)、A と同じ dtype のテンソル。out[i, j] == A[i, j] / A[i, :].sum()
    A 自身は変更しないでください。
    """
    # keepdim=True keeps the sums as (n, 1), which broadcasts across each row.
    return A / A.sum(dim=1, keepdim=True)


def add_inplace(dst: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
    """`src` を `dst` にその場で (in-place で) 足し込み、`dst` そのものを返してください。

    入力: dst (任意の形状)、src (dst と同じ形状、またはブロードキャストで dst の形状になる形状)。dtype は同じ
    出力: dst そのもの (新しいテンソルではなく同じオブジェクト)。呼び出し後の dst の値は、呼び出し前の dst + src です。
    src は変更しないでください。
    """
    # Methods ending in _ modify the tensor itself and return it.
    return dst.add_(src)


def pairwise_sq_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """【発展課題】a の各行と b の各行のすべての組について、差の 2 乗和 (ユークリッド距離の 2 乗) を求めてください。

    入力: a (形状 (n, d))、b (形状 (m, d))。同じ浮動小数点の dtype (float32 または float64)。n, m, d は 1 以上
    出力: 形状 (n, m)、out[i, j] == ((a[i] - b[j]) ** 2).sum() のテンソル。dtype は入力のまま。
    例: a = [[0., 0.], [1., 1.]], b = [[1., 0.]] → tensor([[1.], [1.]])
    制約: Python のループ・内包表記、torch.cdist、torch.pdist、torch.nn.functional.pairwise_distance、
          torch.einsum、torch.vmap は使えません。インデックスで次元を足してブロードキャストしましょう。
          a, b は変更しないでください。
    """
    # (n, 1, d) - (1, m, d) broadcasts to every pair (n, m, d); summing the last dim leaves (n, m).
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(dim=-1)


def one_hot_by_comparison(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """【発展課題】クラス番号 `labels` を one-hot 表現にしてください。out[i, c] は labels[i] == c のとき 1、
    それ以外は 0 です。

    入力: labels (形状 (n,)、dtype int64、値は 0 以上 num_classes 未満。n は 0 のこともあります)、
          num_classes (int, 1 以上。labels に現れない番号があっても、列の数は num_classes です)
    出力: 形状 (n, num_classes)、dtype int64 のテンソル
    例: one_hot_by_comparison(tensor([2, 0]), 4) → tensor([[0, 0, 1, 0], [1, 0, 0, 0]])
    制約: Python のループ・内包表記、torch.nn.functional.one_hot、scatter 系 (scatter、scatter_、scatter_add)、
          index_put、torch.where は使えません。クラス番号の並び (torch.arange) とブロードキャストで比べましょう。
          labels は変更しないでください。
    """
    # (n, 1) == (num_classes,) broadcasts to an (n, num_classes) bool table; as int64 it is the one-hot matrix.
    return (labels[:, None] == torch.arange(num_classes, device=labels.device)).long()
