"""Correct answers for chapter 04, written differently from the reference."""
import torch

from kata.api.mutants import answer


@answer("04", "add_batch_dim")
def indexed_with_none(x):
    return x[None]


@answer("04", "swap_axes")
def transposed(x):
    return x.transpose(0, 1)


@answer("04", "stack_and_cat")
def unsqueezed_then_concatenated(a, b):
    return torch.cat([a.unsqueeze(0), b.unsqueeze(0)]), torch.concat((a, b))


@answer("04", "merge_batch_and_swap_last")
def permute_then_flatten_the_batch(x):
    return x.permute(0, 1, 3, 2).flatten(0, 1)


@answer("04", "merge_batch_and_swap_last")
def transpose_then_reshape_is_still_a_view(x):
    a, b, c, d = x.shape
    return x.transpose(-1, -2).reshape(a * b, d, c)


@answer("04", "diagonal_as_view")
def flatten_then_step(x):
    return x.flatten()[:: x.size(1) + 1]
