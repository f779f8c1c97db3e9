"""第 1 章 環境確認と乱数シード

PyTorch のバージョンを確認し、乱数のシードを固定して結果を再現できるようにします。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/01` で確かめましょう。
"""
import torch


def torch_version() -> str:
    """インストールされている PyTorch のバージョンを文字列で返してください。

    入力: なし
    出力: str (例: "2.13.0+cpu")。print するのではなく return します。
    """
    raise NotImplementedError


def seeded_rand(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """`torch.manual_seed(seed)` でシードを固定してから、[0, 1) の一様乱数を形状 `shape` で作って返してください。

    入力: seed (int)、shape (int のタプル。例: (2, 2))
    出力: 形状 shape、dtype float32 のテンソル
    例: seed=0, shape=(2, 2) → tensor([[0.4963, 0.7682], [0.0885, 0.1320]])
    """
    raise NotImplementedError


def same_random_twice(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """シードの効果を確かめます。`torch.randn(n)` を 2 回引き、それぞれの直前に `seed` でシードを設定し直してください。

    入力: seed (int)、n (int, 要素数)
    出力: (1 回目, 2 回目) のタプル。どちらも形状 (n,)、float32。シードのおかげで 2 つは等しくなるはずです。
    """
    raise NotImplementedError


def rand_with_generator(seed: int, n: int) -> torch.Tensor:
    """グローバルな乱数状態を変えずに乱数を作ります。専用の `torch.Generator` を `seed` で初期化し、
    そこから [0, 1) の一様乱数を n 個引いてください。

    入力: seed (int)、n (int)
    出力: 形状 (n,)、float32 のテンソル。例: seed=42, n=3 → tensor([0.8823, 0.9150, 0.3829])
    禁止: torch.manual_seed (グローバルな乱数状態が変わってしまいます)
    """
    raise NotImplementedError


def two_streams_from_one_seed(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """【発展課題】1 つのシードから、互いに影響しない 2 本の乱数の流れ (ストリーム) を作ります。

    専用の `torch.Generator` を 2 つ作り、1 つめを `seed`、2 つめを `seed + 1` で初期化してください。
    1 つめから [0, 1) の一様乱数を n 個 (u)、2 つめから標準正規分布の乱数を n 個 (z) 引いて、(u, z) を返します。
    生成器が別々なので、どちらを先に引いても、途中で何回引いても、もう一方の流れは変わりません。

    入力: seed (int)、n (int, 要素数)
    出力: (u, z) のタプル。どちらも形状 (n,)、float32
    制約: グローバルな乱数状態を変えないこと (torch.manual_seed、torch.seed、torch.set_rng_state、
          torch.random.fork_rng は使えません)。u と z を同じ生成器から引かないこと。
    例: seed=42, n=3 → u = tensor([0.8823, 0.9150, 0.3829])
    """
    raise NotImplementedError
