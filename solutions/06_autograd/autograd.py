"""第 6 章 自動微分

requires_grad=True のテンソルから計算すると、PyTorch は計算グラフを自動で作ります。
backward() を呼ぶと、チェーンルールで各葉テンソルの勾配 (.grad) が求まります。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/06` で確かめましょう。
"""
import torch


def grad_of_mean(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """本文の例を計算します。y = mean((x + 2) ** 2 + 3) を求め、backward() で x の勾配を計算してください。

    入力: x (浮動小数点の葉テンソル、requires_grad=True、任意の形状)
    出力: (y, x.grad) のタプル。y は 0 次元テンソルで、計算グラフにつながったまま (grad_fn を持つ) 返します。
         x.grad は x と同じ形状です。
    例: x = torch.arange(3, dtype=torch.float32, requires_grad=True)
        → y = tensor(12.6667)、x.grad = tensor([1.3333, 2.0000, 2.6667])
    """
    y = ((x + 2) ** 2 + 3).mean()
    # backward() fills x.grad with dy/dx through the recorded graph.
    y.backward()
    return y, x.grad


def requires_grad_arange(n: int) -> torch.Tensor:
    """0, 1, ..., n-1 を並べた float32 のテンソルを、勾配を計算する葉テンソルとして作ってください。

    入力: n (int, 0 以上)
    出力: 形状 (n,)、dtype float32、requires_grad=True、is_leaf=True のテンソル
    注意: requires_grad を付けたあとに dtype を変える (.double() や .to(torch.float64) など) と、変換の結果は計算グラフの
    新しいノードになり、葉テンソルではありません (dtype が変わらない .float() は同じテンソルを返すだけです)。
    """
    # dtype and requires_grad at creation: no operation afterwards, so it stays a leaf.
    return torch.arange(n, dtype=torch.float32, requires_grad=True)


def accumulated_grad(x: torch.Tensor, times: int) -> torch.Tensor:
    """勾配の累積を確かめます。grad_of_mean と同じ y = mean((x + 2) ** 2 + 3) について backward() を
    `times` 回くり返し、途中で勾配をゼロにせずに x.grad を返してください。

    入力: x (浮動小数点の葉テンソル、requires_grad=True、.grad は None)、times (int, 1 以上)
    出力: x.grad (x と同じ形状)。1 回分の勾配のちょうど times 倍になるはずです。
    注意: 同じ計算グラフで 2 回以上 backward() するには retain_graph=True が必要です
         (毎回 y を計算し直してもかまいません)。
    """
    y = ((x + 2) ** 2 + 3).mean()
    for _ in range(times):
        # Each backward() adds into x.grad; retain_graph keeps the graph for the next call.
        y.backward(retain_graph=True)
    return x.grad


def vector_backward(x: torch.Tensor) -> torch.Tensor:
    """スカラーでない出力から逆伝播します。y = x * x (x と同じ形状) について、
    要素がすべて 1 のテンソルを gradient 引数に渡して backward() し、x.grad を返してください。

    入力: x (浮動小数点の葉テンソル、requires_grad=True、任意の形状)
    出力: x.grad (x と同じ形状)。値は 2 * x になるはずです。
    """
    y = x * x
    # A non-scalar output needs the upstream gradient dL/dy; ones means L = y.sum().
    y.backward(torch.ones_like(y))
    return x.grad


def detach_grad(x: torch.Tensor) -> torch.Tensor:
    """detach() の効果を確かめます。u = (x * x).detach()、z = u * x として z.sum().backward() を呼び、
    x.grad を返してください。

    入力: x (浮動小数点の葉テンソル、requires_grad=True、任意の形状)
    出力: x.grad (x と同じ形状)。u は定数として扱われるので、値は u (= x * x) に等しくなるはずです。
    """
    # detach() cuts u out of the graph: gradients flow to x only through the factor x in z.
    u = (x * x).detach()
    z = u * x
    z.sum().backward()
    return x.grad


def sgd_step_(w: torch.Tensor, lr: float) -> torch.Tensor:
    """勾配降下法の 1 ステップです。w をその場で w - lr * w.grad に更新し、勾配を消してから w 自身を返してください。

    入力: w (浮動小数点の葉テンソル、requires_grad=True、.grad に勾配が入っている)、lr (float, 学習率)
    出力: w そのもの (同じオブジェクト)。更新後も requires_grad=True の葉テンソルのままで、
         .grad は None (または 0) にしておきます。
    注意: 更新そのものは計算グラフに記録してはいけません (torch.no_grad() の中で行います)。
    例: w = [1., 2.]、w.grad = [2., 4.]、lr = 0.1 → w = [0.8, 1.6]
    """
    # The update is not part of the model's computation, so it must not be recorded in the graph.
    with torch.no_grad():
        w -= lr * w.grad
    w.grad = None
    return w


def predict_no_grad(f, x: torch.Tensor) -> torch.Tensor:
    """推論だけを行います。計算グラフを作らずに f(x) を計算して返してください。

    入力: f (テンソルを受け取りテンソルを返す関数やモデル)、x (テンソル。requires_grad=True のこともあります)
    出力: f(x) と同じ値のテンソル。requires_grad=False、grad_fn は None。
    注意: f の計算そのものがグラフを作らないようにします (計算したあとで .detach() するのではありません)。
         関数を抜けたら勾配の記録はもとどおり有効になっていること。
    """
    # no_grad switches recording off while f runs, and back on when the block ends.
    with torch.no_grad():
        return f(x)


def derivative_at_points(f, x: torch.Tensor) -> torch.Tensor:
    """【発展課題】要素ごとの関数 f の導関数 f' を、x のすべての点で一度に求めてください。

    入力: f (要素ごとに働く関数やモジュール。例: nn.Tanh()。f(x) は x と同じ形状で、各要素 f(x)[i] は x[i] だけで決まる)、
          x (浮動小数点のテンソル、任意の形状。requires_grad は True のことも False のこともあります)
    出力: x と同じ形状・dtype のテンソルで、各要素が f'(x[i])。計算グラフにつながっていない
          (requires_grad=False、grad_fn は None) ただの値です。
    条件: - f は 1 回だけ呼ぶこと。要素ごとの関数なら sum(f(x)) を x[i] で微分すると f'(x[i]) になるので、
            和を一度微分すれば (たとえば torch.autograd.grad の 1 回の呼び出しで) すべての点の導関数が求まります。
          - ループや内包表記を使わないこと。backward() は使わないこと。
          - 入力 x を変えないこと: x.requires_grad も x.grad (すでに入っていればその値) もそのままにします。
    例: f = nn.Tanh()、x = tensor([0., 1.]) → tensor([1.0000, 0.4200])
    """
    # A detached leaf of our own keeps x untouched; summing makes one scalar whose gradient is f' at every point.
    z = x.detach().requires_grad_()
    (grad,) = torch.autograd.grad(f(z).sum(), z)
    return grad
