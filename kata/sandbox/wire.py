"""What crosses the grading boundary, and how: frames of MessagePack plus raw buffers, never pickle.

Both sides (the trusted pytest process and the sandbox worker) keep an :class:`ObjectTable`.  A value is encoded as
plain data where it is plain data (None, booleans, numbers, strings); every other kind of value is a one-key map
``{tag: body}``, written and read by one entry of :data:`CODECS` (the codec table at the end of this module).
Tensors, arrays, generators and objects of allow-listed classes get a *key* and their *state* travels beside the
value, so that identity survives the crossing: an object sent twice is the same object on the other side, a view of
an argument comes back as a view of the caller's argument, and in-place changes (data, ``.grad``,
``requires_grad``, the version counter, a module's attributes) flow back.  An object that cannot be data (a
learner's own class, a function, a generator) stays where it is and crosses as a *handle*.

Decoding never runs code from the other side: classes are resolved only from allow-listed modules (torch, NumPy,
``kata.portable``, a few built-ins), and every size is bounded.  Whatever does not decode is a
:class:`MalformedFrame` (the client's verdict: :data:`kata.messages.WORKER_BAD_DATA`).
"""
from __future__ import annotations

import builtins
import collections
import dataclasses
import enum
import importlib
import json
import pathlib
import struct
import time
import types
import zlib
from collections.abc import Callable
from typing import Any, cast

import msgpack  # type: ignore[import-untyped]
import numpy as np
import torch

#: Largest frame accepted from the other side (bytes).
MAX_FRAME = 512 * 1024 * 1024
#: Longest string kept from the other side; longer ones are cut (a learner can return megabytes of text).
MAX_TEXT = 20_000
#: Deepest nesting of containers accepted.
MAX_DEPTH = 64
#: A reply's header (the trusted side reads at most this much; tensors' data travels in buffers, not here).
MAX_HEADER = 16 * 1024 * 1024
#: Values one message may hold (containers, numbers, strings, tensors…), and tensor elements all together: decoding,
#: rebuilding and comparing a reply stay bounded, so a flood of data costs the call that sent it, not the run.
MAX_VALUES = 250_000
MAX_ELEMENTS = 1 << 26

#: Modules whose classes and functions may be rebuilt from their names.
ALLOWED_MODULES = ("torch", "numpy", "kata.portable", "collections", "builtins", "functools", "math", "operator",
                   "enum")
ALLOWED_BUILTINS = {"dict", "list", "tuple", "set", "int", "float", "str", "bool", "bytes", "object", "len", "abs",
                    "min", "max", "sum", "frozenset"}


class WireError(Exception):
    """The other side sent something that is not valid data (too large, too deep, unknown class)."""


class MalformedFrame(WireError):
    """A frame, or a value in it, that does not decode: not MessagePack, a tag no codec has, a body of the wrong
    shape, or data that the built-in, NumPy or torch constructors refuse."""


class WireTimeout(WireError):
    """Decoding a reply went past the call's deadline (charged to the call that sent it)."""


#: What the constructors that decoding calls (built-in types, NumPy, torch) raise for data they refuse; turned into
#: :class:`MalformedFrame` where a value is decoded, so that no other exception leaves the decoder for bad data.
REFUSED = (KeyError, IndexError, TypeError, ValueError, OverflowError, RuntimeError)

#: NumPy kinds whose values are plain bytes (numbers, booleans, fixed-size text and bytes, dates and durations).
ARRAY_KINDS = "biufcUSMm"
#: Most members of a learner's enum class, and most elements of an object array, that cross.
MAX_MEMBERS = 1000
MAX_OBJECT_ITEMS = 100_000
#: Built-in exception classes, rebuilt by name (they run no code of the other side).
BUILTIN_EXCEPTIONS = {name: obj for name, obj in vars(builtins).items()
                      if isinstance(obj, type) and issubclass(obj, BaseException)}


# -- frames --------------------------------------------------------------------------------------------------------
#
# A frame: total length and header length (``<QI``), the header (a MessagePack map), the number of buffers and each
# one's length, then the buffers' bytes.  MessagePack rather than JSON: the same maps and lists in about half the CPU
# time to write and read (benchmarks/wire_framing.py), with strings that may hold any code point (surrogates too).

_HEAD = struct.Struct("<QI")
_COUNT = struct.Struct("<I")
_SIZE = struct.Struct("<Q")


def pack(header: dict, buffers: list[bytes]) -> bytes:
    head = msgpack.packb(header, use_bin_type=True, unicode_errors="surrogatepass")
    parts = [_COUNT.pack(len(buffers))] + [_SIZE.pack(len(b)) for b in buffers]
    body = head + b"".join(parts) + b"".join(bytes(b) for b in buffers)
    return _HEAD.pack(len(body), len(head)) + body


def read_exact(recv: Callable[[int], bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def unpack(recv: Callable[[int], bytes], limit: int = MAX_FRAME, head_limit: int | None = None
           ) -> tuple[dict, list[memoryview]]:
    total, head_len = _HEAD.unpack(read_exact(recv, _HEAD.size))
    if total > limit or head_len > total:
        raise WireError(f"frame of {total} bytes is over the limit of {limit}")
    if head_limit is not None and head_len > head_limit:
        raise WireError(f"frame header of {head_len} bytes is over the limit of {head_limit}")
    body = memoryview(read_exact(recv, total))
    try:
        header = msgpack.unpackb(body[:head_len], raw=False, strict_map_key=True, unicode_errors="surrogatepass")
    except (ValueError, msgpack.UnpackException):
        raise MalformedFrame("frame header is not MessagePack") from None
    if not isinstance(header, dict):
        raise MalformedFrame("frame header is not a map")
    pos = head_len
    if pos + _COUNT.size > total:
        raise MalformedFrame("frame without a buffer count")
    (count,) = _COUNT.unpack_from(body, pos)
    pos += _COUNT.size
    if pos + _SIZE.size * count > total:
        raise MalformedFrame("buffer lengths run past the end of the frame")
    sizes = [_SIZE.unpack_from(body, pos + _SIZE.size * i)[0] for i in range(count)]
    pos += _SIZE.size * count
    buffers = []
    for size in sizes:
        if pos + size > total:
            raise MalformedFrame("buffer runs past the end of the frame")
        buffers.append(body[pos:pos + size])
        pos += size
    return header, buffers


# -- names ---------------------------------------------------------------------------------------------------------

def qualified_name(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def resolve(name: str) -> Any:
    """The class or function called ``module:qualname``, from an allow-listed module only."""
    module, _, qual = str(name).partition(":")
    if not any(module == m or module.startswith(m + ".") for m in ALLOWED_MODULES):
        raise WireError(f"{module} is not an allowed module")
    if module == "builtins" and qual not in ALLOWED_BUILTINS:
        raise WireError(f"builtins.{qual} is not allowed")
    try:
        obj: Any = importlib.import_module(module)
    except (ImportError, ValueError):
        raise WireError(f"{module} cannot be imported") from None
    for part in qual.split("."):
        if part.startswith("__") or part == "<locals>":
            raise WireError(f"{name} cannot be resolved")
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise WireError(f"{name} cannot be resolved") from None
    return obj


def is_allowed_class(cls: type) -> bool:
    module = getattr(cls, "__module__", "") or ""
    if not any(module == m or module.startswith(m + ".") for m in ALLOWED_MODULES):
        return False
    try:
        return resolve(qualified_name(cls)) is cls
    except (WireError, AttributeError):  # a name that does not resolve, a class without a qualified name
        return False


def mro_names(obj: Any) -> list[str]:
    out = []
    for cls in type(obj).__mro__:
        try:
            out.append(qualified_name(cls))
        except AttributeError:
            pass
    return out


_STAND_INS: dict[tuple, type] = {}


def _cached(key: tuple, make: Callable[[], Any]) -> Any:
    """A stand-in class made once per key (at most 10,000 kept)."""
    cls = _STAND_INS.get(key)
    if cls is None:
        cls = make()
        if len(_STAND_INS) < 10_000:
            _STAND_INS[key] = cls
    return cls


def _names(own: str) -> tuple[str, str, str]:
    """(module, qualified name, class name) of ``module:qualname``."""
    module, _, qual = own.partition(":")
    name = qual.rsplit(".", 1)[-1]
    return module, qual, name if name.isidentifier() else "Learner"


def _clipped(mro: Any) -> list[str]:
    return [clip(str(m), 300) for m in list(mro)[:50]]


def _nearest(mro: list[str], base: type) -> tuple[type, str | None]:
    """The first class of ``mro`` that resolves here and derives from ``base`` (``base`` if none), and the name of
    the class the value really has when that one does not resolve (a learner's class)."""
    own = None
    for name in mro:
        found: Any = None
        if name.startswith("builtins:") and name[9:] in BUILTIN_EXCEPTIONS:
            found = BUILTIN_EXCEPTIONS[name[9:]]
        else:
            try:
                found = resolve(name)
            except WireError:
                found = None
        if isinstance(found, type) and issubclass(found, base):
            return found, own
        own = own or name
    return base, own


def stand_in(mro: list[str], base: type) -> type:
    """The class a value of the other side has, as far as checks can tell: the class itself where it resolves from
    an allow-listed module, else a subclass of its nearest such base with the same name, module and qualified name
    (so that ``isinstance`` against torch and built-in types, ``type(x).__name__`` and the verdicts' type names are
    what they are in learning mode).  None of the other side's code comes with it."""
    mro = _clipped(mro)

    def make() -> type:
        found, own = _nearest(mro, base)
        if own is None:
            return found
        module, qual, name = _names(own)
        try:
            return type(name, (found,), {"__module__": module, "__qualname__": qual})
        except TypeError:  # a base that cannot be subclassed (bool, a final torch type)
            return found

    return cast(type, _cached((tuple(mro), base), make))


def _stand_in_enum(mro: list[str], members: list[tuple[str, Any]]) -> type[enum.Enum]:
    mro = _clipped(mro)

    def make() -> type:
        found, own = _nearest(mro, enum.Enum)
        if own is None:
            raise WireError("an enum class without members of its own")
        module, qual, name = _names(own)
        return cast(Any, found)(name, list(members), module=module, qualname=qual)

    return cast(type[enum.Enum], _cached((tuple(mro), tuple((n, repr(v)) for n, v in members)), make))


def _stand_in_namedtuple(mro: list[str], fields: list[str]) -> type:
    mro = _clipped(mro)

    def make() -> type:
        module, qual, name = _names(mro[0] if mro else "learner:Learner")
        made: Any = collections.namedtuple(name, fields, rename=True, module=module)  # type: ignore[misc]
        made.__qualname__ = qual
        return cast(type, made)

    return cast(type, _cached((tuple(mro), tuple(fields), "namedtuple"), make))


def _stand_in_dataclass(mro: list[str], fields: list[str], eq: bool, frozen: bool) -> type:
    mro = _clipped(mro)

    def make() -> type:
        module, qual, name = _names(mro[0] if mro else "learner:Learner")
        return dataclasses.make_dataclass(name, fields, eq=eq, frozen=frozen,
                                          namespace={"__module__": module, "__qualname__": qual})

    return cast(type, _cached((tuple(mro), tuple(fields), eq, frozen, "dataclass"), make))


def _is_plain_dataclass(v: Any) -> bool:
    """A dataclass instance of a class that defines nothing but its fields (its methods would have to run where the
    learner's code runs: such an instance stays there as a handle)."""
    cls = type(v)
    if not dataclasses.is_dataclass(cls) or is_allowed_class(cls):
        return False
    for klass in cls.__mro__[:-1]:
        for name, attr in vars(klass).items():
            if name.startswith("__") and name.endswith("__"):
                continue
            if callable(attr) or isinstance(attr, (property, staticmethod, classmethod)):
                return False
    return True


def clip(text: str, limit: int = MAX_TEXT) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})"


# -- storages ------------------------------------------------------------------------------------------------------

def _storage_bytes(storage: torch.UntypedStorage) -> bytes:
    if storage.device.type == "meta":
        return b""
    cpu = storage.cpu() if storage.device.type != "cpu" else storage
    return torch.empty(0, dtype=torch.uint8).set_(cpu).numpy().tobytes()


def _u8(storage: torch.UntypedStorage) -> np.ndarray:
    return torch.empty(0, dtype=torch.uint8).set_(storage).numpy()


def _array_owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (for memory that belongs to a tensor: that tensor's array)."""
    base = a
    while isinstance(base.base, np.ndarray):
        base = base.base
    return base


# -- the object table ----------------------------------------------------------------------------------------------

class Handle:
    """A reference to an object that stays on the other side; the client wraps it in a proxy."""

    def __init__(self, key: str, mro: list[str], text: str):
        self.key, self.mro, self.text = key, mro, text


class ObjectTable:
    """Objects that have crossed, by key, on one side of the boundary (``side`` is "t" or "w")."""

    def __init__(self, side: str, handle_factory: Callable[[Handle], Any] | None = None):
        self.side = side
        self.handle_factory = handle_factory
        self.reset()

    def reset(self) -> None:
        self.objects: dict[str, Any] = {}  # key -> local object (own or mirror)
        self.keys: dict[int, str] = {}  # id(local object) -> key
        self.storages: dict[str, torch.UntypedStorage] = {}
        self.storage_ranges: list[tuple[int, int, str]] = []  # (start, end, key) of CPU storages
        self.storage_keys: dict[tuple[int, int, str], str] = {}
        self.storage_crc: dict[str, tuple[int, int]] = {}  # what the other side last saw of a storage
        self.storage_starts: dict[tuple[int, int], str] = {}
        self.handles: dict[str, Any] = {}  # key -> local proxy for a remote handle
        self.own_handles: dict[str, Any] = {}  # key -> local object the other side holds a handle to
        self.files: dict[str, pathlib.Path] = {}
        # Keys are never reused, not even after a reset: a key's number tells the other side nothing about where
        # a check starts.
        self._next: int = getattr(self, "_next", 0)

    def new_key(self, prefix: str = "") -> str:
        self._next += 1
        return f"{self.side}{prefix}{self._next}"

    def register(self, obj: Any, key: str | None = None) -> str:
        known = self.keys.get(id(obj))
        if known is not None and self.objects.get(known) is obj:
            return known
        key = key or self.new_key()
        self.objects[key] = obj
        self.keys[id(obj)] = key
        return key

    def key_of(self, obj: Any) -> str | None:
        key = self.keys.get(id(obj))
        return key if key is not None and self.objects.get(key) is obj else None

    # storages --------------------------------------------------------------------------------------------------
    def storage_key(self, storage: torch.UntypedStorage) -> str:
        if storage.device.type != "cpu" or storage.nbytes() == 0:
            ident = (storage.data_ptr(), storage.nbytes(), str(storage.device))
            key = self.storage_keys.get(ident) if storage.device.type != "meta" else None
            if key is None:
                key = self.new_key("s")
                if storage.device.type != "meta":
                    self.storage_keys[ident] = key
                self.storages[key] = storage
            return key
        start = storage.data_ptr()
        exact = self.storage_starts.get((start, storage.nbytes()))
        if exact is not None:
            return exact
        for lo, hi, key in self.storage_ranges:
            if lo <= start and start + storage.nbytes() <= hi:
                return key
        key = self.new_key("s")
        self.storages[key] = storage
        self.storage_ranges.append((start, start + storage.nbytes(), key))
        self.storage_starts[(start, storage.nbytes())] = key
        return key

    def storage_containing(self, address: int, nbytes: int) -> str | None:
        for lo, hi, key in self.storage_ranges:
            if lo <= address and address + nbytes <= hi:
                return key
        return None

    def adopt_storage(self, key: str, storage: torch.UntypedStorage) -> None:
        self.storages[key] = storage
        if storage.device.type == "cpu" and storage.nbytes():
            self.storage_ranges.append((storage.data_ptr(), storage.data_ptr() + storage.nbytes(), key))
            self.storage_starts[(storage.data_ptr(), storage.nbytes())] = key
        elif storage.device.type != "meta":
            self.storage_keys[(storage.data_ptr(), storage.nbytes(), str(storage.device))] = key


# -- encoding ------------------------------------------------------------------------------------------------------

_SCALARS = (type(None), bool, int, float, str)
#: Integers MessagePack holds as they are; larger ones cross as text (the ``I`` codec).
_INT_RANGE = (-(1 << 63), (1 << 64) - 1)


class Encoder:
    """Encodes values for one message; collects the states of keyed objects and the raw buffers."""

    def __init__(self, table: ObjectTable, *, allow_handles: bool, file_map: Callable[[Any], Any] | None = None):
        self.table = table
        self.allow_handles = allow_handles
        self.buffers: list[bytes] = []
        self.states: dict[str, Any] = {}
        self.storages: dict[str, Any] = {}
        self.file_map = file_map
        self.depth = 0

    def buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def value(self, v: Any) -> Any:
        t = type(v)
        if t in _SCALARS and (t is not int or _INT_RANGE[0] <= v <= _INT_RANGE[1]):
            return v
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise WireError("value nested too deeply")
            if hasattr(t, "_kata_is_module_function"):
                v = v._resolve()
                t = type(v)
            codec = _BY_TYPE.get(t)
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
            self.states[key] = {"kind": "gen", "device": str(g.device), "B": self.buffer(_storage_bytes(
                g.get_state().untyped_storage()))}
        return key

    def storage(self, storage: torch.UntypedStorage) -> str:
        key = self.table.storage_key(storage)
        storage = self.table.storages[key]
        if key not in self.storages:
            data = _storage_bytes(storage)
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
            owner = _array_owner(a)
            # An owner in C or Fortran order is one block of memory, sent as it lies (a's strides kept).
            dense = owner.flags.c_contiguous or owner.flags.f_contiguous
            if not dense or not owner.flags.writeable:
                owner = a.copy(order="A")  # a read-only or odd owner: send a copy (no sharing to preserve)
                start = owner.__array_interface__["data"][0]
            flat = owner.reshape(-1, order="A").view(np.uint8) if owner.size else np.zeros(0, np.uint8)
            skey = self.table.storage_key(torch.from_numpy(flat).untyped_storage()) if owner.size else None
            base = owner.__array_interface__["data"][0]
            if owner is not _array_owner(a):
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
        data = zlib.crc32(_u8(storage).data if storage.device.type == "cpu" else _storage_bytes(storage)) \
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


# -- decoding ------------------------------------------------------------------------------------------------------

_DTYPES = {str(d).removeprefix("torch."): d for d in vars(torch).values() if isinstance(d, torch.dtype)}


def _as_sent_subclass(t: torch.Tensor, state: dict) -> torch.Tensor:
    """``t`` as the tensor subclass the other side named (an allow-listed torch class), else as it is."""
    if state.get("sub"):
        sub = resolve(state["sub"])
        if isinstance(sub, type) and issubclass(sub, torch.Tensor):
            return t.as_subclass(sub)
    return t


def _map(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise MalformedFrame(f"{what} is not a map")
    return value


def _list(value: Any, what: str = "a body") -> list:
    if not isinstance(value, list):
        raise MalformedFrame(f"{what} is not a list")
    return value


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
        self.states: dict[str, Any] = _map(header.get("states") or {}, "states")
        self.storage_states: dict[str, Any] = _map(header.get("storages") or {}, "storages")
        self.buffers = buffers
        self.done: set[str] = set()
        self.storages_done: set[str] = set()
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
        for pair in _list(items):
            k, x = _list(pair, "a pair")
            out.append((self.value(k), self.value(x)))
        return out

    def items(self, body: Any, limit: int | None = None) -> list[Any]:
        # Plain items as :meth:`value` returns them (numbers as they are, text clipped), without a call each.
        out = []
        for x in _list(body)[:limit]:
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
        state = _map(state, "a storage's state")
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
                view = _u8(known)
                if view.tobytes() != bytes(data):
                    view[:] = np.frombuffer(data, dtype=np.uint8)
            else:
                tmp = torch.frombuffer(bytearray(data), dtype=torch.uint8) if len(data) else torch.empty(0, dtype=torch.uint8)
                torch.empty(0, dtype=torch.uint8, device=device).set_(known).copy_(tmp)
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
        kind = _map(state, "an object's state").get("kind")
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
            buf = _u8(storage)
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
        dtype = _DTYPES.get(state["dtype"])
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


# -- the codec table -----------------------------------------------------------------------------------------------
#
# One entry per kind of value that is not plain data: its tag, which values it takes on the sending side, how its
# body is written there and how it is read back on the other side.  A value is taken by the entry of its exact type
# (``types``; ``test``, where given, must also hold), else by the first entry, in table order, whose ``test`` holds.
# A new kind of value is one entry; a tag that no entry has does not decode.


@dataclasses.dataclass(frozen=True)
class Codec:
    tag: str
    encode: Callable[[Encoder, Any], Any]
    decode: Callable[[Decoder, Any], Any]
    types: tuple[type, ...] = ()
    test: Callable[[Encoder, Any], bool] | None = None


def _encode_items(enc: Encoder, v: Any) -> list:
    # Plain items as Encoder.value returns them, without a call each: a list or tuple of numbers is common (the 625
    # integers of random.getstate() go with the first call of every check).
    lo, hi = _INT_RANGE
    out = []
    for x in v:
        t = type(x)
        if t is int:
            out.append(x if lo <= x <= hi else enc.value(x))
        elif t is float or t is str or t is bool or x is None:
            out.append(x)
        else:
            out.append(enc.value(x))
    return out


def _encode_pairs(enc: Encoder, items: Any) -> list:
    return [[enc.value(k), enc.value(x)] for k, x in items]


def _named(dec: Decoder, pairs: Any) -> list[tuple[str, Any]]:
    """``[name, value]`` pairs (enum members, dataclass fields): the names as text, never decoded as values."""
    out = []
    for pair in _list(pairs)[:MAX_MEMBERS]:
        name, x = _list(pair, "a pair")
        out.append((clip(str(name), 300), dec.value(x)))
    return out


def _subclass_body(body: Any) -> tuple[dict, list[str]]:
    """The body of a value of a class derived from a built-in kind, and the names of that class's bases."""
    body = _map(body, "a subclass's body")
    return body, [str(m) for m in _list(body.get("mro"), "a class's bases")]


# plain containers and torch's small types ------------------------------------------------------------------------

_FACTORIES: dict[str, Any] = {"dict": dict, "list": list, "int": int, "set": set}


def _decode_defaultdict(dec: Decoder, body: Any) -> collections.defaultdict:
    factory, items = _list(body)
    return collections.defaultdict(_FACTORIES[factory], dec.pairs(items))


def _decode_torch_attribute(dec: Decoder, body: Any) -> Any:  # noqa: ARG001 (one signature for every codec)
    out = getattr(torch, str(body), None)
    if not isinstance(out, (torch.layout, torch.memory_format)):
        raise MalformedFrame("bad torch attribute")
    return out


def _encode_numpy_scalar(enc: Encoder, v: np.generic) -> list:
    arr = np.asarray(v)
    return [arr.dtype.str, enc.buffer(arr.tobytes())]


def _decode_numpy_scalar(dec: Decoder, body: Any) -> Any:
    name, index = _list(body)
    dtype = np.dtype(str(name))
    if dtype.kind not in ARRAY_KINDS:
        raise MalformedFrame("bad numpy scalar")
    return np.frombuffer(dec.buffer(index), dtype=dtype, count=1)[0]


def _decode_object_array(dec: Decoder, body: Any) -> np.ndarray:
    body = _map(body, "an object array")
    shape = tuple(int(x) for x in _list(body["shape"]))
    items = dec.items(body["items"], MAX_OBJECT_ITEMS)
    if len(shape) > 64 or any(n < 0 for n in shape) or int(np.prod(shape)) != len(items):
        raise MalformedFrame("bad object array")
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    return out.reshape(shape)


def _decode_big_int(dec: Decoder, body: Any) -> int:  # noqa: ARG001 (one signature for every codec)
    if type(body) is not str or len(body) > 4300:
        raise MalformedFrame("bad integer")
    return int(body)


# values of classes derived from built-in kinds of data (rebuilt with the class or a stand-in, see stand_in) ------
# No method of such a class runs on the decoding side: only the built-in base's constructor.

def _encode_enum(enc: Encoder, v: enum.Enum) -> dict:
    members = list(type(v).__members__.items())[:MAX_MEMBERS]
    return {"mro": mro_names(v), "name": str(v.name), "members": [[str(n), enc.value(m.value)] for n, m in members]}


def _decode_enum(dec: Decoder, body: Any) -> enum.Enum:
    body, mro = _subclass_body(body)
    members = _named(dec, body["members"])
    found, own = _nearest(mro, enum.Enum)
    cls = found if own is None else _stand_in_enum(mro, members)
    try:
        return cast(Any, cls)[str(body["name"])]
    except (KeyError, TypeError):
        raise MalformedFrame("unknown enum member") from None


def _encode_exception(enc: Encoder, v: BaseException) -> dict:
    try:
        args = enc.value(list(v.args))
    except WireError:
        args = {"L": [clip(str(a), 2000) for a in v.args[:20]]}
    return {"mro": mro_names(v), "args": args}


def _decode_exception(dec: Decoder, body: Any) -> BaseException:
    body, mro = _subclass_body(body)
    cls = stand_in(mro, BaseException)
    err = cast(Any, cls).__new__(cls)
    args = dec.value(body["args"])
    err.args = tuple(args) if isinstance(args, list) else ()
    return cast(BaseException, err)


_PLAINS: tuple[tuple[type, Any], ...] = ((str, str.__str__), (int, int.__index__), (float, float.__float__))
_SCALAR_BASES: dict[str, Any] = {"str": str, "int": int, "float": float}


def _encode_scalar_subclass(enc: Encoder, v: Any) -> dict:
    base, plain = next((b, p) for b, p in _PLAINS if isinstance(v, b))
    attrs = getattr(v, "__dict__", None)
    return {"mro": mro_names(v), "base": base.__name__, "v": enc.value(plain(v)),
            "attrs": enc.value(dict(attrs)) if attrs else None}


def _decode_scalar_subclass(dec: Decoder, body: Any) -> Any:
    body, mro = _subclass_body(body)
    scalar = _SCALAR_BASES[str(body["base"])]
    plain = dec.value(body["v"])
    if type(plain) is not scalar:
        raise MalformedFrame("bad value")
    obj = scalar.__new__(stand_in(mro, scalar), plain)
    attrs = dec.value(body["attrs"]) if body.get("attrs") is not None else None
    if isinstance(attrs, dict) and hasattr(obj, "__dict__"):
        cast(Any, obj).__dict__.update({str(k): x for k, x in attrs.items()})
    return obj


def _encode_tuple_subclass(enc: Encoder, v: tuple) -> dict:
    fields = getattr(type(v), "_fields", None)
    return {"mro": mro_names(v), "items": [enc.value(x) for x in tuple.__iter__(v)],
            "fields": [str(f) for f in fields] if isinstance(fields, tuple) else None}


def _decode_tuple_subclass(dec: Decoder, body: Any) -> tuple:
    body, mro = _subclass_body(body)
    items = dec.items(body["items"])
    fields = body.get("fields")
    near, own = _nearest(mro, tuple)
    if own is None:  # the class itself (torch.return_types.max, a namedtuple of torch)
        return cast(Any, near)._make(items) if hasattr(near, "_make") else cast(Any, near)(items)
    if near is tuple and isinstance(fields, list):
        made: Any = _stand_in_namedtuple(mro, [clip(str(f), 300) for f in fields[:MAX_MEMBERS]])
        return cast(tuple, made._make(items))
    cls = stand_in(mro, tuple)
    return tuple.__new__(cls, items) if near is tuple else cast(Any, cls)(items)


def _encode_dict_subclass(enc: Encoder, v: dict) -> dict:
    factory = enc.value(v.default_factory) if isinstance(v, collections.defaultdict) else None
    return {"mro": mro_names(v), "items": [[enc.value(k), enc.value(x)] for k, x in dict.items(v)],
            "factory": factory, "dd": isinstance(v, collections.defaultdict)}


def _decode_dict_subclass(dec: Decoder, body: Any) -> dict:
    body, mro = _subclass_body(body)
    pairs = dec.pairs(body["items"])
    cls = stand_in(mro, collections.defaultdict if body.get("dd") else dict)
    obj = cast(Any, cls).__new__(cls)
    if body.get("dd"):
        factory = dec.value(body["factory"]) if body.get("factory") is not None else None
        collections.defaultdict.__init__(obj, factory if callable(factory) else None, pairs)
    else:
        dict.__init__(obj, pairs)
    return cast(dict, obj)


_COLLECTIONS: dict[str, Any] = {"list": list, "set": set, "frozenset": frozenset}


def _encode_collection_subclass(enc: Encoder, v: Any) -> dict:
    kind = next(k for k in (list, set, frozenset) if isinstance(v, k))
    return {"mro": mro_names(v), "base": kind.__name__, "items": [enc.value(x) for x in kind.__iter__(v)]}


def _decode_collection_subclass(dec: Decoder, body: Any) -> Any:
    body, mro = _subclass_body(body)
    items = dec.items(body["items"])
    kind = _COLLECTIONS[str(body["base"])]
    cls = stand_in(mro, kind)
    if kind is frozenset:
        return frozenset.__new__(cls, items)
    obj = cast(Any, cls).__new__(cls)
    kind.__init__(obj, items)
    return obj


def _encode_dataclass(enc: Encoder, v: Any) -> dict:
    params = getattr(type(v), "__dataclass_params__", None)
    return {"mro": mro_names(v), "eq": bool(getattr(params, "eq", True)),
            "frozen": bool(getattr(params, "frozen", False)),
            "fields": [[f.name, enc.value(getattr(v, f.name))] for f in dataclasses.fields(v)]}


def _decode_dataclass(dec: Decoder, body: Any) -> Any:
    body, mro = _subclass_body(body)
    fields = _named(dec, body["fields"])
    if not all(n.isidentifier() and not n.startswith("_") for n, _ in fields):
        raise MalformedFrame("bad dataclass field")
    cls = _stand_in_dataclass(mro, [n for n, _ in fields], bool(body.get("eq", True)), bool(body.get("frozen")))
    obj: Any = object.__new__(cls)
    for n, x in fields:
        object.__setattr__(obj, n, x)
    return obj


# names, handles and files ----------------------------------------------------------------------------------------

def _is_returning_handle(enc: Encoder, v: Any) -> bool:
    """A proxy of an object of the other side, going back there (the ``ref`` codec)."""
    if not hasattr(type(v), "_kata_is_remote"):
        return False
    remote = vars(v).get("_kata_remote_key")
    return isinstance(remote, str) and enc.table.handles.get(remote) is v


def _decode_returning_handle(dec: Decoder, body: Any) -> Any:
    obj = dec.table.own_handles.get(body) if isinstance(body, str) else None
    if obj is None:
        raise MalformedFrame("unknown handle")
    return obj


def _decode_class(dec: Decoder, body: Any) -> type:  # noqa: ARG001 (one signature for every codec)
    cls = resolve(body)
    if not isinstance(cls, type):
        raise MalformedFrame("not a class")
    return cls


def _is_named_function(enc: Encoder, v: Any) -> bool:  # noqa: ARG001 (one signature for every codec)
    if not callable(v) or not getattr(v, "__module__", None) or isinstance(v, type) or not hasattr(v, "__qualname__"):
        return False
    try:
        return bool(resolve(qualified_name(v)) is v)
    except WireError:
        return False


def _is_allowed_object(enc: Encoder, v: Any) -> bool:  # noqa: ARG001 (one signature for every codec)
    return not isinstance(v, (type, types.ModuleType)) and is_allowed_class(type(v)) and hasattr(v, "__dict__")


def _decode_handle(dec: Decoder, body: Any) -> Any:
    body = _map(body, "a handle")
    key = body["key"]
    if not isinstance(key, str):
        raise MalformedFrame("bad handle key")
    known = dec.table.handles.get(key)
    if known is None:
        if dec.table.handle_factory is None:
            raise MalformedFrame("handles are not accepted here")
        known = dec.table.handle_factory(Handle(key, [clip(str(m), 300) for m in _list(body["mro"])[:50]],
                                                clip(str(body["repr"]), 2000)))
        dec.table.handles[key] = known
    return known


def _decode_path(dec: Decoder, body: Any) -> Any:
    if dec.file_map is None:
        raise MalformedFrame("paths are not accepted here")
    return dec.file_map(body)


def _keyed(dec: Decoder, body: Any) -> Any:
    return dec.keyed(body)


CODECS: tuple[Codec, ...] = (
    # exact types
    Codec("L", _encode_items, lambda dec, body: dec.items(body), types=(list,)),
    Codec("T", _encode_items, lambda dec, body: tuple(dec.items(body)), types=(tuple,)),
    Codec("D", lambda enc, v: _encode_pairs(enc, v.items()), lambda dec, body: dict(dec.pairs(body)), types=(dict,)),
    Codec("OD", lambda enc, v: _encode_pairs(enc, v.items()),
          lambda dec, body: collections.OrderedDict(dec.pairs(body)), types=(collections.OrderedDict,)),
    Codec("DD", lambda enc, v: [v.default_factory.__name__, _encode_pairs(enc, v.items())], _decode_defaultdict,
          types=(collections.defaultdict,), test=lambda enc, v: v.default_factory in (dict, list, int, set)),
    Codec("S", _encode_items, lambda dec, body: set(dec.items(body)), types=(set,)),
    Codec("FS", _encode_items, lambda dec, body: frozenset(dec.items(body)), types=(frozenset,)),
    Codec("I", lambda enc, v: str(v), _decode_big_int, types=(int,)),  # beyond 64 bits (smaller ones are plain)
    Codec("B", lambda enc, v: enc.buffer(bytes(v)), lambda dec, body: bytes(dec.buffer(body)),
          types=(bytes, bytearray)),
    Codec("Size", lambda enc, v: list(v), lambda dec, body: torch.Size([int(x) for x in _list(body)]),
          types=(torch.Size,)),
    Codec("dtype", lambda enc, v: str(v).removeprefix("torch."), lambda dec, body: _DTYPES[body],
          types=(torch.dtype,)),
    Codec("device", lambda enc, v: str(v), lambda dec, body: torch.device(body), types=(torch.device,)),
    Codec("tattr", lambda enc, v: str(v).removeprefix("torch."), _decode_torch_attribute,
          types=(torch.layout, torch.memory_format)),
    Codec("slice", lambda enc, v: [enc.value(v.start), enc.value(v.stop), enc.value(v.step)],
          lambda dec, body: slice(*dec.items(body)), types=(slice,)),
    Codec("Ellipsis", lambda enc, v: 1, lambda dec, body: Ellipsis, types=(type(Ellipsis),)),
    # by test, in this order
    Codec("ref", lambda enc, v: vars(v)["_kata_remote_key"], _decode_returning_handle, test=_is_returning_handle),
    Codec("t", lambda enc, v: enc.tensor(v), _keyed, test=lambda enc, v: isinstance(v, torch.Tensor)),
    Codec("a", lambda enc, v: enc.array(v), _keyed,
          test=lambda enc, v: isinstance(v, np.ndarray) and v.dtype.kind in ARRAY_KINDS),
    Codec("npdtype", lambda enc, v: v.str if v.names is None else str(v), lambda dec, body: np.dtype(str(body)),
          test=lambda enc, v: isinstance(v, np.dtype)),
    Codec("npscalar", _encode_numpy_scalar, _decode_numpy_scalar,
          test=lambda enc, v: isinstance(v, np.generic) and v.dtype.kind in ARRAY_KINDS),
    Codec("oa", lambda enc, v: {"shape": list(v.shape), "items": _encode_items(enc, v.reshape(-1).tolist())},
          _decode_object_array,
          test=lambda enc, v: isinstance(v, np.ndarray) and v.dtype == object and v.size <= MAX_OBJECT_ITEMS),
    Codec("enum", _encode_enum, _decode_enum, test=lambda enc, v: isinstance(v, enum.Enum)),
    Codec("exc", _encode_exception, _decode_exception, test=lambda enc, v: isinstance(v, BaseException)),
    Codec("sub", _encode_scalar_subclass, _decode_scalar_subclass,
          test=lambda enc, v: isinstance(v, (str, int, float))),
    Codec("tsub", _encode_tuple_subclass, _decode_tuple_subclass, test=lambda enc, v: isinstance(v, tuple)),
    Codec("dsub", _encode_dict_subclass, _decode_dict_subclass, test=lambda enc, v: isinstance(v, dict)),
    Codec("csub", _encode_collection_subclass, _decode_collection_subclass,
          test=lambda enc, v: isinstance(v, (list, set, frozenset))),
    Codec("dc", _encode_dataclass, _decode_dataclass, test=lambda enc, v: _is_plain_dataclass(v)),
    Codec("gen", lambda enc, v: enc.generator(v), _keyed, test=lambda enc, v: isinstance(v, torch.Generator)),
    Codec("path", lambda enc, v: cast(Callable[[Any], Any], enc.file_map)(v), _decode_path,
          test=lambda enc, v: enc.file_map is not None and (isinstance(v, pathlib.PurePath)
                                                              or getattr(type(v), "_kata_path", False))),
    Codec("cls", lambda enc, v: qualified_name(v), _decode_class, test=lambda enc, v: isinstance(v, type) and is_allowed_class(v)),
    Codec("fn", lambda enc, v: qualified_name(v), lambda dec, body: resolve(body), test=_is_named_function),
    Codec("o", lambda enc, v: enc.generic(v), _keyed, test=_is_allowed_object),
    Codec("h", lambda enc, v: enc.handle(v), _decode_handle, test=lambda enc, v: enc.allow_handles),
)
CODECS_BY_TAG: dict[str, Codec] = {c.tag: c for c in CODECS}
_BY_TYPE: dict[type, Codec] = {t: c for c in CODECS for t in c.types}
_BY_TEST: tuple[Codec, ...] = tuple(c for c in CODECS if not c.types)
assert len(CODECS_BY_TAG) == len(CODECS), "two codecs with one tag"


def codec_for(enc: Encoder, v: Any) -> Codec:
    """The entry of :data:`CODECS` that encodes ``v``."""
    codec = _BY_TYPE.get(type(v))
    if codec is not None and (codec.test is None or codec.test(enc, v)):
        return codec
    for codec in _BY_TEST:
        if cast(Callable[[Encoder, Any], bool], codec.test)(enc, v):
            return codec
    raise WireError(f"{type(v).__module__}.{type(v).__qualname__} cannot cross the grading boundary")
