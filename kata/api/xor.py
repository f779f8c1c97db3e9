"""The XOR task that the checks of chapters 09-12 use: data and a small classifier, independent of learner code."""
from __future__ import annotations

import torch
from torch import nn

from kata.api.portable import XorSet

__all__ = ["XorSet", "tiny_classifier", "xor_dataset", "xor_points"]


def xor_points(size: int, gen: torch.Generator, std: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` noisy XOR points (float32 [size, 2]) and their labels (int64 [size])."""
    corners = torch.randint(0, 2, (size, 2), generator=gen).to(torch.float32)
    labels = (corners.sum(dim=1) == 1).to(torch.int64)
    points = corners + std * torch.randn(size, 2, generator=gen)
    return points, labels


def xor_dataset(size: int, gen: torch.Generator, std: float = 0.1) -> XorSet:
    return XorSet(*xor_points(size, gen, std))


def tiny_classifier(seed: int, hidden: int = 4) -> nn.Module:
    """Linear(2, hidden) -> Tanh -> Linear(hidden, 1), initialised from ``seed`` without touching the global RNG."""
    model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=g) * 2 - 1)
    return model
