"""第 2 章 テンソルの作成とデータ型

torch.zeros / torch.ones / torch.rand / torch.arange などでテンソルを作り、データ型 (dtype) がどう決まるかを学びます。
特に torch.Tensor(...) (既定の dtype。torch.get_default_dtype() で、変えていなければ float32) と torch.tensor(...)
(中身から dtype を推論) の違いに注意しましょう。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/02` で確かめましょう。
"""
import torch


def make_empty(shape: tuple[int, ...]) -> torch.Tensor:
    """値を初期化しない (中身が不定の) テンソルを、形状 `shape` で作って返してください。

    入力: shape (int のタプル。例: (2, 3, 4)。大きさ 0 の次元を含むこともあります)
    出力: 形状 shape、dtype float32 のテンソル。値は何でもかまいません (形状と dtype だけを確かめます)。
    例: make_empty((2, 3, 4)).shape → torch.Size([2, 3, 4])
    """
    # torch.empty only allocates memory: the values are whatever was there (shape () gives a 0-dim tensor).
    return torch.empty(shape)


def make_zeros(shape: tuple[int, ...]) -> torch.Tensor:
    """すべての要素が 0 のテンソルを、形状 `shape` で作って返してください。

    入力: shape (int のタプル。例: (2, 2))
    出力: 形状 shape、dtype float32、すべての要素が 0. のテンソル
    例: make_zeros((2, 2)) → tensor([[0., 0.], [0., 0.]])
    """
    # Factory functions take the shape and use the default dtype, float32.
    return torch.zeros(shape)


def make_ones(shape: tuple[int, ...]) -> torch.Tensor:
    """すべての要素が 1 のテンソルを、形状 `shape` で作って返してください。

    入力: shape (int のタプル。例: (2, 2))
    出力: 形状 shape、dtype float32、すべての要素が 1. のテンソル
    例: make_ones((2, 2)) → tensor([[1., 1.], [1., 1.]])
    """
    # Same as zeros, filled with ones.
    return torch.ones(shape)


def make_rand(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """[0, 1) の一様分布から、渡された乱数生成器 `generator` を使って形状 `shape` の乱数を引いてください。

    入力: shape (int のタプル)、generator (torch.Generator。シードは呼び出し側が設定済み)
    出力: 形状 shape、dtype float32 のテンソル
    例: generator = torch.Generator().manual_seed(0) のとき、make_rand((2, 2), generator)
        → tensor([[0.4963, 0.7682], [0.0885, 0.1320]])
    禁止: グローバルな乱数を使うこと (torch.manual_seed や、generator を渡さない torch.rand)
    """
    # generator= draws from the given generator and leaves the global RNG alone.
    return torch.rand(shape, generator=generator)


def make_randn(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """平均 0、分散 1 の標準正規分布から、渡された乱数生成器 `generator` を使って形状 `shape` の乱数を引いてください。

    入力: shape (int のタプル)、generator (torch.Generator。シードは呼び出し側が設定済み)
    出力: 形状 shape、dtype float32 のテンソル
    禁止: グローバルな乱数を使うこと (torch.manual_seed や、generator を渡さない torch.randn)
    """
    # The normal counterpart of torch.rand, drawing from the same private generator.
    return torch.randn(shape, generator=generator)


def make_arange(start: int | float, end: int | float, step: int | float) -> torch.Tensor:
    """start から end の手前まで、step 刻みで並べた 1 次元テンソルを作ってください (numpy.arange と同じ考え方)。

    入力: start, end, step (int または float。step は負のこともあります)
    出力: 1 次元テンソル (end は含みません)。引数がすべて int なら dtype int64、1 つでも float があれば dtype float32。
    例: make_arange(1, 4, 1) → tensor([1, 2, 3]) (int64)
        make_arange(0, 1, 0.25) → tensor([0.0000, 0.2500, 0.5000, 0.7500]) (float32)
    """
    # torch.arange infers the dtype from its arguments: int64 for ints, the default float32 as soon as one is a float.
    return torch.arange(start, end, step)


def float_tensor_from_list(data: list) -> torch.Tensor:
    """Python のリスト (入れ子でもかまいません) から、要素の型にかかわらず dtype float32 のテンソルを作ってください。

    入力: data (int / float / bool を要素にもつリスト。例: [[1, 2], [3, 4]])
    出力: data と同じ形状・値で、dtype float32 のテンソル
    例: float_tensor_from_list([[1, 2], [3, 4]]) → tensor([[1., 2.], [3., 4.]])
    """
    # torch.Tensor builds a tensor of the default dtype (float32 unless changed), whatever Python values it is given.
    return torch.Tensor(data)


def exact_tensor_from_list(data: list) -> torch.Tensor:
    """Python のリストから、要素の型に応じて dtype を推論したテンソルを作ってください。

    入力: data (入れ子でもかまわないリスト。要素はすべて int、すべて bool、または float を含む数値)
    出力: data と同じ形状・値のテンソル。dtype は int だけなら int64、bool だけなら bool、float を含めば float32。
    例: exact_tensor_from_list([[1, 2], [3, 4]]) → tensor([[1, 2], [3, 4]]) (int64)
    """
    # torch.tensor infers the dtype from the Python values, unlike torch.Tensor which is always float32.
    return torch.tensor(data)


def cast_dtype(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """テンソル `t` を dtype `dtype` に変換したテンソルを返してください。

    入力: t (任意の形状・dtype のテンソル)、dtype (torch.dtype。例: torch.float32, torch.int64)
    出力: t と同じ形状・値で dtype が `dtype` のテンソル。float から int への変換は 0 の方向へ切り捨てます
          (1.75 → 1、-1.75 → -1)。t がすでに `dtype` のときは、t そのものを返してもかまいません
          (変換の必要がないので、t.to(dtype) もそうします)。
    禁止: t 自身を書き換えること (t の値も dtype も元のままにします)
    """
    # .to(dtype) returns a converted tensor and leaves t as it was.
    return t.to(dtype)


def evenly_spaced(start: int | float, end: int | float, steps: int) -> torch.Tensor:
    """【発展課題】start から end まで (両端を含む) を等間隔に分けた steps 個の値を、torch.arange から作ってください。

    入力: start, end (int または float。end < start のこともあります)、steps (int, 1 以上)
    出力: 形状 (steps,)、dtype float32 の 1 次元テンソル。i 番目の値は start + i * (end - start) / (steps - 1)。
          先頭は start、末尾は end です。steps が 1 のときは [start] だけです。引数がすべて int でも float32 にします。
    例: evenly_spaced(0, 1, 5) → tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    制約: torch.linspace、torch.logspace、np.linspace は使えません。Python のループ・内包表記も使えません。
          (ヒント: 小数の刻み幅を torch.arange に渡すと、丸め誤差で end を含んだり含まなかったりします)
    """
    # Integer positions 0..steps-1 times the gap: the count is exact, and an int tensor times a float is float32.
    gap = (end - start) / max(steps - 1, 1)  # steps - 1 intervals; one value has none
    index = torch.arange(steps)              # 0, 1, ..., steps - 1: exact, whatever the gap
    return start + index * gap


def smallest_int_tensor(values: list[int]) -> torch.Tensor:
    """【発展課題】整数のリスト values を、値をすべて正確に表せるいちばん小さい符号付き整数型の 1 次元テンソルにしてください。

    入力: values (Python の int のリスト。空のこともあります。どの値も int64 で表せる範囲にあります)
    出力: 形状 (len(values),) のテンソル。dtype は int8・int16・int32・int64 のうち、values のすべての値が範囲に入る
          いちばん小さい型 (空のリストなら int8)。値は values と同じです。
    例: smallest_int_tensor([3, -7]) → int8、smallest_int_tensor([3, 200]) → int16 (int8 は 127 まで)
    制約: 符号なしの型 (uint8 など) は使いません。型ごとの範囲は torch.iinfo で調べましょう。
          (ヒント: 範囲の外の値を .to(torch.int8) で変換しても、エラーにならずに別の値になります)
    """
    # Try the types from the smallest; torch.iinfo gives each one's range, so nothing is converted out of range.
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        info = torch.iinfo(dtype)
        if all(info.min <= v <= info.max for v in values):
            return torch.tensor(values, dtype=dtype)
    raise ValueError("a value is outside the range of int64")
