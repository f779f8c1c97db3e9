"""Wrong answers for chapter 03."""
import numpy as np
import torch

from kata.api.mutants import mutant

# Fragments of the targeted hints in kata/api/hints.py that a verdict must show.
FLOAT64_FROM_NUMPY = "NumPy の配列はふつう float64 で"  # hints.FLOAT64_FROM_NUMPY
NEGATIVE_STRIDES = "負のストライド"  # hints.EXCEPTION_HINTS, "negative strides"
DETACH = ".detach() してから"  # hints.EXCEPTION_HINTS, "can't call numpy() on tensor that requires grad"


# -- numpy_to_tensor -----------------------------------------------------------------------------------------------

@mutant("03", "numpy_to_tensor", expect="メモリを共有していません")
def copies_instead_of_sharing(a):
    return torch.tensor(a)


@mutant("03", "numpy_to_tensor", expect="データ型")
def float32_for_a_model(a):
    return torch.from_numpy(a).float()


@mutant("03", "numpy_to_tensor", expect="データ型")
def uppercase_tensor(a):
    return torch.Tensor(a)


@mutant("03", "numpy_to_tensor", expect="値が違います")
def copy_then_wrap(a):
    # from_numpy of a copy shares memory with the copy, not with a: later writes into a do not show.
    return torch.from_numpy(a.copy())


@mutant("03", "numpy_to_tensor", expect="型が違います")
def returns_the_array(a):
    return a


# -- numpy_to_tensor_copy ------------------------------------------------------------------------------------------

@mutant("03", "numpy_to_tensor_copy", expect="メモリを共有しています")
def from_numpy_shares(a):
    return torch.from_numpy(a)


@mutant("03", "numpy_to_tensor_copy", expect="メモリを共有しています")
def as_tensor_shares(a):
    return torch.as_tensor(a)


@mutant("03", "numpy_to_tensor_copy", expect="データ型")
def uppercase_tensor_copy(a):
    return torch.Tensor(a)


@mutant("03", "numpy_to_tensor_copy", expect="型が違います")
def numpy_copy(a):
    return a.copy()


# -- numpy_to_float32 ----------------------------------------------------------------------------------------------

@mutant("03", "numpy_to_float32", expect=("データ型", FLOAT64_FROM_NUMPY))
def keeps_float64(a):
    return torch.from_numpy(a)


@mutant("03", "numpy_to_float32", expect=("データ型", FLOAT64_FROM_NUMPY))
def double_instead_of_float(a):
    return torch.tensor(a).double()


@mutant("03", "numpy_to_float32", expect="データ型")
def half_precision(a):
    return torch.tensor(a, dtype=torch.float16)


@mutant("03", "numpy_to_float32", expect="値が違います")
def through_int64(a):
    return torch.from_numpy(a.astype(np.int64)).float()


# -- tensor_to_numpy -----------------------------------------------------------------------------------------------

@mutant("03", "tensor_to_numpy", expect=("例外", DETACH))
def numpy_without_detach(t):
    return t.numpy()


@mutant("03", "tensor_to_numpy", expect="requires_grad")
def switches_off_requires_grad(t):
    return t.requires_grad_(False).numpy()


@mutant("03", "tensor_to_numpy", expect="データ型")
def through_python_lists(t):
    return np.array(t.tolist())


@mutant("03", "tensor_to_numpy", expect="型が違います")
def returns_detached_tensor(t):
    return t.detach().cpu()


@mutant("03", "tensor_to_numpy", expect="形状")
def transposed(t):
    return t.detach().cpu().numpy().T


@mutant("03", "tensor_to_numpy", expect=("requires_grad が違います", "t.detach() は t を変えずに"))
def switches_off_requires_grad_of_t(t):
    return t.requires_grad_(False).cpu().numpy()


@mutant("03", "tensor_to_numpy", expect=("例外", "can't convert cuda", ".cpu() で CPU に移して"))
def numpy_without_cpu(t):
    """Right on a CPU, wrong on a GPU: caught on every machine by the simulated GPU."""
    return t.detach().numpy()


@mutant("03", "tensor_to_numpy", expect=("例外", "can't convert cuda"))
def asarray_without_cpu(t):
    return np.asarray(t.detach())


# -- flipped_to_tensor ---------------------------------------------------------------------------------------------

@mutant("03", "flipped_to_tensor", expect=("例外", NEGATIVE_STRIDES))
def from_numpy_of_the_view(a):
    return torch.from_numpy(a[::-1])


@mutant("03", "flipped_to_tensor", expect=("例外", NEGATIVE_STRIDES))
def tensor_of_the_view(a):
    return torch.tensor(a[::-1])


@mutant("03", "flipped_to_tensor", expect="値が違います")
def forgets_to_flip(a):
    return torch.from_numpy(a.copy())


@mutant("03", "flipped_to_tensor", expect="値が違います")
def flips_the_last_axis(a):
    return torch.from_numpy(np.flip(a, axis=-1).copy())


@mutant("03", "flipped_to_tensor", expect="書き換えられています")
def flips_a_in_place(a):
    a[...] = a[::-1].copy()
    return torch.from_numpy(a)


@mutant("03", "flipped_to_tensor", expect="データ型")
def uppercase_tensor_of_copy(a):
    return torch.Tensor(a[::-1].copy())


# -- center_columns_in_place (challenge) -----------------------------------------------------------------------------

@mutant("03", "center_columns_in_place", expect="値が違います")
def rebinds_instead_of_writing(a):
    t = torch.from_numpy(a)
    t = t - t.mean(dim=0)  # a new tensor: the caller's array stays as it was
    return a


@mutant("03", "center_columns_in_place", expect="そのもの")
def returns_the_tensors_array(a):
    t = torch.from_numpy(a)
    t -= t.mean(dim=0)
    return t.numpy()


@mutant("03", "center_columns_in_place", expect="使えません")
def works_on_a_copy(a):
    t = torch.tensor(a)
    t -= t.mean(dim=0)
    a[...] = t.numpy()
    return a


@mutant("03", "center_columns_in_place", expect="ループ")
def loops_over_columns(a):
    t = torch.from_numpy(a)
    for j in range(t.shape[1]):
        t[:, j] -= t[:, j].mean()
    return a


@mutant("03", "center_columns_in_place", expect="値が違います")
def converts_to_float32_first(a):
    t = torch.from_numpy(a).float()  # a copy for float64 arrays
    t -= t.mean(dim=0)
    return a


@mutant("03", "center_columns_in_place", expect="値が違います")
def centres_rows(a):
    t = torch.from_numpy(a)
    t -= t.mean(dim=1, keepdim=True)
    return a


@mutant("03", "center_columns_in_place", expect="値が違います")
def contiguous_copy_of_a_strided_view(a):
    t = torch.from_numpy(a).contiguous()  # a copy when a is a strided view
    t -= t.mean(dim=0)
    return a


# -- float32_view_or_copy (challenge) --------------------------------------------------------------------------------

@mutant("03", "float32_view_or_copy", expect="メモリを共有")
def always_copies(a):
    return torch.tensor(a, dtype=torch.float32)


@mutant("03", "float32_view_or_copy", expect=("ValueError", NEGATIVE_STRIDES))
def from_numpy_fails_on_negative_strides(a):
    return torch.from_numpy(a).float()


@mutant("03", "float32_view_or_copy", expect=("ValueError", NEGATIVE_STRIDES))
def as_tensor_without_the_copy(a):
    return torch.as_tensor(a, dtype=torch.float32)


@mutant("03", "float32_view_or_copy", expect="メモリを共有")
def contiguous_array_first(a):
    return torch.from_numpy(np.ascontiguousarray(a)).float()


@mutant("03", "float32_view_or_copy", expect="データ型")
def keeps_the_arrays_dtype(a):
    return torch.from_numpy(a.copy() if min(a.strides) < 0 else a)


@mutant("03", "float32_view_or_copy", expect="ループ")
def checks_strides_in_a_loop(a):
    if any(s < 0 for s in a.strides):
        a = a.copy()
    return torch.as_tensor(a, dtype=torch.float32)
