"""Checks for chapter 03 (NumPy <-> tensors)."""
import numpy as np
import pytest
import torch

from kata.api import devices, inputs, portable
from kata.api.compare import expect_array, expect_same_object, expect_tensor, expect_unchanged
from kata.api.staticrules import forbid_in_source

TORCH_OF = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32,
            np.dtype(np.int64): torch.int64, np.dtype(np.int32): torch.int32,
            np.dtype(np.uint8): torch.uint8, np.dtype(np.bool_): torch.bool}
NUMPY_OF = {t: n for n, t in TORCH_OF.items()}
ARRAY_DTYPES = tuple(TORCH_OF)


def _shape(gen):
    """1 to 3 dims, no zero sizes (an empty array shares no memory with anything)."""
    return inputs.shape(gen, (1, 4), low=1, high=5)


def _array(nprng, gen, dtype=None, shape=None):
    """A random array of ``dtype`` (a random one if None), sometimes a strided (non-contiguous) view."""
    dtype = np.dtype(dtype if dtype is not None else inputs.choice(gen, ARRAY_DTYPES))
    shape = shape or _shape(gen)
    step = inputs.randint(gen, 1, 3)
    big = shape[:-1] + (shape[-1] * step,)
    if dtype.kind == "f":
        a = nprng.standard_normal(big).astype(dtype)
    elif dtype.kind == "b":
        a = nprng.integers(0, 2, big).astype(bool)
    else:
        a = nprng.integers(0, 100, big).astype(dtype)
    return a[..., ::step]


def _tensor_of(a: np.ndarray) -> torch.Tensor:
    """The values of ``a`` as a fresh tensor of the matching dtype, built from Python numbers (no NumPy bridge)."""
    return torch.tensor(a.tolist(), dtype=TORCH_OF[a.dtype]).reshape(a.shape)


def _write_into(a: np.ndarray) -> None:
    """Change every element of ``a`` in place."""
    if a.dtype == np.bool_:
        np.logical_not(a, out=a)
    else:
        a += 1


# -- numpy_to_tensor -----------------------------------------------------------------------------------------------

def test_numpy_to_tensor_source_values(sub):
    a = np.array([2, 3])
    expect_tensor(sub.numpy_to_tensor(a), torch.tensor([2, 3], dtype=TORCH_OF[a.dtype]), shares_memory_with=a,
                  other_name="a")


def test_numpy_to_tensor_float64_stays_float64(sub, nprng, gen):
    a = _array(nprng, gen, np.float64)
    expect_tensor(sub.numpy_to_tensor(a), _tensor_of(a), shares_memory_with=a, other_name="a")


def test_numpy_to_tensor_keeps_dtype(sub, nprng, gen):
    for dtype in (np.int64, np.float32, inputs.choice(gen, ARRAY_DTYPES)):
        a = _array(nprng, gen, dtype)
        expect_tensor(sub.numpy_to_tensor(a), _tensor_of(a), shares_memory_with=a, other_name="a",
                      name=f"{a.dtype} の配列からの戻り値")


def test_numpy_to_tensor_sees_writes_into_a(sub, nprng, gen):
    a = _array(nprng, gen)
    out = sub.numpy_to_tensor(a)
    _write_into(a)
    expect_tensor(out, _tensor_of(a), name="a を書き換えたあとの戻り値")


# -- numpy_to_tensor_copy ------------------------------------------------------------------------------------------

def test_numpy_to_tensor_copy_source_values(sub):
    a = np.array([2, 3])
    expect_tensor(sub.numpy_to_tensor_copy(a), torch.tensor([2, 3], dtype=TORCH_OF[a.dtype]),
                  no_shared_memory_with=a, other_name="a")


def test_numpy_to_tensor_copy_keeps_dtype(sub, nprng, gen):
    for dtype in (np.float64, np.int64, inputs.choice(gen, ARRAY_DTYPES)):
        a = _array(nprng, gen, dtype)
        snapshot = a.copy()
        expect_tensor(sub.numpy_to_tensor_copy(a), _tensor_of(a), no_shared_memory_with=a, other_name="a",
                      name=f"{a.dtype} の配列からの戻り値")
        expect_unchanged(a, snapshot, name="a")


def test_numpy_to_tensor_copy_ignores_writes_into_a(sub, nprng, gen):
    a = _array(nprng, gen)
    expected = _tensor_of(a)
    out = sub.numpy_to_tensor_copy(a)
    _write_into(a)
    expect_tensor(out, expected, name="a を書き換えたあとの戻り値")


# -- numpy_to_float32 ----------------------------------------------------------------------------------------------

def test_numpy_to_float32_from_float64(sub, nprng, gen):
    a = _array(nprng, gen, np.float64)
    snapshot = a.copy()
    expect_tensor(sub.numpy_to_float32(a), _tensor_of(a).to(torch.float32), name="float64 の配列からの戻り値",
                  from_numpy=True)
    expect_unchanged(a, snapshot, name="a")


def test_numpy_to_float32_from_ints_and_bools(sub, nprng, gen):
    expect_tensor(sub.numpy_to_float32(np.array([2, 3])), torch.tensor([2.0, 3.0]), name="np.array([2, 3]) からの戻り値",
                  from_numpy=True)
    for dtype in (np.int64, inputs.choice(gen, (np.int32, np.uint8, np.bool_))):
        a = _array(nprng, gen, dtype)
        snapshot = a.copy()
        expect_tensor(sub.numpy_to_float32(a), _tensor_of(a).to(torch.float32), name=f"{a.dtype} の配列からの戻り値",
                      from_numpy=True)
        expect_unchanged(a, snapshot, name="a")


# -- tensor_to_numpy -----------------------------------------------------------------------------------------------

def _expected_array(t: torch.Tensor) -> np.ndarray:
    """The values of ``t`` as an array of the matching dtype, built from Python numbers (no NumPy bridge)."""
    return np.array(t.tolist(), dtype=NUMPY_OF[t.dtype]).reshape(tuple(t.shape))


def test_tensor_to_numpy_source_values(sub):
    """The source text's tensor([2, 3]).numpy() → [2 3]."""
    t = torch.tensor([2, 3])
    expect_array(sub.tensor_to_numpy(t), np.array([2, 3], dtype=np.int64))
    expect_unchanged(t, torch.tensor([2, 3]), name="t")


def test_tensor_to_numpy_dtype_mapping(sub, gen):
    for dtype in (torch.float32, inputs.choice(gen, tuple(NUMPY_OF))):
        t = inputs.tensor(gen, _shape(gen), dtype, noncontiguous=bool(inputs.randint(gen, 0, 2)))
        snapshot = t.clone()
        expect_array(sub.tensor_to_numpy(t), _expected_array(t), name=f"{t.dtype} のテンソルからの戻り値")
        expect_unchanged(t, snapshot, name="t")


def test_tensor_to_numpy_requires_grad(sub, gen):
    t = torch.randn(inputs.randint(gen, 1, 5), inputs.randint(gen, 5, 8), generator=gen).requires_grad_()
    snapshot = t.detach().clone()
    expect_array(sub.tensor_to_numpy(t), _expected_array(t.detach()), name="requires_grad=True のテンソルからの戻り値")
    expect_tensor(t, snapshot, name="入力 t", requires_grad=True, is_leaf=True)


@pytest.mark.parametrize("device", devices.params())
def test_tensor_to_numpy_on_device(sub, gen, device):
    """On an accelerator the result must come back to the CPU; MPS has no float64."""
    dtype = devices.float_dtype(device)
    cpu = torch.randn(inputs.shape(gen, 2, low=1, high=5), generator=gen, dtype=dtype)
    t = cpu.to(device).requires_grad_()
    expect_array(sub.tensor_to_numpy(t), _expected_array(cpu), name=f"{device} 上のテンソルからの戻り値")
    expect_tensor(t, cpu.to(device), name="入力 t", requires_grad=True, is_leaf=True)


def test_tensor_to_numpy_on_simulated_gpu(sub, gen):
    """On every machine: a stand-in for a tensor on a GPU (device cuda:0), on which .numpy() fails until .cpu()."""
    for dtype in (torch.float32, inputs.choice(gen, (torch.float64, torch.int64, torch.bool))):
        cpu = inputs.tensor(gen, inputs.shape(gen, (1, 3), low=1, high=5), dtype)
        t = portable.SimulatedCudaTensor.wrap(cpu.clone()).requires_grad_(dtype.is_floating_point)
        expect_array(sub.tensor_to_numpy(t), _expected_array(cpu), name=f"GPU (cuda:0) 上の {dtype} のテンソルからの戻り値")
        expect_tensor(t, portable.SimulatedCudaTensor.wrap(cpu), name="入力 t", requires_grad=dtype.is_floating_point,
                      is_leaf=True)


# -- flipped_to_tensor ---------------------------------------------------------------------------------------------

def test_flipped_to_tensor_source_array(sub):
    a = np.array([2, 3])
    expect_tensor(sub.flipped_to_tensor(a), torch.tensor([3, 2], dtype=TORCH_OF[a.dtype]))
    expect_unchanged(a, np.array([2, 3]), name="a")


def test_flipped_to_tensor_values(sub, nprng, gen):
    """2-D and 3-D, so that flipping another axis shows."""
    shape = (inputs.randint(gen, 2, 5),) + inputs.shape(gen, (1, 3), low=2, high=5)
    a = _array(nprng, gen, np.float64, shape)
    snapshot = a.copy()
    expect_tensor(sub.flipped_to_tensor(a), _tensor_of(a[::-1]), name="a[::-1] のテンソル")
    expect_unchanged(a, snapshot, name="a")


def test_flipped_to_tensor_keeps_dtype(sub, nprng, gen):
    for dtype in (np.float32, inputs.choice(gen, ARRAY_DTYPES)):
        a = _array(nprng, gen, dtype, (inputs.randint(gen, 2, 6),) + inputs.shape(gen, (0, 2), low=1, high=4))
        snapshot = a.copy()
        expect_tensor(sub.flipped_to_tensor(a), _tensor_of(a[::-1]), name=f"{a.dtype} の a[::-1] のテンソル")
        expect_unchanged(a, snapshot, name="a")


# -- center_columns_in_place (challenge) -----------------------------------------------------------------------------

COPY_RULE = "データのコピー (np.array、np.copy、.copy()、torch.tensor、.clone())"
COPIES = (np.array, np.copy, np.ndarray.copy, torch.tensor, torch.clone, torch.Tensor.clone)


def _columns(nprng, gen, dtype, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D float array of ``layout`` ("C", "F" or "strided": every other column of a larger array) and the array
    that holds its memory (itself, or the larger one)."""
    rows, cols = inputs.randint(gen, 1, 6), inputs.randint(gen, 1, 5)
    big = (nprng.standard_normal((rows, cols * 2)) * 5 + nprng.integers(-5, 5, (1, cols * 2))).astype(dtype)
    if layout == "strided":
        return big[:, ::2], big
    a = np.asfortranarray(big[:, :cols]) if layout == "F" else np.ascontiguousarray(big[:, :cols])
    return a, a


def _centred(a: np.ndarray) -> np.ndarray:
    """The prompt's result, in float64 from the values (no torch)."""
    values = a.astype(np.float64)
    return (values - values.mean(axis=0, keepdims=True)).astype(a.dtype)


def test_center_columns_in_place_source_without_copies(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "center_columns_in_place", COPY_RULE, *COPIES, loops=True, methods={"copy", "clone"})
    sub.center_columns_in_place(np.ones((2, 2)))  # an untouched stub reads 未着手


def test_center_columns_in_place_prompt_example(sub):
    a = np.array([[1.0, 10.0], [3.0, 20.0]])
    out = sub.center_columns_in_place(a)
    expect_array(a, np.array([[-1.0, -5.0], [1.0, 5.0]]), name="呼び出しのあとの a")
    expect_same_object(out, a, other_name="a")


def test_center_columns_in_place_changes_the_callers_array(sub, nprng, gen):
    """float32 and float64, C order, Fortran order and a strided view (whose neighbours in memory must stay)."""
    for dtype, layout in ((np.float32, "C"), (np.float64, "strided"), (inputs.choice(gen, (np.float32, np.float64)), "F"),
                          (np.float32, "strided")):
        a, holder = _columns(nprng, gen, dtype, layout)
        expected, held = _centred(a), holder.copy()
        out = sub.center_columns_in_place(a)
        atol = 1e-5 if dtype == np.float32 else 1e-10
        expect_array(a, expected, name=f"呼び出しのあとの a ({np.dtype(dtype)}、{layout})", atol=atol, rtol=1e-5)
        expect_same_object(out, a, other_name="a")
        if holder is not a:
            held[:, ::2] = expected
            expect_array(holder, held, name="a の元の配列 (a の列のあいだの列は変えません)", atol=atol, rtol=1e-5)


def test_center_columns_in_place_matches_reference(sub, ref, nprng, gen):
    a, _ = _columns(nprng, gen, inputs.choice(gen, (np.float32, np.float64)), inputs.choice(gen, ("C", "F")))
    expected = a.copy()
    ref.center_columns_in_place(expected)
    sub.center_columns_in_place(a)
    expect_array(a, expected, name="呼び出しのあとの a", atol=1e-5, rtol=1e-5)


# -- float32_view_or_copy (challenge) --------------------------------------------------------------------------------

def test_float32_view_or_copy_source_without_loops(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "float32_view_or_copy", "Python のループ", loops=True)
    sub.float32_view_or_copy(np.ones(2, dtype=np.float32))  # an untouched stub reads 未着手


def test_float32_view_or_copy_shares_float32_memory(sub, nprng, gen):
    """float32 without a negative stride: contiguous, Fortran order (a transposed view) and every other column."""
    base = nprng.standard_normal((inputs.randint(gen, 2, 5), inputs.randint(gen, 2, 5) * 2)).astype(np.float32)
    for name, a in (("C 順の配列", np.ascontiguousarray(base)), ("a[:, ::2]", base[:, ::2]), ("a.T", base.T)):
        snapshot = a.copy()
        expect_tensor(sub.float32_view_or_copy(a), _tensor_of(a), shares_memory_with=a, other_name="a",
                      name=f"float32 の {name} からの戻り値")
        expect_unchanged(a, snapshot, name="a")


def test_float32_view_or_copy_negative_strides(sub, nprng, gen):
    """Reversed views cannot be shared: a copy, with the values in the reversed order."""
    base = nprng.standard_normal((inputs.randint(gen, 2, 5), inputs.randint(gen, 2, 5)))
    for dtype in (np.float32, np.float64):
        array = base.astype(dtype)
        for name, a in (("a[::-1]", array[::-1]), ("a[:, ::-1]", array[:, ::-1])):
            snapshot = a.copy()
            expect_tensor(sub.float32_view_or_copy(a), _tensor_of(a).to(torch.float32),
                          name=f"{np.dtype(dtype)} の {name} からの戻り値", from_numpy=True)
            expect_unchanged(a, snapshot, name="a")


def test_float32_view_or_copy_converts_other_dtypes(sub, nprng, gen):
    for dtype in (np.float64, np.int64, inputs.choice(gen, (np.int32, np.uint8, np.bool_))):
        a = _array(nprng, gen, dtype)
        snapshot = a.copy()
        expect_tensor(sub.float32_view_or_copy(a), _tensor_of(a).to(torch.float32),
                      name=f"{a.dtype} の配列からの戻り値", from_numpy=True)
        expect_unchanged(a, snapshot, name="a")
