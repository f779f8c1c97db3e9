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


def stable_softmax(x: torch.Tensor) -> torch.Tensor:
    """【発展課題】x の最後の次元に沿ったソフトマックスを、大きな値でもあふれないように計算してください。

    入力: x (形状 (..., k) の浮動小数点のテンソル (float32 または float64)。次元数は 1 から 3、k は 1 以上。
          値は有限で、-1e4 から 1e4 まで、行ごとに大きさがまったく違うこともあります)
    出力: x と同じ形状・dtype のテンソル。最後の次元に沿った 1 行ごとに
          out[..., j] = exp(x[..., j]) / (その行の exp(x[..., i]) の合計)。どの行も合計が 1 です。
    例: stable_softmax(tensor([[0., 0.], [1000., 1001.]])) → tensor([[0.5000, 0.5000], [0.2689, 0.7311]])
    制約: torch.softmax、torch.log_softmax、torch.logsumexp、torch.nn.functional.softmax (と log_softmax)、
          Tensor.softmax、nn.Softmax、Python のループ・内包表記は使えません。x は変更しないでください。
          (ヒント: float32 の exp(89.) はもう inf です。どの行からも同じ数を引いても、ソフトマックスの値は変わりません)
    """
    raise NotImplementedError


def class_means(x: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """【発展課題】クラスごとの平均ベクトルを、クラス番号との比較で作った表と行列積から求めてください。

    入力: x (形状 (n, d)、float32 または float64。n は 0 のこともあります、d は 1 以上)、
          labels (形状 (n,)、dtype int64、値は 0 以上 num_classes 未満)、num_classes (int, 1 以上)
    出力: 形状 (num_classes, d)、dtype は x のまま。out[c] は labels[i] == c である行 x[i] の平均。
          その番号の行が 1 つもないクラスの行は 0 です (nan にはしません)。
    例: class_means(tensor([[1., 2.], [3., 4.], [5., 6.]]), tensor([0, 2, 0]), 3)
        → tensor([[3., 4.], [0., 0.], [3., 4.]])
    制約: Python のループ・内包表記、torch.where、scatter 系 (scatter、scatter_add、scatter_reduce)、index_add、
          index_put、torch.bincount、torch.nn.functional.one_hot、torch.unique は使えません。
          「labels[i] == c なら 1」の表 (形状 (n, num_classes)) をブロードキャストの比較で作り、行列積で足し合わせましょう。
          x と labels は変更しないでください。
    """
    raise NotImplementedError
