"""Classes that the trusted side and the grading sandbox both have.

In grading mode learner code runs in a separate worker process (``kata.sandbox``).  An object that a check hands to
learner code crosses that boundary as data and is rebuilt in the worker; a class can be rebuilt only when the worker
has it.  Standard torch classes (``torch.nn``, ``torch.optim``, ``torch.utils.data``) are always there; a check's own
helper class must be defined here.  This module imports torch only: it is sent to the worker as source text.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Probe", "XorSet"]


class Probe(nn.Module):
    """Wraps ``inner``; ``training_flags`` and ``grad_enabled`` get one entry per forward.

    Whether learner code switched to eval mode or stopped building the graph cannot be seen from the results of a
    model without Dropout or BatchNorm, so checks observe it inside the forward.
    """

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.training_flags: list[bool] = []
        self.grad_enabled: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.training_flags.append(self.training)
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.inner(x)


class XorSet(torch.utils.data.Dataset):
    """A map-style dataset over fixed tensors."""

    def __init__(self, points: torch.Tensor, labels: torch.Tensor):
        self.points, self.labels = points, labels

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.points[idx], self.labels[idx]
