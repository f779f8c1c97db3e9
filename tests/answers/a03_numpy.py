"""Correct answers for chapter 03, written differently from the reference."""
import numpy as np
import torch

from kata.mutants import answer


@answer("03", "numpy_to_tensor")
def as_tensor_shares_memory(a):
    return torch.as_tensor(a)


@answer("03", "flipped_to_tensor")
def flipped_with_numpy_flip(a):
    return torch.from_numpy(np.ascontiguousarray(np.flip(a, axis=0)))
