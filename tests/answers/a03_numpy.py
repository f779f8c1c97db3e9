"""Correct answers for chapter 03, written differently from the reference."""
import numpy as np
import torch

from kata.api.mutants import answer


@answer("03", "numpy_to_tensor")
def as_tensor_shares_memory(a):
    return torch.as_tensor(a)


@answer("03", "flipped_to_tensor")
def flipped_with_numpy_flip(a):
    return torch.from_numpy(np.ascontiguousarray(np.flip(a, axis=0)))


@answer("03", "center_columns_in_place")
def numpy_in_place_subtraction(a):
    """NumPy's own in-place operator writes into the same buffer (the prompt's tensor route is one way)."""
    a -= a.mean(axis=0)
    return a


@answer("03", "center_columns_in_place")
def torch_sub_into_the_shared_tensor(a):
    t = torch.from_numpy(a)
    t.sub_(t.sum(dim=0, keepdim=True) / t.shape[0])
    return a


@answer("03", "float32_view_or_copy")
def flip_negative_strides_then_from_numpy(a):
    if min(a.strides) < 0:
        return torch.from_numpy(np.ascontiguousarray(a)).to(torch.float32)
    return torch.from_numpy(a).to(torch.float32)
