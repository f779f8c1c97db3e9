"""Random inputs for checks, and running the learner's and the reference's code under the same RNG state.

Checks draw inputs from the per-check ``gen`` fixture (a private ``torch.Generator``), never from the global RNG,
so that inputs vary between runs (a hard-coded answer fails) but replay with ``--kata-seed``.
"""
from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from kata.state import seeded

__all__ = ["call_both", "choice", "clone_arg", "items_of", "randint", "seed_all", "shape", "tensor"]


def randint(gen: torch.Generator, low: int, high: int) -> int:
    """An int in [low, high)."""
    return int(torch.randint(low, high, (), generator=gen))


def choice(gen: torch.Generator, options: Sequence[Any]) -> Any:
    return options[randint(gen, 0, len(options))]


def shape(gen: torch.Generator, ndim: int | tuple[int, int] = (1, 4), low: int = 1, high: int = 6) -> tuple[int, ...]:
    """A random shape with ``ndim`` dims (or a number of dims in [lo, hi)) and sizes in [low, high)."""
    n = ndim if isinstance(ndim, int) else randint(gen, *ndim)
    return tuple(randint(gen, low, high) for _ in range(n))


def tensor(gen: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype = torch.float32,
           noncontiguous: bool = False, low: int = -10, high: int = 10) -> torch.Tensor:
    """Random values of ``dtype`` (normal for floats, integers in [low, high) otherwise).

    ``noncontiguous=True`` returns a strided view with the same shape (every other element of a larger tensor).
    """
    big = tuple(shape[:-1]) + ((shape[-1] * 2,) if shape else ())
    if dtype.is_floating_point:
        base = torch.randn(big, generator=gen, dtype=torch.float64).to(dtype)
    elif dtype == torch.bool:
        base = torch.randint(0, 2, big, generator=gen).bool()
    else:
        base = torch.randint(low, high, big, generator=gen).to(dtype)
    if not shape:
        return base.clone()
    out = base[..., ::2]
    return out if noncontiguous else out.contiguous()


def clone_arg(x: Any) -> Any:
    """A deep copy that keeps a tensor's strides, dtype, device, requires_grad and leaf-ness."""
    if isinstance(x, torch.Tensor):
        if x.is_leaf:
            y = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device=x.device)
            if x.device.type != "meta":
                with torch.no_grad():
                    y.copy_(x)
            y.requires_grad_(x.requires_grad)
            if x.grad is not None:
                y.grad = clone_arg(x.grad)
            return y
        return x.detach().clone()
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (list, tuple)):
        return type(x)(clone_arg(v) for v in x)
    if isinstance(x, dict):
        return {k: clone_arg(v) for k, v in x.items()}
    if isinstance(x, torch.nn.Module):
        return copy.deepcopy(x)
    return x


def seed_all(seed: int) -> None:
    if torch.cuda.is_available() or (getattr(torch.backends, "mps", None) is not None
                                     and torch.backends.mps.is_available()):
        torch.manual_seed(seed)
    else:
        # What torch.manual_seed does on a CPU-only machine, without queueing a lazy seeding call for CUDA, XPU and
        # MTIA each time (each one records a stack trace, and the queue only grows).
        torch.default_generator.manual_seed(int(seed))
    np.random.seed(seed % 2**32)
    random.seed(seed)
    seeded()  # the learner's world takes these generators at its next call, even where their state is as before


def call_both(sub_fn: Callable[..., Any], ref_fn: Callable[..., Any], *args: Any, seed: int = 0,
              **kwargs: Any) -> tuple[Any, Any]:
    """Run the reference, then the learner's function, each on fresh copies of the arguments and each after seeding
    torch, NumPy and ``random`` with ``seed``.  Returns ``(actual, expected)``."""
    seed_all(seed)
    expected = ref_fn(*clone_arg(args), **clone_arg(kwargs))
    seed_all(seed)
    actual = sub_fn(*clone_arg(args), **clone_arg(kwargs))
    return actual, expected


def items_of(dataset: Any, n: int) -> list[Any]:
    """``[dataset[0], …, dataset[n - 1]]``, in that order.  In grading mode (a dataset that lives in the sandbox
    worker) they come back in one exchange instead of one per item."""
    fetch = getattr(type(dataset), "items_upto", None)
    if fetch is not None:
        return fetch(dataset, n)
    return [dataset[i] for i in range(n)]
