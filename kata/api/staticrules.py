"""Op rules read from the source text: what counts in ``kata grade`` as it does when learning.

    from kata.api.staticrules import forbid_in_source
    forbid_in_source(sub, "my_tanh", TANH_RULE, torch.tanh, torch.Tensor.tanh, F.tanh, nn.Tanh, ...)

The learner's file is parsed with :mod:`ast` (never imported or run here) and the definition of the exercise, with
every module-level name it uses (helpers, aliases, imports), is searched for:

- **forbidden names**: any expression that names a forbidden function or class, however it is spelled: through an
  import alias (``import torch.nn.functional as F``; ``from torch import tanh as t``), an assignment (``T = torch``),
  a parameter's default, ``getattr(torch, "tanh")``, or another path to the same object (``torch.special.expit``,
  ``torch.ops.aten.tanh``, ``torch._C._VariableFunctions.tanh``: a torch path with a forbidden function's name);
- **forbidden methods**: a forbidden tensor method on anything not known to be something else (``x.tanh()``);
- **dynamic lookups**, which could hide a forbidden name: ``getattr``/``setattr``/``hasattr`` with a name that is not
  a literal, ``eval``, ``exec``, ``compile``, ``__import__``, ``globals``, ``locals``, ``vars``, ``importlib``,
  ``pickle``, ``marshal``, ``ctypes``, ``inspect``, ``operator.attrgetter``/``methodcaller``, ``sys.modules``,
  attributes such as ``__dict__`` and ``__getattribute__``, and changes of torch's own attributes anywhere in the
  file (``torch.exp = torch.tanh``);
- **loops**, where the rule forbids them: ``for``, ``while`` and comprehensions.

The same function gives the verdict in learning mode (the file on disk) and in grading mode (the bytes the sandbox
worker runs, held by the trusted process), so the verdicts agree and the rule counts in both.  Observing the calls
at run time (:mod:`kata.api.oprules`) stays advice in grading: it happens inside the learner's process.
"""
from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kata import messages
from kata.api.compare import fail
from kata.status import Attribute

__all__ = ["Finding", "Rule", "Source", "findings", "forbid_in_source", "source_of"]


@dataclass(frozen=True)
class Source:
    """A learner's file as text: its name as verdicts show it, and where the definition under test starts (a
    catalogued wrong answer, defined in a file of many); without ``line`` the last module-level binding of the
    exercise's name is read, as Python would bind it."""
    text: str
    filename: str
    line: int | None = None


@dataclass(frozen=True)
class Finding:
    line: int
    kind: str  # "name", "method", "dynamic", "loop"
    text: str  # what was found, as written


@dataclass
class Rule:
    """What one exercise forbids: objects (functions, classes), the tensor methods among them, and loops."""
    objects: tuple[Any, ...] = ()
    loops: bool = False
    methods: frozenset[str] = field(default_factory=frozenset)
    names: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *objects: Any, loops: bool = False, methods: Iterable[str] | None = None) -> Rule:
        import torch

        own = {n for n in (_name(o) for o in objects) if n and getattr(torch.Tensor, n, None) is not None
               and any(getattr(torch.Tensor, n, None) is o for o in objects)}
        return cls(tuple(objects), loops, frozenset(own if methods is None else methods),
                   frozenset(n for n in (_normal(_name(o)) for o in objects) if n))

    def forbids(self, path: str) -> bool:
        """Whether the dotted ``path`` names a forbidden object (or, under torch, one of a forbidden name)."""
        obj, parents = _lookup(path)
        if obj is not _MISSING and any(obj is o for o in self.objects):
            return True
        parts = path.split(".")
        if parts[0] != "torch":
            return False
        import torch

        for i, part in enumerate(parts[1:], start=1):
            if _normal(part) in self.names:
                # The class torch.Tensor (in every annotation) is not the function torch.tensor of the same name.
                if i < len(parents) and parents[i] is torch.Tensor and not any(o is torch.Tensor for o in self.objects):
                    continue
                parent = parents[i - 1] if i - 1 < len(parents) else _MISSING
                # A method of a class other than Tensor (Generator.manual_seed) is not the module function.
                if isinstance(parent, type) and not issubclass(parent, torch.Tensor):
                    continue
                return True
        return False


def _name(obj: Any) -> str:
    return str(getattr(obj, "__name__", "") or "")


def _normal(name: str) -> str:
    return name.lower().rstrip("_")


_MISSING = object()
#: Modules whose attributes are looked up (never imported here: only those already imported).
_LOOKUP_ROOTS = ("torch", "numpy", "builtins", "math", "operator", "collections", "functools", "random")


def _lookup(path: str) -> tuple[Any, list[Any]]:
    """The object a dotted path names, from modules this process has already imported, and the objects along it."""
    parts = path.split(".")
    if parts[0] not in _LOOKUP_ROOTS:
        return _MISSING, []
    obj: Any = sys.modules.get(parts[0]) if parts[0] != "builtins" else builtins
    if obj is None:
        return _MISSING, []
    chain = [obj]
    for i, part in enumerate(parts[1:], start=1):
        module = sys.modules.get(".".join(parts[:i + 1]))
        try:
            obj = module if module is not None else getattr(obj, part)
        except Exception:
            return _MISSING, chain
        chain.append(obj)
    return obj, chain


#: Names whose use could hide a forbidden name (dotted paths; a path below one counts too).
DYNAMIC = ("builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__", "builtins.globals",
           "builtins.locals", "builtins.vars", "builtins.breakpoint", "importlib", "pickle", "marshal", "ctypes",
           "inspect", "runpy", "code", "codeop", "types.FunctionType", "types.CodeType", "types.ModuleType",
           "operator.attrgetter", "operator.methodcaller", "sys.modules", "sys._getframe", "torch.compiler",
           "torch.overrides", "torch.library", "torch.jit", "torch.fx", "torch.utils.cpp_extension")
#: Attributes that reach an object's namespace around its ordinary attribute lookup.
DYNAMIC_ATTRIBUTES = frozenset({"__dict__", "__getattribute__", "__getattr__", "__globals__", "__builtins__",
                                "__subclasses__", "__import__", "__loader__", "__spec__", "__code__", "__closure__",
                                "__func__", "__self__", "__wrapped__", "__reduce__", "__reduce_ex__"})
_ATTR_FUNCTIONS = ("builtins.getattr", "builtins.setattr", "builtins.hasattr", "builtins.delattr")
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_LOOP_WORDS = {ast.For: "for", ast.AsyncFor: "async for", ast.While: "while", ast.ListComp: messages.COMPREHENSION,
               ast.SetComp: messages.COMPREHENSION, ast.DictComp: messages.COMPREHENSION,
               ast.GeneratorExp: messages.GENERATOR_EXPRESSION}


# -- bindings ------------------------------------------------------------------------------------------------------

_UNKNOWN = "?"  # a binding whose value cannot be known from the text (a parameter, a call's result)


class _Scope:
    """Every binding of every name in the code read (flow-insensitive: a name bound twice may be either)."""

    def __init__(self) -> None:
        self.bindings: dict[str, list[Any]] = {}
        self.star: list[str] = []  # modules of ``from M import *``

    def bind(self, name: str, value: Any) -> None:
        self.bindings.setdefault(name, []).append(value)

    def collect(self, node: ast.AST, module_level: bool) -> None:
        """The bindings made by ``node`` (walked; at module level not into functions and classes)."""
        for child in _walk(node, into_defs=not module_level):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.asname:
                        self.bind(alias.asname, ("path", alias.name))
                    else:
                        top = alias.name.split(".")[0]
                        self.bind(top, ("path", top))
            elif isinstance(child, ast.ImportFrom):
                base = "." * child.level + (child.module or "")
                for alias in child.names:
                    if alias.name == "*":
                        self.star.append(base)
                    else:
                        self.bind(alias.asname or alias.name, ("path", f"{base}.{alias.name}"))
            elif isinstance(child, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                value = child.value
                for target in targets:
                    for name, part in _targets(target, value):
                        self.bind(name, ("expr", part) if part is not None else _UNKNOWN)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.bind(child.name, ("def", child))
                if not isinstance(child, ast.ClassDef) and not module_level:  # parameters are local names
                    self._parameters(child.args)
            elif isinstance(child, ast.Lambda) and not module_level:
                self._parameters(child.args)
            elif isinstance(child, (ast.For, ast.AsyncFor, ast.comprehension)):
                for name, _ in _targets(child.target, None):
                    self.bind(name, _UNKNOWN)
            elif isinstance(child, (ast.With, ast.AsyncWith)):
                for item in child.items:
                    if item.optional_vars is not None:
                        for name, _ in _targets(item.optional_vars, None):
                            self.bind(name, _UNKNOWN)
            elif isinstance(child, ast.ExceptHandler) and child.name:
                self.bind(child.name, _UNKNOWN)
            elif isinstance(child, (ast.Global, ast.Nonlocal)):
                pass

    def _parameters(self, args: ast.arguments) -> None:
        positional = args.posonlyargs + args.args
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        for arg, default in zip(positional, defaults):
            self.bind(arg.arg, ("expr", default) if default is not None else _UNKNOWN)
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
            self.bind(arg.arg, ("expr", kw_default) if kw_default is not None else _UNKNOWN)
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                self.bind(extra.arg, _UNKNOWN)


def _targets(target: ast.AST, value: ast.AST | None) -> Iterator[tuple[str, ast.AST | None]]:
    """(name, the part of ``value`` bound to it or None) for each name an assignment target binds."""
    if isinstance(target, ast.Name):
        yield target.id, value
    elif isinstance(target, (ast.Tuple, ast.List)):
        parts = value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) \
            else [None] * len(target.elts)
        for t, v in zip(target.elts, parts):
            yield from _targets(t, v)
    elif isinstance(target, ast.Starred):
        yield from _targets(target.value, None)


def _walk(node: ast.AST, into_defs: bool = True) -> Iterator[ast.AST]:
    """``ast.walk`` in source order; at module level (``into_defs`` False) not into the bodies of functions and
    classes (their decorators, defaults and bases are walked)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if not into_defs and isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            # Its head only: a function's local names are not module bindings (another function's `a = a.copy()`
            # must not stand for the parameter `a` of the exercise read).
            stack.extend(reversed(_head_of(current)))
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(current))))


def _head_of(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda) -> list[ast.AST]:
    """What a definition evaluates where it stands: decorators, defaults, bases and keywords (not its body)."""
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *node.keywords]
    defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    return [*getattr(node, "decorator_list", []), *defaults]


# -- reading -------------------------------------------------------------------------------------------------------

class _Reader:
    def __init__(self, tree: ast.Module, rule: Rule):
        self.tree = tree
        self.rule = rule
        self.module = _Scope()
        for statement in tree.body:
            self.module.collect(statement, module_level=True)
        self.scope = _Scope()  # the module's bindings and those inside the code read
        self.scope.bindings = {k: list(v) for k, v in self.module.bindings.items()}
        self.scope.star = list(self.module.star)
        self.found: list[Finding] = []
        self.read_nodes: set[int] = set()

    # resolution ----------------------------------------------------------------------------------------------------
    def paths(self, node: ast.AST | None, depth: int = 0) -> tuple[set[str], bool]:
        """The dotted paths an expression may name, and whether it may also be something unknown."""
        if node is None or depth > 30:
            return set(), True
        if isinstance(node, ast.Name):
            return self.name_paths(node.id, depth)
        if isinstance(node, ast.Attribute):
            base, unknown = self.paths(node.value, depth + 1)
            return {f"{p}.{node.attr}" for p in base}, unknown
        if isinstance(node, ast.Call) and self._is_attr_function(node, "builtins.getattr", depth) \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            base, unknown = self.paths(node.args[0], depth + 1)
            return {f"{p}.{node.args[1].value}" for p in base}, unknown
        if isinstance(node, (ast.IfExp,)):
            a, ua = self.paths(node.body, depth + 1)
            b, ub = self.paths(node.orelse, depth + 1)
            return a | b, ua or ub
        if isinstance(node, ast.BoolOp):
            out: set[str] = set()
            unknown = False
            for value in node.values:
                p, u = self.paths(value, depth + 1)
                out |= p
                unknown = unknown or u
            return out, unknown
        if isinstance(node, ast.NamedExpr):
            return self.paths(node.value, depth + 1)
        return set(), True

    def name_paths(self, name: str, depth: int) -> tuple[set[str], bool]:
        bound = self.scope.bindings.get(name)
        if not bound:
            if hasattr(builtins, name):
                return {f"builtins.{name}"}, False
            if self.scope.star:
                return {f"{m}.{name}" for m in self.scope.star}, True
            return set(), True
        out: set[str] = set()
        unknown = False
        for value in bound:
            if value == _UNKNOWN or (isinstance(value, tuple) and value[0] == "def"):
                unknown = True
            elif value[0] == "path":
                out.add(value[1])
            else:
                p, u = self.paths(value[1], depth + 1)
                out |= p
                unknown = unknown or u
        return out, unknown

    def _is_attr_function(self, node: ast.Call, which: str, depth: int = 0) -> bool:
        paths, _ = self.paths(node.func, depth + 1)
        return which in paths

    # reading -------------------------------------------------------------------------------------------------------
    def add(self, node: ast.AST, kind: str, text: str) -> None:
        self.found.append(Finding(getattr(node, "lineno", 0), kind, text))

    def read(self, node: ast.AST) -> None:
        """Search ``node`` and everything it uses from the module."""
        pending = [node]
        while pending:
            current = pending.pop()
            if id(current) in self.read_nodes:
                continue
            self.read_nodes.add(id(current))
            self.scope.collect(current, module_level=False)
            for child in _walk(current):
                self.visit(child)
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                    for value in self.module.bindings.get(child.id, []):
                        if (isinstance(value, tuple) and value[0] == "def") or (isinstance(value, tuple) and value[0] == "expr" and value[1] is not None):
                            pending.append(value[1])

    def visit(self, node: ast.AST) -> None:
        rule = self.rule
        if rule.loops and isinstance(node, _LOOPS):
            self.add(node, "loop", _LOOP_WORDS[type(node)])
        literal_getattr = isinstance(node, ast.Call) and len(node.args) >= 2 \
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str) \
            and self._is_attr_function(node, "builtins.getattr")
        if (isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load)) or literal_getattr:
            paths, unknown = self.paths(node)
            for path in sorted(paths):
                if rule.forbids(path):
                    self.add(node, "name", _text(node))
                    return
                if any(path == d or path.startswith(d + ".") for d in DYNAMIC):
                    self.add(node, "dynamic", _text(node))
                    return
            if literal_getattr:
                pass
            elif isinstance(node, ast.Attribute):
                if node.attr in DYNAMIC_ATTRIBUTES:
                    self.add(node, "dynamic", _text(node))
                elif node.attr in rule.methods and (unknown or not paths):
                    self.add(node, "method", _text(node))
        if isinstance(node, ast.Call):
            for which in _ATTR_FUNCTIONS:
                if self._is_attr_function(node, which):
                    name = node.args[1] if len(node.args) >= 2 else None
                    if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                        self.add(node, "dynamic", f"{which.split('.')[-1]}(…)")
                    elif which != "builtins.getattr":
                        self._attribute_by_name(node, node.args[0], name.value)
                    elif name.value in DYNAMIC_ATTRIBUTES:
                        self.add(node, "dynamic", f"getattr(…, {name.value!r})")
                    else:
                        base, unknown = self.paths(node.args[0])
                        if name.value in rule.methods and (unknown or not base):
                            self.add(node, "method", f"getattr(…, {name.value!r})")

    def _attribute_by_name(self, node: ast.AST, base_node: ast.AST, name: str) -> None:
        base, _ = self.paths(base_node)
        if any(p.split(".")[0] in ("torch", "numpy") for p in base):
            self.add(node, "dynamic", f"setattr/delattr(…, {name!r})")

    def changes_of_torch(self) -> None:
        """Assignments to torch's own functions, classes and modules anywhere in the file (``torch.exp =
        torch.tanh``, ``torch.x = torch.tanh``); settings that hold plain data (``torch.backends.cudnn.benchmark =
        False``) are no way to hide a function."""
        for node in ast.walk(self.tree):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif isinstance(node, ast.Delete):
                targets = list(node.targets)
            for target in targets:
                if isinstance(target, ast.Attribute):
                    base, _ = self.paths(target.value)
                    for path in base:
                        if path.split(".")[0] not in ("torch", "numpy", "builtins"):
                            continue
                        current, _ = _lookup(f"{path}.{target.attr}")
                        if not isinstance(current, (bool, int, float, str, type(None))):
                            self.add(target, "dynamic", _text(target) + " = …")
                            break


def _text(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:
        text = type(node).__name__
    return text if len(text) <= 80 else text[:79] + "…"


def _definition(tree: ast.Module, name: str, line: int | None) -> ast.AST | None:
    """The node that defines the exercise: the definition starting at ``line``, else the last top-level binding."""
    if line is not None:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                if line in (first, node.lineno):
                    return node
        return None
    found: ast.AST | None = None
    for statement in tree.body:
        for child in _walk(statement, into_defs=False):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child.name == name:
                found = child
            elif isinstance(child, (ast.Assign, ast.AnnAssign)):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    for bound, part in _targets(target, child.value):
                        if bound == name:
                            found = part if part is not None else child
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                for alias in child.names:
                    if (alias.asname or alias.name.split(".")[0]) == name:
                        found = ast.Name(id=name, ctx=ast.Load(), lineno=child.lineno, col_offset=0)
    return found


def findings(source: Source, name: str, rule: Rule) -> list[Finding]:
    """What the rule forbids, found in the definition of ``name`` and what it uses (empty for text that does not
    parse: importing it fails, and that is the verdict)."""
    try:
        tree = ast.parse(source.text, filename=source.filename)
    except (SyntaxError, ValueError):
        return []
    reader = _Reader(tree, rule)
    node = _definition(tree, name, source.line)
    if node is None:
        return []
    if isinstance(node, ast.Name):  # bound by an import: the name itself is what is used
        reader.visit(node)
    else:
        reader.read(node)
    reader.changes_of_torch()
    seen: set[tuple[int, str, str]] = set()
    out = []
    for f in sorted(reader.found, key=lambda f: (f.line, f.kind, f.text)):
        if (f.line, f.kind, f.text) not in seen:
            seen.add((f.line, f.kind, f.text))
            out.append(f)
    return out


# -- the check -------------------------------------------------------------------------------------------------------

def source_of(sub: Any) -> Source | None:
    """The source text of the module under test (``sub``), as the trusted process holds it."""
    if isinstance(sub, Source):
        return sub
    getter: Callable[[], Source | None] | None = getattr(sub, "_source", None) if sub is not None else None
    return getter() if callable(getter) else None


def forbid_in_source(sub: Any, name: str, rule: str, *forbidden: Any, loops: bool = False,
                     methods: Iterable[str] | None = None) -> None:
    """Fail the check if the source of ``name`` (and what it uses) names any of ``forbidden``, looks names up at run
    time, or (``loops``) loops.  ``rule`` is the Japanese name of what the exercise forbids."""
    __tracebackhide__ = True
    source = source_of(sub)
    if source is None:
        return
    found = findings(source, name, Rule.of(*forbidden, loops=loops, methods=methods))
    if not found:
        return
    first = found[0]
    where = messages.SOURCE_PLACE.format(file=Path(source.filename).name, line=first.line)
    template = {"dynamic": messages.FORBIDDEN_DYNAMIC, "loop": messages.FORBIDDEN_LOOP}.get(first.kind,
                                                                                           messages.FORBIDDEN_NAME)
    same = [f.text for f in found if f.kind == first.kind]
    fail(Attribute.FORBIDDEN, template, None, op=rule, used=", ".join(dict.fromkeys(same)), where=where)
