"""Classes and functions by name across the grading boundary: which modules may be named, how a name is resolved
(never by running code of the other side), and the stand-in classes that take the place of a class the trusted side
does not have (a learner's enum, named tuple or dataclass).
"""
from __future__ import annotations

import builtins
import collections
import dataclasses
import enum
import importlib
import types
from collections.abc import Callable
from typing import Any, cast

import torch

from kata.grading.sandbox.framing import WireError, clip

#: Modules whose classes and functions may be rebuilt from their names.
ALLOWED_MODULES = ("torch", "numpy", "kata.api.portable", "collections", "builtins", "functools", "math", "operator",
                   "enum")
ALLOWED_BUILTINS = {"dict", "list", "tuple", "set", "int", "float", "str", "bool", "bytes", "object", "len", "abs",
                    "min", "max", "sum", "frozenset"}



#: Built-in exception classes, rebuilt by name (they run no code of the other side).
BUILTIN_EXCEPTIONS = {name: obj for name, obj in vars(builtins).items()
                      if isinstance(obj, type) and issubclass(obj, BaseException)}
#: Built-in kinds of callable and generator, by the name their class has (not importable from ``builtins``).
BUILTIN_KINDS: dict[str, type] = {"function": types.FunctionType, "method": types.MethodType,
                                  "generator": types.GeneratorType,
                                  "builtin_function_or_method": types.BuiltinFunctionType}



DTYPES = {str(d).removeprefix("torch."): d for d in vars(torch).values() if isinstance(d, torch.dtype)}




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


def nearest(mro: list[str], base: type) -> tuple[type, str | None]:
    """The first class of ``mro`` that resolves here and derives from ``base`` (``base`` if none), and the name of
    the class the value really has when that one does not resolve (a learner's class)."""
    own = None
    for name in mro:
        found: Any = None
        if name.startswith("builtins:") and name[9:] in BUILTIN_EXCEPTIONS:
            found = BUILTIN_EXCEPTIONS[name[9:]]
        elif name.startswith("builtins:") and name[9:] in BUILTIN_KINDS:
            found = BUILTIN_KINDS[name[9:]]
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
        found, own = nearest(mro, base)
        if own is None:
            return found
        module, qual, name = _names(own)
        try:
            return type(name, (found,), {"__module__": module, "__qualname__": qual})
        except TypeError:  # a base that cannot be subclassed (bool, a final torch type)
            return found

    return cast(type, _cached((tuple(mro), base), make))


def stand_in_enum(mro: list[str], members: list[tuple[str, Any]]) -> type[enum.Enum]:
    mro = _clipped(mro)

    def make() -> type:
        found, own = nearest(mro, enum.Enum)
        if own is None:
            raise WireError("an enum class without members of its own")
        module, qual, name = _names(own)
        return cast(Any, found)(name, list(members), module=module, qualname=qual)

    return cast(type[enum.Enum], _cached((tuple(mro), tuple((n, repr(v)) for n, v in members)), make))


def stand_in_namedtuple(mro: list[str], fields: list[str]) -> type:
    mro = _clipped(mro)

    def make() -> type:
        module, qual, name = _names(mro[0] if mro else "learner:Learner")
        made: Any = collections.namedtuple(name, fields, rename=True, module=module)  # type: ignore[misc]
        made.__qualname__ = qual
        return cast(type, made)

    return cast(type, _cached((tuple(mro), tuple(fields), "namedtuple"), make))


def stand_in_dataclass(mro: list[str], fields: list[str], eq: bool, frozen: bool) -> type:
    mro = _clipped(mro)

    def make() -> type:
        module, qual, name = _names(mro[0] if mro else "learner:Learner")
        return dataclasses.make_dataclass(name, fields, eq=eq, frozen=frozen,
                                          namespace={"__module__": module, "__qualname__": qual})

    return cast(type, _cached((tuple(mro), tuple(fields), eq, frozen, "dataclass"), make))


def is_plain_dataclass(v: Any) -> bool:
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
