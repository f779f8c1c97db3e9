"""Checks of the engine's test course, chapter 02 (tests/engine_course/README.md)."""
import torch

from kata.api.compare import expect_tensor


def test_flat_matches_reference(sub, ref, gen):
    x = torch.rand(2, 3, 4, generator=gen)
    expect_tensor(sub.flat(x), ref.flat(x))


def test_first_row_matches_reference(sub, ref, gen):
    x = torch.rand(3, 5, generator=gen)
    expect_tensor(sub.first_row(x), ref.first_row(x))
