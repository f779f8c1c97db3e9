"""Correct answers for chapter 02, written differently from the reference."""
import torch

from kata.api.mutants import answer


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


@answer("02", "smallest_int_tensor")
def round_trip_through_each_type(values):
    """Convert, convert back and compare: a type that holds every value gives the same numbers back."""
    t = torch.tensor(values, dtype=torch.int64)
    for dtype in (torch.int8, torch.int16, torch.int32):
        if torch.equal(t.to(dtype).to(torch.int64), t):
            return t.to(dtype)
    return t


@answer("02", "smallest_int_tensor")
def smallest_by_bits(values):
    low, high = min(values, default=0), max(values, default=0)
    for bits, dtype in ((8, torch.int8), (16, torch.int16), (32, torch.int32)):
        if -2 ** (bits - 1) <= low and high < 2 ** (bits - 1):
            return torch.tensor(values, dtype=dtype)
    return torch.tensor(values, dtype=torch.int64)
