"""What crosses the grading boundary, and how: the encoder and the decoder of values, on both sides of it.

The boundary's modules, bottom first: :mod:`~kata.grading.sandbox.framing` (frames of MessagePack plus raw buffers,
never pickle, and the bounds on what one may hold), :mod:`~kata.grading.sandbox.classes` (classes by name, and the
stand-ins for those the trusted side does not have), :mod:`~kata.grading.sandbox.objecttable` (the objects that have
crossed, by key), :mod:`~kata.grading.sandbox.codectable` (one entry per kind of value) and this module.

Both sides (the trusted pytest process and the sandbox worker) keep an
:class:`~kata.grading.sandbox.objecttable.ObjectTable`.  A value is encoded as plain data where it is plain data
(None, booleans, numbers, strings); every other kind of value is a one-key map ``{tag: body}``, written and read by
one entry of :data:`kata.grading.sandbox.codectable.CODECS`.
Tensors, arrays, generators and objects of allow-listed classes get a *key* and their *state* travels beside the
value, so that identity survives the crossing: an object sent twice is the same object on the other side, a view of
an argument comes back as a view of the caller's argument, and in-place changes (data, ``.grad``,
``requires_grad``, the version counter, a module's attributes) flow back.  An object that cannot be data (a
learner's own class, a function, a generator) stays where it is and crosses as a *handle*.

Decoding never runs code from the other side: classes are resolved only from allow-listed modules (torch, NumPy,
``kata.api.portable``, a few built-ins), and every size is bounded.  Whatever does not decode is a
:class:`~kata.grading.sandbox.framing.MalformedFrame` (the client's verdict: :data:`kata.messages.WORKER_BAD_DATA`).
"""
from __future__ import annotations

import json
import time
import types
import zlib
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import torch

from kata.grading.sandbox.classes import DTYPES, is_allowed_class, mro_names, qualified_name, resolve
from kata.grading.sandbox.codectable import CODECS_BY_TAG, CODECS_BY_TYPE, codec_for
from kata.grading.sandbox.framing import (
    ARRAY_KINDS,
    INT_RANGE,
    MAX_DEPTH,
    MAX_ELEMENTS,
    MAX_VALUES,
    REFUSED,
    MalformedFrame,
    WireError,
    WireTimeout,
    as_list,
    as_map,
    clip,
)
from kata.grading.sandbox.objecttable import ObjectTable

# -- storages ------------------------------------------------------------------------------------------------------

def storage_bytes(storage: torch.UntypedStorage) -> bytes:
    if storage.device.type == "meta":
        return b""
    cpu = storage.cpu() if storage.device.type != "cpu" else storage
    return torch.empty(0, dtype=torch.uint8).set_(cpu).numpy().tobytes()


def storage_u8(storage: torch.UntypedStorage) -> np.ndarray:
    return torch.empty(0, dtype=torch.uint8).set_(storage).numpy()


def array_owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (for memory that belongs to a tensor: that tensor's array)."""
    base = a
    while isinstance(base.base, np.ndarray):
        base = base.base
    return base


# -- encoding ------------------------------------------------------------------------------------------------------

_SCALARS = (type(None), bool, int, float, str)


class Encoder:
    """Encodes values for one message; collects the states of keyed objects and the raw buffers."""

    def __init__(self, table: ObjectTable, *, allow_handles: bool, file_map: Callable[[Any], Any] | None = None):
        self.table = table
        self.allow_handles: bool = allow_handles
        self.buffers: list[bytes] = []
        self.states: dict[str, Any] = {}
        self.storages: dict[str, Any] = {}
        self.file_map: Callable[[Any], Any] | None = file_map
        self.depth = 0

    def buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def value(self, v: Any) -> Any:
        t = type(v)
        if t in _SCALARS and (t is not int or INT_RANGE[0] <= v <= INT_RANGE[1]):
            return v
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise WireError("value nested too deeply")
            if hasattr(t, "_kata_is_module_function"):
                v = v._resolve()
                t = type(v)
            codec = CODECS_BY_TYPE.get(t)
            if codec is None or (codec.test is not None and not codec.test(self, v)):
                codec = codec_for(self, v)
            return {codec.tag: codec.encode(self, v)}
        finally:
            self.depth -= 1

    # keyed objects ---------------------------------------------------------------------------------------------
    def handle(self, v: Any) -> dict:
        key = self.table.key_of(v)
        if key is None:
            key = self.table.register(v, self.table.new_key("h"))
        self.table.own_handles[key] = v
        try:
            text = repr(v)
        except Exception:
            text = f"<{type(v).__name__}>"
        return {"key": key, "mro": mro_names(v), "repr": clip(text, 2000)}

    def state_of(self, obj: Any) -> bool:
        """Put the state of an already crossed object into this message; False for a kind that has no state."""
        if isinstance(obj, torch.Tensor):
            self.tensor(obj)
        elif isinstance(obj, np.ndarray):
            self.array(obj)
        elif isinstance(obj, torch.Generator):
            self.generator(obj)
        elif is_allowed_class(type(obj)) and not isinstance(obj, (type, types.ModuleType)):
            self.generic(obj)
        else:
            return False
        return True

    def generic(self, v: Any) -> str:
        key = self.table.register(v)
        if key not in self.states:
            self.states[key] = None  # guards against cycles
            self.states[key] = {"kind": "obj", "cls": qualified_name(type(v)),
                                "dict": self.value(dict(vars(v)))}
        return key

    def generator(self, g: torch.Generator) -> str:
        key = self.table.register(g)
        if key not in self.states:
            self.states[key] = {"kind": "gen", "device": str(g.device), "B": self.buffer(storage_bytes(
                g.get_state().untyped_storage()))}
        return key

    def storage(self, storage: torch.UntypedStorage) -> str:
        key = self.table.storage_key(storage)
        storage = self.table.storages[key]
        if key not in self.storages:
            data = storage_bytes(storage)
            crc = zlib.crc32(data)
            if self.table.storage_crc.get(key) == (crc, len(data)):
                self.storages[key] = {"nbytes": storage.nbytes(), "device": str(storage.device), "same": 1}
            else:
                self.storages[key] = {"nbytes": storage.nbytes(), "device": str(storage.device),
                                      "B": self.buffer(data)}
                self.table.storage_crc[key] = (crc, len(data))
        return key

    def tensor(self, t: torch.Tensor) -> str:
        key = self.table.register(t)
        if key in self.states:
            return key
        self.states[key] = None
        self.states[key] = tensor_state(self, t)
        return key

    def array(self, a: np.ndarray) -> str:
        key = self.table.register(a)
        if key in self.states:
            return key
        start = a.__array_interface__["data"][0]
        skey = self.table.storage_containing(start, 1) if a.size else None
        if skey is None:
            owner = array_owner(a)
            # An owner in C or Fortran order is one block of memory, sent as it lies (a's strides kept).
            dense = owner.flags.c_contiguous or owner.flags.f_contiguous
            if not dense or not owner.flags.writeable:
                owner = a.copy(order="A")  # a read-only or odd owner: send a copy (no sharing to preserve)
                start = owner.__array_interface__["data"][0]
            flat = owner.reshape(-1, order="A").view(np.uint8) if owner.size else np.zeros(0, np.uint8)
            skey = self.table.storage_key(torch.from_numpy(flat).untyped_storage()) if owner.size else None
            base = owner.__array_interface__["data"][0]
            if owner is not array_owner(a):
                a = owner
        else:
            base = self.table.storages[skey].data_ptr()
        if skey is not None:
            self.storage(self.table.storages[skey])
        self.states[key] = {"kind": "array", "dtype": a.dtype.str, "shape": list(a.shape),
                            "strides": list(a.strides), "offset": (start - base) if skey else 0, "storage": skey,
                            "writeable": bool(a.flags.writeable)}
        return key


def tensor_state(enc: Encoder, t: torch.Tensor) -> dict:
    state: dict[str, Any] = {"kind": "tensor", "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                             "stride": list(t.stride()) if t.layout == torch.strided else None,
                             "offset": t.storage_offset() if t.layout == torch.strided else 0,
                             "device": str(t.device if type(t) in (torch.Tensor, torch.nn.Parameter)
                                           else t.untyped_storage().device),
                             "rg": bool(t.requires_grad), "leaf": bool(t.is_leaf),
                             "fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
                             "param": isinstance(t, torch.nn.Parameter), "ver": version_of(t), "inf": bool(t.is_inference()),
                             "hooks": len(t._backward_hooks or {}) if t.is_leaf and t.requires_grad else 0,
                             "sub": qualified_name(type(t)) if type(t) not in (torch.Tensor, torch.nn.Parameter)
                             and is_allowed_class(type(t)) else None}
    if t.layout != torch.strided:
        raise WireError(f"a tensor with layout {t.layout} cannot cross the grading boundary")
    own = t.untyped_storage()
    state["storage"] = enc.storage(own)
    registered = enc.table.storages[state["storage"]]
    if own.device.type == "cpu" and registered.data_ptr() != own.data_ptr():
        delta = own.data_ptr() - registered.data_ptr()
        item = t.element_size()
        if delta % item:
            raise WireError("a tensor that is not aligned with the memory it shares cannot cross")
        state["offset"] += delta // item
    grad = t.grad if t.is_leaf else None
    state["grad"] = enc.tensor(grad) if grad is not None else None
    return state


def version_of(t: torch.Tensor) -> int:
    """The tensor's version counter; -1 for a tensor made under ``torch.inference_mode()``, which has none."""
    return -1 if t.is_inference() else int(t._version)


def tensor_fingerprint(t: torch.Tensor) -> tuple:
    """What changes when a tensor is changed in place (data, metadata, autograd state)."""
    try:
        storage = t.untyped_storage()
        data = zlib.crc32(storage_u8(storage).data if storage.device.type == "cpu" else storage_bytes(storage)) \
            if t.layout == torch.strided and storage.device.type != "meta" else 0
    except Exception:
        data = 0
    grad = t.grad if t.is_leaf else None
    return (version_of(t), data, tuple(t.shape), t.stride(), t.storage_offset(), t.dtype, str(t.device),
            t.requires_grad, None if grad is None else (id(grad), tensor_fingerprint(grad)))


def fingerprint(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return tensor_fingerprint(obj)
    if isinstance(obj, np.ndarray):
        return (zlib.crc32(np.ascontiguousarray(obj).tobytes()) if obj.dtype.kind in ARRAY_KINDS else 0, obj.shape)
    if isinstance(obj, torch.Generator):
        return zlib.crc32(obj.get_state().numpy().tobytes())
    if hasattr(obj, "__dict__"):
        try:
            enc = Encoder(ObjectTable("x"), allow_handles=True)
            probe = {k: _shallow(v) for k, v in vars(obj).items()}
            return json.dumps(enc.value(probe), sort_keys=True, default=str)
        except Exception:
            return None
    return None


def _shallow(v: Any) -> Any:
    """A value with keyed objects replaced by their identity, for fingerprints of containers."""
    if isinstance(v, (torch.Tensor, np.ndarray, torch.Generator)) or hasattr(v, "__dict__"):
        return f"@{id(v)}"
    if type(v) in (list, tuple, set, frozenset):
        return [_shallow(x) for x in v]
    if isinstance(v, dict):
        return [[_shallow(k), _shallow(x)] for k, x in v.items()]
    return v


def _as_sent_subclass(t: torch.Tensor, state: dict) -> torch.Tensor:
    """``t`` as the tensor subclass the other side named (an allow-listed torch class), else as it is."""
    if state.get("sub"):
        sub = resolve(state["sub"])
        if isinstance(sub, type) and issubclass(sub, torch.Tensor):
            return t.as_subclass(sub)
    return t



class Decoder:
    """Decodes one message's values; keyed objects are created once and then updated in place."""

    def __init__(self, table: ObjectTable, header: dict, buffers: list[memoryview], *,
                 make_nonleaf: Callable[[str, dict, torch.Tensor], torch.Tensor] | None = None,
                 file_map: Callable[[Any], Any] | None = None,
                 leaf_hooks: Callable[[torch.Tensor], None] | None = None, deadline: float | None = None):
        self.table = table
        self.deadline = deadline  # time.monotonic() by which decoding must be done (the call's own deadline)
        self.count = 0  # values decoded so far (at most MAX_VALUES)
        self.elements = 0  # tensor and array elements rebuilt so far (at most MAX_ELEMENTS)
        self.states: dict[str, Any] = as_map(header.get("states") or {}, "states")
        self.storage_states: dict[str, Any] = as_map(header.get("storages") or {}, "storages")
        self.buffers = buffers
        self.done: set[str] = set()
        self.storages_done: set[str] = set()
        #: Storages this side already had whose bytes the message changed: every tensor viewing one changed too.
        self.storages_written: set[str] = set()
        self.make_nonleaf = make_nonleaf
        self.leaf_hooks = leaf_hooks  # a leaf whose gradient hooks live on the other side
        self.file_map = file_map
        self.depth = 0
        self.version_updates: list[tuple[torch.Tensor, int]] = []

    def buffer(self, index: Any) -> memoryview:
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise MalformedFrame("bad buffer index")
        return self.buffers[index]

    def value(self, v: Any) -> Any:
        if v is None or type(v) in (bool, int, float):
            return v
        if type(v) is str:
            return clip(v)
        if type(v) is not dict or len(v) != 1:
            raise MalformedFrame("a value is plain data or a map of one tag to its body")
        self.count += 1
        if self.count > MAX_VALUES:
            raise WireError(f"more than {MAX_VALUES} values in one message")
        if self.deadline is not None and not self.count & 1023 and time.monotonic() > self.deadline:
            raise WireTimeout("decoding went past the call's deadline")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise WireError("value nested too deeply")
            (tag, body), = v.items()
            codec = CODECS_BY_TAG.get(tag)
            if codec is None:
                raise MalformedFrame(f"unknown tag {clip(str(tag), 50)!r}")
            try:
                return codec.decode(self, body)
            except REFUSED as err:
                raise MalformedFrame(f"bad {tag} value: {type(err).__name__}") from None
        finally:
            self.depth -= 1

    def pairs(self, items: Any) -> list[tuple[Any, Any]]:
        out = []
        for pair in as_list(items):
            k, x = as_list(pair, "a pair")
            out.append((self.value(k), self.value(x)))
        return out

    def items(self, body: Any, limit: int | None = None) -> list[Any]:
        # Plain items as :meth:`value` returns them (numbers as they are, text clipped), without a call each.
        out = []
        for x in as_list(body)[:limit]:
            t = type(x)
            if t is int or t is float or t is bool or x is None:
                out.append(x)
            elif t is str:
                out.append(clip(x))
            else:
                out.append(self.value(x))
        return out

    def storage(self, key: str | None) -> torch.UntypedStorage | None:
        if key is None:
            return None
        state = self.storage_states.get(key)
        known = self.table.storages.get(key)
        if key in self.storages_done or state is None:
            if known is None:
                raise WireError("unknown storage")
            return known
        self.storages_done.add(key)
        state = as_map(state, "a storage's state")
        if state.get("same"):
            if known is None:
                raise WireError("unknown storage")
            return known
        device = torch.device(state["device"])
        data = self.buffer(state["B"])
        if device.type == "meta":
            storage = known if known is not None else torch.empty(int(state["nbytes"]), dtype=torch.uint8,
                                                                   device="meta").untyped_storage()
        elif known is not None and known.nbytes() == len(data) and known.device == device:
            if device.type == "cpu":
                view = storage_u8(known)
                if view.tobytes() != bytes(data):
                    view[:] = np.frombuffer(data, dtype=np.uint8)
                    self.storages_written.add(key)
            else:
                tmp = torch.frombuffer(bytearray(data), dtype=torch.uint8) if len(data) else torch.empty(0, dtype=torch.uint8)
                torch.empty(0, dtype=torch.uint8, device=device).set_(known).copy_(tmp)
                self.storages_written.add(key)
            storage = known
        else:
            cpu = torch.frombuffer(bytearray(data), dtype=torch.uint8) if len(data) else \
                torch.empty(0, dtype=torch.uint8)
            storage = (cpu.to(device) if device.type != "cpu" and _device_ok(device) else cpu).untyped_storage()
        if known is None or storage is not known:
            self.table.adopt_storage(key, storage)
        self.table.storage_crc[key] = (zlib.crc32(data), len(data))
        return storage

    def keyed(self, key: str) -> Any:
        """The object ``key`` names: made, or brought up to date, from the state this message holds for it."""
        if not isinstance(key, str):
            raise MalformedFrame("bad key")
        known = self.table.objects.get(key)
        state = self.states.get(key)
        if key in self.done or state is None:
            if known is None:
                raise WireError(f"unknown object {clip(key, 50)}")
            return known
        self.done.add(key)
        kind = as_map(state, "an object's state").get("kind")
        make = _STATE_KINDS.get(kind) if isinstance(kind, str) else None
        if make is None:
            raise MalformedFrame("bad object state")
        try:
            return make(self, key, state, known)
        except REFUSED as err:
            raise MalformedFrame(f"bad {kind} state: {type(err).__name__}") from None

    def _generator(self, key: str, state: dict, known: Any) -> torch.Generator:
        g = known if isinstance(known, torch.Generator) else torch.Generator(device=state["device"]
                                                                             if _device_ok(torch.device(state["device"])) else "cpu")
        data = self.buffer(state["B"])
        g.set_state(torch.frombuffer(bytearray(data), dtype=torch.uint8) if len(data) else torch.empty(0, dtype=torch.uint8))
        self.table.register(g, key)
        return g

    def _object(self, key: str, state: dict, known: Any) -> Any:
        cls = resolve(state["cls"])
        if not isinstance(cls, type):
            raise WireError("not a class")
        obj = known if known is not None and type(known) is cls else cast(Any, cls).__new__(cls)
        self.table.register(obj, key)
        attrs = self.value(state["dict"])
        if not isinstance(attrs, dict):
            raise WireError("bad object attributes")
        obj.__dict__.clear()
        obj.__dict__.update(attrs)
        return obj

    def _count_elements(self, shape: Any) -> None:
        """Count a tensor's or array's elements against MAX_ELEMENTS (an expanded view counts all it shows)."""
        n = 1
        for size in shape:
            n *= max(int(size), 0)
        self.elements += n
        if self.elements > MAX_ELEMENTS:
            raise WireError(f"more than {MAX_ELEMENTS} tensor elements in one message")

    def _array(self, key: str, state: dict, known: Any) -> np.ndarray:
        dtype = np.dtype(str(state["dtype"]))
        if dtype.kind not in ARRAY_KINDS:
            raise WireError("bad array dtype")
        shape = tuple(int(x) for x in state["shape"])
        self._count_elements(shape)
        storage = self.storage(state["storage"]) if state["storage"] is not None else None
        if storage is None:
            out = np.zeros(shape, dtype=dtype)
        else:
            buf = storage_u8(storage)
            out = np.ndarray(shape, dtype=dtype, buffer=buf, offset=int(state["offset"]),
                             strides=tuple(int(x) for x in state["strides"]))
        if isinstance(known, np.ndarray) and known.shape == out.shape and known.dtype == out.dtype:
            if known.__array_interface__["data"][0] != out.__array_interface__["data"][0]:
                known[...] = out
            self.table.register(known, key)
            return known
        if not state.get("writeable", True):
            out.flags.writeable = False
        self.table.register(out, key)
        return out

    def _tensor(self, key: str, state: dict, known: Any) -> torch.Tensor:
        dtype = DTYPES.get(state["dtype"])
        if dtype is None:
            raise WireError("bad dtype")
        shape = [int(x) for x in state["shape"]]
        stride = [int(x) for x in state["stride"]]
        offset = int(state["offset"])
        storage = self.storage(state["storage"])
        if storage is None:
            raise WireError("tensor without storage")
        device = torch.device(state["device"])
        if not _device_ok(device):
            raise WireError(f"device {device} is not available here")
        if device.type != "meta":
            self._count_elements(shape)
        _check_bounds(storage, dtype, shape, stride, offset)
        inference = bool(state.get("inf"))
        if isinstance(known, torch.Tensor) and known.is_inference() != inference:
            known = None  # a tensor cannot become (or stop being) an inference tensor in place
        if inference:
            # Made under torch.inference_mode() on the other side: an inference tensor here too (no version counter,
            # no autograd, no in-place change outside inference mode), viewing the same memory.
            with torch.inference_mode():
                if isinstance(known, torch.Tensor):
                    known.set_(storage, offset, shape, stride)
                    t = known
                else:
                    t = _as_sent_subclass(torch.empty(0, dtype=dtype, device=device).set_(storage, offset, shape,
                                                                                          stride), state)
            self.table.register(t, key)
            return t
        if isinstance(known, torch.Tensor):
            t = known
            here = t.untyped_storage()
            same_place = (here.data_ptr() == storage.data_ptr() and t.dtype == dtype and
                          list(t.shape) == shape and list(t.stride()) == stride and t.storage_offset() == offset) \
                if device.type != "meta" else (t.dtype == dtype and list(t.shape) == shape)
            if not same_place:
                fresh = torch.empty(0, dtype=dtype, device=device).set_(storage, offset, shape, stride)
                with torch.no_grad():
                    if t.dtype == dtype and here.device == device:
                        t.set_(storage, offset, shape, stride)
                    else:
                        t.data = fresh  # a dtype or device changed in place (``t.data = t.data.double()``)
            if t.is_leaf and t.requires_grad != bool(state["rg"]):
                t.requires_grad_(bool(state["rg"]))
        else:
            base = _as_sent_subclass(torch.empty(0, dtype=dtype, device=device).set_(storage, offset, shape, stride),
                                     state)
            if state.get("param"):
                base = torch.nn.Parameter(base, requires_grad=bool(state["rg"]))
            if state["leaf"] or not state["rg"]:
                t = base if state.get("param") else base.requires_grad_(bool(state["rg"]))
            elif self.make_nonleaf is not None:
                t = self.make_nonleaf(key, state, base)
            else:
                t = base.requires_grad_(True)
            if self.leaf_hooks is not None and t.is_leaf and t.requires_grad and int(state.get("hooks") or 0) > 0:
                self.leaf_hooks(t)
        self.table.register(t, key)
        if t.is_leaf:
            grad = self.keyed(state["grad"]) if state.get("grad") else None
            if grad is not None or t.grad is not None:
                try:
                    t.grad = grad
                except RuntimeError as err:
                    raise WireError(f"bad grad: {err}") from None
        self.version_updates.append((t, int(state.get("ver", 0))))
        return t


#: How each kind of keyed object is made from its state (the states that :class:`Encoder` writes).
_STATE_KINDS: dict[Any, Callable[[Decoder, str, dict, Any], Any]] = {
    "tensor": Decoder._tensor, "array": Decoder._array, "gen": Decoder._generator, "obj": Decoder._object}


def _device_ok(device: torch.device) -> bool:
    if device.type in ("cpu", "meta"):
        return True
    if device.type == "cuda":
        return torch.cuda.is_available()
    if device.type == "mps":
        return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return False


def _check_bounds(storage: torch.UntypedStorage, dtype: torch.dtype, shape: list[int], stride: list[int],
                  offset: int) -> None:
    if len(shape) != len(stride) or any(s < 0 for s in shape) or offset < 0 or len(shape) > 64:
        raise WireError("bad tensor geometry")
    if storage.device.type == "meta" or 0 in shape:
        return
    item = torch.empty(0, dtype=dtype).element_size()
    lo = hi = offset
    for size, st in zip(shape, stride):
        if st >= 0:
            hi += (size - 1) * st
        else:
            lo += (size - 1) * st
    if lo < 0 or (hi + 1) * item > storage.nbytes():
        raise WireError("tensor runs past its storage")


def set_versions(updates: list[tuple[torch.Tensor, int]]) -> None:
    setter = getattr(torch._C._autograd, "_unsafe_set_version_counter", None)
    if setter is None:
        return
    for t, version in updates:
        if version >= 0 and not t.is_inference() and t._version != version:
            try:
                setter((t,), (version,))
            except Exception:
                pass


#: Below this many objects every crossed object is checked for changes at each exchange; above it (a check that
#: iterates a dataset item by item), only the objects reachable from the exchange's operands and result.
FULL_SCAN = 8


def reachable_keys(table: ObjectTable, roots: list[Any], extra: Callable[[Any], list[Any]] | None = None,
                   limit: int = 20_000) -> set[str]:
    """Keys of the crossed objects reachable from ``roots`` (containers, tensors' grads, objects' attributes)."""
    out: set[str] = set()
    seen: set[int] = set()
    stack = list(roots)
    while stack and len(seen) < limit:
        obj = stack.pop()
        if obj is None or type(obj) in _SCALARS or id(obj) in seen:
            continue
        seen.add(id(obj))
        key = table.keys.get(id(obj))
        if key is not None and table.objects.get(key) is obj:
            out.add(key)
        if isinstance(obj, torch.Tensor):
            if obj.is_leaf and obj.grad is not None:
                stack.append(obj.grad)
            continue
        if isinstance(obj, (np.ndarray, torch.Generator, str, bytes, type, types.ModuleType)):
            continue
        if extra is not None:
            stack.extend(extra(obj))
        if type(obj) in (list, tuple, set, frozenset):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        else:
            try:
                attrs = object.__getattribute__(obj, "__dict__")
            except AttributeError:
                continue
            if isinstance(attrs, dict) and not getattr(type(obj), "_kata_is_remote", False):
                stack.extend(attrs.values())
    return out


def scan_keys(table: ObjectTable, roots: list[Any], extra: Callable[[Any], list[Any]] | None = None) -> list[str]:
    if len(table.objects) <= FULL_SCAN:
        return list(table.objects)
    return [k for k in reachable_keys(table, roots, extra) if k in table.objects]
