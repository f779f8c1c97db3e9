"""Checks for chapter 04 (shapes): which operations are views of the input and which copy it."""
import torch

from kata.api import inputs
from kata.api.compare import expect_sequence, expect_tensor, expect_unchanged
from kata.api.staticrules import forbid_in_source

DTYPES = (torch.float32, torch.float64, torch.int64)


def _random(gen, shape, noncontiguous=False, dtype=None):
    return inputs.tensor(gen, shape, dtype or inputs.choice(gen, DTYPES), noncontiguous=noncontiguous)


# -- reshape_view ---------------------------------------------------------------------------------------------------

def test_reshape_view_source_values(sub):
    """The source text: arange(6).view(2, 3)."""
    x = torch.arange(6)
    expect_tensor(sub.reshape_view(x, 2, 3), torch.tensor([[0, 1, 2], [3, 4, 5]]), shares_memory_with=x,
                  other_name="x")


def test_reshape_view_shares_storage(sub, ref, gen):
    for i in range(3):
        rows, cols = inputs.randint(gen, 1, 6), inputs.randint(gen, 1, 6)
        layouts = [(rows * cols,), (cols, rows), (rows * cols, 1), (1, rows, cols)]
        layout = layouts[0] if i == 0 else inputs.choice(gen, layouts)
        x = _random(gen, layout)
        before = x.clone()
        expected = ref.reshape_view(before.clone(), rows, cols)
        actual = sub.reshape_view(x, rows, cols)
        expect_tensor(actual, expected, shares_memory_with=x, other_name="x",
                      name=f"reshape_view(形状 {tuple(layout)} の x, {rows}, {cols})")
        expect_unchanged(x, before, name="x")


def test_reshape_view_zero_size(sub, gen):
    cols = inputs.randint(gen, 1, 6)
    x = _random(gen, (0,))
    expect_tensor(sub.reshape_view(x, 0, cols), torch.empty(0, cols, dtype=x.dtype),
                  name=f"reshape_view(空の x, 0, {cols})")


# -- swap_axes ------------------------------------------------------------------------------------------------------

def test_swap_axes_source_values(sub):
    """The source text: arange(6).view(2, 3).permute(1, 0)."""
    x = torch.arange(6).view(2, 3)
    expect_tensor(sub.swap_axes(x), torch.tensor([[0, 3], [1, 4], [2, 5]]), shares_memory_with=x, other_name="x")


def test_swap_axes_is_noncontiguous_view(sub, ref, gen):
    for i in range(3):
        a = inputs.randint(gen, 2, 5)
        b = a + inputs.randint(gen, 1, 3)  # a != b: a forgotten swap shows in the shape
        x = _random(gen, (a, b), noncontiguous=i == 2)
        before = x.clone()
        expected = ref.swap_axes(before.clone())
        actual = sub.swap_axes(x)
        expect_tensor(actual, expected, contiguous=False, shares_memory_with=x, other_name="x",
                      name=f"swap_axes(形状 {(a, b)} の x)")
        expect_unchanged(x, before, name="x")


def test_swap_axes_size1_dims(sub, ref, gen):
    n = inputs.randint(gen, 2, 6)
    for shape in ((1, n), (n, 1), (1, 1)):
        x = _random(gen, shape)
        expected = ref.swap_axes(x.clone())
        expect_tensor(sub.swap_axes(x), expected, shares_memory_with=x, other_name="x",
                      name=f"swap_axes(形状 {shape} の x)")


# -- flatten_any ----------------------------------------------------------------------------------------------------

def test_flatten_any_swapped_source(sub):
    """The source text's permuted tensor, read in row-major order."""
    x = torch.arange(6).view(2, 3).permute(1, 0)
    expect_tensor(sub.flatten_any(x), torch.tensor([0, 3, 1, 4, 2, 5]), contiguous=True)


def test_flatten_any_permuted_input(sub, ref, gen):
    for _ in range(2):
        shape = inputs.shape(gen, (2, 5), 2, 5)
        order = torch.randperm(len(shape), generator=gen).tolist()
        if order == sorted(order):
            order = order[::-1]
        x = _random(gen, shape).permute(*order)  # sizes >= 2, so never contiguous
        before = x.clone()
        actual = sub.flatten_any(x)
        expect_tensor(actual, ref.flatten_any(before.clone()), contiguous=True,
                      name=f"flatten_any(permute({', '.join(map(str, order))}) した形状 {tuple(x.shape)} の x)")
        expect_unchanged(x, before, name="x")


def test_flatten_any_strided_1d_is_contiguous(sub, ref, gen):
    """x[::2] is already 1-D but not contiguous: the result still has to be."""
    x = _random(gen, (inputs.randint(gen, 2, 8),), noncontiguous=True)
    before = x.clone()
    expect_tensor(sub.flatten_any(x), ref.flatten_any(before.clone()), contiguous=True,
                  name=f"flatten_any(1 次元で非連続な形状 {tuple(x.shape)} の x)")
    expect_unchanged(x, before, name="x")


def test_flatten_any_contiguous_and_zero_size(sub, ref, gen):
    n = inputs.randint(gen, 1, 5)
    for shape in (inputs.shape(gen, (0, 4), 1, 5), (n, 0, 3), (1, n, 1)):
        x = _random(gen, shape)
        expected = ref.flatten_any(x.clone())
        expect_tensor(sub.flatten_any(x), expected, contiguous=True, name=f"flatten_any(形状 {shape} の x)")


# -- add_batch_dim --------------------------------------------------------------------------------------------------

def test_add_batch_dim_shape(sub, gen):
    for shape in (inputs.shape(gen, (0, 4), 1, 6), (0, inputs.randint(gen, 1, 5))):
        x = _random(gen, shape)
        expected = x.clone().reshape(1, *shape)
        expect_tensor(sub.add_batch_dim(x), expected, name=f"add_batch_dim(形状 {shape} の x)")


def test_add_batch_dim_shares_storage(sub, ref, gen):
    for i in range(3):
        shape = inputs.shape(gen, (1, 4), 2, 6)
        x = _random(gen, shape, noncontiguous=i == 1)
        before = x.clone()
        actual = sub.add_batch_dim(x)
        expect_tensor(actual, ref.add_batch_dim(before.clone()), shares_memory_with=x, other_name="x",
                      name=f"add_batch_dim(形状 {shape} の x)")
        expect_unchanged(x, before, name="x")


# -- drop_size1_dims ------------------------------------------------------------------------------------------------

def _drop_size1_shapes(gen):
    a = inputs.randint(gen, 2, 5)
    b = a + inputs.randint(gen, 1, 3)  # a != b: reversing the kept dims shows in the shape
    ndim = inputs.randint(gen, 1, 5)
    mixed = tuple(1 if inputs.randint(gen, 0, 2) else inputs.randint(gen, 0, 5) for _ in range(ndim))
    return [(1, a, 1, b), (1,) * inputs.randint(gen, 1, 4), (a, 1, 0, 1), mixed]


def test_drop_size1_dims_shape_and_values(sub, gen):
    for i, shape in enumerate(_drop_size1_shapes(gen)):
        x = _random(gen, shape, noncontiguous=i == 3)
        before = x.clone()
        expected = before.clone().reshape(tuple(s for s in shape if s != 1))
        expect_tensor(sub.drop_size1_dims(x), expected, name=f"drop_size1_dims(形状 {shape} の x)")
        expect_unchanged(x, before, name="x")


def test_drop_size1_dims_matches_reference(sub, ref, gen):
    shape = tuple(1 if inputs.randint(gen, 0, 2) else inputs.randint(gen, 2, 5) for _ in range(4))
    x = _random(gen, shape, noncontiguous=True)
    actual, expected = inputs.call_both(sub.drop_size1_dims, ref.drop_size1_dims, x)
    expect_tensor(actual, expected, name=f"drop_size1_dims(形状 {shape} の x)")


# -- stack_and_cat --------------------------------------------------------------------------------------------------

def _pair(gen, first, more_dims=(0, 3)):
    shape = (first,) + inputs.shape(gen, more_dims, 1, 5)
    dtype = inputs.choice(gen, DTYPES)
    return _random(gen, shape, dtype=dtype), _random(gen, shape, dtype=dtype)


def test_stack_and_cat_shapes(sub, ref, gen):
    # First n != 2 with at least 2 dims, so that stacking or joining along the wrong dim shows in the shape.
    for first, more_dims in ((inputs.randint(gen, 3, 6), (1, 3)), (1, (0, 3))):
        a, b = _pair(gen, first, more_dims)
        stacked, joined = expect_sequence(sub.stack_and_cat(a, b), 2)
        ref_stacked, ref_joined = ref.stack_and_cat(a.clone(), b.clone())
        expect_tensor(stacked, ref_stacked, name=f"戻り値[0] (stack, a の形状 {tuple(a.shape)})")
        expect_tensor(joined, ref_joined, name=f"戻り値[1] (cat, a の形状 {tuple(a.shape)})")


def test_stack_and_cat_parts_are_inputs(sub, gen):
    a, b = _pair(gen, inputs.randint(gen, 2, 6))
    n = len(a)
    before_a, before_b = a.clone(), b.clone()
    stacked, joined = expect_sequence(sub.stack_and_cat(a, b), 2)
    expect_tensor(stacked, torch.empty((2, *a.shape), dtype=a.dtype), values=False, name="戻り値[0] (stack)")
    expect_tensor(joined, torch.empty((2 * n, *a.shape[1:]), dtype=a.dtype), values=False, name="戻り値[1] (cat)")
    expect_tensor(stacked[0], before_a, name="stack の結果[0]")
    expect_tensor(stacked[1], before_b, name="stack の結果[1]")
    expect_tensor(joined[:n], before_a, name=f"cat の結果[:{n}]")
    expect_tensor(joined[n:], before_b, name=f"cat の結果[{n}:]")
    expect_unchanged(a, before_a, name="a")
    expect_unchanged(b, before_b, name="b")


# -- channels_last --------------------------------------------------------------------------------------------------

def test_channels_last_closed_form(sub, gen):
    """For x = arange(N*C*H*W).view(N, C, H, W): out[n, h, w, c] = ((n*C + c)*H + h)*W + w."""
    n_, (c_, h_, w_) = inputs.randint(gen, 1, 3), (torch.randperm(5, generator=gen)[:3] + 2).tolist()
    x = torch.arange(n_ * c_ * h_ * w_).view(n_, c_, h_, w_)
    n = torch.arange(n_).view(n_, 1, 1, 1)
    h = torch.arange(h_).view(1, h_, 1, 1)
    w = torch.arange(w_).view(1, 1, w_, 1)
    c = torch.arange(c_).view(1, 1, 1, c_)
    expected = ((n * c_ + c) * h_ + h) * w_ + w
    expect_tensor(sub.channels_last(x), expected, shares_memory_with=x, other_name="x",
                  name=f"channels_last(形状 {(n_, c_, h_, w_)} の x)")


def test_channels_last_matches_reference(sub, ref, gen):
    for i in range(2):
        shape = inputs.shape(gen, 4, 1, 5)
        x = _random(gen, shape, noncontiguous=i == 1)
        before = x.clone()
        actual = sub.channels_last(x)
        expect_tensor(actual, ref.channels_last(before.clone()), shares_memory_with=x, other_name="x",
                      name=f"channels_last(形状 {shape} の x)")
        expect_unchanged(x, before, name="x")


def test_channels_last_zero_batch(sub, ref, gen):
    x = _random(gen, (0,) + inputs.shape(gen, 3, 1, 5))
    expected = ref.channels_last(x.clone())
    expect_tensor(sub.channels_last(x), expected, name=f"channels_last(形状 {tuple(x.shape)} の x)")


# -- merge_batch_and_swap_last (challenge) ---------------------------------------------------------------------------

VIEW_RULE = "コピーを作るメソッド (.contiguous()、.clone()、copy_) と torch.tensor"
COPYING = (torch.Tensor.contiguous, torch.Tensor.clone, torch.clone, torch.Tensor.copy_, torch.tensor)


def _contiguous_input(gen, shape: tuple[int, ...]) -> torch.Tensor:
    """A contiguous tensor of ``shape``, sometimes at an offset inside a larger one (still contiguous)."""
    if inputs.randint(gen, 0, 2):
        return _random(gen, (2, *shape))[1]
    return _random(gen, shape)


def _merged_and_swapped(x: torch.Tensor) -> torch.Tensor:
    """The prompt's result, computed from a copy of the values: out[a * B + b, d, c] == x[a, b, c, d]."""
    a, b, c, d = x.shape
    return x.clone().permute(0, 1, 3, 2).reshape(a * b, d, c).clone()


def test_merge_batch_and_swap_last_source_without_copies(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "merge_batch_and_swap_last", VIEW_RULE, *COPYING, loops=True)
    sub.merge_batch_and_swap_last(torch.zeros(1, 1, 1, 1))  # an untouched stub reads 未着手


def test_merge_batch_and_swap_last_prompt_example(sub):
    x = torch.arange(8).view(1, 2, 2, 2)
    expect_tensor(sub.merge_batch_and_swap_last(x), torch.tensor([[[0, 2], [1, 3]], [[4, 6], [5, 7]]]),
                  shares_memory_with=x, other_name="x")


def test_merge_batch_and_swap_last_is_a_view(sub, gen):
    """C != D, so that a reshape without the swap shows in the values and a swap of other dims in the shape; sizes
    of 1 in the leading dims."""
    for i in range(3):
        c = inputs.randint(gen, 2, 5)
        d = c + inputs.randint(gen, 1, 3)
        a, b = (1, inputs.randint(gen, 2, 4)) if i == 0 else (inputs.randint(gen, 1, 4), inputs.randint(gen, 1, 4))
        x = _contiguous_input(gen, (a, b, c, d) if i % 2 == 0 else (a, b, d, c))
        before = x.clone()
        expect_tensor(sub.merge_batch_and_swap_last(x), _merged_and_swapped(before), shares_memory_with=x,
                      other_name="x", name=f"merge_batch_and_swap_last(形状 {tuple(x.shape)} の x)")
        expect_unchanged(x, before, name="x")


def test_merge_batch_and_swap_last_matches_reference(sub, ref, gen):
    x = _contiguous_input(gen, inputs.shape(gen, 4, low=1, high=4))
    before = x.clone()
    expect_tensor(sub.merge_batch_and_swap_last(x), ref.merge_batch_and_swap_last(before.clone()),
                  name=f"merge_batch_and_swap_last(形状 {tuple(x.shape)} の x)")


# -- diagonal_as_view (challenge) ------------------------------------------------------------------------------------

DIAGONAL_RULE = "対角成分を取り出す関数・as_strided・インデックスのテンソル・コピー"
DIAGONAL_FORBIDDEN = (torch.diagonal, torch.Tensor.diagonal, torch.diag, torch.Tensor.diag, torch.diag_embed,
                      torch.einsum, torch.as_strided, torch.Tensor.as_strided, torch.take, torch.Tensor.take,
                      torch.index_select, torch.Tensor.index_select, torch.gather, torch.Tensor.gather,
                      torch.Tensor.contiguous, torch.Tensor.clone, torch.clone)


def test_diagonal_as_view_source_without_diagonal(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "diagonal_as_view", DIAGONAL_RULE, *DIAGONAL_FORBIDDEN, loops=True)
    sub.diagonal_as_view(torch.zeros(2, 2))  # an untouched stub reads 未着手


def test_diagonal_as_view_prompt_example(sub):
    x = torch.arange(9).view(3, 3)
    expect_tensor(sub.diagonal_as_view(x), torch.tensor([0, 4, 8]), shares_memory_with=x, other_name="x")


def test_diagonal_as_view_is_a_view(sub, gen):
    """n = 1 and larger; sometimes at an offset inside a larger tensor."""
    for n in (1, inputs.randint(gen, 2, 7), inputs.randint(gen, 2, 7)):
        x = _contiguous_input(gen, (n, n))
        before = x.clone()
        expected = torch.stack([before[i, i] for i in range(n)])
        expect_tensor(sub.diagonal_as_view(x), expected, shares_memory_with=x, other_name="x",
                      name=f"diagonal_as_view(形状 {(n, n)} の x)")
        expect_unchanged(x, before, name="x")


def test_diagonal_as_view_matches_reference(sub, ref, gen):
    n = inputs.randint(gen, 1, 6)
    x = _contiguous_input(gen, (n, n))
    expect_tensor(sub.diagonal_as_view(x), ref.diagonal_as_view(x.clone()), name=f"diagonal_as_view(形状 {(n, n)} の x)")
