"""Correct answers for chapter 04, written differently from the reference."""
import torch

from kata.mutants import answer


@answer("04", "add_batch_dim")
def indexed_with_none(x):
    return x[None]


@answer("04", "swap_axes")
def transposed(x):
    return x.transpose(0, 1)


@answer("04", "stack_and_cat")
def unsqueezed_then_concatenated(a, b):
    return torch.cat([a.unsqueeze(0), b.unsqueeze(0)]), torch.concat((a, b))
