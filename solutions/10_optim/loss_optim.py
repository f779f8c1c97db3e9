"""第 10 章 損失関数と最適化

二値分類の損失 (ロジットに対する二値交差エントロピー、BCE) を、組み込みの損失と、式から自分で書いた実装の両方で計算し、
確率的勾配降下法 (SGD) のオプティマイザを作って、ミニバッチ 1 つぶんの学習ステップを書きます。
モデルは第 8 章の小さな分類器 (出力は形状 [B, 1] のロジット)、データは第 9 章の XOR です。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/10` で確かめましょう。
"""
import torch
from torch import nn


def bce_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ロジット (シグモイドをかける前のモデルの出力) に対する二値交差エントロピー (BCE) の平均を、
    PyTorch の組み込みの損失 (nn.BCEWithLogitsLoss) で計算して返してください。

    入力: logits (浮動小数点のテンソル、形状は任意)、
          targets (logits と同じ形状・dtype。各要素は 0 以上 1 以下で、ふつうは正解ラベルの 0. か 1.)
    出力: 全要素の損失の平均 (0 次元テンソル、dtype は logits と同じ)。
          あとで backward() できるように、.item() などで数値にせずテンソルのまま返します。
    例: logits=[0., 2., -1.], targets=[0., 1., 1.] → tensor(0.7111)
    """
    # The built-in fuses the sigmoid into the log, so it stays exact and finite for large |logits|.
    loss_module = nn.BCEWithLogitsLoss()
    return loss_module(logits, targets)


def bce_manual(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """bce_with_logits と同じ損失を、組み込みの BCE 関数を使わずに、式から自分で計算してください。

    1 要素あたりの損失 (x がロジット、y が正解、σ(x) = 1 / (1 + exp(-x)) がシグモイド関数):
        ℓ(x, y) = -( y * log σ(x) + (1 - y) * log(1 - σ(x)) )
    入力・出力: bce_with_logits と同じ (全要素の平均の 0 次元テンソル。logits から勾配が流れること)。
    条件: float32 で |logits| が 100 くらいまで大きくても、結果が inf や nan にならず、組み込みの関数と同じ値になること。
          上の式をそのまま計算すると、σ(x) が 0 や 1 ちょうどに丸められて log(0) が出てしまいます。
    禁止: torch.nn.functional.binary_cross_entropy_with_logits、torch.nn.functional.binary_cross_entropy、
          nn.BCEWithLogitsLoss、nn.BCELoss (組み込みの BCE)。torch.exp、torch.log1p、clamp、abs などは使えます。
    """
    # Rewritten as max(x, 0) - x * y + log(1 + exp(-|x|)): exp only ever sees values <= 0, so nothing overflows.
    return (logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))).mean()


def make_sgd(model: nn.Module, lr: float) -> torch.optim.SGD:
    """model のすべてのパラメータを学習率 lr で更新する、確率的勾配降下法 (SGD) のオプティマイザを作って返してください。

    入力: model (nn.Module)、lr (float、学習率)
    出力: torch.optim.SGD。モーメンタムや weight decay を付けない、いちばん素朴な SGD です
          (step() を 1 回呼ぶと、各パラメータ p が p - lr * p.grad になります)。
    注意: パラメータのコピーではなく、モデルのパラメータそのものを (1 つ残らず) 渡します。
    """
    # model.parameters() yields the very tensors the model computes with, so step() changes the model itself.
    return torch.optim.SGD(model.parameters(), lr=lr)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, inputs: torch.Tensor,
               labels: torch.Tensor) -> float:
    """ミニバッチ 1 つぶんの学習ステップを行い (optimizer でパラメータを 1 回更新します)、その損失を
    Python の float で返してください。

    入力: model (入力 [B, 2] からロジット [B, 1] を出す nn.Module)、
          optimizer (model のパラメータを更新するオプティマイザ)、loss_fn (nn.BCEWithLogitsLoss() などの損失)、
          inputs (float32 [B, 2])、labels (int64 [B]、各要素は 0 か 1)
    条件: - 呼ぶ前の .grad に前のステップの勾配が残っていても、このミニバッチの勾配だけで更新すること。
          - 損失は loss_fn(出力, ラベル) で計算します。モデルの出力 [B, 1] はラベルと同じ形状 [B] にしてから渡します
            (B = 1 のときも [1])。BCE の正解は浮動小数点なので、ラベルは float32 にして渡します。
          - inputs と labels は、モデルのパラメータと同じデバイスに移してから使います (デバイスはモデルから読みます。
            例: next(model.parameters()).device)。GPU で学習するとき、データが CPU に残っていると計算できません。
    出力: 損失 (更新する前のパラメータで計算した値) を float で。テンソルのままではなく数値にします。
    """
    # Batches go where the model's parameters live (the tutorial's data_inputs.to(device)).
    device = next(model.parameters()).device
    inputs, labels = inputs.to(device), labels.to(device)
    optimizer.zero_grad()
    preds = model(inputs).squeeze(dim=1)
    loss = loss_fn(preds, labels.float())
    loss.backward()
    optimizer.step()
    # .item() copies the 0-dim loss into a Python float, so the caller keeps no graph alive.
    return loss.item()


def momentum_step_(params: list[torch.Tensor], velocities: list[torch.Tensor], lr: float, momentum: float) -> None:
    """【発展課題】モーメンタム付き SGD の 1 ステップを、オプティマイザのクラスを使わずに手で書いてください。
    torch.optim.SGD(params, lr=lr, momentum=momentum) の step() と zero_grad() を続けて呼んだのと同じ結果にします。

    入力: params (パラメータのリスト。どれも requires_grad=True の浮動小数点の葉テンソルで、.grad に勾配が入っている)、
          velocities (params と同じ順・同じ形状の速度 (モーメンタムのバッファ) のリスト)、
          lr (float, 学習率)、momentum (float, 0 以上 1 未満)
    更新: 各 p と、対応する v について、
          1. v ← momentum * v + p.grad      (速度を先に更新する)
          2. p ← p - lr * v                 (新しい速度で動かす)
          3. p.grad を None にする          (zero_grad() と同じ)
    出力: None。p と v はどちらも、その場で (同じオブジェクトのまま) 書き換えます。
    条件: - torch.optim のクラスや関数は使えません。
          - 更新を計算グラフに記録しないこと (torch.no_grad() の中で行う)。p は更新後も requires_grad=True の葉テンソルです。
          - .data を書き換えないこと (autograd から見えない変更になります)。
    """
    # The updates are not part of the model's computation: no graph, in place, velocity first.
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.mul_(momentum).add_(p.grad)
            p.sub_(lr * v)
            p.grad = None
