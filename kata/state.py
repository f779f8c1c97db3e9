"""Global state that learner code can change, captured before a check and restored after it."""
from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


def _set_cudnn(flags: Any) -> None:
    cudnn = torch.backends.cudnn
    cudnn.enabled, cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32 = (bool(f) for f in flags)


def _numpy_rng() -> list[Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    assert not isinstance(keys, str)
    return [kind, keys.astype(np.uint32).tobytes(), int(pos), int(has_gauss), float(cached)]


def _random_rng() -> list[Any]:
    """``random.getstate()`` with its 625 words as bytes (little-endian uint32): one buffer on the wire, not 625
    integers to encode, decode and compare one by one."""
    version, internal, gauss = random.getstate()
    return [version, struct.pack(f"<{len(internal)}I", *internal), gauss]


def _random_state(value: Any) -> tuple:
    """The ``random.setstate`` argument for a :func:`_random_rng` value."""
    version, internal, gauss = value
    data = bytes(internal)
    return int(version), struct.unpack(f"<{len(data) // 4}I", data), gauss


def _unless(read: Callable[[], Any], write: Callable[[Any], Any]) -> Callable[[Any], None]:
    """``write``, skipped when ``read()`` already gives the value (some setters are costly on first use, e.g. the
    deterministic flag imports torch._inductor)."""
    def set_(value: Any) -> None:
        if not _same(read(), value):
            write(value)

    return set_


@dataclass(frozen=True)
class _Entry:
    read: Callable[[], Any]
    write: Callable[[Any], Any]
    #: Part of the learner's world (:func:`state_snapshot`): plain data that crosses the grading boundary.  The
    #: others are this process's own (its thread count, the functions device checks patch, CUDA's generators):
    #: restored around a check, and around every call in the sandbox worker, never handed across.
    shared: bool = True


def _entries() -> dict[str, _Entry]:
    cudnn = torch.backends.cudnn
    cudnn_flags = lambda: [cudnn.enabled, cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32]  # noqa: E731
    deterministic = lambda: [torch.are_deterministic_algorithms_enabled(),  # noqa: E731
                             torch.is_deterministic_algorithms_warn_only_enabled()]
    anomaly = lambda: [torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()]  # noqa: E731
    out = {
        "torch_rng": _Entry(lambda: torch.get_rng_state().numpy().tobytes(),
                            lambda v: torch.set_rng_state(torch.frombuffer(bytearray(v), dtype=torch.uint8))),
        "numpy_rng": _Entry(_numpy_rng, lambda v: np.random.set_state(
            (str(v[0]), np.frombuffer(bytes(v[1]), dtype=np.uint32).copy(), int(v[2]), int(v[3]), float(v[4])))),
        "random_rng": _Entry(_random_rng, lambda v: random.setstate(_random_state(v))),
        "default_dtype": _Entry(torch.get_default_dtype, _unless(torch.get_default_dtype, torch.set_default_dtype)),
        # Used as a function, set_grad_enabled sets the mode for the thread.
        "grad_enabled": _Entry(torch.is_grad_enabled, lambda v: torch.set_grad_enabled(bool(v))),
        "deterministic": _Entry(deterministic, _unless(
            deterministic, lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1]))),
        "cudnn": _Entry(cudnn_flags, _unless(cudnn_flags, _set_cudnn)),
        "matmul_precision": _Entry(torch.get_float32_matmul_precision, _unless(
            torch.get_float32_matmul_precision, torch.set_float32_matmul_precision)),
        "anomaly": _Entry(anomaly, _unless(anomaly, lambda v: torch.set_anomaly_enabled(v[0], v[1]))),
    }
    if hasattr(torch, "get_default_device"):
        out["default_device"] = _Entry(torch.get_default_device,
                                       _unless(torch.get_default_device, torch.set_default_device))
    out |= {
        "num_threads": _Entry(torch.get_num_threads, torch.set_num_threads, shared=False),
        "cuda_is_available": _Entry(lambda: torch.cuda.is_available,
                                    lambda f: setattr(torch.cuda, "is_available", f), shared=False),
        "cuda_device_count": _Entry(lambda: torch.cuda.device_count,
                                    lambda f: setattr(torch.cuda, "device_count", f), shared=False),
        "mps_is_available": _Entry(lambda: torch.backends.mps.is_available,
                                   lambda f: setattr(torch.backends.mps, "is_available", f), shared=False),
    }
    if torch.cuda.is_available():  # the real CUDA, read once at import (before any check patches it)
        out["cuda_rng"] = _Entry(torch.cuda.get_rng_state_all, torch.cuda.set_rng_state_all, shared=False)
    return out


_PLAIN = (int, float, str, bool, type(None), tuple)
#: Every piece of global state that learner code can change, with how to read it and set it back: the one list, for
#: the learning plugin (:class:`GlobalState` around every check), the sandbox worker (the same, around every call)
#: and the grading boundary (:func:`state_snapshot` / :func:`apply_snapshot`, the shared part as data).
ENTRIES = _entries()
#: The keys of :func:`state_snapshot`: the learner's world's state, as data.
SHARED_KEYS = tuple(name for name, entry in ENTRIES.items() if entry.shared)
#: The keys of :func:`state_snapshot` that are random-number streams; the others are configuration.
RNG_KEYS = frozenset({"torch_rng", "numpy_rng", "random_rng"})


#: The intra-op threads a check's code runs with, on both sides: checks use tiny tensors, and one thread is faster (far
#: faster on a busy machine) than a pool.
CHECK_THREADS = 1


def check_threads() -> None:
    """Set :data:`CHECK_THREADS`: the learning plugin for each check (restored after it with the rest of the global
    state), the sandbox worker when it starts, and the class template before it forks (so that every child begins so,
    as ``OMP_NUM_THREADS=1`` asks)."""
    torch.set_num_threads(CHECK_THREADS)


@dataclass
class GlobalState:
    """A snapshot of the global state that learner code can change (torch, NumPy and ``random``), to put back."""

    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def capture(cls, shared: bool = True) -> GlobalState:
        """Everything in :data:`ENTRIES`; with ``shared=False`` only this process's own part (what the sandbox
        worker restores after every call: the learner's world's part stays as the call left it)."""
        return cls({name: entry.read() for name, entry in ENTRIES.items() if shared or not entry.shared})

    def restore(self) -> list[str]:
        """Put everything back; return the names of what had changed."""
        changed = [name for name, value in self.values.items() if not _same(value, ENTRIES[name].read())]
        # Only what changed is set back.  The availability functions first: the RNG setters of cuda consult them.
        for name in sorted(changed, key=lambda n: not n.endswith(("available", "count"))):
            try:
                ENTRIES[name].write(self.values[name])
            except Exception:  # pragma: no cover - a setter that cannot run here
                pass
        return changed


def same_state(a: Any, b: Any) -> bool:
    """Whether two values of one key of the global state are the same (tensors, arrays, lists and tuples alike by
    content; anything that cannot be compared, as data from the learner's world may be, is not the same)."""
    try:
        return _same(a, b)
    except Exception:
        return False


def _same(a: Any, b: Any) -> bool:
    if type(a) is tuple and type(b) is tuple and len(a) == len(b) and all(type(x) in _PLAIN for x in a):
        try:
            return bool(a == b)  # random.getstate(): 625 integers, compared in C rather than one by one
        except Exception:
            pass
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list) and len(a) == len(b):
        return all(_same(x, y) for x, y in zip(a, b))  # a list and a tuple alike: data from the wire may be either
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    try:
        return bool(a == b)
    except Exception:
        return a is b


# -- the learner's world: global state as data, on both sides of the grading boundary -----------------------------

_SEEDINGS = [0]


def seeded() -> None:
    """The check has just seeded the global generators (``kata.api.inputs.seed_all``): the learner's world takes them at
    its next call even where their state equals the one last handed over (the learner's draws since moved its own
    generators on; in learning mode the seeding resets the very generators it drew from)."""
    _SEEDINGS[0] += 1


def seedings() -> int:
    """How many times the check's side has seeded the global generators with :func:`seeded` in this process."""
    return _SEEDINGS[0]


def state_snapshot(keys: Iterable[str] = SHARED_KEYS) -> dict[str, Any]:
    """The global state that learner code can change, as plain data (bytes, lists, dtypes): the form that crosses the
    grading boundary (:mod:`kata.grading.sandbox.wire`) and that :func:`learner_state` returns in both modes.  ``keys``: a
    part of it (``RNG_KEYS``: the random-number streams)."""
    return {name: ENTRIES[name].read() for name in keys}


def device_availability() -> dict[str, Any]:
    """Which devices this process says it has, as data (:func:`apply_snapshot` makes the learner's world say the
    same): the answers of the functions that device checks patch, not the functions."""
    mps = getattr(torch.backends, "mps", None)
    try:
        count = int(torch.cuda.device_count())
    except Exception:
        count = 0
    return {"cuda_available": bool(torch.cuda.is_available()), "cuda_count": count,
            "mps_available": bool(mps is not None and mps.is_available())}


def apply_snapshot(state: dict[str, Any] | None) -> None:
    """Set this process's global state to ``state`` (a :func:`state_snapshot`, or part of one, with perhaps a
    :func:`device_availability`).

    Only ever applied to the process that runs learner code (the sandbox worker, or the learner's world in learning
    mode): the trusted grading process never applies state that learner code reported."""
    if not state:
        return
    for name, value in state.items():
        entry = ENTRIES.get(name)
        if entry is not None and entry.shared:
            try:
                entry.write(value)
            except Exception:  # a value this torch cannot take: the state stays as it was
                pass
    if "cuda_available" in state:
        value = bool(state["cuda_available"])
        torch.cuda.is_available = lambda: value
        count = int(state.get("cuda_count", 0))
        torch.cuda.device_count = lambda: count
    if "mps_available" in state and getattr(torch.backends, "mps", None) is not None:
        mps = bool(state["mps_available"])
        torch.backends.mps.is_available = lambda: mps  # type: ignore[assignment]


class LearnerWorld:
    """The configuration part of the global state (default dtype and device, grad mode, deterministic and cuDNN
    flags, …) as the learner's code sees it, kept apart from the check's own.

    Grading mode keeps the learner's world in the sandbox worker: what the worker reports is recorded here and
    never applied to the trusted process.  Learning mode does the same in one process, around every call of a
    function of the module under test (:meth:`fence`): the learner's configuration is put in place for the call and
    taken out again afterwards, so that the check computes its expected values in its own state in both modes.
    Random-number streams are not fenced in learning mode (the learner's objects draw from the same generators as
    the check); :func:`learner_state` reads them from where the learner's code runs.
    """

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}  # the check's configuration as last handed to the learner's world
        self.config: dict[str, Any] = {}  # the learner's world's configuration, as far as it differs or was sent

    def handed(self, check: dict[str, Any]) -> dict[str, Any]:
        """The configuration the check changed since it last handed it over (what the learner's world must take)."""
        changed = {k: v for k, v in check.items() if k not in RNG_KEYS and not _same(self.sent.get(k), v)}
        self.sent.update(changed)
        self.config.update(changed)
        return changed

    def reported(self, after: dict[str, Any]) -> None:
        """What the learner's code left (its world's state after a call): recorded, never applied here."""
        self.config.update({k: v for k, v in after.items() if k not in RNG_KEYS})

    def fence(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` (learner code, learning mode) run in the learner's configuration, the check's restored after."""
        import functools

        @functools.wraps(func)
        def fenced(*args: Any, **kwargs: Any) -> Any:
            check = state_snapshot()
            self.handed(check)
            learner = {k: v for k, v in self.config.items() if not _same(check.get(k), v)}
            apply_snapshot(learner)
            try:
                return func(*args, **kwargs)
            finally:
                after = state_snapshot()
                self.reported(after)
                apply_snapshot({k: check[k] for k in check if k not in RNG_KEYS and not _same(after[k], check[k])})

        return fenced

    def state(self, rng: dict[str, Any] | None = None, now: dict[str, Any] | None = None,
              pending: set[str] | None = None) -> dict[str, Any]:
        """The learner's world's global state as its next call will find it: the check's state (``now``),
        overlaid with the learner's configuration and, in grading mode, its random-number streams (``rng``), except
        where the check has changed its own since it last handed it over (``pending``: the learner's world takes
        those at its next call)."""
        now = state_snapshot() if now is None else now
        if pending is None:
            pending = {k for k, v in now.items() if k not in RNG_KEYS and not _same(self.sent.get(k), v)}
        config = {k: v for k, v in self.config.items() if k not in pending}
        return {**now, **config, **{k: v for k, v in (rng or {}).items() if k not in pending}}


def learner_state(sub: Any) -> dict[str, Any]:
    """The global state as the code under test last left it (a :func:`state_snapshot`), in either mode.

    Checks that judge what learner code did to the global state (seeded the RNG, set cuDNN flags, left grad mode
    off, consumed the global RNG) read it here, never from this process: in grading mode the learner's code runs
    in a sandbox worker, and the trusted process never takes on the state that the worker reports."""
    read = getattr(sub, "_learner_state", None)
    return read() if callable(read) else state_snapshot()


def torch_rng_of(state: dict[str, Any]) -> torch.Tensor:
    """The torch CPU generator's state in a :func:`state_snapshot`, as ``torch.get_rng_state()`` returns it."""
    value = state.get("torch_rng")
    if not isinstance(value, (bytes, bytearray, memoryview)) or not len(value):
        return torch.empty(0, dtype=torch.uint8)  # no state, or not one (data from the learner's world): unequal
    return torch.frombuffer(bytearray(value), dtype=torch.uint8)


def learner_generator(sub: Any, which: str) -> Any:
    """A private copy of a global generator of the learner's world, as the code under test left it: ``"torch"`` (a
    ``torch.Generator``), ``"numpy"`` (an ``np.random.RandomState``) or ``"random"`` (a ``random.Random``).

    Checks draw from the copy to see what the learner's next draws would be, without touching this process's own
    generators.  ``None`` when the learner's world reports no usable state."""
    state = learner_state(sub)
    try:
        if which == "torch":
            gen = torch.Generator()
            gen.set_state(torch_rng_of(state))
            return gen
        if which == "numpy":
            kind, keys, pos, has_gauss, cached = state["numpy_rng"]
            rs = np.random.RandomState()
            rs.set_state((str(kind), np.frombuffer(bytes(keys), dtype=np.uint32).copy(), int(pos), int(has_gauss),
                          float(cached)))
            return rs
        if which == "random":
            r = random.Random()
            r.setstate(_random_state(state["random_rng"]))
            return r
    except Exception:  # not a generator's state (data from the learner's world): no generator
        return None
    raise ValueError(f"unknown generator {which!r}")
