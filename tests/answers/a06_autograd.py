"""Correct answers for chapter 06, written differently from the reference."""
import torch

from kata.mutants import answer


@answer("06", "requires_grad_arange")
def arange_then_requires_grad(n):
    return torch.arange(n).float().requires_grad_()
