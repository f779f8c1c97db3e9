"""Correct answers for chapter 09, written differently from the reference."""
import torch
from torch.utils import data

from kata.api.mutants import answer


@answer("09", "seeded_loader")
def its_own_seed_derivation(dataset, batch_size, seed):
    # The prompt promises reproducible, seed-dependent shuffling without the global RNG, not the reference's order:
    # a generator seeded from seed in another way keeps every promise.
    generator = torch.Generator().manual_seed(seed * 7 + 3)
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)


@answer("09", "EveryKthView", name="view_through_a_range")
class EveryKthView(data.Dataset):
    # A range object knows its own length and its i-th element: no arithmetic to get wrong.
    def __init__(self, base, k):
        self.base = base
        self.positions = range(0, len(base), k)

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        return self.base[self.positions[i]]
