"""The engine's import graph, read from the source (``ast``), not by importing anything.

- No import cycle between the modules of ``kata/`` (module-level imports; an import inside a function runs only when
  it is called and is how a cheap module reaches an expensive one).
- The grading parent stays torch-, NumPy- and pytest-free: ``kata grade``'s own process (``kata.grading``), the
  zygote launcher, the vocabulary and the class grader import none of them at module level, directly or through any
  ``kata`` module they import (and the packages those live in).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

KATA = Path(__file__).resolve().parent.parent / "kata"
#: What the grading parent must never import at module level.
HEAVY = {"torch", "numpy", "pytest", "_pytest"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(KATA.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(KATA.rglob("*.py")) if "__pycache__" not in p.parts}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _module_level(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: top level, in module-level ``if``/``try``/``with`` blocks and
    class bodies, not in functions; ``if TYPE_CHECKING:`` blocks are left out."""
    out: list[ast.Import | ast.ImportFrom] = []

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                out.append(node)
            elif isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if test not in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                    walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try | ast.TryStar):
                walk(node.body)
                for handler in node.handlers:
                    walk(handler.body)
                walk(node.orelse)
                walk(node.finalbody)
            elif isinstance(node, ast.With | ast.ClassDef):
                walk(node.body)

    walk(tree.body)
    return out


def _imports(name: str) -> tuple[set[str], set[str]]:
    """``(kata modules, other top-level packages)`` that module ``name`` imports at module level."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    internal: set[str] = set()
    external: set[str] = set()
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in _module_level(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from kata import compare` imports the submodule kata.compare; `from kata.x import y` imports kata.x
            # (and kata.x.y when that is a submodule).
            submodules = [f"{origin}.{alias.name}" for alias in node.names if f"{origin}.{alias.name}" in MODULES]
            targets = [origin, *submodules]
        for target in targets:
            if target == "kata" or target.startswith("kata."):
                if target in MODULES:
                    internal.add(target)
            else:
                external.add(target.split(".")[0])
    internal.discard(name)
    return internal, external


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v][0]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def _parents(name: str) -> list[str]:
    """The packages whose ``__init__`` runs before ``name``: ``kata.a.b`` -> ``kata``, ``kata.a``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in MODULES]


def _closure(root: str) -> dict[str, list[str]]:
    """Every kata module that importing ``root`` runs, each with the chain of imports that reaches it."""
    paths: dict[str, list[str]] = {root: [root]}
    todo = [root]
    while todo:
        current = todo.pop()
        for nxt in sorted(GRAPH[current][0] | set(_parents(current))):
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                todo.append(nxt)
    return paths


def grading_parent() -> list[str]:
    names = ["kata.grading", "kata.sandbox.zygote", "kata.status", "kata.contract", "kata.cli.grade",
             "kata.cli.classroom"]
    names += [n for n in MODULES if n == "kata.classroom" or n.startswith("kata.classroom.")]
    return [n for n in names if n in MODULES]


def test_the_graph_is_read_from_the_source():
    # A guard against a reader that silently finds nothing: edges that exist today in both directions of use.
    assert "kata.status" in GRAPH["kata.report"][0]
    assert "kata.catalog" in GRAPH["kata.plugin"][0]
    assert {"torch", "pytest"} <= GRAPH["kata.plugin"][1]
    assert "kata.cli.learner" in GRAPH["kata.cli.watch"][0]


def test_there_is_no_import_cycle_in_kata():
    assert _cycles() == []


def test_a_cycle_would_be_found(monkeypatch):
    monkeypatch.setitem(GRAPH, "kata.status", ({"kata.report"}, set()))
    assert any({"kata.report", "kata.status"} <= set(c) for c in _cycles())


@pytest.mark.parametrize("root", grading_parent())
def test_the_grading_parent_never_imports_torch_numpy_or_pytest(root):
    heavy = {}
    for module, chain in _closure(root).items():
        bad = GRAPH[module][1] & HEAVY
        if bad:
            heavy[module] = (sorted(bad), " -> ".join(chain))
    assert heavy == {}


# -- the check-author API ------------------------------------------------------------------------------------------

#: The modules a check file, a reference or a catalogued wrong answer may import: flat, each with ``__all__``.
AUTHOR_API = ("kata.compare", "kata.inputs", "kata.hints", "kata.messages", "kata.observe", "kata.oprules",
              "kata.staticrules", "kata.portable", "kata.devices", "kata.probe", "kata.mutants", "kata.xor", "kata.errors")
COURSE = KATA.parent


def _course_files() -> list[Path]:
    return [p for top in ("checks", "solutions", "tests/mutants", "tests/engine_course") for p in
            sorted((COURSE / top).rglob("*.py")) if "__pycache__" not in p.parts]


@pytest.mark.parametrize("name", AUTHOR_API)
def test_check_author_module_declares_all(name):
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    assert any(isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
        isinstance(t, ast.Name) and t.id == "__all__" for t in (node.targets if isinstance(node, ast.Assign)
                                                               else [node.target])) for node in tree.body), \
        f"{name} has no __all__"


def test_course_files_use_only_the_check_author_api():
    """What checks, references and wrong answers import from ``kata`` is in the author API and in its ``__all__``:
    the engine can change everything else without touching a chapter."""
    import importlib

    problems = []
    for path in _course_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "kata":
                names = [f"kata.{a.name}" for a in node.names]
                problems += [f"{path.relative_to(COURSE)}: {n}" for n in names if n not in AUTHOR_API]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kata."):
                if node.module not in AUTHOR_API:
                    problems.append(f"{path.relative_to(COURSE)}: {node.module}")
                    continue
                public = set(importlib.import_module(node.module).__all__)
                problems += [f"{path.relative_to(COURSE)}: {node.module}.{a.name} is not in __all__"
                             for a in node.names if a.name not in public]
    assert not problems, "\n".join(problems)
