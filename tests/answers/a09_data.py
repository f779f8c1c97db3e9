"""Correct answers for chapter 09, written differently from the reference."""
from torch.utils import data

from kata.mutants import answer


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
