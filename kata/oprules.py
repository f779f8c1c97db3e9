"""Op rules: record which torch functions learner code calls, to enforce "without the built-in X".

    from kata.oprules import forbid
    with forbid("torch.tanh", torch.tanh, torch.Tensor.tanh, torch.nn.functional.tanh):
        out = sub.my_tanh(x)

Calls are recorded with a ``torch.overrides.TorchFunctionMode``; on leaving the block the check fails with a
verdict naming the forbidden op and the calls that used it.  Calls made from Python wrappers count too
(``nn.Tanh()`` calls ``torch.tanh``), but calls *inside* a torch function that dispatches through
``__torch_function__`` are not seen (``F.tanhshrink`` is recorded only as ``tanhshrink``): forbid lists must name
such composite ops explicitly.  The verdict comes after the block, so a learner's ``except`` cannot hide it.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from torch.overrides import TorchFunctionMode, resolve_name

from kata import messages
from kata.compare import fail


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.called: list[Callable[..., Any]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.called.append(func)
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def record_ops() -> Iterator[list[Callable[..., Any]]]:
    """Yield the list of torch functions called inside the block (filled as they are called)."""
    recorder = _Recorder()
    with recorder:
        yield recorder.called


def _name(func: Callable[..., Any]) -> str:
    return resolve_name(func) or getattr(func, "__qualname__", None) or repr(func)


@contextlib.contextmanager
def forbid(rule: str, *funcs: Callable[..., Any]) -> Iterator[list[Callable[..., Any]]]:
    """Fail the check if code in the block calls any of ``funcs`` (``rule`` names the forbidden op)."""
    __tracebackhide__ = True
    with record_ops() as called:
        yield called
    banned = set(funcs)
    used = sorted({_name(f) for f in called if f in banned})
    if used:
        fail("forbidden", messages.FORBIDDEN_OP, None, op=rule, used=", ".join(used))
