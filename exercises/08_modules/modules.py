"""第 8 章 nn.Module で作る小さな分類器

torch.nn.Module を継承してニューラルネットワークを組み立てます。層を self の属性にすると、その層のパラメータが
自動的に登録され、model.parameters() で取り出せるようになります (学習でオプティマイザに渡すのはこれです)。
各関数・クラスの本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/08` で確かめましょう。
"""
import torch
from torch import nn


class SimpleClassifier(nn.Module):
    """入力 → 隠れ層 → 出力とつながる小さな分類器を nn.Module で作ってください (あとの章で XOR の分類に使います)。

    __init__(num_inputs, num_hidden, num_outputs):
        最初に super().__init__() を呼び、次の 3 つの層をこの順番で作って属性に代入します。
        - self.linear1: nn.Linear(num_inputs, num_hidden)
        - self.act_fn: nn.Tanh()
        - self.linear2: nn.Linear(num_hidden, num_outputs)
        (層を作る順番で重みの初期値 (乱数) が決まります。linear1 を先に作ってください。)
    forward(x):
        x (形状 [B, num_inputs]、float32) を linear1 → act_fn → linear2 の順に通し、
        形状 [B, num_outputs] のロジット (sigmoid などをかける前の値) を返します。
    例: SimpleClassifier(2, 4, 1) のパラメータは 2*4 + 4 + 4*1 + 1 = 17 個です。
    """

    def __init__(self, num_inputs: int, num_hidden: int, num_outputs: int):
        """層を作って属性に登録します。"""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x からロジットを計算して返します。"""
        raise NotImplementedError


def count_parameters(model: nn.Module) -> int:
    """モデルの学習対象のパラメータ (requires_grad=True のもの) に含まれる数 (スカラー) の総数を返してください。

    入力: model (nn.Module)
    出力: int (Python の整数。テンソルではありません)
    注意: requires_grad=False で凍結したパラメータや、BatchNorm の running_mean のようなバッファは数えません。
          同じ層を 2 か所で使っている (重みを共有している) ときは、そのパラメータを 1 回だけ数えます。
    例: SimpleClassifier(2, 4, 1) → 17
    """
    raise NotImplementedError


def build_mlp(sizes: list[int]) -> nn.Module:
    """層の大きさのリスト sizes から多層パーセプトロン (MLP) を作って返してください。

    入力: sizes (int のリスト、長さ 2 以上)。例: [2, 8, 4, 1]
    出力: nn.Module。入力を Linear(sizes[0], sizes[1]) → Tanh → Linear(sizes[1], sizes[2]) → Tanh → …
          → Linear(sizes[-2], sizes[-1]) の順に通します。Tanh は Linear と Linear の間だけに入れ、
          最後の Linear のあとには入れません。入力は形状 [B, sizes[0]]、出力は形状 [B, sizes[-1]]。
    守ること: すべての Linear の重みとバイアスが model.parameters() に現れること。
              Linear は前から順に作ること (重みの初期値の乱数の順番がそろいます)。
    """
    raise NotImplementedError


def my_tanh(x: torch.Tensor) -> torch.Tensor:
    """双曲線正接 tanh(x) = (e^x - e^-x) / (e^x + e^-x) を、指数関数 torch.exp を使って計算してください。

    入力: x (任意の形状の浮動小数点テンソル。float32 または float64)
    出力: x と同じ形状・dtype のテンソルで、値は torch.tanh(x) と同じ。
    禁止: torch.tanh / x.tanh() / nn.Tanh / F.tanh、sigmoid の仲間 (torch.sigmoid など)。x を書き換えること。
    守ること: |x| が大きくても (例: x = ±1000) nan や inf にならないこと。
    """
    raise NotImplementedError


def parameters_by_child(model: nn.Module) -> dict[str, int]:
    """【発展課題】モデルの直下の子 (サブモジュール) ごとに、学習対象のパラメータに含まれる数 (スカラー) の合計を
    辞書で返してください。

    入力: model (nn.Module。nn.Sequential や nn.ModuleDict で層を組み合わせたもの。子がさらに子を持つこともあります。
          パラメータはどれもいずれかの子の中にあり、model 自身に直接登録されたパラメータはありません)
    出力: dict。キーは model.named_children() が返す直下の子の名前 (その順番)、値は int (Python の整数)。
    数えるもの: requires_grad=True のパラメータだけです。凍結したパラメータや、BatchNorm の running_mean のような
          バッファは数えません。パラメータを持たない子 (nn.Tanh など) や、すべて凍結した子も、値 0 で辞書に入れます。
          同じ層 (や同じパラメータ) を 2 つの子が共有しているときは、named_children() の順で先の子に 1 回だけ数え、
          あとの子には数えません。
    条件: パラメータがどの子のものかは、名前で見分けること: 使ってよいのは named_children() と named_parameters()
          です。parameters()・children()・modules()・named_modules()・buffers()・named_buffers()・state_dict() は
          使えません。
    例: shared = nn.Linear(4, 4)
        model = nn.Sequential(nn.Linear(2, 4), shared, nn.Tanh(), nn.Sequential(shared, nn.Linear(4, 1)))
        → {"0": 12, "1": 20, "2": 0, "3": 5} (子 "3" の中の shared は、先の子 "1" で数えたので数えません)
    """
    raise NotImplementedError
