"""第 9 章 Dataset と DataLoader

データを 1 件ずつ取り出す data.Dataset と、それをミニバッチにまとめて (必要ならシャッフルして) 順に渡す
data.DataLoader を作ります。題材は、あとの章で学習に使う「連続値の XOR」データです。
各関数・クラスの本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/09` で確かめましょう。
"""
import torch
from torch.utils import data


class XORDataset(data.Dataset):
    """連続値の XOR データセットを作ってください (data.Dataset を継承します)。

    __init__(size, std=0.1):
        最初に super().__init__() を呼び、次の順で乱数を引いてデータを作り、属性 self.data (入力点) と
        self.label (ラベル) に保存します (あとで点を描くときにこの 2 つの名前で読みます。UvA のチュートリアルと同じ名前です)。
        1. 角の点: torch.randint(0, 2, (size, 2)) を float32 にしたもの (各座標が 0 か 1)
        2. ラベル: 角の点の 2 つの座標の和が 1 なら 1、そうでなければ 0 (int64、形状 [size])
           (ラベルはノイズを足す前の点で決めます)
        3. 入力点: 角の点に std * torch.randn(size, 2) のノイズを足したもの (float32、形状 [size, 2])
        (乱数を引く順番 (randint → randn) を守ると、同じシードで模範解答と同じデータになります。)
    __len__():
        データの個数 size を返します (len(dataset) の値になります)。
    __getitem__(idx):
        idx 番目の (入力点, ラベル) をタプルで返します。入力点は形状 [2] の float32、
        ラベルは形状 [] (0 次元) の int64 のテンソルです。
    """

    def __init__(self, size: int, std: float = 0.1):
        """データを作って保存します。"""
        raise NotImplementedError

    def __len__(self) -> int:
        """データの個数を返します。"""
        raise NotImplementedError

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """idx 番目の (入力点, ラベル) を返します。"""
        raise NotImplementedError


def make_loader(dataset: data.Dataset, batch_size: int, shuffle: bool, drop_last: bool = False) -> data.DataLoader:
    """dataset から、batch_size 件ずつのミニバッチを出す DataLoader を作って返してください。

    入力: dataset (data.Dataset)、batch_size (int)、shuffle (bool: 回すたびに順番を混ぜるか)、
          drop_last (bool: 最後の半端なバッチを捨てるか)
    出力: data.DataLoader。num_workers は既定値 (0) のままにします。
    条件: 作るときにグローバルな乱数を引かないこと (shuffle=True の順番は、回すときにグローバルな乱数から決まります)。
    例: 2500 件を batch_size=128 で → 20 バッチ (最後のバッチは 68 件)。drop_last=True なら 19 バッチ。
        shuffle=False なら、データセットの順番どおりに出てきます。
    """
    raise NotImplementedError


def seeded_loader(dataset: data.Dataset, batch_size: int, seed: int) -> data.DataLoader:
    """シャッフルする DataLoader を、同じ seed なら同じ順番になるように作って返してください。

    入力: dataset (data.Dataset)、batch_size (int)、seed (int)
    出力: shuffle=True の data.DataLoader。同じ seed で作った 2 つのローダーは、それぞれを最初から回すと
          同じバッチを同じ順番で出します。seed が違えば順番も違います。
    禁止: torch.manual_seed などでグローバルな乱数状態を変えること (ローダーを作るときも、回すときも)。
    """
    raise NotImplementedError


def first_batch(loader: data.DataLoader) -> tuple[torch.Tensor, torch.Tensor]:
    """loader が最初に出すミニバッチ (inputs, labels) を返してください。

    入力: loader (data.DataLoader。データセットの各要素は (入力, ラベル) のタプル)
    出力: (inputs, labels) のタプル (list ではなく tuple)。B をバッチの大きさとして、
          inputs は形状 [B, ...]、labels は形状 [B]。
    """
    raise NotImplementedError


class EveryKthView(data.Dataset):
    """【発展課題】別のデータセット base の 0, k, 2k, ... 番目の要素だけを見せるデータセットを作ってください
    (data.Dataset を継承します)。データは写さず、頼まれたときに base から取り出します。

    __init__(base, k):
        base (len と [] で要素を取り出せるデータセット。要素の中身はなんでもかまいません)、k (int, 1 以上)。
        base と k を覚えておくだけにします (ここで base の要素を取り出したり写したりしません)。
    __len__():
        見せる要素の個数。base が n 個なら、0, k, 2k, ... のうち n より小さいものの個数 (n が k で割り切れない
        ときも、最後の半端な 1 個を数えます)。例: n = 10、k = 3 → 0, 3, 6, 9 の 4 個。
        DataLoader はこの値でバッチの数を決めるので、__getitem__ と食い違ってはいけません。
    __getitem__(i):
        0 <= i < len(self) について、base[i * k] をそのまま返します (写さないので、base の要素がテンソルなら
        メモリを共有します)。
    条件: ループや内包表記を使わないこと。data.Subset は使わずに、__len__ と __getitem__ を自分で書くこと。
    """

    def __init__(self, base: data.Dataset, k: int):
        """base と k を覚えておきます。"""
        raise NotImplementedError

    def __len__(self) -> int:
        """見せる要素の個数を返します。"""
        raise NotImplementedError

    def __getitem__(self, i: int):
        """i 番目に見せる要素 base[i * k] を返します。"""
        raise NotImplementedError
