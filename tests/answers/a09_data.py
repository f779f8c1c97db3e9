"""Correct answers for chapter 09, written differently from the reference."""
import torch
from torch.utils import data

from kata.mutants import answer


@answer("09", "seeded_loader")
def its_own_seed_derivation(dataset, batch_size, seed):
    # The prompt promises reproducible, seed-dependent shuffling without the global RNG, not the reference's order:
    # a generator seeded from seed in another way keeps every promise.
    generator = torch.Generator().manual_seed(seed * 7 + 3)
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)
