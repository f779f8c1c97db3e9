"""Device parameters for checks: CPU always, CUDA and MPS where the hardware really exists."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from kata import messages
from kata.api import portable

__all__ = ["HAS_CUDA", "HAS_MPS", "call_simulated", "float_dtype", "params", "synchronize"]

# Read once at import, before any learner code can patch the availability functions.
HAS_CUDA = torch.cuda.is_available()
HAS_MPS = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def params(meta: bool = False) -> list:
    """``pytest.param`` values for a ``device`` argument: cpu, (meta), cuda, mps; absent hardware is skipped."""
    out = [pytest.param("cpu", id="cpu")]
    if meta:
        out.append(pytest.param("meta", id="meta"))
    out.append(pytest.param("cuda", id="cuda", marks=pytest.mark.skipif(not HAS_CUDA, reason=messages.SKIP_NO_CUDA)))
    out.append(pytest.param("mps", id="mps", marks=pytest.mark.skipif(not HAS_MPS, reason=messages.SKIP_NO_MPS)))
    return out


def float_dtype(device: str) -> torch.dtype:
    """The widest float dtype the device supports (MPS has no float64)."""
    return torch.float32 if str(device).startswith("mps") else torch.float64


def synchronize(device: str | torch.device) -> None:
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.synchronize()
    elif kind == "mps":
        torch.mps.synchronize()


def call_simulated(fn: Callable[..., Any], *args: Any, timing: bool = False, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` (learner code) with the simulated GPU installed around the call.

    The context is :class:`kata.api.portable.SimulatedCuda` (``timing=True``: :class:`~kata.api.portable.SimulatedCudaTiming`,
    an asynchronous GPU whose kernels take visible time).  In learning mode it is entered here, in this process.  In
    grading mode ``fn`` is the sandbox proxy's callable: it offers ``call_within(context_name, *args, **kwargs)``, and
    the worker enters ``getattr(kata.api.portable, context_name)()`` around the call there.
    """
    context = "SimulatedCudaTiming" if timing else "SimulatedCuda"
    remote = getattr(type(fn), "call_within", None)
    if remote is not None:
        return remote(fn, context, *args, **kwargs)
    with getattr(portable, context)():
        return fn(*args, **kwargs)
