"""Correct answers for chapter 06, written differently from the reference."""
import torch

from kata.api.mutants import answer


@answer("06", "requires_grad_arange")
def arange_then_requires_grad(n):
    return torch.arange(n).float().requires_grad_()


@answer("06", "derivative_at_points")
def vector_jacobian_product_with_ones(f, x):
    leaf = x.clone().detach().requires_grad_(True)
    y = f(leaf)
    return torch.autograd.grad(y, leaf, grad_outputs=torch.ones_like(y))[0]
