"""第 3 章 NumPy との相互変換

NumPy 配列とテンソルを行き来します。メモリを共有する変換 (view) とコピーを作る変換の違い、NumPy がふつう使う
float64 とモデルが使う float32 の違い、勾配つきのテンソルや GPU 上のテンソルを NumPy にする方法を学びます。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/03` で確かめましょう。
"""
import numpy as np
import torch


def numpy_to_tensor(a: np.ndarray) -> torch.Tensor:
    """NumPy 配列 `a` を、`a` とメモリを共有するテンソルに変換してください (コピーしません)。

    入力: a (任意の形状・dtype の NumPy 配列)
    出力: a と同じ形状・値のテンソル。dtype は a のまま (float64 なら float64、int64 なら int64)。
          メモリを共有するので、あとで a を書き換えると戻り値にもその変更が見えます。
    例: numpy_to_tensor(np.array([2, 3])) → tensor([2, 3])
    """
    raise NotImplementedError


def numpy_to_tensor_copy(a: np.ndarray) -> torch.Tensor:
    """NumPy 配列 `a` を、`a` とは独立した (メモリを共有しない) テンソルに変換してください。

    入力: a (任意の形状・dtype の NumPy 配列)
    出力: a と同じ形状・値・dtype のテンソル。あとで a を書き換えても戻り値は変わりません。
    """
    raise NotImplementedError


def numpy_to_float32(a: np.ndarray) -> torch.Tensor:
    """NumPy 配列 `a` を、モデルに渡せる dtype float32 のテンソルに変換してください。

    入力: a (任意の形状の NumPy 配列。dtype は float64、int64、bool など)
    出力: a と同じ形状・値で dtype float32 のテンソル
    注意: NumPy の浮動小数点数はふつう float64 ですが、PyTorch のモデルの重みは float32 です。
    禁止: a 自身を書き換えること
    """
    raise NotImplementedError


def tensor_to_numpy(t: torch.Tensor) -> np.ndarray:
    """テンソル `t` を NumPy 配列に変換してください。`t` が requires_grad=True のときも、GPU などのデバイス上に
    あるときも動くようにします。

    入力: t (任意の形状・dtype・デバイスのテンソル。requires_grad=True のこともあります)
    出力: t と同じ形状・値の numpy.ndarray。dtype は対応する NumPy の型 (float32 → float32、int64 → int64 など)。
          CPU 上の t なら、戻り値は t とメモリを共有していてもかまいません (.numpy() はコピーを作らないので、
          戻り値を書き換えると t も変わります)。GPU などの上の t からは、CPU へのコピーになります。
    禁止: t 自身を変えること (requires_grad を外す、別のデバイスへ移す など)
    """
    raise NotImplementedError


def flipped_to_tensor(a: np.ndarray) -> torch.Tensor:
    """NumPy 配列 `a` を先頭の次元 (NumPy では axis 0) で逆順にした `a[::-1]` を、テンソルにして返してください。

    入力: a (1 次元以上の NumPy 配列)
    出力: a[::-1] と同じ形状・値・dtype のテンソル
    注意: a[::-1] は要素をコピーしない view です。そのまま変換しようとするとエラーになることがあります。
    禁止: a 自身を書き換えること
    """
    raise NotImplementedError


def center_columns_in_place(a: np.ndarray) -> np.ndarray:
    """【発展課題】2 次元の NumPy 配列 `a` の各列から、その列の平均を引いてください。結果は `a` 自身に書き込みます
    (呼び出し側が持っている配列そのものが変わります)。

    やり方: `a` とメモリを共有するテンソルを作り、そのテンソルを in-place で書き換えます。`t = t - 平均` のように
    新しいテンソルを作って名前を付け直すだけでは、`a` は変わりません。
    入力: a (2 次元、dtype float32 または float64、行数 1 以上。ストライドつきの view や列優先 (Fortran 順) の
          こともあります)
    出力: a そのもの (同じオブジェクト)。dtype は元のまま。各列の平均は 0 になります。
    例: a = np.array([[1., 10.], [3., 20.]]) → 呼び出しのあと a は [[-1., -5.], [1., 5.]]
    制約: データのコピー (np.array、np.copy、.copy()、torch.tensor、.clone()) と、Python のループ・内包表記は
          使えません。
    """
    raise NotImplementedError


def float32_view_or_copy(a: np.ndarray) -> torch.Tensor:
    """【発展課題】NumPy 配列 `a` を dtype float32 のテンソルにしてください。コピーは必要なときだけ作ります。

    - a が float32 で、負のストライド (a[::-1] のような逆順の view) がなければ、a とメモリを共有するテンソル
      (コピーなし) を返します。ストライドつきの view (a[:, ::2]) や列優先の配列もそのまま共有できます。
    - a が負のストライドをもつと、テンソルはそのメモリを共有できません。そのときだけコピーしてから変換します。
    - a が float32 でなければ (float64、int64、bool など)、float32 に変換した新しいテンソルになります。
    入力: a (1 次元以上、要素数 1 以上の NumPy 配列)
    出力: a と同じ形状・値で dtype float32 のテンソル
    制約: Python のループ・内包表記は使えません。a 自身を書き換えてはいけません。
    """
    raise NotImplementedError
