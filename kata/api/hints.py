"""Targeted hints: recognise a typical mistake from what differs and say what to try next.

Each function returns a Japanese sentence or ``None``.  They never give the answer away; they name the concept.
Hints that only one chapter's checks give are constants at the top of that chapter's check file (see kata/messages.py).
"""
from __future__ import annotations

import torch

from kata import messages

TRANSPOSED = "次元の順序が入れ替わっているようです。permute / transpose / .T で次元の並びを確認しましょう。"
FLOAT64_FROM_NUMPY = "float64 になっています。NumPy の配列はふつう float64 で、torch.from_numpy や torch.tensor はその dtype を引き継ぎます。float32 が必要なら .float() や dtype=torch.float32 を使いましょう。"
FLOAT64_NOT_FLOAT32 = ("float64 (倍精度) になっています。dtype は元のデータや指定から引き継がれます。float64 のデータから作っていないか、"
                       "dtype=torch.float64 や .double() を使っていないかを確かめ、float32 にするには .float() か dtype=torch.float32 を使いましょう。")
INT_VS_FLOAT = "torch.tensor([1, 2]) は整数から int64 を推論し、torch.Tensor([1, 2]) は既定の dtype (torch.get_default_dtype()、ふつうは float32) で作ります。どちらが求められているか確認しましょう。"
FLOAT_VS_INT = "整数の入力から作ると int64 になるのが期待です。float に変換していませんか？ torch.tensor と torch.Tensor の違いを確認しましょう。"
FLOAT64_DEFAULT = "float64 になっています。dtype=torch.float64 や .double() を使っていないか、float64 のデータから作っていないかを確認し、求められている dtype を指定しましょう。"
GRAD_NONE = "勾配が None です。backward() を呼びましたか？ 対象のテンソルは requires_grad=True の葉テンソルですか？"
GRAD_SUM_NOT_MEAN = ("勾配が期待のちょうど {factor} 倍で、これは要素数 ({factor}) と同じです。平均 (mean) のかわりに合計 (sum) を"
                     "使っていませんか？ 平均は合計を要素数で割るので、勾配も要素数分の 1 になります。")
GRAD_MEAN_NOT_SUM = ("勾配が期待の 1/{factor} で、{factor} は要素数と同じです。合計 (sum) のかわりに平均 (mean) を使っていませんか？ "
                     "また、スカラーでない値の backward() に渡す gradient は、要素がすべて 1 のテンソルです。")
GRAD_LEN_NOT_NUMEL = ("勾配が期待のちょうど {factor} 倍です。len(x) で割っていませんか？ len(x) は先頭の次元の大きさ ({length}) だけで、"
                      "要素数は x.numel() ({numel}) です。.mean() を使えば要素数で割られます。")
GRAD_BACKWARD_COUNT = ("勾配が期待の {ratio} 倍で、backward() {count} 回分の勾配が足し合わされた値です (期待は {expected} 回分)。"
                       "backward() を呼ぶ回数と、途中で .grad をゼロにしていないか (または前の勾配が残っていないか) を確認しましょう。")
GRAD_MULTIPLE = ("勾配が期待のちょうど {factor} 倍です。式の係数を確かめましょう。backward() を {factor} 回呼んだときや、"
                 "前の計算の勾配が .grad に残っていたとき (zero_grad 忘れ) にも、勾配はこの倍数になります。")
GRAD_FRACTION = ("勾配が期待の 1/{factor} です。式の係数を確かめましょう。backward() の回数が足りないときや、途中で勾配をゼロにした"
                 "ときにも、勾配はこの割合になります。")
DEVICE_MOVE = "x.to(device) は新しいテンソルを返し、x 自身は動きません。戻り値を受け取って使いましょう。"
NEEDS_VIEW = "view (メモリ共有) が求められています。.clone() や .contiguous()、torch.tensor(...) はコピーを作ります。view / permute / unsqueeze / from_numpy を確認しましょう。"
NEEDS_COPY = "元のデータと独立したコピーが求められています。.clone() や np.copy / torch.tensor(...) を使いましょう。"
NEEDS_CONTIGUOUS = ("結果がメモリ上で連続していません。.reshape() / .flatten() は、できるときはコピーせずに view を返すので、"
                    "x[::2] のような 1 次元の非連続なテンソルは非連続のまま返ってきます。"
                    ".contiguous() で行優先に並べ直したコピーを作ってから形を変えましょう。")
NOT_CONTIGUOUS_EXPECTED = "permute / transpose は要素をコピーせず、ストライドだけを変えた (非連続な) view を返します。.contiguous() でコピーしたり、view / reshape で並べ直したりしていませんか？"
REQUIRES_GRAD_OFF = ("requires_grad が False になっています。勾配の記録がどこで切れたかを探しましょう: .detach()、.item()、"
                     "torch.no_grad() の中での計算、NumPy や torch.tensor(...) を経由したコピーは、計算グラフから切り離します。"
                     "新しく作る葉テンソルなら、作るときに requires_grad=True を指定します。")
REQUIRES_GRAD_ON = ("勾配の記録が残っています (計算グラフが作られています)。計算する前に記録を止めましょう: with torch.no_grad(): の中で"
                    "計算します。.detach() は、いったん作ったグラフをあとから切り離すだけです。")
INPUT_REQUIRES_GRAD_CHANGED = ("入力の requires_grad が変わっています。t.requires_grad_(False) や t.detach_() は入力そのものを書き換えます。"
                               "t.detach() は t を変えずに、切り離した新しいテンソルを返します。")
NOT_LEAF = ("葉テンソル (is_leaf) ではありません。requires_grad を付けたあとに演算 (* など) や dtype を変える変換 (.double() など。"
            "dtype が変わらない .float() は同じテンソルを返すだけ) をすると、結果は葉ではなくなります。作成時に dtype と "
            "requires_grad を指定しましょう。")
NEGATED = "値の符号が反対です。引き算の向きや、勾配降下の符号 (w - lr * grad) を確認しましょう。"
FLIPPED = ("次元 {dim} の並びが逆になっています。rot90 や flip は要素の並びを反転します (rot90 は回転で、転置ではありません)。"
           "次元を入れ替えるだけなら permute / transpose です。")
SCALED = "値が期待のちょうど {factor} 倍です。平均 (mean) と合計 (sum) の違いや、係数を確認しましょう。"
VALUES_TRANSPOSED = ("値の行と列 (次元 0 と 1) が入れ替わっています。torch.meshgrid は indexing='xy' だと最初の 2 つの次元が"
                     "入れ替わった並びになります。indexing='ij' を指定するか、permute / transpose の次元を確認しましょう。")
TENSOR_FROM_SHAPE = ("形状のタプルが「値」として読まれたようです。torch.Tensor((2, 3)) は値 [2., 3.] の 1 次元テンソルを作ります。"
                     "形状は torch.empty(shape) / torch.zeros(shape) に渡しましょう (torch.Tensor(*shape) は shape が () のとき形状 (0,) の"
                     "空のテンソルになり、0 次元になりません)。")
SQUEEZED_TOO_MUCH = ("大きさ 1 の次元まで消えています。引数なしの squeeze() は大きさ 1 の次元をすべて消すので、"
                     "B = 1 のときはバッチの次元まで消えます。消す次元を squeeze(dim=...) で指定しましょう。")
EXTRA_SIZE1_DIM = "余分な大きさ 1 の次元が残っています。squeeze(dim=...) で消す次元を指定するか、unsqueeze を付けすぎていないか確認しましょう。"
LIST_NOT_TUPLE = "リスト (list) が返されています。タプルで返すには return a, b と書くか、tuple(...) で変換しましょう (DataLoader のバッチはリストです)。"
NUMPY_NOT_TENSOR = "NumPy 配列が返されています。torch.from_numpy / torch.tensor でテンソルにしましょう。"
TENSOR_NOT_NUMPY = "テンソルが返されています。.numpy() で NumPy 配列にしましょう。"
ZERO_DIM_NOT_NUMBER = "0 次元テンソルが返されています。.item() で Python の数値にしましょう。"
RETURN_MISSING = "return 文を忘れていませんか？"
OWN_GENERATOR = "torch.Generator() を作って manual_seed し、generator= 引数で渡しましょう。"
GIVEN_GENERATOR = ("渡された generator をそのまま generator= 引数に渡して、必要な回数だけ乱数を引きましょう。"
                   "別の Generator を作ったり、余分に引いたりすると、呼び出し側の generator の状態がずれます。")
TUPLE_NOT_LIST = "タプル (tuple) が返されています。リストが求められているので、[...] で作るか list(...) で変換しましょう。"

MAP_LOCATION = ("GPU で保存したチェックポイントは、そのままでは同じ GPU の上に読み込もうとします。"
                "torch.load(..., map_location='cpu') で CPU に読み込みましょう。")

# Hints keyed by a fragment of a torch/numpy error message (lower-case).
EXCEPTION_HINTS: tuple[tuple[str, str], ...] = (
    ("can't call numpy() on tensor that requires grad", "requires_grad=True のテンソルはそのまま numpy() にできません。.detach() してから変換しましょう。"),
    ("can't convert cuda", "GPU 上のテンソルは直接 NumPy にできません。.cpu() で CPU に移してから変換しましょう。"),
    ("can't convert mps", "MPS 上のテンソルは直接 NumPy にできません。.cpu() で CPU に移してから変換しましょう。"),
    ("negative strides", "負のストライド (a[::-1] など) の配列は torch.from_numpy できません。先に .copy() しましょう。"),
    ("view size is not compatible", "このテンソルはメモリ上の並びが形状と合わない (非連続な) ので、view が使えません。"
     ".contiguous() で連続なコピーを作ってから view しましょう。reshape も使えますが、できるときは view を返すので、"
     "結果が連続になるとは限りません。"),
    ("a leaf variable that requires grad is being used in an in-place operation",
     "requires_grad=True の葉テンソル (パラメータなど) を、その場で (+= や add_ などで) 書き換えようとしています。"
     "その操作まで計算グラフに記録しようとするのでエラーになります。パラメータの更新は with torch.no_grad(): の中で行い、"
     "それ以外なら書き換えずに新しいテンソルを作りましょう。"),
    ("can require gradients",
     "勾配 (requires_grad=True) を持てるのは浮動小数点数 (と複素数) のテンソルだけです。整数のテンソル (torch.arange(3) や "
     "torch.tensor([1, 2]) は int64) に requires_grad を付けていませんか？ 作るときに dtype=torch.float32 を指定しましょう。"),
    ("element 0 of tensors does not require grad", "backward() する値が勾配グラフにつながっていません。入力に requires_grad=True が付いているか、no_grad の中で計算していないか確認しましょう。"),
    ("grad can be implicitly created only for scalar outputs", "スカラーでない値に backward() するには、同じ形状の gradient 引数 (例: torch.ones_like(y)) が必要です。"),
    ("trying to backward through the graph a second time", "同じ計算グラフで 2 回 backward() するには retain_graph=True が必要です。"),
    ("expected all tensors to be on the same device",
     "計算に使うテンソルが別々のデバイス (CPU と GPU など) にあります。エラーに出ている 2 つのデバイスを確かめ、"
     "片方を .to(もう片方.device) で移してそろえましょう (.to は新しいテンソルを返すので、戻り値を使います)。"),
    ("mat1 and mat2 shapes cannot be multiplied", "行列積の内側の次元が合っていません。形状を print して、転置が必要か確認しましょう。"),
    ("sampler option is mutually exclusive with shuffle",
     "DataLoader の引数は (dataset, batch_size, shuffle, sampler, ...) の順です。4 番目に位置で渡した値は sampler に"
     "なります。drop_last= のように、キーワード引数で渡しましょう。"),
    ("mat1 and mat2 must have the same dtype",
     "行列積の 2 つのテンソル (入力と nn.Linear の重みなど) の dtype がそろっていません。NumPy から来た float64 の入力を "
     "float32 の重みに渡していませんか？ 入力を .float() (または .to(重み.dtype)) で重みの dtype に合わせましょう。"),
    ("expected scalar type", "dtype がそろっていません。.float() / .to(dtype) で合わせましょう。"),
    ("found dtype", "dtype がそろっていません。.float() / .to(dtype) で合わせましょう。"),
    ("only integer tensors of a single element can be converted to an index", "インデックスには整数を使いましょう。"),
    ("mps framework doesn't support float64", "MPS は float64 を扱えません。float32 を使いましょう。"),
    ("is not on the expected device", "テンソルが別々のデバイスにあります。b.to(a.device) のように片方を移してからそろえて計算しましょう。"),
    ("torch not compiled with cuda enabled", "この環境には CUDA がありません。デバイスが cuda のときだけ torch.cuda の関数を呼びましょう。"),
    ("must be the same as input size", "出力とラベルの形状が合っていません。出力 [B, 1] の最後の次元だけを消すと [B] になります "
     "(squeeze(dim=1))。引数なしの squeeze() は B = 1 のときバッチの次元まで消してしまいます。"),
    ("can't be cast to the desired output type long", "ラベルが int64 のままです。BCE の正解には .float() で浮動小数点にしたラベルを渡しましょう。"),
    ("attempting to deserialize object on", MAP_LOCATION),
    ("cannot assign module before module.__init__() call",
     "nn.Module を継承したクラスの __init__ で、super().__init__() を呼ぶ前に層を代入しています。super().__init__() は"
     "部品 (サブモジュールとパラメータ) を登録する入れ物を用意するので、__init__ の最初に呼びましょう。"),
    ("cannot assign parameter before module.__init__() call",
     "nn.Module を継承したクラスの __init__ で、super().__init__() を呼ぶ前にパラメータを代入しています。"
     "super().__init__() を __init__ の最初に呼びましょう。"),
    *((f"object has no attribute '{name}'",
       "nn.Module の内部の入れ物がありません。__init__ の最初で super().__init__() を呼び忘れていませんか？")
      for name in ("_modules", "_parameters", "_buffers", "_backward_hooks", "_forward_hooks", "_forward_pre_hooks")),
    ("cannot reshape tensor of 0 elements",
     "要素が 0 個のテンソルでは、-1 の次元の大きさを決められません (何を掛けても 0 になるため)。"
     "-1 を使わずに、求める大きさ (rows, cols など) をそのまま指定しましょう。"),
    ("division by zero",
     "0 で割っています。データが 0 件のとき (B = 0 や空のデータ) に件数で割っていませんか？ 割る数が 0 になる場合を確かめましょう。"),
    ("meta tensor",
     "meta デバイスのテンソルは形状と dtype だけを持ち、値 (データ) を持ちません。.item() / .tolist() / .numpy() / .cpu() "
     "のように値を読み出す操作はできないので、テンソルの演算と .to(device) だけで書きましょう。"),
    ("meta device type tensor",
     "meta デバイスのテンソルは値を持たないので、NumPy にも CPU にも移せません。テンソルの演算と .to(device) だけで書きましょう。"),
)


def for_exception(exc: BaseException) -> str | None:
    """A hint for a learner's exception, chosen by a fragment of its message."""
    text = str(exc).lower()
    for fragment, hint in EXCEPTION_HINTS:
        if fragment in text:
            return hint
    return None


def _is_float(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point or dtype.is_complex


def _dims_permuted(actual: torch.Size, expected: torch.Size) -> bool:
    """The same sizes in another order (2 or more dims)."""
    return len(actual) == len(expected) >= 2 and sorted(actual) == sorted(expected) and actual != expected


def _shape_became_values(actual: torch.Size, expected: torch.Size) -> bool:
    """One dim as long as the expected shape has dims: torch.Tensor(shape) read the tuple as data."""
    return len(expected) >= 1 and tuple(actual) == (len(expected),) and actual != expected


def _size1_dims_lost(actual: torch.Size, expected: torch.Size) -> bool:
    """The expected shape without (some of) its size-1 dims."""
    return len(actual) < len(expected) and tuple(actual) == tuple(d for d in expected if d != 1)


def _size1_dims_extra(actual: torch.Size, expected: torch.Size) -> bool:
    """The expected shape with size-1 dims added."""
    return len(actual) > len(expected) and \
        tuple(d for d in actual if d != 1) == tuple(d for d in expected if d != 1)


#: Each targeted shape hint with its premise (a predicate on (actual, expected)); the first that holds is given.
SHAPE_PREMISES = (
    (_dims_permuted, TRANSPOSED),
    (_shape_became_values, TENSOR_FROM_SHAPE),
    (_size1_dims_lost, SQUEEZED_TOO_MUCH),
    (_size1_dims_extra, EXTRA_SIZE1_DIM),
)


def for_shape(actual: torch.Size, expected: torch.Size) -> str | None:
    return next((hint for premise, hint in SHAPE_PREMISES if premise(actual, expected)), None)


#: Each targeted dtype hint with its premise (a predicate on (actual, expected, from_numpy)); the first that holds.
DTYPE_PREMISES = (
    (lambda a, e, numpy: a == torch.float64 and e == torch.float32 and numpy, FLOAT64_FROM_NUMPY),
    (lambda a, e, numpy: a == torch.float64 and e == torch.float32, FLOAT64_NOT_FLOAT32),
    (lambda a, e, numpy: a == torch.int64 and _is_float(e), INT_VS_FLOAT),
    (lambda a, e, numpy: _is_float(a) and e == torch.int64, FLOAT_VS_INT),
    (lambda a, e, numpy: a == torch.float64, FLOAT64_DEFAULT),
)


def for_dtype(actual: torch.dtype, expected: torch.dtype, from_numpy: bool = False) -> str | None:
    """``from_numpy``: the input came from NumPy (only then may a float64 result be blamed on NumPy)."""
    return next((hint for premise, hint in DTYPE_PREMISES if premise(actual, expected, from_numpy)), None)


def for_device(actual: torch.device, expected: torch.device) -> str | None:
    return DEVICE_MOVE if actual != expected else None


def for_contiguous(actual: bool, expected: bool) -> str | None:
    return NEEDS_CONTIGUOUS if expected and not actual else NOT_CONTIGUOUS_EXPECTED


def for_requires_grad(actual: bool, expected: bool, name: str = "") -> str | None:  # noqa: ARG001 (the for_* signature)
    if name.startswith(messages.NAME_INPUT):
        return INPUT_REQUIRES_GRAD_CHANGED
    return REQUIRES_GRAD_OFF if expected else REQUIRES_GRAD_ON


def _ratio(actual: torch.Tensor, expected: torch.Tensor) -> float | None:
    """The constant factor actual / expected, if there is one (ignores zeros in expected)."""
    if not (_is_float(actual.dtype) or _is_float(expected.dtype)) and actual.dtype == torch.bool:
        return None
    if actual.is_complex() or expected.is_complex():  # a real factor says nothing about complex values
        return None
    a, e = actual.detach().double(), expected.detach().double()
    mask = e.abs() > 1e-12
    if not bool(mask.any()) or a.shape != e.shape:
        return None
    ratios = a[mask] / e[mask]
    r = float(ratios[0])
    if not torch.allclose(ratios, torch.full_like(ratios, r), rtol=1e-4, atol=1e-6):
        return None
    if not torch.allclose(a[~mask], torch.zeros_like(a[~mask]), atol=1e-6):
        return None
    return r


def _whole(x: float) -> int | None:
    """``x`` as a whole number >= 1, or None."""
    k = round(x)
    return k if k >= 1 and abs(x - k) < 1e-4 * max(1, k) else None


def _same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.is_floating_point() or a.is_complex():
        return bool(torch.allclose(a, b, rtol=1e-5, atol=1e-6))
    return bool(torch.equal(a, b))


def _flipped_dim(actual: torch.Tensor, expected: torch.Tensor) -> int | None:
    """The dim (of size 3 or more: reversing two elements is also a swap) along which actual is expected reversed."""
    if actual.shape != expected.shape or actual.dtype != expected.dtype or actual.device != expected.device:
        return None
    a, e = actual.detach(), expected.detach()
    if _same_values(a, e):
        return None
    return next((d for d in range(a.dim()) if a.shape[d] >= 3 and _same_values(a, e.flip(d))), None)


def for_values(actual: torch.Tensor, expected: torch.Tensor) -> str | None:
    if (actual.dim() >= 2 and actual.shape[0] == actual.shape[1] >= 2 and actual.shape == expected.shape
            and actual.dtype == expected.dtype and actual.device == expected.device
            and _same_values(actual.detach(), expected.detach().transpose(0, 1))):
        return VALUES_TRANSPOSED
    flipped = _flipped_dim(actual, expected)
    if flipped is not None:
        return FLIPPED.format(dim=flipped)
    r = _ratio(actual, expected)
    if r is None or abs(r - 1) < 1e-6:
        return None
    if abs(r + 1) < 1e-6:
        return NEGATED
    rounded = round(r)
    if abs(r - rounded) < 1e-4 and rounded >= 2:
        return SCALED.format(factor=rounded)
    return None


def for_grad(actual: torch.Tensor | None, expected: torch.Tensor, backward_calls: int | None = None) -> str | None:
    """A cause that fits the ratio of the gradients and the exercise.

    ``expected`` has the shape of the input, so its element count tells a sum-for-mean mistake (ratio == numel) and
    a division by ``len(x)`` (ratio == numel / len(x)) apart from a wrong number of ``backward()`` calls.
    ``backward_calls``: how many backward passes the exercise asks for (then a ratio k / calls reads as k passes).
    """
    if actual is None:
        return GRAD_NONE
    r = _ratio(actual, expected)
    if r is None or abs(r - 1) < 1e-6 or r <= 0:
        return None
    numel = expected.numel()
    if numel >= 2 and _whole(r) == numel:
        return GRAD_SUM_NOT_MEAN.format(factor=numel)
    if backward_calls is not None and backward_calls > 1 and _whole(r * backward_calls) is not None:
        # Several passes are the point of the exercise: a shortfall in passes is the likelier cause.
        return GRAD_BACKWARD_COUNT.format(ratio=f"{r:.4g}", count=_whole(r * backward_calls), expected=backward_calls)
    if numel >= 2 and _whole(1 / r) == numel:
        return GRAD_MEAN_NOT_SUM.format(factor=numel)
    if expected.dim() >= 2 and 2 <= expected.shape[0] < numel and _whole(r) == numel // expected.shape[0] \
            and numel % expected.shape[0] == 0:
        return GRAD_LEN_NOT_NUMEL.format(factor=numel // expected.shape[0], length=expected.shape[0], numel=numel)
    if backward_calls is not None:
        count = _whole(r * backward_calls)
        if count is not None:
            return GRAD_BACKWARD_COUNT.format(ratio=f"{r:.4g}", count=count, expected=backward_calls)
        return None
    if _whole(r) is not None:
        return GRAD_MULTIPLE.format(factor=_whole(r))
    if _whole(1 / r) is not None:
        return GRAD_FRACTION.format(factor=_whole(1 / r))
    return None


# -- a wrapped model's inputs, grad mode and training mode (kata.api.probe); training steps that several chapters check ----
MOVE_BATCH = ("バッチ (入力とラベル) を、モデルのパラメータと同じデバイスへ .to(device) で移しましょう。device は"
              "モデルから読めます: next(model.parameters()).device。モデルのほうを CPU に移すのではありません "
              "(オプティマイザが持っているのは、移す前のパラメータです)。")
NO_GRAD_FOR_EVAL = "評価に勾配は要りません。with torch.no_grad(): の中でモデルを呼ぶ (または関数に @torch.no_grad() を付ける) と、計算グラフを作らずに済みます。"
EVAL_MODE = "評価の前に model.eval() を呼びましょう (model.train() に戻さないこと)。Dropout や BatchNorm は学習モードと評価モードで動きが変わります。"
STEP_MISSING = "backward() は勾配を計算するだけで、パラメータは変えません。optimizer.step() を呼びましたか？"
ZERO_GRAD = "backward() は .grad に足し合わせます。backward() の前に optimizer.zero_grad() で前の勾配を消しましょう。"
TRAIN_MODE = ("学習の前に model.train() を呼びましょう。評価のあとなどで model.eval() のままだと、"
              "Dropout や BatchNorm が学習用の動きをしません。")

#: Every constant above is public: check files and the engine use them by name (a check file keeps its own chapter's
#: words; see tests/test_engine_words.py).
__all__ = [name for name in dict(globals()) if name.isupper() and not name.startswith("_")]
