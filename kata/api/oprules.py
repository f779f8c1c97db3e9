"""Op rules: enforce "without the built-in X" by recording which torch functions learner code calls.

    from kata.api.oprules import forbid
    with forbid(sub, "torch.tanh", torch.tanh, torch.Tensor.tanh, torch.nn.functional.tanh) as ops:
        out = sub.my_tanh(x)

Calls are recorded with a ``torch.overrides.TorchFunctionMode`` (see :mod:`kata.api.observe`); on leaving the block the
check fails with a verdict naming the forbidden op and the calls that used it.  Calls made from Python wrappers
count too (``nn.Tanh()`` calls ``torch.tanh``), but calls *inside* a torch function that dispatches through
``__torch_function__`` are not seen (``F.tanhshrink`` is recorded only as ``tanhshrink``): forbid lists must name
such composite ops explicitly.  The verdict comes after the block, so a learner's ``except`` cannot hide it.

In grading mode the recording happens inside the learner's sandboxed process, so an op rule is advice there, not a
boundary: ``kata grade`` reports it without counting it (checks that use it carry the ``advisory`` marker).  The part
of a rule that can be read from the source text is :mod:`kata.api.staticrules`, which counts in both modes.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from kata import messages
from kata.api.compare import fail
from kata.api.observe import names_of, watch
from kata.status import Attribute

__all__ = ["forbid", "record_ops"]


@contextlib.contextmanager
def record_ops(sub: Any) -> Iterator[list[str]]:
    """Yield a list that holds, after the block, the names of the torch functions learner code called in it."""
    out: list[str] = []
    with watch(sub, ops=True) as log:
        yield out
    out.extend(log.ops)


@contextlib.contextmanager
def forbid(sub: Any, rule: str, *funcs: Callable[..., Any]) -> Iterator[list[str]]:
    """Fail the check if learner code in the block calls any of ``funcs`` (``rule`` names the forbidden op)."""
    __tracebackhide__ = True
    banned = names_of(*funcs)
    with record_ops(sub) as called:
        yield called
    used = sorted({name for name in called if name in banned})
    if used:
        fail(Attribute.FORBIDDEN, messages.FORBIDDEN_OP, None, op=rule, used=", ".join(used))
