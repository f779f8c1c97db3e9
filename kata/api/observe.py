"""Watching what learner code calls: the torch functions it uses (op rules) and calls of named functions.

    with watch(sub, ops=True, calls=("torch.cuda.synchronize",)) as log:
        sub.time_matmul(n, "cuda")
    log.names         # every event in order: "torch.matmul", ..., "torch.cuda.synchronize"
    log.calls("torch.cuda.synchronize")   # [{"name": ..., "args": [...], "kwargs": {...}, "devices": [...]}]

In learning mode the recorders are installed in this process around the block.  In grading mode (``sub`` is a
proxy to a sandbox worker) the worker installs them around each call it runs inside the block and sends the events
back as data: they are then the learner process's own account, so checks built on them are advisory in grading
(``kata grade`` reports them without counting them).  Torch functions are named as
``torch.overrides.resolve_name`` names them ("torch.tanh", "torch.Tensor.tanh").
"""
from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from torch.overrides import TorchFunctionMode, resolve_name

__all__ = ["Log", "load_weights", "name_of", "names_of", "recording", "watch"]


def name_of(func: Callable[..., Any]) -> str:
    return resolve_name(func) or getattr(func, "__qualname__", None) or repr(func)


def names_of(*funcs: Callable[..., Any]) -> frozenset[str]:
    return frozenset(name_of(f) for f in funcs)


class Log(list):
    """The events recorded in a ``watch`` block, in order (each a dict with at least ``name``)."""

    @property
    def names(self) -> list[str]:
        return [str(e.get("name")) for e in self]

    @property
    def ops(self) -> list[str]:
        return [str(e.get("name")) for e in self if e.get("op")]

    def calls(self, name: str) -> list[dict]:
        return [e for e in self if not e.get("op") and e.get("name") == name]


class _Recorder(TorchFunctionMode):
    def __init__(self, log: list) -> None:
        super().__init__()
        self.log = log

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.log.append({"name": name_of(func), "op": True})
        return func(*args, **(kwargs or {}))


def _plain(v: Any) -> Any:
    if v is None or type(v) in (bool, int, float):
        return v
    return str(v)[:200] if isinstance(v, str) or (type(v).__module__.startswith("torch") and not hasattr(v, "shape")) \
        else f"<{type(v).__name__}>"


def _devices(out: Any) -> list[str]:
    import torch

    values = out.values() if isinstance(out, dict) else out if isinstance(out, (list, tuple)) else [out]
    return sorted({str(v.device) for v in values if isinstance(v, torch.Tensor)})


@contextlib.contextmanager
def recording(log: list, ops: bool, calls: tuple[str, ...]) -> Iterator[None]:
    """Append to ``log`` the torch functions called in the block (``ops``) and every call of the ``calls`` named
    functions; used in this process in learning mode and by the sandbox worker in grading mode."""
    restore = []
    for dotted in calls:
        module_name, _, attr = dotted.rpartition(".")
        try:
            owner = importlib.import_module(module_name)
            real = getattr(owner, attr)
        except (ImportError, AttributeError):  # a name this torch does not have
            continue

        def wrapper(*args: Any, _real: Any = real, _name: str = dotted, **kwargs: Any) -> Any:
            record = {"name": _name, "args": [_plain(a) for a in args],
                      "kwargs": {k: _plain(v) for k, v in kwargs.items()}}
            log.append(record)
            out = _real(*args, **kwargs)
            record["devices"] = _devices(out)
            return out

        setattr(owner, attr, wrapper)
        restore.append((owner, attr, real))
    try:
        if ops:
            with _Recorder(log):
                yield
        else:
            yield
    finally:
        for owner, attr, real in reversed(restore):
            setattr(owner, attr, real)


def _sandbox_session(sub: Any) -> Any:
    """The sandbox session (``kata.grading.sandbox.client.Session``) behind the module under test in grading mode, else
    ``None`` (the learner's module is in this process).  The module under test (``kata.plugin.UnderTest``) holds it;
    the client is imported only where one can exist (a lazy import down the layers: learning mode never loads it)."""
    session = getattr(sub, "_session", None)
    if session is None or "kata.grading.sandbox.client" not in sys.modules:
        return None
    from kata.grading.sandbox.client import Session

    return session if isinstance(session, Session) else None


@contextlib.contextmanager
def watch(sub: Any, *, ops: bool = False, calls: tuple[str, ...] = ()) -> Iterator[Log]:
    """Record, while the block runs, the torch functions learner code calls (``ops``) and its calls of ``calls``."""
    log = Log()
    session = _sandbox_session(sub)
    if session is not None:
        from kata.grading.sandbox.client import observing

        with observing(session, ops, tuple(calls)) as events:
            try:
                yield log
            finally:
                log.extend(events)
        return
    with recording(log, ops, tuple(calls)):
        yield log


def load_weights(sub: Any, path: Any) -> Any:
    """``torch.load(path, weights_only=True)`` of a file learner code wrote.

    In grading mode the file is never unpickled here: a clean sandbox worker (one that has run no learner code)
    loads it and the tensors come back as data.
    """
    import torch

    session = _sandbox_session(sub)
    if session is None:
        return torch.load(path, weights_only=True)
    return session.clean_call(torch.load, path, weights_only=True)
