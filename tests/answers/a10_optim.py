"""Correct answers for chapter 10, written differently from the reference."""
from torch.nn import functional as F

from kata.mutants import answer


@answer("10", "bce_manual")
def softplus_form(logits, targets):
    return (F.softplus(logits) - logits * targets).mean()
