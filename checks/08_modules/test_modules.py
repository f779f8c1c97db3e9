"""Checks for chapter 08 (nn.Module: a small classifier, parameter counts, an MLP, tanh from exp, counts per child)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kata import messages
from kata.api.compare import expect, expect_equal, expect_scalar, expect_tensor, expect_type, expect_unchanged, fail
from kata.api.inputs import call_both, choice, randint, tensor
from kata.api.observe import names_of
from kata.api.oprules import forbid
from kata.api.staticrules import forbid_in_source

# -- verdict templates only these checks use (str.format) --------------------------------------------------------------
MISSING_SUBMODULE = "『{name}』にサブモジュール『{attr}』が登録されていません (named_children() に見つかりません)。"

# -- hints only these checks use ---------------------------------------------------------------------------------------
UNREGISTERED_LAYERS = "パラメータが 1 つも登録されていません。Python のリストや辞書に入れただけの層は nn.Module に登録されません。nn.Sequential や nn.ModuleList を使うか、層を self の属性にしましょう。"
SUBMODULE_NAMES = "__init__ の中で super().__init__() を呼んだあと、「self.<名前> = 層」の形で属性に代入すると、その名前でサブモジュールとして登録されます。名前のつづりも確認しましょう。"
LAYER_COUNT = ("Linear 層の数が違います。sizes = {sizes} なら、隣り合う 2 つの大きさごとに Linear が 1 つで、{expected} 個に"
               "なります (実際は {actual} 個)。ループの range の範囲 (len(sizes) - 1 回) を確かめましょう。")
EXP_OVERFLOW = "exp は引数が大きいと inf にあふれ、inf / inf は nan になります。exp に渡す値がいつも 0 以下になるように式を変形できないでしょうか？"

SUBMODULES = (("linear1", nn.Linear), ("act_fn", nn.Tanh), ("linear2", nn.Linear))
CHILD_RULE = ("名前以外でパラメータの持ち主を見分ける書き方 (parameters()、children()、modules()、named_modules()、"
              "buffers()、named_buffers()、state_dict())")
CHILD_METHODS = ("parameters", "children", "modules", "named_modules", "buffers", "named_buffers", "state_dict")
CHILD_FORBIDDEN = (nn.Module.parameters, nn.Module.children, nn.Module.modules, nn.Module.named_modules,
                   nn.Module.buffers, nn.Module.named_buffers, nn.Module.state_dict)
CHILD_KEYS = "『{name}』のキーが違います。期待: {expected}、実際: {actual}"
ZERO_CHILDREN = ("パラメータを持たない子 (nn.Tanh など) や、すべて凍結した子も、値 0 で辞書に入れます。キーは "
                 "model.named_children() の名前から先に用意しましょう。")
NESTED_KEYS = ("キーは直下の子の名前です。子の中の層の名前 (「3.1」など) ではなく、パラメータの名前の最初の「.」より前の"
               "部分を使いましょう。")
SHARED_TWICE = ("2 つの子が共有している層 (パラメータ) を、あとの子でも数えています。model.named_parameters() は"
                "モデル全体のパラメータを 1 回ずつ、最初に見つかった場所の名前で返すので、名前の最初の部分で子に振り分ければ "
                "1 回だけ数えられます。")
FROZEN_COUNTED = "requires_grad=False の (凍結した) パラメータは数えません。"

TANH_RULE = "tanh / sigmoid の組み込み関数 (torch.tanh, x.tanh(), nn.Tanh, F.tanh, torch.sigmoid など)"
TANH_BUILTINS = (torch.tanh, torch.tanh_, torch.Tensor.tanh, torch.Tensor.tanh_, F.tanh, F.tanhshrink,
                 torch.sigmoid, torch.sigmoid_, torch.Tensor.sigmoid, torch.Tensor.sigmoid_, F.sigmoid,
                 torch.special.expit, F.logsigmoid)
#: What the source text of my_tanh may not name (read, never run: counts in kata grade); the layers too.
TANH_IN_SOURCE = (*TANH_BUILTINS, nn.Tanh, nn.Sigmoid, nn.Tanhshrink, nn.LogSigmoid)
EXP_OPS = names_of(torch.exp, torch.exp_, torch.Tensor.exp, torch.Tensor.exp_, torch.expm1, torch.expm1_,
                   torch.Tensor.expm1, torch.Tensor.expm1_, torch.special.expm1)


def _classifier_sizes(gen):
    return randint(gen, 1, 7), randint(gen, 1, 7), randint(gen, 1, 4)


def _mlp_sizes(gen, layers):
    return [randint(gen, 1, 7) for _ in range(layers + 1)]


def _distinct_neighbour_sizes(gen, layers):
    """Sizes where neighbours differ, so that a weight of the wrong orientation has the wrong shape."""
    sizes = [randint(gen, 1, 7)]
    for _ in range(layers):
        step = randint(gen, 1, 6)
        sizes.append((sizes[-1] - 1 + step) % 6 + 1)
    return sizes


def _n_params(sizes):
    """Closed form: weights and biases of Linear(sizes[i], sizes[i+1]) for every i."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _count_hint(actual, expected):
    return UNREGISTERED_LAYERS if actual == 0 and expected else None


def _mlp_hint(model, sizes):
    """The cause of a wrong parameter count of build_mlp(sizes), where its premise holds: Linear layers that compute
    but are not registered (no parameters, yet the output has the last size and is not the input), or a wrong
    number of Linear layers (one weight matrix per Linear)."""
    params = list(model.parameters())
    if not params:
        x = torch.ones(2, sizes[0])
        try:
            out = model(x)
        except Exception:  # a forward that fails names no cause here; the checks of the forward say why
            return None
        if isinstance(out, torch.Tensor) and tuple(out.shape) == (2, sizes[-1]) and not torch.equal(out, x):
            return UNREGISTERED_LAYERS
    linears = sum(1 for p in params if p.dim() == 2)
    if linears != len(sizes) - 1:
        return LAYER_COUNT.format(sizes=sizes, expected=len(sizes) - 1, actual=linears)
    return None


def _submodule(model, attr, kind):
    """model.<attr>, after checking that it is a registered submodule of type ``kind``."""
    children = dict(model.named_children())
    expect(attr in children, "attribute", MISSING_SUBMODULE, SUBMODULE_NAMES,
           name=type(model).__name__, attr=attr)
    expect_type(children[attr], kind, name=f"model.{attr}")
    return children[attr]


def _classifier_by_hand(model, x):
    """linear2(tanh(linear1(x))) from the model's own parameters."""
    l1, l2 = (_submodule(model, name, nn.Linear) for name in ("linear1", "linear2"))
    return F.linear(torch.tanh(F.linear(x, l1.weight, l1.bias)), l2.weight, l2.bias)


# -- SimpleClassifier ------------------------------------------------------------------------------------------------

def test_SimpleClassifier_is_module(sub, gen):
    expect_type(sub.SimpleClassifier(*_classifier_sizes(gen)), nn.Module, name="SimpleClassifier(...)")


def test_SimpleClassifier_attribute_names(sub, gen):
    n_in, n_hidden, n_out = _classifier_sizes(gen)
    model = sub.SimpleClassifier(n_in, n_hidden, n_out)
    for attr, kind in SUBMODULES:
        _submodule(model, attr, kind)
    expect_equal([name for name, _ in model.named_children()], [name for name, _ in SUBMODULES],
                 name="サブモジュールの名前と順番")
    expect_equal((model.linear1.in_features, model.linear1.out_features), (n_in, n_hidden),
                 name="linear1 の (in_features, out_features)")
    expect_equal((model.linear2.in_features, model.linear2.out_features), (n_hidden, n_out),
                 name="linear2 の (in_features, out_features)")
    expect_equal(list(model.state_dict()), ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"],
                 name="state_dict() のキー")


def test_SimpleClassifier_repr(sub, gen):
    """The source prints this repr for SimpleClassifier(2, 4, 1); other sizes read the same way."""
    for n_in, n_hidden, n_out in ((2, 4, 1), _classifier_sizes(gen)):
        expected = ("SimpleClassifier(\n"
                    f"  (linear1): Linear(in_features={n_in}, out_features={n_hidden}, bias=True)\n"
                    "  (act_fn): Tanh()\n"
                    f"  (linear2): Linear(in_features={n_hidden}, out_features={n_out}, bias=True)\n"
                    ")").splitlines()
        actual = repr(sub.SimpleClassifier(n_in, n_hidden, n_out)).splitlines()
        for i, (a, e) in enumerate(zip(actual, expected)):
            expect_equal(a, e, name=f"print(SimpleClassifier({n_in}, {n_hidden}, {n_out})) の {i + 1} 行目")
        expect_equal(len(actual), len(expected), name=f"print(SimpleClassifier({n_in}, {n_hidden}, {n_out})) の行数")


def test_SimpleClassifier_parameter_count_source(sub):
    count = sum(p.numel() for p in sub.SimpleClassifier(2, 4, 1).parameters())
    expect_equal(count, 17, name="SimpleClassifier(2, 4, 1) のパラメータ数 (parameters() の要素数の合計)",
                 hint=_count_hint(count, 17))


def test_SimpleClassifier_parameter_shapes(sub, gen):
    n_in, n_hidden, n_out = _classifier_sizes(gen)
    params = list(sub.SimpleClassifier(n_in, n_hidden, n_out).named_parameters())
    expected = [("linear1.weight", (n_hidden, n_in)), ("linear1.bias", (n_hidden,)),
                ("linear2.weight", (n_out, n_hidden)), ("linear2.bias", (n_out,))]
    expect_equal([name for name, _ in params], [name for name, _ in expected], name="named_parameters() の名前",
                 hint=_count_hint(len(params), len(expected)))
    for (name, p), (_, shape) in zip(params, expected):
        expect_equal(tuple(p.shape), shape, name=f"{name} の形状")
        expect_equal(p.requires_grad, True, name=f"{name} の requires_grad")


def test_SimpleClassifier_same_init_as_reference(sub, ref, gen, seed):
    actual, expected = call_both(sub.SimpleClassifier, ref.SimpleClassifier, *_classifier_sizes(gen), seed=seed)
    a_params, e_params = list(actual.parameters()), list(expected.named_parameters())
    expect_equal(len(a_params), len(e_params), name="parameters() の個数", hint=_count_hint(len(a_params), 4))
    for a, (name, e) in zip(a_params, e_params):
        expect_tensor(a, e.detach(), name=f"{name} の初期値 (同じシードで作成)", requires_grad=True)


def test_SimpleClassifier_forward_matches_reference(sub, ref, gen, seed):
    sizes = _classifier_sizes(gen)
    x = 2 * tensor(gen, (randint(gen, 1, 6), sizes[0]))
    actual, expected = call_both(sub.SimpleClassifier, ref.SimpleClassifier, *sizes, seed=seed)
    expect_tensor(actual(x.clone()), expected(x.clone()), name="model(x)", requires_grad=True)


def test_SimpleClassifier_forward_is_linear_tanh_linear(sub, gen):
    sizes = _classifier_sizes(gen)
    model = sub.SimpleClassifier(*sizes)
    x = 2 * tensor(gen, (randint(gen, 1, 6), sizes[0]), noncontiguous=bool(randint(gen, 0, 2)))
    snapshot = x.clone()
    expect_tensor(model(x), _classifier_by_hand(model, x), name="model(x) (linear2(tanh(linear1(x))) のはず)")
    expect_unchanged(x, snapshot, name="x")


# -- count_parameters -------------------------------------------------------------------------------------------------

def test_count_parameters_source_value(sub):
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    expect_scalar(sub.count_parameters(model), 17, type_=int, name="count_parameters (2 → 4 → 1 のモデル)")


def test_count_parameters_random_models(sub, gen):
    for layers in (1, randint(gen, 2, 5)):
        sizes = _mlp_sizes(gen, layers)
        model = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
        expect_scalar(sub.count_parameters(model), _n_params(sizes), type_=int,
                      name=f"count_parameters (Linear の大きさ {sizes})")


def test_count_parameters_excludes_frozen(sub, gen):
    sizes = _mlp_sizes(gen, 3)
    model = nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])))
    frozen = randint(gen, 0, 3)
    model[frozen].requires_grad_(False)
    expected = _n_params(sizes) - _n_params(sizes[frozen:frozen + 2])
    expect_scalar(sub.count_parameters(model), expected, type_=int,
                  name=f"count_parameters ({frozen} 番目の Linear を凍結したモデル)")


def test_count_parameters_ignores_buffers(sub, gen):
    n_in, n_out = randint(gen, 1, 7), randint(gen, 1, 7)
    model = nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out))
    expect_scalar(sub.count_parameters(model), n_in * n_out + n_out + 2 * n_out, type_=int,
                  name="count_parameters (BatchNorm1d を含むモデル。running_mean などのバッファは数えない)")


def test_count_parameters_shared_layer_counted_once(sub, gen):
    n = randint(gen, 1, 7)
    shared = nn.Linear(n, n)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    expect_scalar(sub.count_parameters(model), n * n + n, type_=int,
                  name="count_parameters (同じ Linear を 2 回使うモデル)")


def test_count_parameters_matches_reference(sub, ref, gen):
    sizes = _mlp_sizes(gen, 2)
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.BatchNorm1d(sizes[1]), nn.Tanh(),
                          nn.Linear(sizes[1], sizes[2]))
    model[randint(gen, 0, 2) * 3].bias.requires_grad_(False)
    expect_scalar(sub.count_parameters(model), ref.count_parameters(model), type_=int, name="count_parameters(model)")


# -- build_mlp ------------------------------------------------------------------------------------------------------

def test_build_mlp_is_module(sub, gen):
    expect_type(sub.build_mlp(_mlp_sizes(gen, randint(gen, 1, 4))), nn.Module, name="build_mlp(sizes)")


def test_build_mlp_parameters_registered(sub, gen):
    for layers in (1, randint(gen, 2, 5)):
        sizes = _mlp_sizes(gen, layers)
        model = sub.build_mlp(list(sizes))
        count = sum(p.numel() for p in model.parameters())
        expect_equal(count, _n_params(sizes), name=f"build_mlp({sizes}) の登録されたパラメータ数 (parameters() の要素数)",
                     hint=_mlp_hint(model, sizes) if count != _n_params(sizes) else None)


def test_build_mlp_parameter_shapes(sub, gen):
    sizes = _distinct_neighbour_sizes(gen, randint(gen, 2, 5))
    model = sub.build_mlp(list(sizes))
    params = list(model.parameters())
    expected = [shape for a, b in zip(sizes[:-1], sizes[1:]) for shape in ((b, a), (b,))]
    expect_equal(len(params), len(expected), name=f"build_mlp({sizes}) の parameters() の個数",
                 hint=_mlp_hint(model, sizes) if len(params) != len(expected) else None)
    for i, (p, shape) in enumerate(zip(params, expected)):
        kind = "重み" if i % 2 == 0 else "バイアス"
        expect_equal(tuple(p.shape), shape, name=f"{i // 2 + 1} 番目の Linear の{kind}の形状")


def test_build_mlp_forward(sub, gen):
    for layers in (1, randint(gen, 2, 5)):
        sizes = _mlp_sizes(gen, layers)
        model = sub.build_mlp(list(sizes))
        params = list(model.parameters())
        expect_equal(len(params), 2 * layers, name=f"build_mlp({sizes}) の parameters() の個数",
                     hint=_mlp_hint(model, sizes) if len(params) != 2 * layers else None)
        x = 3 * tensor(gen, (randint(gen, 1, 6), sizes[0]))
        expected = x
        for i in range(layers):
            expected = F.linear(torch.tanh(expected) if i else expected, params[2 * i], params[2 * i + 1])
        expect_tensor(model(x), expected, name=f"build_mlp({sizes})(x) (Linear の間だけに Tanh)")


def test_build_mlp_same_init_as_reference(sub, ref, gen, seed):
    sizes = _mlp_sizes(gen, randint(gen, 2, 5))
    actual, expected = call_both(sub.build_mlp, ref.build_mlp, sizes, seed=seed)
    a_params, e_params = list(actual.parameters()), list(expected.parameters())
    expect_equal(len(a_params), len(e_params), name=f"build_mlp({sizes}) の parameters() の個数",
                 hint=_mlp_hint(actual, sizes) if len(a_params) != len(e_params) else None)
    for i, (a, e) in enumerate(zip(a_params, e_params)):
        kind = "重み" if i % 2 == 0 else "バイアス"
        expect_tensor(a, e.detach(), name=f"{i // 2 + 1} 番目の Linear の{kind}の初期値 (同じシードで作成)")
    x = tensor(gen, (randint(gen, 1, 6), sizes[0]))
    expect_tensor(actual(x), expected(x), name=f"build_mlp({sizes})(x)")


# -- my_tanh --------------------------------------------------------------------------------------------------------

def _tanh_input(gen, scale=3.0, allow_empty=True):
    """A float32/float64 tensor of 0 to 3 dims, sometimes non-contiguous, sometimes with a zero-size dim."""
    low = 0 if allow_empty and randint(gen, 0, 4) == 0 else 1
    shape = tuple(randint(gen, low, 5) for _ in range(randint(gen, 0, 4)))
    dtype = choice(gen, (torch.float32, torch.float64))
    return scale * tensor(gen, shape, dtype, noncontiguous=bool(randint(gen, 0, 2)))


def test_my_tanh_source_without_builtin_tanh(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "my_tanh", TANH_RULE, *TANH_IN_SOURCE)
    sub.my_tanh(_tanh_input(gen, allow_empty=False))  # an untouched stub reads 未着手


@pytest.mark.advisory
def test_my_tanh_built_from_exp(sub, gen):
    x = _tanh_input(gen, allow_empty=False)
    with forbid(sub, TANH_RULE, *TANH_BUILTINS) as called:
        sub.my_tanh(x)
    expect(any(f in EXP_OPS for f in called), "required_op", messages.MUST_USE_OP, None, name="my_tanh",
           op="torch.exp")


def test_my_tanh_matches_torch_tanh(sub, gen):
    for _ in range(2):
        x = _tanh_input(gen)
        expected = torch.tanh(x)
        expect_tensor(sub.my_tanh(x), expected, name=f"my_tanh(x) (x の形状 {tuple(x.shape)}, {x.dtype})")


def test_my_tanh_finite_for_large_inputs(sub, gen):
    for dtype in (torch.float32, torch.float64):
        fixed = torch.tensor([-1000.0, -100.0, -30.0, -10.0, 0.0, 10.0, 30.0, 100.0, 1000.0], dtype=dtype)
        spread = (torch.rand(8, generator=gen, dtype=torch.float64) * 1000 - 500).to(dtype)
        x = torch.cat([fixed, spread])
        expected = torch.tanh(x)
        out = sub.my_tanh(x.clone())
        expect_type(out, torch.Tensor, name="my_tanh(x)")
        bad = ~torch.isfinite(out)
        expect(not bool(bad.any()), "finite", messages.NOT_FINITE, EXP_OVERFLOW,
               name=f"my_tanh(x) ({dtype})", count=int(bad.sum()), total=bad.numel(),
               where=", ".join(f"{v:g}" for v in x[bad][:4].tolist()))
        expect_tensor(out, expected, name=f"|x| の大きい my_tanh(x) ({dtype})")


def test_my_tanh_keeps_dtype(sub, gen):
    for dtype in (torch.float32, torch.float64):
        x = tensor(gen, (randint(gen, 1, 6),), dtype)
        expected = torch.tanh(x)
        expect_tensor(sub.my_tanh(x), expected, name=f"my_tanh(x) ({dtype} の x)")


def test_my_tanh_leaves_input_unchanged(sub, gen):
    x = _tanh_input(gen, allow_empty=False)
    snapshot = x.clone()
    sub.my_tanh(x)
    expect_unchanged(x, snapshot, name="x")


def test_my_tanh_matches_reference(sub, ref, gen):
    x = _tanh_input(gen, scale=float(choice(gen, (1, 10, 100))))
    actual, expected = call_both(sub.my_tanh, ref.my_tanh, x)
    expect_tensor(actual, expected, name="my_tanh(x)")


# -- parameters_by_child ---------------------------------------------------------------------------------------------

def _per_child(model, trainable_only=True, once=True):
    """The counts computed another way than the prompt suggests: each child's own parameters, without those an earlier
    child already holds (``once``); ``once=False`` counts a shared one in every child, ``trainable_only=False`` counts
    frozen ones too (the counts of two mistakes, for their hints)."""
    seen, out = set(), {}
    for name, child in model.named_children():
        out[name] = sum(p.numel() for p in child.parameters()
                        if (p.requires_grad or not trainable_only) and not (once and id(p) in seen))
        seen.update(id(p) for p in child.parameters())
    return out


def _expect_counts(out, model, what, expected=None):
    """A dict with named_children()'s names in order, each value an int equal to the count; a hint where the value is
    the count of a known mistake."""
    name = f"parameters_by_child ({what})"
    expected = _per_child(model) if expected is None else expected
    expect_type(out, dict, name)
    keys, want = list(out), list(expected)
    if keys != want:
        missing = set(want) - set(keys)
        hint = (ZERO_CHILDREN if missing and all(expected[k] == 0 for k in missing) and set(keys) <= set(want)
                else NESTED_KEYS if any("." in str(k) for k in keys) else None)
        fail("keys", CHILD_KEYS, hint, name=name, expected=want, actual=keys)
    twice, frozen = _per_child(model, once=False), _per_child(model, trainable_only=False)
    for key, count in expected.items():
        expect_type(out[key], int, f"{name}['{key}']")
        actual = int.__index__(out[key])
        hint = SHARED_TWICE if actual == twice[key] != count else FROZEN_COUNTED if actual == frozen[key] != count else None
        expect(actual == count, "values", messages.SCALAR_EXACT, hint, name=f"{name}['{key}']", expected=count,
               actual=actual)


def _no_parameters(gen):
    return choice(gen, (nn.Tanh, nn.ReLU, nn.Dropout, nn.Identity))()


def _random_model(gen):
    """A Sequential or ModuleDict of 3 to 6 children: Linear layers (some without bias), layers without parameters,
    BatchNorm (buffers), nested Sequentials; one layer shared by two children, one child frozen."""
    n = randint(gen, 1, 6)
    shared = nn.Linear(n, n, bias=randint(gen, 0, 2) == 1)
    kinds = [lambda: nn.Linear(n, n, bias=randint(gen, 0, 2) == 1), lambda: _no_parameters(gen),
             lambda: nn.BatchNorm1d(n, affine=randint(gen, 0, 2) == 1), lambda: nn.LayerNorm(n),
             lambda: nn.Sequential(nn.Linear(n, n), _no_parameters(gen), nn.Linear(n, n, bias=False))]
    children = [kinds[randint(gen, 0, len(kinds))]() for _ in range(randint(gen, 3, 7))]
    first, second = sorted(torch.randperm(len(children), generator=gen)[:2].tolist())
    children[first] = nn.Sequential(shared, _no_parameters(gen)) if randint(gen, 0, 2) else shared
    children[second] = nn.Sequential(nn.Linear(n, n), shared)
    children[randint(gen, 0, len(children))].requires_grad_(False)
    if randint(gen, 0, 2):
        return nn.Sequential(*children)
    names = [POOL_NAMES[i] for i in torch.randperm(len(POOL_NAMES), generator=gen)[:len(children)].tolist()]
    return nn.ModuleDict(dict(zip(names, children)))


POOL_NAMES = ("encoder", "act", "head", "norm", "drop", "proj", "stem", "decoder")


def test_parameters_by_child_source_names_parameters(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "parameters_by_child", CHILD_RULE, *CHILD_FORBIDDEN, methods=CHILD_METHODS)
    sub.parameters_by_child(nn.Sequential(nn.Linear(2, 3)))  # an untouched stub reads 未着手


def test_parameters_by_child_example(sub):
    shared = nn.Linear(4, 4)
    model = nn.Sequential(nn.Linear(2, 4), shared, nn.Tanh(), nn.Sequential(shared, nn.Linear(4, 1)))
    _expect_counts(sub.parameters_by_child(model), model, "課題文の例", {"0": 12, "1": 20, "2": 0, "3": 5})


def test_parameters_by_child_random_mlp(sub, gen):
    """Linear layers with activations between them: every child is a key, the activations with 0 (closed form)."""
    sizes = _mlp_sizes(gen, randint(gen, 1, 5))
    layers, expected = [], {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            expected[str(len(layers))] = 0
            layers.append(_no_parameters(gen))
        bias = randint(gen, 0, 2) == 1
        expected[str(len(layers))] = a * b + (b if bias else 0)
        layers.append(nn.Linear(a, b, bias=bias))
    model = nn.Sequential(*layers)
    _expect_counts(sub.parameters_by_child(model), model, f"Linear の大きさ {sizes}", expected)


def test_parameters_by_child_keys_are_the_childrens_names(sub, gen):
    """A ModuleDict with names in a random order (not sorted): the keys are the direct children's names in
    named_children()'s order, a nested child's parameters count for the child that holds it."""
    n = randint(gen, 1, 6)
    pool = {"encoder": lambda: nn.Linear(n, n), "act": lambda: nn.Tanh(), "norm": lambda: nn.LayerNorm(n),
            "head": lambda: nn.Sequential(nn.Linear(n, n), nn.Tanh(), nn.Sequential(nn.Linear(n, 1))),
            "stats": lambda: nn.BatchNorm1d(n, affine=False), "drop": lambda: nn.Dropout()}
    counts = {"encoder": n * n + n, "act": 0, "norm": 2 * n, "head": n * n + n + n + 1, "stats": 0, "drop": 0}
    names = [list(pool)[i] for i in torch.randperm(len(pool), generator=gen).tolist()]
    model = nn.ModuleDict({name: pool[name]() for name in names})
    _expect_counts(sub.parameters_by_child(model), model, f"子 {', '.join(names)}", {k: counts[k] for k in names})


def test_parameters_by_child_shared_layer_counted_at_first_child(sub, gen):
    """The telling case: one layer inside two children (weight tying) counts once, for the earlier child."""
    n, k = randint(gen, 1, 6), randint(gen, 3, 6)
    shared = nn.Linear(n, n)
    first, second = sorted(torch.randperm(k, generator=gen)[:2].tolist())
    children: list[nn.Module] = [nn.Tanh() for _ in range(k)]
    children[first] = nn.Sequential(nn.Tanh(), shared)
    children[second] = nn.Sequential(shared, nn.Tanh(), nn.Linear(n, 1))
    model = nn.Sequential(*children)
    expected = {str(i): 0 for i in range(k)}
    expected[str(first)], expected[str(second)] = n * n + n, n + 1
    _expect_counts(sub.parameters_by_child(model), model, f"子 {first} と子 {second} が同じ Linear を持つモデル", expected)


def test_parameters_by_child_tied_parameter(sub, gen):
    """One Parameter in two layers of two children (decoder.weight = encoder.weight): counted for the earlier child."""
    n = randint(gen, 1, 6)
    encoder, decoder = nn.Linear(n, n), nn.Linear(n, n)
    decoder.weight = encoder.weight
    model = nn.ModuleDict({"encoder": encoder, "act": nn.Tanh(), "decoder": decoder})
    _expect_counts(sub.parameters_by_child(model), model, "decoder.weight = encoder.weight のモデル",
                   {"encoder": n * n + n, "act": 0, "decoder": n})


def test_parameters_by_child_frozen_and_buffers(sub, gen):
    """Frozen parameters and buffers are not counted; a child frozen whole is still a key, with 0."""
    n_in, n_hidden = randint(gen, 1, 7), randint(gen, 2, 7)
    model = nn.Sequential(nn.Linear(n_in, n_hidden), nn.BatchNorm1d(n_hidden), nn.Tanh(), nn.Linear(n_hidden, 1))
    model[0].requires_grad_(False)
    model[3].weight.requires_grad_(False)
    _expect_counts(sub.parameters_by_child(model), model, "凍結した層と BatchNorm を含むモデル",
                   {"0": 0, "1": 2 * n_hidden, "2": 0, "3": 1})


def test_parameters_by_child_random_models(sub, gen):
    for _ in range(2):
        model = _random_model(gen)
        _expect_counts(sub.parameters_by_child(model), model, "共有・凍結・入れ子のあるモデル")


def test_parameters_by_child_leaves_model_alone(sub, gen):
    model = _random_model(gen)
    before = {name: (p.detach().clone(), p.requires_grad) for name, p in model.named_parameters()}
    sub.parameters_by_child(model)
    for name, p in model.named_parameters():
        expect_unchanged(p.detach(), before[name][0], name=f"model の {name}")
        expect_equal(p.requires_grad, before[name][1], name=f"model の {name}.requires_grad",
                     attribute="requires_grad")


def test_parameters_by_child_matches_reference(sub, ref, gen):
    model = _random_model(gen)
    actual, expected = call_both(sub.parameters_by_child, ref.parameters_by_child, model)
    _expect_counts(actual, model, "共有・凍結・入れ子のあるモデル", expected)
