"""Correct answers for chapter 07, written differently from the reference."""
import torch
from torch import nn

from kata.api.mutants import answer


@answer("07", "random_leaf_on_device")
def parameter_made_from_the_moved_draw(shape, device, generator):
    # nn.Parameter wraps the moved values in a new leaf that requires grad.
    return nn.Parameter(torch.normal(0.0, 1.0, size=shape, generator=generator).to(device=device))
