"""Correct answers for chapter 05, written differently from the reference (no loop, as the prompts ask)."""
import torch

from kata.mutants import answer


@answer("05", "batched_matmul")
def einsum_over_the_batch(a, b):
    return torch.einsum("bij,bjk->bik", a, b)


@answer("05", "outer_sum")
def unsqueezed_broadcast(a, b):
    return a.unsqueeze(1) + b.unsqueeze(0)


@answer("05", "pairwise_sq_distances")
def expanded_square_with_matmul(a, b):
    """|a_i|^2 + |b_j|^2 - 2 a_i . b_j: a matrix product instead of the (n, m, d) difference."""
    return (a * a).sum(dim=1, keepdim=True) + (b * b).sum(dim=1) - 2 * a @ b.T


@answer("05", "one_hot_by_comparison")
def rows_of_the_identity(labels, num_classes):
    return torch.eye(num_classes, dtype=torch.int64)[labels]


@answer("05", "one_hot_by_comparison")
def unsqueeze_and_eq(labels, num_classes):
    return labels.unsqueeze(1).eq(torch.arange(num_classes).unsqueeze(0)).to(torch.int64)
