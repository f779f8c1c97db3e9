"""Correct answers for chapter 02, written differently from the reference."""
import torch

from kata.mutants import answer


@answer("02", "make_zeros")
def zeros_made_in_inference_mode(shape):
    with torch.inference_mode():
        return torch.zeros(shape)


@answer("02", "make_ones")
def ones_made_under_no_grad(shape):
    with torch.no_grad():
        return torch.ones(*shape) if isinstance(shape, tuple) else torch.ones(shape)


@answer("02", "cast_dtype")
def cast_with_type(t, dtype):
    return t.type(dtype)


@answer("02", "evenly_spaced")
def float_positions_over_divided_span(start, end, steps):
    positions = torch.arange(steps, dtype=torch.float32)
    span = float(end - start)
    return positions * (span / (steps - 1) if steps > 1 else 0.0) + start


@answer("02", "zeros_matching")
def full_of_zero_with_size(t):
    return torch.full(t.size(), 0, dtype=t.dtype, device=t.device)
