"""Global state that learner code can change, captured before a check and restored after it."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


def _set_grad_mode(enabled: Any) -> None:
    torch.set_grad_enabled(bool(enabled))  # used as a function, it sets the mode for the thread


def _set_cudnn(flags: Any) -> None:
    cudnn = torch.backends.cudnn
    cudnn.enabled, cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32 = (bool(f) for f in flags)


def _getters() -> dict[str, tuple[Callable[[], Any], Callable[[Any], None]]]:
    cudnn = torch.backends.cudnn
    out: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
        "default_dtype": (torch.get_default_dtype, torch.set_default_dtype),
        "grad_enabled": (torch.is_grad_enabled, _set_grad_mode),
        "torch_rng": (torch.get_rng_state, torch.set_rng_state),
        "numpy_rng": (np.random.get_state, np.random.set_state),
        "random_rng": (random.getstate, random.setstate),
        "deterministic": (
            lambda: (torch.are_deterministic_algorithms_enabled(),
                     torch.is_deterministic_algorithms_warn_only_enabled()),
            lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1]),
        ),
        "cudnn": (
            lambda: (cudnn.enabled, cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32),
            _set_cudnn,
        ),
        "matmul_precision": (torch.get_float32_matmul_precision, torch.set_float32_matmul_precision),
        "num_threads": (torch.get_num_threads, torch.set_num_threads),
        "anomaly": (
            lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
            lambda v: torch.set_anomaly_enabled(v[0], v[1]),
        ),
        "cuda_is_available": (lambda: torch.cuda.is_available,
                              lambda f: setattr(torch.cuda, "is_available", f)),
        "cuda_device_count": (lambda: torch.cuda.device_count, lambda f: setattr(torch.cuda, "device_count", f)),
        "mps_is_available": (lambda: torch.backends.mps.is_available,
                             lambda f: setattr(torch.backends.mps, "is_available", f)),
    }
    if hasattr(torch, "get_default_device"):
        out["default_device"] = (torch.get_default_device, torch.set_default_device)
    return out


_GETTERS = _getters()
_PLAIN = (int, float, str, bool, type(None), tuple)
_REAL_CUDA_AVAILABLE = torch.cuda.is_available()


def _cuda_rng() -> tuple[Callable[[], Any], Callable[[Any], None]] | None:
    if _REAL_CUDA_AVAILABLE:
        return torch.cuda.get_rng_state_all, torch.cuda.set_rng_state_all
    return None


@dataclass
class GlobalState:
    """A snapshot of the global state listed in DESIGN.md (torch, NumPy and ``random``)."""

    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def capture(cls) -> GlobalState:
        values = {name: get() for name, (get, _) in _GETTERS.items()}
        cuda = _cuda_rng()
        if cuda:
            values["cuda_rng"] = cuda[0]()
        return cls(values)

    def restore(self) -> list[str]:
        """Put everything back; return the names of what had changed."""
        changed = []
        now = GlobalState.capture().values
        for name, value in self.values.items():
            if not _same(value, now.get(name)):
                changed.append(name)
        setters = {name: set_ for name, (_, set_) in _GETTERS.items()}
        cuda = _cuda_rng()
        if cuda:
            setters["cuda_rng"] = cuda[1]
        # Only what changed is set back (some setters are costly on first use, e.g. the deterministic flag
        # imports torch._inductor).  The availability functions first: the RNG setters of cuda consult them.
        for name in sorted(changed, key=lambda n: not n.endswith(("available", "count"))):
            try:
                setters[name](self.values[name])
            except Exception:  # pragma: no cover - a setter that cannot run here
                pass
        return changed


def _same(a: Any, b: Any) -> bool:
    if type(a) is tuple and type(b) is tuple and len(a) == len(b) and all(type(x) in _PLAIN for x in a):
        try:
            return bool(a == b)  # random.getstate(): 625 integers, compared in C rather than one by one
        except Exception:
            pass
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    try:
        return bool(a == b)
    except Exception:
        return a is b
