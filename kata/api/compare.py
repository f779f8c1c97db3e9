"""The comparison engine: every check compares through here.

Attributes are compared in a fixed order and the first difference stops the comparison:
Python type -> shape -> dtype -> device -> layout facts asked for (contiguity, memory sharing)
-> autograd facts (requires_grad, is_leaf, grad) -> values.
Each difference raises :class:`Mismatch` with one Japanese template per attribute (``kata.messages``) and, where
the mistake is recognisable, a targeted hint (``kata.api.hints``).  Values are judged by ``torch.testing.assert_close``;
a cheap ``torch.allclose`` / ``torch.equal`` with the same tolerances runs first so that a matching run does not pay
for assert_close's first-call import.
"""
from __future__ import annotations

from typing import Any, NoReturn

import numpy as np
import torch

from kata import messages
from kata.api import hints
from kata.api.portable import SimulatedCudaTensor, plain
from kata.state import RNG_KEYS, learner_generator, learner_state, same_state, state_snapshot, torch_rng_of

__all__ = [
    "Mismatch",
    "RngSnapshot",
    "expect",
    "expect_array",
    "expect_equal",
    "expect_generator_moved_as",
    "expect_grad",
    "expect_no_shared_memory",
    "expect_rng_unchanged",
    "expect_same_object",
    "expect_scalar",
    "expect_sequence",
    "expect_shares_memory",
    "expect_tensor",
    "expect_type",
    "expect_unchanged",
    "fail",
    "learner_generator",  # re-exported from kata.state
    "learner_state",  # re-exported from kata.state: the global state as the code under test left it
    "tolerances",
    "torch_rng_of",
]


class Mismatch(AssertionError):
    """A difference between the learner's result and what is expected, as a Japanese verdict."""

    def __init__(self, attribute: str, message: str, hint: str | None = None):
        self.attribute = attribute
        self.message = message
        self.hint = hint
        super().__init__(self.verdict)

    @property
    def verdict(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{messages.HINT_PREFIX}{self.hint}"


_QUOTED = ("「", "『")


def _unquoted(text: Any) -> Any:
    """Templates quote names themselves (『{name}』の型); a name that a check already quoted is not quoted twice."""
    if isinstance(text, str) and len(text) >= 2 and text[0] in _QUOTED and text[-1] == {"「": "」", "『": "』"}[text[0]]:
        return text[1:-1]
    return text


def fail(attribute: str, template: str, hint: str | None = None, **fields: Any) -> NoReturn:
    __tracebackhide__ = True
    for key in ("name", "other"):
        if key in fields:
            fields[key] = _unquoted(fields[key])
    raise Mismatch(attribute, template.format(**fields), hint) from None


def expect(condition: Any, attribute: str, template: str, hint: str | None = None, **fields: Any) -> None:
    """Fail with ``template`` unless ``condition`` holds."""
    __tracebackhide__ = True
    if not condition:
        fail(attribute, template, hint, **fields)


#: Module names a learner's file is run under: in this process (``kata.plugin``), in the sandbox worker, and for
#: the catalogues of answers.  A class of the learner's own is named without them, the same in both modes.
_LEARNER_MODULES = ("kata_under_test", "learner", "kata_mutants", "kata_answers")


def _typename(obj: Any) -> str:
    if obj is None:
        return "None"
    t = obj if isinstance(obj, type) else getattr(obj, "__class__", type(obj))
    if t.__module__ in ("builtins",) or str(t.__module__).split(".")[0] in _LEARNER_MODULES:
        return t.__qualname__ if t.__module__ != "builtins" else t.__name__
    if t is torch.Tensor:
        return "torch.Tensor"
    if t is np.ndarray:
        return "numpy.ndarray"
    return f"{t.__module__}.{t.__qualname__}"


# The names a verdict gives what it compares when the check names nothing else.
_RETURNED, _INPUT, _GRAD = messages.NAME_RETURNED, messages.NAME_INPUT, messages.NAME_GRAD


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, torch.Size):
        return str(tuple(x))
    if isinstance(x, torch.Tensor) and x.dim() == 0:
        return _fmt(x.item())
    return str(x)


def expect_type(actual: Any, expected_type: type | tuple[type, ...], name: str = _RETURNED) -> None:
    __tracebackhide__ = True
    if isinstance(actual, expected_type) and not (expected_type in (int, float) and isinstance(actual, bool)):
        return
    names = expected_type if isinstance(expected_type, tuple) else (expected_type,)
    expected = messages.TYPE_OR.join("torch.Tensor" if t is torch.Tensor else "numpy.ndarray" if t is np.ndarray
                              else t.__name__ for t in names)
    hint = None
    if isinstance(actual, np.ndarray) and torch.Tensor in names:
        hint = hints.NUMPY_NOT_TENSOR
    elif isinstance(actual, torch.Tensor) and (np.ndarray in names):
        hint = hints.TENSOR_NOT_NUMPY
    elif isinstance(actual, torch.Tensor) and any(t in (int, float, bool) for t in names):
        hint = hints.ZERO_DIM_NOT_NUMBER
    elif actual is None:
        hint = hints.RETURN_MISSING
    elif isinstance(actual, list) and tuple in names:
        hint = hints.LIST_NOT_TUPLE
    elif isinstance(actual, tuple) and list in names:
        hint = hints.TUPLE_NOT_LIST
    fail("type", messages.TYPE, hint, name=name, expected=expected, actual=_typename(actual))


def tolerances(*tensors: torch.Tensor) -> tuple[float, float]:
    """Default (rtol, atol) for these tensors' dtypes: the table ``torch.testing.assert_close`` uses."""
    try:
        from torch.testing._comparison import default_tolerances
        return default_tolerances(*tensors)
    except Exception:  # pragma: no cover - private API moved
        table = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5), torch.float32: (1.3e-6, 1e-5),
                 torch.float64: (1e-7, 1e-7)}
        pairs = [table.get(t.dtype, (0.0, 0.0)) for t in tensors]
        return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _storage_ptr(x: Any) -> int | None:
    if isinstance(x, torch.Tensor):
        return x.untyped_storage().data_ptr()
    return None


def _shares(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr = a.numpy() if isinstance(a, torch.Tensor) and a.device.type == "cpu" else a
        b_arr = b.numpy() if isinstance(b, torch.Tensor) and b.device.type == "cpu" else b
        if isinstance(a_arr, torch.Tensor) or isinstance(b_arr, torch.Tensor):
            return False
        return bool(np.shares_memory(a_arr, b_arr))
    pa, pb = _storage_ptr(a), _storage_ptr(b)
    return pa is not None and pa == pb and pa != 0


def expect_shares_memory(actual: Any, other: Any, name: str = _RETURNED, other_name: str = _INPUT) -> None:
    __tracebackhide__ = True
    expect(_shares(actual, other), "shares_memory", messages.SHARES_MEMORY, hints.NEEDS_VIEW,
           name=name, other=other_name)


def expect_no_shared_memory(actual: Any, other: Any, name: str = _RETURNED, other_name: str = _INPUT) -> None:
    __tracebackhide__ = True
    expect(not _shares(actual, other), "copies_memory", messages.COPIES_MEMORY, hints.NEEDS_COPY,
           name=name, other=other_name)


def _compare_values(actual: torch.Tensor, expected: torch.Tensor, name: str, rtol: float | None,
                    atol: float | None, equal_nan: bool, attribute: str = "values", hint_fn=hints.for_values) -> None:
    __tracebackhide__ = True
    if expected.device.type == "meta" and actual.device.type == "meta":
        return  # the check itself asked for the meta device, which holds no values: nothing to compare
    try:
        a, e = plain(actual).detach(), plain(expected).detach()  # the simulated GPU's tensors hold CPU data
        if a.device.type == "meta" or e.device.type == "meta":
            raise RuntimeError("a meta tensor holds no values")
        if a.device != e.device:
            a, e = a.cpu(), e.cpu()
        a.flatten()[:1].tolist()  # values that cannot be read (another kind of tensor) fail here, with a verdict
    except Exception as err:
        fail(attribute, messages.VALUES_UNREADABLE, None, name=name, why=f"{type(err).__name__}: {str(err)[:200]}")
    if a.dtype != e.dtype:
        common = torch.promote_types(a.dtype, e.dtype)
        a, e = a.to(common), e.to(common)
    if a.is_complex() or a.is_floating_point():
        d_rtol, d_atol = tolerances(a, e)
        rtol = d_rtol if rtol is None else rtol
        atol = d_atol if atol is None else atol
        if torch.allclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan):
            return
    else:
        rtol, atol = 0.0, 0.0
        if torch.equal(a, e):
            return
    try:
        torch.testing.assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=False,
                                   check_dtype=False, check_layout=False, check_stride=False)
        return
    except AssertionError:
        pass
    if a.is_floating_point() or a.is_complex():
        bad = ~torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
        diff = (a - e).abs().double()
    else:
        bad = a != e
        diff = (a.double() - e.double()).abs() if a.dtype != torch.bool else bad.double()
    diff = torch.where(bad, torch.nan_to_num(diff, nan=float("inf")), torch.zeros_like(diff))
    flat = int(diff.reshape(-1).argmax()) if diff.numel() else 0
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), a.shape)) if a.dim() else ()
    count, total = int(bad.sum()), a.numel()
    exact = not (a.is_floating_point() or a.is_complex())  # integers, labels, booleans: no tolerance to speak of
    fail(attribute, messages.VALUES_EXACT if exact else messages.VALUES,
         hint_fn(actual, expected) if actual.shape == expected.shape else None,
         name=name, count=count, total=total, share=count / max(total, 1), diff=_fmt(float(diff.reshape(-1)[flat])
         if diff.numel() else 0.0), index=index, expected=_fmt(e[index].item() if total else None),
         actual=_fmt(a[index].item() if total else None), rtol=rtol, atol=atol)


_UNSET = object()
# SimulatedCudaTensor is the engine's own stand-in for a tensor on a GPU (kata.api.portable): judged, reporting cuda:0.
_PLAIN_TENSORS = (torch.Tensor, torch.nn.Parameter, SimulatedCudaTensor)


def expect_tensor(actual: Any, expected: torch.Tensor, *, name: str = _RETURNED, rtol: float | None = None,
                  atol: float | None = None, equal_nan: bool = False, dtype: bool = True, device: bool = True,
                  contiguous: bool | None = None, shares_memory_with: Any = None, other_name: str = _INPUT,
                  no_shared_memory_with: Any = None, requires_grad: bool | None = None,
                  is_leaf: bool | None = None, grad: Any = _UNSET, values: bool = True,
                  from_numpy: bool = False) -> None:
    """Compare ``actual`` with ``expected`` attribute by attribute, stopping at the first difference.

    ``dtype``/``device``: compare those attributes.  ``contiguous``, ``requires_grad``, ``is_leaf``: facts asked
    for.  ``shares_memory_with`` / ``no_shared_memory_with``: an object whose memory the result must (not) share.
    ``grad``: the expected ``actual.grad`` (a tensor, or ``None`` for "no grad").  ``values=False`` skips values
    (uninitialised tensors).  ``from_numpy``: the input was a NumPy array (a float64 hint may then name NumPy).
    """
    __tracebackhide__ = True
    expect_type(actual, torch.Tensor, name)
    if type(actual) not in _PLAIN_TENSORS:
        # A subclass could answer comparisons through __torch_function__: only plain tensors are judged.
        fail("type", messages.TYPE, None, name=name, expected="torch.Tensor", actual=_typename(type(actual)))
    if actual.shape != expected.shape:
        fail("shape", messages.SHAPE, hints.for_shape(actual.shape, expected.shape), name=name,
             expected=_fmt(expected.shape), actual=_fmt(actual.shape))
    if dtype and actual.dtype != expected.dtype:
        fail("dtype", messages.DTYPE, hints.for_dtype(actual.dtype, expected.dtype, from_numpy), name=name,
             expected=expected.dtype, actual=actual.dtype)
    if device and actual.device != expected.device:
        fail("device", messages.DEVICE, hints.for_device(actual.device, expected.device), name=name,
             expected=expected.device, actual=actual.device)
    if requires_grad is not None and actual.requires_grad != requires_grad:
        fail("requires_grad", messages.REQUIRES_GRAD, hints.for_requires_grad(actual.requires_grad, requires_grad, name),
             name=name, expected=requires_grad, actual=actual.requires_grad)
    if is_leaf is not None and actual.is_leaf != is_leaf:
        fail("is_leaf", messages.IS_LEAF, hints.NOT_LEAF if is_leaf else None, name=name, expected=is_leaf,
             actual=actual.is_leaf)
    if grad is not _UNSET:
        expect_grad(actual.grad, grad, name=f"{name}.grad")
    if values:
        _compare_values(actual, expected, name, rtol, atol, equal_nan)
    # The memory layout last: a view or a copy matters only once the values are right (rot90 for a swap of dims
    # is wrong in its values, not in being a copy).
    if contiguous is not None and actual.is_contiguous() != contiguous:
        fail("contiguous", messages.CONTIGUOUS, hints.for_contiguous(actual.is_contiguous(), contiguous),
             name=name, expected=contiguous, actual=actual.is_contiguous())
    if shares_memory_with is not None:
        expect_shares_memory(actual, shares_memory_with, name, other_name)
    if no_shared_memory_with is not None:
        expect_no_shared_memory(actual, no_shared_memory_with, name, other_name)


def expect_grad(actual: Any, expected: torch.Tensor | None, *, name: str = _GRAD, rtol: float | None = None,
                atol: float | None = None, hint: str | None = None, backward_calls: int | None = None) -> None:
    """Compare a gradient: ``None`` where one is expected names ``backward()``; a constant ratio names the cause
    that fits it (``hints.for_grad``).

    ``hint`` replaces the generic value hint when the check knows the likely mistake better.  ``backward_calls``:
    how many backward passes the exercise asks for, so that a ratio can be read as a number of passes.
    """
    __tracebackhide__ = True
    if expected is None:
        expect(actual is None, "grad", messages.GRAD_UNEXPECTED, name=name)
        return
    if actual is None:
        fail("grad", messages.GRAD_MISSING, hints.GRAD_NONE, name=name, expected=_fmt(expected.shape))
    expect_type(actual, torch.Tensor, name)
    if actual.shape != expected.shape:
        fail("shape", messages.SHAPE, hints.for_shape(actual.shape, expected.shape), name=name,
             expected=_fmt(expected.shape), actual=_fmt(actual.shape))
    hint_fn = (lambda a, e: hints.for_grad(a, e, backward_calls)) if hint is None else (lambda a, e: hint)
    _compare_values(actual, expected, name, rtol, atol, False, attribute="grad", hint_fn=hint_fn)


def expect_array(actual: Any, expected: np.ndarray, *, name: str = _RETURNED, rtol: float | None = None,
                 atol: float | None = None, shares_memory_with: Any = None, no_shared_memory_with: Any = None,
                 other_name: str = _INPUT) -> None:
    """Compare a NumPy array: type, shape, dtype, memory facts, values."""
    __tracebackhide__ = True
    expect_type(actual, np.ndarray, name)
    if actual.shape != expected.shape:
        fail("shape", messages.SHAPE, hints.for_shape(torch.Size(actual.shape), torch.Size(expected.shape)),
             name=name, expected=tuple(expected.shape), actual=tuple(actual.shape))
    if actual.dtype != expected.dtype:
        fail("dtype", messages.DTYPE, None, name=name, expected=expected.dtype, actual=actual.dtype)
    if shares_memory_with is not None:
        expect_shares_memory(actual, shares_memory_with, name, other_name)
    if no_shared_memory_with is not None:
        expect_no_shared_memory(actual, no_shared_memory_with, name, other_name)
    _compare_values(torch.from_numpy(np.ascontiguousarray(actual)), torch.from_numpy(np.ascontiguousarray(expected)),
                    name, rtol, atol, False)


def expect_scalar(actual: Any, expected: float | int | bool, *, name: str = _RETURNED,
                  type_: type | tuple[type, ...] = float, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Compare a Python number (not a tensor)."""
    __tracebackhide__ = True
    expect_type(actual, type_, name)
    # The built-in conversions, not the object's own __float__ (a subclass could lie).
    a = float.__float__(actual) if isinstance(actual, float) else float(int.__index__(actual))
    e = float(expected)
    if abs(a - e) <= atol + rtol * abs(e):
        return
    try:
        torch.testing.assert_close(a, e, rtol=rtol, atol=atol)
    except AssertionError:
        # An integer answer (a count, a label) is right or wrong: no tolerance wording.
        exact = not isinstance(expected, float) and not isinstance(actual, float)
        fail("values", messages.SCALAR_EXACT if exact else messages.SCALAR_VALUE, None, name=name,
             expected=_fmt(expected), actual=_fmt(actual), rtol=rtol, atol=atol)


def _real_number(x: Any) -> int | float | None:
    """``x`` as a built-in int or float when it is a real number other than a bool (NumPy scalars included), else
    None.  The built-in conversions, not the object's own, so that a subclass with a lying ``__eq__`` is not believed."""
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, int):
        return int.__index__(x)
    if isinstance(x, float):
        return float.__float__(x)
    if isinstance(x, np.integer) and type(x).__module__ == "numpy":
        return int(x)
    if isinstance(x, np.floating) and type(x).__module__ == "numpy":
        return float(x)
    return None


def expect_equal(actual: Any, expected: Any, *, name: str = _RETURNED, attribute: str = "values",
                 hint: str | None = None) -> None:
    """Compare plain objects (strings, devices, flags, numbers) with ``==``.

    Numbers compare by value, as Python's ``==`` does (``0 == 0.0``, so ``momentum=0.0`` equals the default ``0``);
    a ``bool`` equals only a ``bool`` (``True`` is not accepted for ``1``, nor ``1`` for ``True``).
    """
    __tracebackhide__ = True
    e_num, a_num = _real_number(expected), _real_number(actual)
    if e_num is not None or a_num is not None:
        same = e_num is not None and a_num is not None and e_num == a_num
    elif isinstance(expected, bool) or isinstance(actual, bool):
        same = isinstance(expected, bool) and isinstance(actual, bool) and bool.__eq__(expected, actual) is True
    else:
        # The expected type's own equality, so that a subclass of str/int with a lying __eq__ is not believed.
        own_eq: Any = type(expected).__eq__  # unbound: called with both operands
        same = own_eq(expected, actual)
    if same is True:
        return
    # A str beside a non-str is quoted, so that "0" and 0 do not read alike.
    quote = isinstance(expected, str) != isinstance(actual, str)
    fail(attribute, messages.EQUAL, hint, name=name, expected=repr(expected) if quote else _fmt(expected),
         actual=repr(actual) if quote else _fmt(actual))


def expect_sequence(actual: Any, length: int, *, name: str = _RETURNED,
                    type_: type | tuple[type, ...] = tuple) -> Any:
    """Check that a result is a tuple (or ``type_``) of ``length`` items and return it."""
    __tracebackhide__ = True
    expect_type(actual, type_, name)
    expect(len(actual) == length, "length", messages.LENGTH, name=name, expected=length, actual=len(actual))
    return actual


def expect_same_object(actual: Any, obj: Any, *, name: str = _RETURNED,
                       other_name: str = _INPUT) -> None:
    __tracebackhide__ = True
    expect(actual is obj, "same_object", messages.SAME_OBJECT, hints.RETURN_MISSING if actual is None else None,
           name=name, other=other_name)


def expect_unchanged(current: torch.Tensor | np.ndarray, snapshot: torch.Tensor | np.ndarray,
                     name: str = _INPUT) -> None:
    """The input still has the values it had (``snapshot`` taken with ``.clone()`` / ``.copy()`` before)."""
    __tracebackhide__ = True
    if isinstance(current, np.ndarray):
        same = current.shape == snapshot.shape and np.array_equal(current, snapshot, equal_nan=True)
    else:
        same = (current.shape == snapshot.shape and current.dtype == snapshot.dtype
                and current.device == snapshot.device
                and (current.device.type == "meta" or torch.equal(torch.nan_to_num(current.detach()),
                                                                  torch.nan_to_num(snapshot.detach()))))
    expect(same, "mutated", messages.INPUT_MUTATED, name=name)


class RngSnapshot:
    """The global RNG states of torch (CPU), NumPy and ``random`` in the learner's world, to check that a call left
    them alone.  Pass the module under test (``sub``): in grading mode the learner's code runs in a sandbox worker,
    and its RNG states are the ones it reports (:func:`kata.state.learner_state`), never this process's.  Without
    ``sub``, this process's own (read as :func:`kata.state.state_snapshot` reads them)."""

    def __init__(self, sub: Any = None) -> None:
        self.sub = sub
        self.states = self._read()

    def _read(self) -> dict[str, Any]:
        state = state_snapshot(RNG_KEYS) if self.sub is None else learner_state(self.sub)
        return {key: state.get(key) for key in RNG_KEYS}

    def changed(self) -> list[str]:
        now = self._read()
        return [name for name, key in _RNG_NAMES if not same_state(self.states[key], now[key])]


#: The generators in the order a verdict names them: the name in the verdict, the key of the state.
_RNG_NAMES = (("torch", "torch_rng"), ("numpy", "numpy_rng"), ("random", "random_rng"))


def expect_generator_moved_as(actual: Any, expected: torch.Generator, name: str = messages.GIVEN_GENERATOR_NAME) -> None:
    """The generator that learner code was given has moved on exactly as ``expected`` (a generator seeded the same,
    that the reference drew from): used, and drawn from neither more nor less than the prompt asks."""
    __tracebackhide__ = True
    same = isinstance(actual, torch.Generator) and torch.equal(actual.get_state(), expected.get_state())
    expect(same, "generator", messages.GENERATOR_STATE, hints.GIVEN_GENERATOR, name=name)


def expect_rng_unchanged(snapshot: RngSnapshot) -> None:
    __tracebackhide__ = True
    changed = snapshot.changed()
    expect(not changed, "rng", messages.RNG_CHANGED,
           hints.OWN_GENERATOR, which=", ".join(changed))
