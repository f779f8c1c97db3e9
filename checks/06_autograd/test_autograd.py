"""Checks for chapter 06 (autograd)."""
import torch

from kata import messages
from kata.api import hints, inputs
from kata.api.compare import (
    Mismatch,
    expect,
    expect_equal,
    expect_grad,
    expect_same_object,
    expect_sequence,
    expect_tensor,
    expect_unchanged,
    fail,
    learner_state,
)
from kata.api.portable import GradModeModel, Probe
from kata.api.staticrules import forbid_in_source

# -- verdict templates only these checks use (str.format) --------------------------------------------------------------
GRAD_IN_GRAPH = "『{name}』が計算グラフにつながっています (requires_grad=True、grad_fn {grad_fn})。勾配はただの値のはずです。"
VERSION_NOT_BUMPED = ("『{name}』のその場での更新を autograd が検知できません (バージョンカウンタ {name}._version が "
                      "呼び出しの前後で {version} のまま)。")

F_CALLS = "f が {calls} 回呼ばれました。f は 1 回だけ呼び、その出力の和を 1 回で微分しましょう。"

# -- hints only these checks use ---------------------------------------------------------------------------------------
GRAD_FN_MISSING = "y が計算グラフから切り離されています (.detach() / .item() / no_grad の中で計算していませんか？)。y はテンソルのまま返しましょう。"
GRAD_NOT_CLEARED = "更新のあとも勾配が残っています。w.grad = None (または w.grad.zero_()) で消さないと、次の backward() で古い勾配が足し合わされます。"
BACKWARD_ONCE_SCALED = ("backward() を 1 回だけ呼んで、勾配を times 倍していませんか？ 勾配の累積は、backward() を呼ぶたびに "
                        "x.grad へ勾配が 1 回分ずつ足し込まれることで起きます。backward() を times 回呼びましょう "
                        "(float16 では「1 回分を times 回足す」と「times 倍する」の丸め方が違うので、値が少しずれます)。")
GRAD_ASSIGNED = ("x.grad に自分で計算した式を代入していませんか？ その式が x から計算されているので、勾配まで計算グラフに"
                 "つながっています (requires_grad=True)。x.grad は backward() が計算して書き込むものです。")
DATA_UPDATE = ("w.data を書き換えていませんか？ .data 経由の変更は autograd から見えない (バージョンカウンタ w._version が"
               "進まない) ので、その値を使う計算グラフが古い値のまま逆伝播されても誰も気づけません。"
               "with torch.no_grad(): の中で w そのものをその場で更新しましょう (w -= ... や w.sub_(...))。")
GRAD_MODE_INSIDE = "f の計算中も勾配の記録が有効でした。.detach() はグラフを作ったあとで切り離すだけです。with torch.no_grad(): の中で f(x) を呼びましょう。"
GRAD_MODE_LEFT_OFF = "関数を抜けたあとも勾配の記録が無効のままです。torch.set_grad_enabled(False) で切ったままにせず、with torch.no_grad(): を使いましょう。"
DETACH_FORGOTTEN = "勾配が 3 * x * x になっています。u を detach() しないと u を通っても勾配が流れます (d(x³)/dx)。u = (x * x).detach() としましょう。"
DETACH_WRONG_FACTOR = "勾配が 2 * x * x になっています。定数にするのは u = (x * x) の方で、z = u * x の x は detach しません。"

DERIVATIVE_RULE = "ループ・内包表記と backward() (Tensor.backward, torch.autograd.backward)"
DERIVATIVE_FORBIDDEN = (torch.Tensor.backward, torch.autograd.backward)
INPUT_MARKED = ("x そのものに requires_grad_() を付けていませんか？ 入力は呼び出し側のものです。x.detach() で切り離した"
                "テンソルに requires_grad_() を付け、そちらで f を計算して微分しましょう。")
DERIVATIVE_MEAN = ("値が正しい導関数の 1 / (要素数) 倍になっていませんか？ 平均 (mean) を微分すると各要素の勾配が要素数で"
                   "割られます。要素ごとの関数なら、和 (sum) を微分すると各点の導関数そのものになります。")
DERIVATIVE_GRAPH = ("戻り値が計算グラフにつながっています。create_graph=True は 2 階微分をするときだけ使います。"
                    "torch.autograd.grad の既定 (create_graph=False) なら、結果はただの値です。")

SOURCE_X = (0.0, 1.0, 2.0)
SOURCE_Y = 12.6667  # printed by the source text: tensor(12.6667, grad_fn=<MeanBackward0>)
SOURCE_GRAD = (1.3333, 2.0000, 2.6667)  # printed by the source text after y.backward()
PRINTED = dict(atol=5e-5, rtol=0)  # the source prints four decimals


def _leaf(gen, shape, dtype=None, noncontiguous=None):
    """A random float leaf that requires grad (dtype and layout drawn when not given)."""
    dtype = dtype or inputs.choice(gen, (torch.float32, torch.float64))
    noncontiguous = inputs.randint(gen, 0, 2) == 1 if noncontiguous is None else noncontiguous
    return inputs.tensor(gen, shape, dtype, noncontiguous=noncontiguous).requires_grad_()


def _mean_grad(x):
    """The closed form of d mean((x + 2) ** 2 + 3) / dx, in x's dtype."""
    x64 = x.detach().double()
    return (2 * (x64 + 2) / x.numel()).to(x.dtype)


def _mean_value(x):
    x64 = x.detach().double()
    return ((x64 + 2) ** 2 + 3).mean().to(x.dtype)


def _expect_in_graph(y, expected, **tolerance):
    """y: type, shape, dtype, then attached to a graph (grad_fn), then values."""
    expect_tensor(y, expected, name="y (戻り値[0])", values=False)
    expect(y.grad_fn is not None, "grad_fn", messages.GRAD_FN, GRAD_FN_MISSING, name="y (戻り値[0])",
           expected="MeanBackward0 などの関数", actual=None)
    expect_tensor(y, expected, name="y (戻り値[0])", **tolerance)


# -- grad_of_mean ------------------------------------------------------------------------------------------------

def test_grad_of_mean_source_values(sub):
    """The source text: x = arange(3.) gives y = 12.6667 and x.grad = [1.3333, 2.0000, 2.6667]."""
    x = torch.tensor(SOURCE_X, requires_grad=True)
    y, grad = expect_sequence(sub.grad_of_mean(x), 2)
    _expect_in_graph(y, torch.tensor(SOURCE_Y), **PRINTED)
    expect_grad(grad, torch.tensor(SOURCE_GRAD), name="x.grad (戻り値[1])", **PRINTED)
    expect_grad(x.grad, torch.tensor(SOURCE_GRAD), name="入力 x.grad", **PRINTED)


def test_grad_of_mean_closed_form(sub, gen):
    """For any x the gradient is 2 * (x + 2) / x.numel(), both returned and left in x.grad."""
    x = _leaf(gen, inputs.shape(gen, (1, 4), 1, 5))
    y, grad = expect_sequence(sub.grad_of_mean(x), 2)
    expect_tensor(y, _mean_value(x), name="y (戻り値[0])", values=False)  # a y of another shape explains the grad
    expect_grad(grad, _mean_grad(x), name="x.grad (戻り値[1])")
    expect_grad(x.grad, _mean_grad(x), name="入力 x.grad")


def test_grad_of_mean_closed_form_on_a_matrix(sub, gen):
    """A matrix (at least 2 x 2): the mean divides by every element, not by the length of the first dim."""
    x = _leaf(gen, (inputs.randint(gen, 2, 5), inputs.randint(gen, 2, 5)))
    y, grad = expect_sequence(sub.grad_of_mean(x), 2)
    expect_tensor(y, _mean_value(x), name="y (戻り値[0])", values=False)  # a mean over one dim: y is not 0-dim
    expect_grad(grad, _mean_grad(x), name="x.grad (戻り値[1])")


def test_grad_of_mean_y_is_0dim_with_grad_fn(sub, gen):
    x = _leaf(gen, inputs.shape(gen, (2, 4), 2, 5))  # at least 2-D: a mean over one dim shows in y's shape
    y, _ = expect_sequence(sub.grad_of_mean(x), 2)
    _expect_in_graph(y, _mean_value(x))


def test_grad_of_mean_matches_reference(sub, ref, gen, seed):
    x = _leaf(gen, inputs.shape(gen, (1, 4), 1, 5))
    actual, expected = inputs.call_both(sub.grad_of_mean, ref.grad_of_mean, x, seed=seed)
    y, grad = expect_sequence(actual, 2)
    expect_tensor(y, expected[0], name="y (戻り値[0])")
    expect_grad(grad, expected[1], name="x.grad (戻り値[1])")


# -- requires_grad_arange --------------------------------------------------------------------------------------

def test_requires_grad_arange_source(sub):
    """The source text: arange(3, dtype=float32, requires_grad=True)."""
    expect_tensor(sub.requires_grad_arange(3), torch.tensor([0.0, 1.0, 2.0]), requires_grad=True, is_leaf=True,
                  grad=None)


def test_requires_grad_arange_any_n(sub, gen):
    n = inputs.randint(gen, 0, 40)
    expect_tensor(sub.requires_grad_arange(n), torch.arange(n, dtype=torch.float32), name=f"requires_grad_arange({n})",
                  requires_grad=True, is_leaf=True, grad=None)


def test_requires_grad_arange_matches_reference(sub, ref, gen):
    n = inputs.randint(gen, 1, 40)
    expect_tensor(sub.requires_grad_arange(n), ref.requires_grad_arange(n), name=f"requires_grad_arange({n})",
                  requires_grad=True, is_leaf=True)


# -- accumulated_grad ------------------------------------------------------------------------------------------

def test_accumulated_grad_is_times_single(sub, gen):
    """Gradients add up: `times` backward passes give `times` times the single gradient."""
    times = inputs.randint(gen, 2, 6)
    x = _leaf(gen, inputs.shape(gen, (1, 3), 2, 5))
    grad = sub.accumulated_grad(x, times)
    expect_grad(grad, times * _mean_grad(x), name=f"accumulated_grad(x, {times})", backward_calls=times)
    expect_grad(x.grad, times * _mean_grad(x), name="入力 x.grad", backward_calls=times)


def test_accumulated_grad_once_is_single(sub, gen):
    x = _leaf(gen, inputs.shape(gen, (1, 3), 2, 5))
    expect_grad(sub.accumulated_grad(x, 1), _mean_grad(x), name="accumulated_grad(x, 1)", backward_calls=1)


def test_accumulated_grad_matches_reference(sub, ref, gen, seed):
    times = inputs.randint(gen, 1, 5)
    x = _leaf(gen, inputs.shape(gen, (1, 3), 1, 5))
    actual, expected = inputs.call_both(sub.accumulated_grad, ref.accumulated_grad, x, times, seed=seed)
    expect_grad(actual, expected, name=f"accumulated_grad(x, {times})", backward_calls=times)


def _single_then_times(sub, gen, dtype):
    x = _leaf(gen, (inputs.randint(gen, 4, 9), inputs.randint(gen, 8, 13)), dtype)
    times = inputs.choice(gen, (6, 7, 9, 10, 11))
    single = sub.accumulated_grad(inputs.clone_arg(x), 1)
    return x, times, single


def test_accumulated_grad_adds_one_gradient_per_backward(sub, gen):
    """float16 shows the process: `times` backward() calls add the single gradient g to x.grad one at a time
    (g + g + ... + g, rounded after each addition), which differs from times * g rounded once."""
    x, times, single = _single_then_times(sub, gen, torch.float16)
    expect_grad(single, _mean_grad(x), name="float16 の x での accumulated_grad(x, 1)", rtol=1e-3, atol=1e-3)
    expected = single.clone()
    for _ in range(times - 1):
        expected = expected + single
    out = sub.accumulated_grad(x, times)
    expect_grad(out, expected, name=f"float16 の x での accumulated_grad(x, {times})", rtol=0, atol=0,
                hint=BACKWARD_ONCE_SCALED)


# -- vector_backward -------------------------------------------------------------------------------------------

def test_vector_backward_is_two_x(sub, gen):
    """d(sum of x * x)/dx = 2 * x, returned and left in x.grad."""
    x = _leaf(gen, inputs.shape(gen, (1, 4), 2, 5))
    grad = sub.vector_backward(x)
    expect_grad(grad, 2 * x.detach(), name="x.grad (戻り値)")
    expect_grad(x.grad, 2 * x.detach(), name="入力 x.grad")


def test_vector_backward_size1_and_empty(sub, gen):
    for shape in ((1,), (inputs.randint(gen, 1, 4), 0)):
        x = _leaf(gen, shape, torch.float32, noncontiguous=False)
        expect_grad(sub.vector_backward(x), 2 * x.detach(), name=f"形状 {shape} の x.grad")


def test_vector_backward_matches_reference(sub, ref, gen, seed):
    x = _leaf(gen, inputs.shape(gen, (1, 4), 1, 5))
    actual, expected = inputs.call_both(sub.vector_backward, ref.vector_backward, x, seed=seed)
    expect_grad(actual, expected, name="x.grad (戻り値)")


def _expect_plain_grad(grad, name):
    """A gradient that backward() wrote is data: no graph behind it."""
    if isinstance(grad, torch.Tensor) and (grad.requires_grad or grad.grad_fn is not None):
        fail("grad", GRAD_IN_GRAPH, GRAD_ASSIGNED, name=name,
             grad_fn=type(grad.grad_fn).__name__ if grad.grad_fn is not None else None)


def test_vector_backward_grad_written_by_backward(sub, gen):
    x = _leaf(gen, inputs.shape(gen, (1, 4), 2, 5))
    grad = sub.vector_backward(x)
    _expect_plain_grad(x.grad, "入力 x.grad")
    _expect_plain_grad(grad, "x.grad (戻り値)")


def test_grad_of_mean_grad_written_by_backward(sub, gen):
    x = _leaf(gen, inputs.shape(gen, (1, 4), 2, 5))
    _, grad = expect_sequence(sub.grad_of_mean(x), 2)
    _expect_plain_grad(x.grad, "入力 x.grad")
    _expect_plain_grad(grad, "x.grad (戻り値[1])")


# -- detach_grad -----------------------------------------------------------------------------------------------

def _expect_detach_grad(actual, u, name):
    """expect_grad, with a hint naming the detach mistake when the gradient is 3u (none) or 2u (wrong factor)."""
    try:
        expect_grad(actual, u, name=name)
    except Mismatch as m:
        for factor, hint in ((3, DETACH_FORGOTTEN), (2, DETACH_WRONG_FACTOR)):
            if isinstance(actual, torch.Tensor) and actual.shape == u.shape and torch.allclose(actual, factor * u):
                raise Mismatch(m.attribute, m.message, hint) from None
        raise


def test_detach_grad_equals_u(sub, gen):
    """u = (x * x).detach() is a constant, so d(sum(u * x))/dx = u."""
    x = _leaf(gen, inputs.shape(gen, (1, 4), 2, 5))
    u = x.detach() * x.detach()
    _expect_detach_grad(sub.detach_grad(x), u, name="x.grad (戻り値)")
    _expect_detach_grad(x.grad, u, name="入力 x.grad")


def test_detach_grad_matches_reference(sub, ref, gen, seed):
    x = _leaf(gen, inputs.shape(gen, (1, 4), 1, 5))
    actual, expected = inputs.call_both(sub.detach_grad, ref.detach_grad, x, seed=seed)
    _expect_detach_grad(actual, expected, name="x.grad (戻り値)")


# -- sgd_step_ -------------------------------------------------------------------------------------------------

def _expect_grad_cleared(w):
    """The grad is gone (None) or zeroed."""
    if w.grad is not None and not bool((w.grad == 0).all()):
        fail("grad", messages.GRAD_UNEXPECTED, GRAD_NOT_CLEARED, name="w.grad")


def _expect_stepped(result, w, expected, **tolerance):
    expect_same_object(result, w, name="戻り値", other_name="w")
    expect_tensor(w, expected, name="更新後の w", requires_grad=True, is_leaf=True, **tolerance)
    _expect_grad_cleared(w)


def test_sgd_step__example(sub):
    """[1, 2] with grad [2, 4] and lr 0.1 -> [0.8, 1.6]."""
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    w.grad = torch.tensor([2.0, 4.0])
    _expect_stepped(sub.sgd_step_(w, 0.1), w, torch.tensor([0.8, 1.6]))


def test_sgd_step__random(sub, gen):
    """w - lr * grad, in place, for random w, grad and lr."""
    dtype = inputs.choice(gen, (torch.float32, torch.float64))
    shape = inputs.shape(gen, (1, 3), 1, 5)
    w = _leaf(gen, shape, dtype, noncontiguous=False)
    w.grad = inputs.tensor(gen, shape, dtype)
    lr = float(torch.rand((), generator=gen, dtype=torch.float64)) * 0.5 + 0.01
    expected = (w.detach().double() - lr * w.grad.double()).to(dtype)
    _expect_stepped(sub.sgd_step_(w, lr), w, expected)


def test_sgd_step__clears_grad(sub, gen):
    shape = inputs.shape(gen, (1, 3), 1, 5)
    w = _leaf(gen, shape, torch.float32, noncontiguous=False)
    w.grad = inputs.tensor(gen, shape, torch.float32)
    sub.sgd_step_(w, 0.05)
    _expect_grad_cleared(w)


def test_sgd_step__matches_reference(sub, ref, gen):
    shape = inputs.shape(gen, (1, 3), 1, 5)
    values, grad = inputs.tensor(gen, shape), inputs.tensor(gen, shape)
    copies = []
    for _ in range(2):  # inputs.clone_arg would drop .grad, so each side gets its own leaf with a grad
        w = values.clone().requires_grad_()
        w.grad = grad.clone()
        copies.append(w)
    expected = ref.sgd_step_(copies[0], 0.1)
    expect_tensor(sub.sgd_step_(copies[1], 0.1), expected, name="更新後の w", requires_grad=True, is_leaf=True)


def test_sgd_step__updates_w_itself_in_place(sub, gen):
    """An in-place update of w (under no_grad) advances w's version counter; an update through w.data does not,
    which is why autograd cannot warn about it."""
    shape = inputs.shape(gen, (1, 3), 1, 5)
    w = _leaf(gen, shape, torch.float32, noncontiguous=False)
    w.grad = inputs.tensor(gen, shape, torch.float32)
    version = w._version
    sub.sgd_step_(w, 0.1)
    expect(w._version > version, "in_place", VERSION_NOT_BUMPED, DATA_UPDATE, name="w",
           version=version)


# -- predict_no_grad -------------------------------------------------------------------------------------------

def _model_and_input(gen):
    n_in, n_out = inputs.randint(gen, 1, 6), inputs.randint(gen, 1, 6)
    x = inputs.tensor(gen, (inputs.randint(gen, 1, 5), n_in)).requires_grad_()
    model = GradModeModel(torch.randn(n_out, n_in, generator=gen).requires_grad_(),
                          torch.randn(n_out, generator=gen).requires_grad_())
    return model, x


def test_predict_no_grad_values_without_grad(sub, gen):
    model, x = _model_and_input(gen)
    with torch.no_grad():
        expected = model(x)
    out = sub.predict_no_grad(model, x)
    expect_tensor(out, expected, name="予測", requires_grad=False)
    expect(out.grad_fn is None, "grad_fn", messages.GRAD_FN, hints.REQUIRES_GRAD_ON, name="予測", expected=None,
           actual=out.grad_fn)


def test_predict_no_grad_no_graph_built_inside_f(sub, gen):
    """No graph is built at all: f itself runs with grad mode off (a .detach() afterwards is too late)."""
    model, x = _model_and_input(gen)
    model.grad_modes.clear()
    sub.predict_no_grad(model, x)
    expect(model.grad_modes, "grad_mode", messages.CALL_MISSING, None, what="f(x)")
    expect_equal(any(model.grad_modes), False, name="f の実行中の torch.is_grad_enabled()", attribute="grad_mode",
                 hint=GRAD_MODE_INSIDE)


def test_predict_no_grad_restores_grad_mode(sub, gen):
    model, x = _model_and_input(gen)
    sub.predict_no_grad(model, x)
    enabled = learner_state(sub)["grad_enabled"]
    expect(enabled is True, "grad_mode", messages.STATE_CHANGED, GRAD_MODE_LEFT_OFF,
           what="torch.is_grad_enabled() (勾配の記録)", expected=True, actual=enabled)


def test_predict_no_grad_matches_reference(sub, ref, gen, seed):
    model, x = _model_and_input(gen)
    actual, expected = inputs.call_both(sub.predict_no_grad, ref.predict_no_grad, model, x, seed=seed)
    expect_tensor(actual, expected, name="予測", requires_grad=False)


# -- derivative_at_points --------------------------------------------------------------------------------------

def _sig(x):
    return torch.sigmoid(x)


#: Elementwise modules with their derivatives in closed form (computed in float64 from the values, not by autograd).
ELEMENTWISE = (
    ("nn.Tanh()", torch.nn.Tanh, lambda x: 1 - torch.tanh(x) ** 2),
    ("nn.Sigmoid()", torch.nn.Sigmoid, lambda x: _sig(x) * (1 - _sig(x))),
    ("nn.Softplus()", torch.nn.Softplus, _sig),
    ("nn.SiLU()", torch.nn.SiLU, lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
)


def _derivative_case(gen, shape=None, requires_grad=None, dtype=None):
    """(name, module, x, expected f'(x)): a random elementwise module and a random float x that has at least two
    elements unless a shape is given (so that a mean differs from a sum)."""
    name, module, closed = inputs.choice(gen, ELEMENTWISE)
    dtype = dtype or inputs.choice(gen, (torch.float32, torch.float64))
    shape = shape if shape is not None else inputs.shape(gen, (1, 3), 2, 5)
    x = inputs.tensor(gen, shape, dtype, noncontiguous=bool(shape) and inputs.randint(gen, 0, 2) == 1) * 2
    if requires_grad if requires_grad is not None else inputs.randint(gen, 0, 2) == 1:
        x.requires_grad_()
    return name, module(), x, closed(x.detach().double()).to(dtype)


def _expect_derivative(out, expected, f_name):
    name = f"f = {f_name} の導関数"
    expect_tensor(out, expected, name=name, values=False)
    expect(not out.requires_grad, "requires_grad", messages.REQUIRES_GRAD, DERIVATIVE_GRAPH, name=name,
           expected=False, actual=True)
    try:
        expect_tensor(out, expected, name=name)
    except Mismatch as m:
        if expected.numel() > 1 and torch.allclose(out * expected.numel(), expected):
            raise Mismatch(m.attribute, m.message, DERIVATIVE_MEAN) from None
        raise


def test_derivative_at_points_source_without_loops_or_backward(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "derivative_at_points", DERIVATIVE_RULE, *DERIVATIVE_FORBIDDEN, loops=True)
    _, f, x, _ = _derivative_case(gen)
    sub.derivative_at_points(f, x)  # an untouched stub reads 未着手


def test_derivative_at_points_example(sub):
    """tanh' = 1 - tanh^2: [1.0000, 0.4200] at [0, 1]."""
    out = sub.derivative_at_points(torch.nn.Tanh(), torch.tensor([0.0, 1.0]))
    _expect_derivative(out, torch.tensor([1.0, 0.41997434]), "nn.Tanh()")


def test_derivative_at_points_closed_forms(sub, gen):
    """Random elementwise functions, shapes, dtypes and layouts against the derivatives in closed form."""
    for _ in range(2):
        f_name, f, x, expected = _derivative_case(gen)
        _expect_derivative(sub.derivative_at_points(f, x), expected, f_name)


def test_derivative_at_points_size1_and_0dim(sub, gen):
    for shape in ((), (1,), (1, 1)):
        f_name, f, x, expected = _derivative_case(gen, shape=shape)
        _expect_derivative(sub.derivative_at_points(f, x), expected, f_name)


def test_derivative_at_points_input_without_grad_untouched(sub, gen):
    """x that does not require grad stays so, with no .grad (the function makes its own leaf to differentiate)."""
    f_name, f, x, expected = _derivative_case(gen, requires_grad=False)
    snapshot = x.clone()
    sub.derivative_at_points(f, x)
    expect(not x.requires_grad, "requires_grad", messages.REQUIRES_GRAD, INPUT_MARKED, name="入力 x", expected=False,
           actual=x.requires_grad)
    expect_grad(x.grad, None, name="入力 x.grad")
    expect_unchanged(x, snapshot, name="入力 x")


def test_derivative_at_points_leaf_grad_untouched(sub, gen):
    """A leaf x that requires grad and already holds a .grad: the gradient there is neither replaced nor added to
    (torch.autograd.grad returns the gradient instead of accumulating it)."""
    f_name, f, x, expected = _derivative_case(gen, requires_grad=True)
    old = inputs.tensor(gen, tuple(x.shape), x.dtype)
    x.grad = old.clone()
    out = sub.derivative_at_points(f, x)
    expect_tensor(x, x.detach(), name="入力 x", requires_grad=True, is_leaf=True, values=False)
    expect_grad(x.grad, old, name="入力 x.grad (呼び出しの前から入っていた勾配)", rtol=0, atol=0)
    _expect_derivative(out, expected, f_name)


def test_derivative_at_points_calls_f_once(sub, gen):
    f_name, f, x, expected = _derivative_case(gen)
    probe = Probe(f)
    out = sub.derivative_at_points(probe, x)
    calls = len(probe.grad_enabled)
    expect(calls == 1, "calls", F_CALLS, None, calls=calls)
    _expect_derivative(out, expected, f_name)


def test_derivative_at_points_matches_reference(sub, ref, gen, seed):
    f_name, f, x, _ = _derivative_case(gen)
    actual, expected = inputs.call_both(sub.derivative_at_points, ref.derivative_at_points, f, x, seed=seed)
    _expect_derivative(actual, expected, f_name)
