"""Correct answers for chapter 05, written differently from the reference (no loop, as the prompts ask)."""
import torch

from kata.mutants import answer


@answer("05", "batched_matmul")
def einsum_over_the_batch(a, b):
    return torch.einsum("bij,bjk->bik", a, b)


@answer("05", "outer_sum")
def unsqueezed_broadcast(a, b):
    return a.unsqueeze(1) + b.unsqueeze(0)
