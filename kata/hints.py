"""Targeted hints: recognise a typical mistake from what differs and say what to try next.

Each function returns a Japanese sentence or ``None``.  They never give the answer away; they name the concept.
"""
from __future__ import annotations

import torch

TRANSPOSED = "次元の順序が入れ替わっているようです。permute / transpose / .T で次元の並びを確認しましょう。"
FLOAT64_FROM_NUMPY = "float64 になっています。NumPy の配列はふつう float64 で、torch.from_numpy や torch.tensor はその dtype を引き継ぎます。float32 が必要なら .float() や dtype=torch.float32 を使いましょう。"
INT_VS_FLOAT = "torch.tensor([1, 2]) は整数から int64 を推論し、torch.Tensor([1, 2]) は常に float32 を作ります。どちらが求められているか確認しましょう。"
FLOAT_VS_INT = "整数の入力から作ると int64 になるのが期待です。float に変換していませんか？ torch.tensor と torch.Tensor の違いを確認しましょう。"
FLOAT64_DEFAULT = "float64 になっています。Python の float や NumPy から来た値ではありませんか？ dtype=torch.float32 を指定しましょう。"
GRAD_NONE = "勾配が None です。backward() を呼びましたか？ 対象のテンソルは requires_grad=True の葉テンソルですか？"
GRAD_ACCUMULATED = "勾配が期待のちょうど {factor} 倍です。backward() を重ねると .grad は足し合わされます (累積)。呼ぶ回数と、x.grad.zero_() / x.grad = None を確認しましょう。"
GRAD_PARTIAL = "勾配が期待の 1/{factor} です。backward() の回数が足りないか、途中で勾配をゼロにしていませんか？"
DEVICE_MOVE = "x.to(device) は新しいテンソルを返し、x 自身は動きません。戻り値を受け取って使いましょう。"
NEEDS_VIEW = "view (メモリ共有) が求められています。.clone() や .contiguous()、torch.tensor(...) はコピーを作ります。view / permute / unsqueeze / from_numpy を確認しましょう。"
NEEDS_COPY = "元のデータと独立したコピーが求められています。.clone() や np.copy / torch.tensor(...) を使いましょう。"
NEEDS_CONTIGUOUS = "permute や転置の結果はメモリ上で連続していません。連続なテンソルが必要なら .contiguous() や .reshape() を使いましょう。"
NOT_CONTIGUOUS_EXPECTED = "permute / transpose は要素をコピーせず、ストライドだけを変えた (非連続な) view を返します。.contiguous() でコピーしたり、view / reshape で並べ直したりしていませんか？"
REQUIRES_GRAD_OFF = "requires_grad が付いていません。requires_grad=True を指定するか、.requires_grad_() を使いましょう。"
REQUIRES_GRAD_ON = "勾配の記録が残っています。torch.no_grad() の中で計算するか、.detach() を使いましょう。"
NOT_LEAF = "葉テンソル (is_leaf) ではありません。requires_grad を付けたあとに演算 (.float() や * など) をすると葉ではなくなります。作成時に dtype と requires_grad を指定しましょう。"
NEGATED = "値の符号が反対です。引き算の向きや、勾配降下の符号 (w - lr * grad) を確認しましょう。"
SCALED = "値が期待のちょうど {factor} 倍です。平均 (mean) と合計 (sum) の違いや、係数を確認しましょう。"

MAP_LOCATION = ("GPU で保存したチェックポイントは、そのままでは同じ GPU の上に読み込もうとします。"
                "torch.load(..., map_location='cpu') で CPU に読み込みましょう。")

# Hints keyed by a fragment of a torch/numpy error message (lower-case).
EXCEPTION_HINTS: tuple[tuple[str, str], ...] = (
    ("can't call numpy() on tensor that requires grad", "requires_grad=True のテンソルはそのまま numpy() にできません。.detach() してから変換しましょう。"),
    ("can't convert cuda", "GPU 上のテンソルは直接 NumPy にできません。.cpu() で CPU に移してから変換しましょう。"),
    ("can't convert mps", "MPS 上のテンソルは直接 NumPy にできません。.cpu() で CPU に移してから変換しましょう。"),
    ("negative strides", "負のストライド (a[::-1] など) の配列は torch.from_numpy できません。先に .copy() しましょう。"),
    ("view size is not compatible", "非連続なテンソルには view が使えません。.reshape() か .contiguous().view() を使いましょう。"),
    ("a leaf variable that requires grad is being used in an in-place operation", "requires_grad=True の葉テンソルをその場で更新するときは torch.no_grad() の中で行いましょう。"),
    ("element 0 of tensors does not require grad", "backward() する値が勾配グラフにつながっていません。入力に requires_grad=True が付いているか、no_grad の中で計算していないか確認しましょう。"),
    ("grad can be implicitly created only for scalar outputs", "スカラーでない値に backward() するには、同じ形状の gradient 引数 (例: torch.ones_like(y)) が必要です。"),
    ("trying to backward through the graph a second time", "同じ計算グラフで 2 回 backward() するには retain_graph=True が必要です。"),
    ("expected all tensors to be on the same device", "テンソルが別々のデバイスにあります。.to(device) でそろえましょう。"),
    ("mat1 and mat2 shapes cannot be multiplied", "行列積の内側の次元が合っていません。形状を print して、転置が必要か確認しましょう。"),
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


def for_shape(actual: torch.Size, expected: torch.Size) -> str | None:
    if len(actual) == len(expected) >= 2 and sorted(actual) == sorted(expected) and actual != expected:
        return TRANSPOSED
    return None


def for_dtype(actual: torch.dtype, expected: torch.dtype) -> str | None:
    if actual == torch.float64 and expected == torch.float32:
        return FLOAT64_FROM_NUMPY
    if actual == torch.int64 and _is_float(expected):
        return INT_VS_FLOAT
    if _is_float(actual) and expected == torch.int64:
        return FLOAT_VS_INT
    if actual == torch.float64:
        return FLOAT64_DEFAULT
    return None


def for_device(actual: torch.device, expected: torch.device) -> str | None:
    return DEVICE_MOVE if actual != expected else None


def for_contiguous(actual: bool, expected: bool) -> str | None:
    return NEEDS_CONTIGUOUS if expected and not actual else NOT_CONTIGUOUS_EXPECTED


def for_requires_grad(actual: bool, expected: bool) -> str | None:
    return REQUIRES_GRAD_OFF if expected else REQUIRES_GRAD_ON


def _ratio(actual: torch.Tensor, expected: torch.Tensor) -> float | None:
    """The constant factor actual / expected, if there is one (ignores zeros in expected)."""
    if not (_is_float(actual.dtype) or _is_float(expected.dtype)) and actual.dtype == torch.bool:
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


def for_values(actual: torch.Tensor, expected: torch.Tensor) -> str | None:
    r = _ratio(actual, expected)
    if r is None or abs(r - 1) < 1e-6:
        return None
    if abs(r + 1) < 1e-6:
        return NEGATED
    rounded = round(r)
    if abs(r - rounded) < 1e-4 and rounded >= 2:
        return SCALED.format(factor=rounded)
    return None


def for_grad(actual: torch.Tensor | None, expected: torch.Tensor) -> str | None:
    if actual is None:
        return GRAD_NONE
    r = _ratio(actual, expected)
    if r is None:
        return None
    if abs(r - round(r)) < 1e-4 and round(r) >= 2:
        return GRAD_ACCUMULATED.format(factor=round(r))
    inv = 1 / r if r else 0
    if inv and abs(inv - round(inv)) < 1e-4 and round(inv) >= 2:
        return GRAD_PARTIAL.format(factor=round(inv))
    return None


# -- chapters 06_autograd and 07_devices ---------------------------------------------------------------------------
GRAD_FN_MISSING = "y が計算グラフから切り離されています (.detach() / .item() / no_grad の中で計算していませんか？)。y はテンソルのまま返しましょう。"
GRAD_NOT_CLEARED = "更新のあとも勾配が残っています。w.grad = None (または w.grad.zero_()) で消さないと、次の backward() で古い勾配が足し合わされます。"
NEW_TENSOR_NOT_INPLACE = "w = w - lr * w.grad は新しいテンソルを作ります。with torch.no_grad(): の中で w -= lr * w.grad (または w.sub_(...)) とその場で更新しましょう。"
GRAD_MODE_INSIDE = "f の計算中も勾配の記録が有効でした。.detach() はグラフを作ったあとで切り離すだけです。with torch.no_grad(): の中で f(x) を呼びましょう。"
GRAD_MODE_LEFT_OFF = "関数を抜けたあとも勾配の記録が無効のままです。torch.set_grad_enabled(False) で切ったままにせず、with torch.no_grad(): を使いましょう。"
SEED_LIBRARY = "{library} の乱数は {library} 自身のシードで決まります。torch.manual_seed だけでは固定されません。{call} を呼んでいますか？"
CUDNN_FLAGS = "cuDNN の再現性の設定です。torch.backends.cudnn.deterministic = True と torch.backends.cudnn.benchmark = False を設定しましょう。"
CUDA_SEED = "GPU の乱数にも同じシードを使いましょう (torch.cuda.manual_seed_all(seed))。"
NOT_SYNCHRONIZED = "GPU の計算は非同期です。時刻を読む前に torch.cuda.synchronize() (MPS なら torch.mps.synchronize()) で計算の完了を待ちましょう。"
NO_MATMUL = "時間を測る対象の行列積 (a @ b / torch.matmul / torch.mm) が実行されていません。"
TIME_RANGE = "経過時間は「終わりの時刻 - 始めの時刻」(秒) です。time.perf_counter() の差を float で返しましょう。"
AVAILABILITY = "torch.cuda.is_available() と torch.backends.mps.is_available() を関数の中で呼び、cuda → mps → cpu の順に選びましょう。"


# -- chapter 12 (evaluation) -------------------------------------------------------------------------------------
NO_GRAD_FOR_EVAL = "評価に勾配は要りません。with torch.no_grad(): の中でモデルを呼ぶ (または関数に @torch.no_grad() を付ける) と、計算グラフを作らずに済みます。"
EVAL_MODE = "評価の前に model.eval() を呼びましょう (model.train() に戻さないこと)。Dropout や BatchNorm は学習モードと評価モードで動きが変わります。"
LOGITS_NOT_PROBS = "モデルの出力はロジット (任意の実数) です。torch.sigmoid で確率 (0 以上 1 以下) に変換しましょう。"

# -- chapters 08 (modules) and 09 (data) --------------------------------------------------------------------------
UNREGISTERED_LAYERS = "パラメータが 1 つも登録されていません。Python のリストや辞書に入れただけの層は nn.Module に登録されません。nn.Sequential や nn.ModuleList を使うか、層を self の属性にしましょう。"
SUBMODULE_NAMES = "__init__ の中で super().__init__() を呼んだあと、self.<名前> = 層 の形で属性に代入すると、その名前でサブモジュールとして登録されます。名前のつづりも確認しましょう。"
EXP_OVERFLOW = "exp は引数が大きいと inf にあふれ、inf / inf は nan になります。exp に渡す値がいつも 0 以下になるように式を変形できないでしょうか？"
SHUFFLE_ARG = "DataLoader の shuffle 引数を確認しましょう。"
SEED_THE_GENERATOR = "専用の torch.Generator を seed で初期化 (manual_seed) し、DataLoader の generator= 引数に渡しましょう。"
DETACH_FORGOTTEN = "勾配が 3 * x * x になっています。u を detach() しないと u を通っても勾配が流れます (d(x³)/dx)。u = (x * x).detach() としましょう。"
DETACH_WRONG_FACTOR = "勾配が 2 * x * x になっています。定数にするのは u = (x * x) の方で、z = u * x の x は detach しません。"


# -- chapters 10 (loss and optimiser) and 11 (training loop, saving) ---------------------------------------------
BCE_STABLE = ("|x| が大きいと exp(x) は inf にあふれ、σ(x) は 0 や 1 ちょうどに丸められて log(0) = -inf になります。"
              "x ≥ 0 と x < 0 で分けて考え、exp の引数がいつも 0 以下 (exp(-|x|)) になるように式を変形できないでしょうか？")
OPTIMIZER_PARAMS = ("オプティマイザにはモデルのパラメータそのもの (model.parameters()) を渡しましょう。"
                    "一部だけや .clone() したコピーを渡すと、step() してもモデルは変わりません。")
STEP_MISSING = "backward() は勾配を計算するだけで、パラメータは変えません。optimizer.step() を呼びましたか？"
ZERO_GRAD = "backward() は .grad に足し合わせます。backward() の前に optimizer.zero_grad() で前の勾配を消しましょう。"
PER_EPOCH = "返す損失はバッチごとではなく、エポックごとに 1 つ (そのエポックのデータ 1 件あたりの平均) です。"
TRAIN_MODE = ("学習の前に model.train() を呼びましょう。評価のあとなどで model.eval() のままだと、"
              "Dropout や BatchNorm が学習用の動きをしません。")
SAVE_STATE_DICT = ("torch.save に渡すのはモデルそのものではなく、model.state_dict() (パラメータとバッファの辞書) です。"
                   "weights_only=True で読めるのはテンソルの辞書などの単純なデータだけです。")
STATE_DICT_ALL = ("state_dict() にはパラメータだけでなく BatchNorm の running_mean などのバッファも入ります。"
                  "辞書を自分で組み立てたり入れ子にしたりせず、model.state_dict() をそのまま保存しましょう。")
DETACHED_LOSS = ("損失が計算グラフから切り離されています。.item() / .detach() / torch.no_grad() を使わず、"
                 "テンソルの演算だけで計算してテンソルのまま返しましょう。")
