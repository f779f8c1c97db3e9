"""Checks for chapter 05 (matrix products, indexing, broadcasting, in-place updates)."""
import torch
import torch.nn.functional as F

from kata.api import inputs
from kata.api.compare import (
    expect,
    expect_grad,
    expect_same_object,
    expect_sequence,
    expect_tensor,
    expect_type,
    expect_unchanged,
    tolerances,
)
from kata.api.staticrules import forbid_in_source

DTYPES = (torch.float32, torch.float64, torch.int64)

# -- verdict templates and hints only these checks use -----------------------------------------------------------------
NOT_IN_PLACE = ("『{name}』がその場で更新されていません (メモリが入れ替わったか、バージョンカウンタ {name}._version が "
                "{version} のまま)。")
DATA_REPLACED = ("dst.data = ... のように中身を入れ替えると、同じオブジェクトでも別のメモリになり、dst を共有している "
                 "view には足し込まれません。dst.add_(src) や dst += src で、dst のメモリそのものに足しましょう。")
FLOATS = (torch.float32, torch.float64)


def _random(gen, shape, dtype, noncontiguous=False):
    return inputs.tensor(gen, shape, dtype, noncontiguous=noncontiguous)


def _two_sizes(gen, low=1, high=5):
    """Two different sizes, so that a transposed result shows in the shape."""
    n = inputs.randint(gen, low, high)
    return n, n + inputs.randint(gen, 1, 3)


# -- matmul ---------------------------------------------------------------------------------------------------------

def test_matmul_source_values(sub):
    """The source text: torch.matmul(arange(6).view(3, 2), arange(8).view(2, 4)), an int64 result."""
    x, w = torch.arange(6).view(3, 2), torch.arange(8).view(2, 4)
    expected = torch.tensor([[4, 5, 6, 7], [12, 17, 22, 27], [20, 29, 38, 47]])
    expect_tensor(sub.matmul(x, w), expected)


def test_matmul_sums_over_inner_dim(sub, gen):
    """out[i, j] = sum_k x[i, k] * w[k, j], written with broadcasting on int64 (exact)."""
    n, p = _two_sizes(gen)
    m = inputs.randint(gen, 1, 6)
    x, w = _random(gen, (n, m), torch.int64), _random(gen, (m, p), torch.int64)
    expected = (x[:, :, None] * w[None, :, :]).sum(dim=1)
    expect_tensor(sub.matmul(x, w), expected, name=f"matmul(形状 {(n, m)} の x, 形状 {(m, p)} の w)")


def test_matmul_matches_reference(sub, ref, gen):
    for i in range(3):
        n, p = _two_sizes(gen)
        m = 0 if i == 2 else inputs.randint(gen, 1, 6)  # an empty inner dim sums to zeros
        dtype = inputs.choice(gen, DTYPES)
        x = _random(gen, (n, m), dtype, noncontiguous=i == 1)
        w = _random(gen, (m, p), dtype)
        before_x, before_w = x.clone(), w.clone()
        expected = ref.matmul(before_x.clone(), before_w.clone())
        actual = sub.matmul(x, w)
        expect_tensor(actual, expected, name=f"matmul(形状 {(n, m)} の x, 形状 {(m, p)} の w, {dtype})")
        expect_unchanged(x, before_x, name="x")
        expect_unchanged(w, before_w, name="w")


def _large_int64(gen, shape):
    """int64 entries of both signs beyond 2**53 (float64 cannot hold them exactly), odd so that no low bit is zero."""
    big = torch.randint(2**53, 2**55, shape, generator=gen) | 1
    return big * (torch.randint(0, 2, shape, generator=gen) * 2 - 1)


def _small_weights(gen, shape):
    """Weights in -2..2 for a (..., m, p) product; in every matrix one column is a signed unit vector, so that one
    output is exactly an odd entry beyond 2**53 (a detour through floats cannot round its way back to it)."""
    w = torch.randint(-2, 3, shape, generator=gen)
    m, p = shape[-2], shape[-1]
    for matrix in w.view(-1, m, p):
        column, k = inputs.randint(gen, 0, p), inputs.randint(gen, 0, m)
        matrix[:, column] = 0
        matrix[k, column] = inputs.choice(gen, (-1, 1))
    return w


def test_matmul_large_int64_exact(sub, gen):
    """int64 products stay exact: entries beyond 2**53 times small weights (no overflow, no detour through floats)."""
    n, p = _two_sizes(gen)
    m = inputs.randint(gen, 1, 5)
    x, w = _large_int64(gen, (n, m)), _small_weights(gen, (m, p))
    expected = (x[:, :, None] * w[None, :, :]).sum(dim=1)
    expect_tensor(sub.matmul(x, w), expected, name=f"matmul(2**53 を超える int64 の x {(n, m)}, w {(m, p)})")


# -- batched_matmul -------------------------------------------------------------------------------------------------

def test_batched_matmul_equals_loop_of_matmuls(sub, gen):
    for dtype in (torch.int64, inputs.choice(gen, FLOATS)):
        batch, (n, p), m = inputs.randint(gen, 2, 5), _two_sizes(gen), inputs.randint(gen, 1, 5)
        a, b = _random(gen, (batch, n, m), dtype), _random(gen, (batch, m, p), dtype)
        expected = torch.stack([torch.matmul(a[i], b[i]) for i in range(batch)])
        expect_tensor(sub.batched_matmul(a, b), expected,
                      name=f"batched_matmul(形状 {(batch, n, m)} の a, 形状 {(batch, m, p)} の b, {dtype})")


def test_batched_matmul_source_without_loops(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "batched_matmul", "Python のループ", loops=True)
    sub.batched_matmul(_random(gen, (2, 2, 3), torch.float32), _random(gen, (2, 3, 2), torch.float32))  # a stub: 未着手


def test_batched_matmul_matches_reference(sub, ref, gen):
    for i, batch in enumerate((inputs.randint(gen, 1, 4), 1, 0)):
        n, m, p = inputs.shape(gen, 3, 1, 5)
        dtype = inputs.choice(gen, DTYPES)
        a = _random(gen, (batch, n, m), dtype, noncontiguous=i == 0)
        b = _random(gen, (batch, m, p), dtype)
        before_a, before_b = a.clone(), b.clone()
        expected = ref.batched_matmul(before_a.clone(), before_b.clone())
        actual = sub.batched_matmul(a, b)
        expect_tensor(actual, expected, name=f"batched_matmul(形状 {(batch, n, m)} の a, 形状 {(batch, m, p)} の b)")
        expect_unchanged(a, before_a, name="a")
        expect_unchanged(b, before_b, name="b")


def test_batched_matmul_large_int64_exact(sub, gen):
    batch, (n, p), m = inputs.randint(gen, 1, 4), _two_sizes(gen), inputs.randint(gen, 1, 5)
    a, b = _large_int64(gen, (batch, n, m)), _small_weights(gen, (batch, m, p))
    expected = (a[:, :, :, None] * b[:, None, :, :]).sum(dim=2)
    expect_tensor(sub.batched_matmul(a, b), expected,
                  name=f"batched_matmul(2**53 を超える int64 の a {(batch, n, m)}, b {(batch, m, p)})")


# -- linear_forward -------------------------------------------------------------------------------------------------

def _linear_inputs(gen, lead, dtype=torch.float32):
    n_in, n_out = _two_sizes(gen, 1, 6)
    x = _random(gen, (*lead, n_in), dtype)
    return x, _random(gen, (n_out, n_in), dtype), _random(gen, (n_out,), dtype)


def test_linear_forward_equals_functional_linear(sub, gen):
    for lead in ((inputs.randint(gen, 1, 6),), (), inputs.shape(gen, 2, 1, 4)):
        x, weight, bias = _linear_inputs(gen, lead, inputs.choice(gen, FLOATS))
        before = [t.clone() for t in (x, weight, bias)]
        expected = F.linear(*before)
        expect_tensor(sub.linear_forward(x, weight, bias), expected,
                      name=f"linear_forward(形状 {tuple(x.shape)} の x, 形状 {tuple(weight.shape)} の weight)")
        for name, t, b in zip(("x", "weight", "bias"), (x, weight, bias), before):
            expect_unchanged(t, b, name=name)


def test_linear_forward_matches_reference(sub, ref, gen, seed):
    x, weight, bias = _linear_inputs(gen, inputs.shape(gen, (1, 3), 1, 5))
    actual, expected = inputs.call_both(sub.linear_forward, ref.linear_forward, x, weight, bias, seed=seed)
    expect_tensor(actual, expected, name=f"linear_forward(形状 {tuple(x.shape)} の x)")


def test_linear_forward_keeps_graph(sub, gen):
    """Gradients flow from the result back to weight and bias, as they do through F.linear."""
    x, weight, bias = _linear_inputs(gen, (inputs.randint(gen, 1, 5),))
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    weight2, bias2 = weight.detach().clone().requires_grad_(True), bias.detach().clone().requires_grad_(True)
    expected = F.linear(x, weight2, bias2)
    expected.sum().backward()
    out = sub.linear_forward(x, weight, bias)
    expect_tensor(out, expected, requires_grad=True, name="linear_forward の戻り値")
    out.sum().backward()
    expect_grad(weight.grad, weight2.grad, name="weight.grad")
    expect_grad(bias.grad, bias2.grad, name="bias.grad")


# -- select_parts ---------------------------------------------------------------------------------------------------

PARTS = ("列 1", "行 0", "先頭 2 行の最後の列", "行 1 と行 2")


def test_select_parts_arange_closed_form(sub, gen):
    """For x = arange(r*c).view(r, c) the element x[i, j] is i*c + j."""
    r, c = inputs.randint(gen, 4, 7), inputs.randint(gen, 2, 4)  # r != c: a row taken for a column shows
    x = torch.arange(r * c).view(r, c)
    expected = (torch.arange(r) * c + 1, torch.arange(c), torch.tensor([c - 1, 2 * c - 1]),
                torch.arange(c, 3 * c).view(2, c))
    parts = expect_sequence(sub.select_parts(x), 4)
    for i, (part, exp, what) in enumerate(zip(parts, expected, PARTS)):
        expect_tensor(part, exp, shares_memory_with=x, other_name="x", name=f"戻り値[{i}] ({what}、x の形状 {(r, c)})")


def test_select_parts_views_of_x(sub, ref, gen):
    for i in range(2):
        r, c = inputs.randint(gen, 3, 6), inputs.randint(gen, 2, 6)
        x = _random(gen, (r, c), inputs.choice(gen, DTYPES), noncontiguous=i == 1)
        before = x.clone()
        expected = ref.select_parts(before.clone())
        parts = expect_sequence(sub.select_parts(x), 4)
        for j, (part, exp, what) in enumerate(zip(parts, expected, PARTS)):
            expect_tensor(part, exp, shares_memory_with=x, other_name="x",
                          name=f"戻り値[{j}] ({what}、x の形状 {(r, c)})")
        expect_unchanged(x, before, name="x")


# -- outer_sum ------------------------------------------------------------------------------------------------------

def test_outer_sum_closed_form(sub, gen):
    """a = arange(n) * m and b = arange(m) give a[i] + b[j] = i*m + j, i.e. arange(n*m).view(n, m)."""
    n, m = _two_sizes(gen, 1, 6)
    if inputs.randint(gen, 0, 2):
        n, m = m, n
    expected = torch.arange(n * m).view(n, m)
    expect_tensor(sub.outer_sum(torch.arange(n) * m, torch.arange(m)), expected, name=f"outer_sum (n={n}, m={m})")


def test_outer_sum_source_without_loops(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "outer_sum", "Python のループ", loops=True)
    sub.outer_sum(_random(gen, (3,), torch.float32), _random(gen, (2,), torch.float32))  # a stub: 未着手


def test_outer_sum_matches_reference(sub, ref, gen):
    for i, (n, m) in enumerate((_two_sizes(gen), (inputs.randint(gen, 0, 4), inputs.randint(gen, 0, 4)))):
        dtype = inputs.choice(gen, DTYPES)
        a, b = _random(gen, (n,), dtype, noncontiguous=i == 0), _random(gen, (m,), dtype)
        before_a, before_b = a.clone(), b.clone()
        expected = ref.outer_sum(before_a.clone(), before_b.clone())
        expect_tensor(sub.outer_sum(a, b), expected, name=f"outer_sum(形状 {(n,)} の a, 形状 {(m,)} の b)")
        expect_unchanged(a, before_a, name="a")
        expect_unchanged(b, before_b, name="b")


# -- row_normalize --------------------------------------------------------------------------------------------------

def _positive(gen, shape, dtype, noncontiguous=False):
    return _random(gen, shape, dtype, noncontiguous).abs() + 0.5


def test_row_normalize_rows_sum_to_one(sub, gen):
    n, m = _two_sizes(gen, 2, 6)
    dtype = inputs.choice(gen, FLOATS)
    A = _positive(gen, (n, m), dtype)
    before = A.clone()
    out = sub.row_normalize(A)
    expect_tensor(out, before, values=False, name=f"row_normalize(形状 {(n, m)} の A)")
    expect_tensor(out.sum(dim=1), torch.ones(n, dtype=dtype), name="戻り値の各行の和")
    expect_tensor(out * before.sum(dim=1, keepdim=True), before, name="戻り値 × 元の各行の和")
    expect_unchanged(A, before, name="A")


def _signed_rows(gen, shape, dtype):
    """Entries of both signs; every row sums to +-(1 to 2), one row to a negative sum, so nothing divides by ~0."""
    n, m = shape
    A = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
    target = (1 + torch.rand(n, generator=gen, dtype=torch.float64)) * (torch.randint(0, 2, (n,), generator=gen) * 2 - 1)
    target[inputs.randint(gen, 0, n)] = -1.5
    A += ((target - A.sum(dim=1)) / m)[:, None]
    A[:, 0] = A[:, 0] + (target - A.sum(dim=1))  # absorb the rounding, so the row sums are the targets
    return A.to(dtype)


def test_row_normalize_signed_entries(sub, gen):
    """Negative entries and negative row sums: out[i, j] = A[i, j] / sum_j A[i, j], not divided by sum |A[i, j]|."""
    n, m = _two_sizes(gen, 2, 6)
    dtype = inputs.choice(gen, FLOATS)
    A = _signed_rows(gen, (n, m), dtype)
    before = A.clone()
    A64 = before.double()
    expected = (A64 / A64.sum(dim=1, keepdim=True)).to(dtype)
    expect_tensor(sub.row_normalize(A), expected, name=f"row_normalize(負の要素を含む形状 {(n, m)} の A)")
    expect_unchanged(A, before, name="A")


def test_row_normalize_matches_reference(sub, ref, gen):
    for i in range(2):
        n, m = _two_sizes(gen, 1, 6)
        A = _positive(gen, (n, m), inputs.choice(gen, FLOATS), noncontiguous=i == 1)
        before = A.clone()
        expected = ref.row_normalize(before.clone())
        expect_tensor(sub.row_normalize(A), expected, name=f"row_normalize(形状 {(n, m)} の A)")
        expect_unchanged(A, before, name="A")


# -- add_inplace ----------------------------------------------------------------------------------------------------

def test_add_inplace_returns_dst_itself(sub, gen):
    dtype = inputs.choice(gen, DTYPES)
    shape = inputs.shape(gen, (1, 4), 1, 5)
    dst, src = _random(gen, shape, dtype), _random(gen, shape, dtype)
    before_dst, before_src = dst.clone(), src.clone()
    out = sub.add_inplace(dst, src)
    expect_type(out, torch.Tensor)
    expect_same_object(out, dst, other_name="dst")
    expect_tensor(dst, before_dst + before_src, name="呼び出し後の dst")
    expect_unchanged(src, before_src, name="src")


def test_add_inplace_broadcast_src(sub, ref, gen):
    dtype = inputs.choice(gen, DTYPES)
    n, m = _two_sizes(gen, 1, 5)
    dst, src = _random(gen, (n, m), dtype, noncontiguous=True), _random(gen, (m,), dtype)
    before_dst, before_src = dst.clone(), src.clone()
    expected = ref.add_inplace(before_dst.clone(), before_src.clone())
    out = sub.add_inplace(dst, src)
    expect_type(out, torch.Tensor)
    expect_same_object(out, dst, other_name="dst")
    expect_tensor(dst, expected, name=f"呼び出し後の dst (形状 {(n, m)} の dst に形状 {(m,)} の src)")
    expect_unchanged(src, before_src, name="src")


def test_add_inplace_updates_dsts_own_memory(sub, gen):
    """In place means in dst's own memory: a view of dst sees the sum, and dst's version counter moves on (putting a
    new tensor into dst.data keeps the object and the values right, but neither of these)."""
    dtype = inputs.choice(gen, DTYPES)
    shape = inputs.shape(gen, (1, 3), 1, 5)
    dst, src = _random(gen, shape, dtype), _random(gen, shape, dtype)
    expected, version, ptr = dst + src, dst._version, dst.untyped_storage().data_ptr()
    sub.add_inplace(dst, src)
    expect(dst._version > version and dst.untyped_storage().data_ptr() == ptr, "in_place", NOT_IN_PLACE,
           DATA_REPLACED, name="dst", version=version)
    expect_tensor(dst, expected, name="呼び出し後の dst")


# -- stable_softmax (challenge) --------------------------------------------------------------------------------------

SOFTMAX_RULE = "Python のループ・softmax の関数 (torch.softmax など)・torch.logsumexp"
SOFTMAX_FORBIDDEN = (torch.softmax, torch.Tensor.softmax, F.softmax, torch.log_softmax, torch.Tensor.log_softmax,
                     F.log_softmax, torch.logsumexp, torch.Tensor.logsumexp, torch.special.softmax,
                     torch.special.log_softmax, torch.special.logsumexp, torch.nn.Softmax, torch.nn.LogSoftmax)


def _softmax(x: torch.Tensor) -> torch.Tensor:
    """The prompt's values, in float64."""
    return torch.softmax(x.double(), dim=-1).to(x.dtype)


def _expect_softmax(sub, x, what):
    """Within what the input's own rounding allows: x in float32 near 1000 is known only to about 6e-5, and a correct
    answer that subtracts a log-sum-exp from x (rather than the maximum) carries that error into the result."""
    before = x.clone()
    _, atol = tolerances(x)
    scale = float(x.abs().max()) if x.numel() else 0.0
    expect_tensor(sub.stable_softmax(x), _softmax(before), atol=max(atol, 8 * torch.finfo(x.dtype).eps * scale),
                  name=f"stable_softmax({what})")
    expect_unchanged(x, before, name="x")


def test_stable_softmax_source_without_softmax(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "stable_softmax", SOFTMAX_RULE, *SOFTMAX_FORBIDDEN, loops=True)
    sub.stable_softmax(torch.zeros(2, 3))  # an untouched stub reads 未着手


def test_stable_softmax_prompt_example(sub):
    _expect_softmax(sub, torch.tensor([[0.0, 0.0], [1000.0, 1001.0]]), "プロンプトの例")


def test_stable_softmax_rows_of_every_scale(sub, gen):
    """Pinned: a 1-D row of large values (exp overflows without a shift), a square matrix whose rows lie thousands
    apart (a shift by the whole tensor's maximum underflows the lower row; a sum over the wrong dimension is not
    caught by the shape), a row of one entry, and a 3-D input."""
    k = inputs.randint(gen, 2, 6)
    big = 500 + 100 * torch.rand(k, generator=gen, dtype=torch.float64)
    square = torch.randn(k, k, generator=gen, dtype=torch.float64) * 3 + \
        torch.arange(k, dtype=torch.float64).unsqueeze(1) * 3000 - 5000
    cases = [(big.float(), f"形状 {(k,)}、値が 500 以上"),
             (square.float(), f"形状 {(k, k)}、行ごとに 3000 ずつ離れた値"),
             (square.double(), f"形状 {(k, k)} の float64"),
             (_random(gen, (inputs.randint(gen, 1, 4), 1), torch.float32), "最後の次元が 1"),
             (_random(gen, inputs.shape(gen, 3, 1, 5), torch.float64, noncontiguous=True) * 50, "3 次元")]
    for x, what in cases:
        _expect_softmax(sub, x, what)


def test_stable_softmax_random(sub, gen):
    """Random shapes of 1-3 dims and values up to 1e4, both float dtypes, non-contiguous inputs."""
    for _ in range(4):
        shape = inputs.shape(gen, (1, 4), 1, 6)
        dtype = inputs.choice(gen, FLOATS)
        scale = inputs.choice(gen, (1.0, 30.0, 1000.0))
        x = (_random(gen, shape, dtype, noncontiguous=bool(inputs.randint(gen, 0, 2))) * scale).clamp(-1e4, 1e4)
        _expect_softmax(sub, x, f"形状 {shape}、{dtype}、値の大きさ {scale:g} 程度")


# -- class_means (challenge) -----------------------------------------------------------------------------------------

MEANS_RULE = ("Python のループ・torch.where・scatter 系・index_add・index_put・torch.bincount・"
              "torch.nn.functional.one_hot・torch.unique")
MEANS_FORBIDDEN = (torch.where, torch.Tensor.where, torch.scatter, torch.Tensor.scatter, torch.Tensor.scatter_,
                   torch.scatter_add, torch.Tensor.scatter_add, torch.Tensor.scatter_add_, torch.scatter_reduce,
                   torch.Tensor.scatter_reduce, torch.Tensor.scatter_reduce_, torch.index_add,
                   torch.Tensor.index_add, torch.Tensor.index_add_, torch.index_put, torch.Tensor.index_put,
                   torch.Tensor.index_put_, torch.bincount, torch.Tensor.bincount, F.one_hot, torch.unique,
                   torch.Tensor.unique, torch.unique_consecutive, torch.segment_reduce)


def _class_means(x: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The prompt's values, class by class in float64 (an independent computation)."""
    out = torch.zeros(num_classes, x.shape[1], dtype=torch.float64)
    for c in range(num_classes):
        rows = x.double()[labels == c]
        if len(rows):
            out[c] = rows.mean(dim=0)
    return out.to(x.dtype)


def _expect_class_means(sub, x, labels, num_classes, what):
    before_x, before_labels = x.clone(), labels.clone()
    expect_tensor(sub.class_means(x, labels, num_classes), _class_means(before_x, before_labels, num_classes),
                  name=f"class_means({what})")
    expect_unchanged(x, before_x, name="x")
    expect_unchanged(labels, before_labels, name="labels")


def test_class_means_source_without_loops_or_scatter(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "class_means", MEANS_RULE, *MEANS_FORBIDDEN, loops=True)
    sub.class_means(torch.ones(2, 2), torch.tensor([0, 1]), 2)  # an untouched stub reads 未着手


def test_class_means_prompt_example(sub):
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    _expect_class_means(sub, x, torch.tensor([0, 2, 0]), 3, "プロンプトの例")


def test_class_means_pinned_cases(sub, gen):
    """Pinned: classes of different sizes with the first and the last class empty (0 / 0 must not be nan), more
    classes than columns and more columns than classes (a transposed result shows in the shape), one class, float64,
    and no rows at all."""
    n, d = inputs.randint(gen, 4, 9), inputs.randint(gen, 1, 3)
    labels = torch.randint(1, 4, (n,), generator=gen)
    labels[:3] = torch.tensor([1, 2, 2])  # sizes differ: dividing by n or by the number of classes shows
    cases = [(_random(gen, (n, d), torch.float32), labels, 5, f"{n} 行、クラス 0 と 4 は空、5 クラス、d = {d}"),
             (_random(gen, (n, 4), torch.float64, noncontiguous=True), labels - 1, 3, f"{n} 行、float64、d = 4"),
             (_random(gen, (3, 2), torch.float32), torch.zeros(3, dtype=torch.int64), 1, "1 クラス"),
             (torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64), 2, "0 行")]
    for x, labs, classes, what in cases:
        _expect_class_means(sub, x, labs, classes, what)


def test_class_means_random(sub, gen):
    for _ in range(4):
        n, d, classes = inputs.randint(gen, 1, 12), inputs.randint(gen, 1, 6), inputs.randint(gen, 1, 7)
        dtype = inputs.choice(gen, FLOATS)
        x = _random(gen, (n, d), dtype, noncontiguous=bool(inputs.randint(gen, 0, 2))) * 10
        labels = torch.randint(0, classes, (n,), generator=gen)
        _expect_class_means(sub, x, labels, classes, f"{n} 行、{classes} クラス、d = {d}、{dtype}")
