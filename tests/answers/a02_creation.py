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
