"""第 7 章 デバイス (CPU / CUDA / MPS)

テンソルは CPU・GPU (CUDA)・Mac の GPU (MPS) など、どこか 1 つのデバイスの上にあります。
GPU があってもなくても動くコードを書き、乱数のシードや時間の測り方も GPU を意識してそろえましょう。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/07` で確かめましょう。
"""
import random
import time

import numpy as np
import torch


def pick_device() -> torch.device:
    """使えるデバイスを選んで返してください。CUDA が使えれば cuda、使えなければ次に MPS を調べて
    mps、どちらも使えなければ cpu です。

    入力: なし
    出力: torch.device ("cuda"、"mps"、"cpu" のどれか。文字列ではなく torch.device で返します)
    注意: 使えるかどうかは関数を呼んだときに torch.cuda.is_available() と torch.backends.mps.is_available() で
         確かめてください (チェックではこの 2 つを差し替えて、3 つの場合を試します)。
    """
    # Ask at call time, in order of preference.
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_device(x: torch.Tensor, device) -> torch.Tensor:
    """テンソル x をデバイス device に移したテンソルを返してください。

    入力: x (テンソル)、device (torch.device または "cpu" / "cuda" / "mps" / "meta" などの文字列)
    出力: x と同じ形状・dtype・値で、device の上にあるテンソル
    注意: x 自身は元のデバイスのままにしておきます。x.to(device) は x を動かさず、device の上のテンソルを返します
         (x がすでに device の上にあるときは、コピーせずに x そのものを返します。それでかまいません)。
    """
    # .to() returns a tensor on the target device; x itself stays where it was.
    return x.to(device)


def same_device_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a と b が別々のデバイスにあっても足し算できるようにします。b を a のデバイスに移してから a + b を
    計算して返してください。

    入力: a、b (ブロードキャストできる形状のテンソル。デバイスは違うことがあります。例: a が meta、b が cpu)
    出力: a + b (a と同じデバイスの上)
    注意: a と b 自身は変更しないでください。
    """
    # Operands must share a device; bring b to a's.
    return a + b.to(a.device)


def seed_everything(seed: int) -> None:
    """結果を再現できるように、すべての乱数のシードを seed に固定してください。

    対象: torch (CPU と すべての CUDA デバイス)、NumPy (np.random)、Python の random
    さらに cuDNN を再現性のある設定にします: torch.backends.cudnn.deterministic = True、
    torch.backends.cudnn.benchmark = False
    入力: seed (int, 0 以上 2**32 未満)
    出力: なし (None)
    """
    # torch.manual_seed seeds every device's generator: the CPU's and each CUDA (and MPS) device's.
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def time_matmul(n: int, device) -> float:
    """デバイス device の上で n×n 行列どうしの積 (a @ b) 1 回にかかる時間を秒で測って返してください。

    入力: n (int, 行列の大きさ)、device (torch.device または文字列)
    行列: a と b は torch.randn で作る float32 の n×n 行列で、最初から device の上に作ります。
    測る範囲: a @ b の 1 回だけです。行列を作る時間は含めません (時計を読み始める前に作っておきます)。
    出力: 経過時間 (秒) を表す正の float (テンソルではなく Python の float)
    注意: GPU の計算は非同期です。cuda や mps では、時計を読み始める前 (行列を作る計算がまだ終わっていない
         かもしれません) と、読み終える前 (a @ b の完了を待つ) の両方で torch.cuda.synchronize()
         (mps なら torch.mps.synchronize()) を呼んでください。cpu では不要です。
    """
    device = torch.device(device)
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elif device.type == "mps":
            torch.mps.synchronize()

    synchronize()
    start = time.perf_counter()
    a @ b
    # Kernels run asynchronously: wait for the product before reading the clock.
    synchronize()
    return time.perf_counter() - start


def random_leaf_on_device(shape: tuple[int, ...], device, generator: torch.Generator) -> torch.Tensor:
    """【発展課題】重みの初期値のように、デバイス device の上で勾配を記録する葉テンソルを、標準正規分布の乱数で
    作ってください。どのデバイスを選んでも同じ値になるようにします。

    入力: shape (int のタプル)、device (torch.device または "cpu" / "cuda" / "mps" / "meta" などの文字列)、
          generator (CPU の torch.Generator)
    出力: 形状 shape、dtype float32 で device の上にあり、requires_grad=True かつ is_leaf=True のテンソル。
          値は CPU で torch.randn(shape, generator=generator) としたときと同じです (meta には値がありません)。
    条件: - 乱数は generator だけから、shape の要素数ぶんだけ引くこと。グローバルな乱数状態は使わず、変えないこと
            (torch.manual_seed などは使えません)。
          - CUDA の乱数生成器は同じシードでも CPU と違う数を出します (それに generator は CPU のものなので、
            device の上で直接引くことはできません)。乱数は CPU で引いてから device に移すこと。
          - device に移したあとも葉テンソルであること (requires_grad=True のテンソルを移す演算は、計算グラフの
            節点を作ります)。
    """
    # Draw on the CPU, move, and only then ask for gradients: the moved tensor itself is the leaf.
    values = torch.randn(shape, generator=generator)
    moved = values.to(device)           # no graph yet: moving it records nothing
    return moved.requires_grad_()       # the moved tensor itself becomes the leaf
