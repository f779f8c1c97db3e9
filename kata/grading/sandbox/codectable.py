"""The codec table: one entry per kind of value that is not plain data, with its tag, which values it takes on the
sending side, how its body is written there and how it is read back on the other side.
"""
from __future__ import annotations

import collections
import dataclasses
import enum
import pathlib
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from kata.grading.sandbox.classes import (
    DTYPES,
    is_allowed_class,
    is_plain_dataclass,
    mro_names,
    nearest,
    qualified_name,
    resolve,
    stand_in,
    stand_in_dataclass,
    stand_in_enum,
    stand_in_namedtuple,
)
from kata.grading.sandbox.framing import (
    ARRAY_KINDS,
    INT_RANGE,
    MAX_MEMBERS,
    MAX_OBJECT_ITEMS,
    MalformedFrame,
    WireError,
    as_list,
    as_map,
    clip,
)
from kata.grading.sandbox.objecttable import Handle

if TYPE_CHECKING:
    from kata.grading.sandbox.wire import Decoder, Encoder


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
    # Plain items as Encoder.value returns them, without a call each: lists and tuples of numbers are common.
    lo, hi = INT_RANGE
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
    for pair in as_list(pairs)[:MAX_MEMBERS]:
        name, x = as_list(pair, "a pair")
        out.append((clip(str(name), 300), dec.value(x)))
    return out


def _subclass_body(body: Any) -> tuple[dict, list[str]]:
    """The body of a value of a class derived from a built-in kind, and the names of that class's bases."""
    body = as_map(body, "a subclass's body")
    return body, [str(m) for m in as_list(body.get("mro"), "a class's bases")]


# plain containers and torch's small types ------------------------------------------------------------------------

_FACTORIES: dict[str, Any] = {"dict": dict, "list": list, "int": int, "set": set}


def _decode_defaultdict(dec: Decoder, body: Any) -> collections.defaultdict:
    factory, items = as_list(body)
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
    name, index = as_list(body)
    dtype = np.dtype(str(name))
    if dtype.kind not in ARRAY_KINDS:
        raise MalformedFrame("bad numpy scalar")
    return np.frombuffer(dec.buffer(index), dtype=dtype, count=1)[0]


def _decode_object_array(dec: Decoder, body: Any) -> np.ndarray:
    body = as_map(body, "an object array")
    shape = tuple(int(x) for x in as_list(body["shape"]))
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
    found, own = nearest(mro, enum.Enum)
    cls = found if own is None else stand_in_enum(mro, members)
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
    near, own = nearest(mro, tuple)
    if own is None:  # the class itself (torch.return_types.max, a namedtuple of torch)
        return cast(Any, near)._make(items) if hasattr(near, "_make") else cast(Any, near)(items)
    if near is tuple and isinstance(fields, list):
        made: Any = stand_in_namedtuple(mro, [clip(str(f), 300) for f in fields[:MAX_MEMBERS]])
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
    cls = stand_in_dataclass(mro, [n for n, _ in fields], bool(body.get("eq", True)), bool(body.get("frozen")))
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
    body = as_map(body, "a handle")
    key = body["key"]
    if not isinstance(key, str):
        raise MalformedFrame("bad handle key")
    known = dec.table.handles.get(key)
    if known is None:
        if dec.table.handle_factory is None:
            raise MalformedFrame("handles are not accepted here")
        known = dec.table.handle_factory(Handle(key, [clip(str(m), 300) for m in as_list(body["mro"])[:50]],
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
    Codec("Size", lambda enc, v: list(v), lambda dec, body: torch.Size([int(x) for x in as_list(body)]),
          types=(torch.Size,)),
    Codec("dtype", lambda enc, v: str(v).removeprefix("torch."), lambda dec, body: DTYPES[body],
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
    Codec("dc", _encode_dataclass, _decode_dataclass, test=lambda enc, v: is_plain_dataclass(v)),
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
CODECS_BY_TYPE: dict[type, Codec] = {t: c for c in CODECS for t in c.types}
_BY_TEST: tuple[Codec, ...] = tuple(c for c in CODECS if not c.types)
assert len(CODECS_BY_TAG) == len(CODECS), "two codecs with one tag"


def codec_for(enc: Encoder, v: Any) -> Codec:
    """The entry of :data:`CODECS` that encodes ``v``."""
    codec = CODECS_BY_TYPE.get(type(v))
    if codec is not None and (codec.test is None or codec.test(enc, v)):
        return codec
    for codec in _BY_TEST:
        if cast("Callable[[Encoder, Any], bool]", codec.test)(enc, v):
            return codec
    raise WireError(f"{type(v).__module__}.{type(v).__qualname__} cannot cross the grading boundary")
