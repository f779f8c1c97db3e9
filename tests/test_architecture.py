"""The engine's import graph, read from the source (``ast``), not by importing anything.

- The engine's layers are written down here (:data:`LAYERS`, bottom first).  Every import of a ``kata`` module --
  at module level or inside a function -- points to the same layer or one below; an import inside a function (one
  that runs only when it is called: how a torch-free process keeps torch out, or how learning mode never loads the
  sandbox client) points strictly down.  Every module of ``kata/`` is in exactly one layer.
- No import cycle between the modules of ``kata/``, imports inside functions counted.  ``from kata import x`` is an
  import of the submodule ``kata.x`` (the package's ``__init__`` has run before any of its modules anyway).
- The grading parent stays torch-, NumPy- and pytest-free: ``kata grade``'s own process (``kata.grading.parent``), the
  zygote launcher, the vocabulary and the class grader import none of them at module level, directly or through any
  ``kata`` module they import (and the packages those live in).
"""
from __future__ import annotations

import ast
import re
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


def _module_level(tree: ast.Module) -> tuple[list[ast.Import | ast.ImportFrom], list[ast.Import | ast.ImportFrom]]:
    """``(imports that run when the module is imported, imports inside functions)``.  The first: top level, in
    module-level ``if``/``try``/``with`` blocks and class bodies; ``if TYPE_CHECKING:`` blocks are left out of both."""
    out: list[ast.Import | ast.ImportFrom] = []
    lazy: list[ast.Import | ast.ImportFrom] = []

    def walk(body: list[ast.stmt], into: list[ast.Import | ast.ImportFrom]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                into.append(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(node.body, lazy)
            elif isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if test not in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                    walk(node.body, into)
                walk(node.orelse, into)
            elif isinstance(node, ast.Try | ast.TryStar):
                walk(node.body, into)
                for handler in node.handlers:
                    walk(handler.body, into)
                walk(node.orelse, into)
                walk(node.finalbody, into)
            elif isinstance(node, ast.With | ast.AsyncWith | ast.ClassDef | ast.For | ast.AsyncFor | ast.While):
                walk(node.body, into)
                walk(getattr(node, "orelse", []), into)
            elif isinstance(node, ast.Match):
                for case in node.cases:
                    walk(case.body, into)

    walk(tree.body, out)
    return out, lazy


def _targets(name: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement in module ``name`` imports."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    package = name if _is_package(name) else name.rpartition(".")[0]
    if node.level:
        base = package.split(".")
        base = base[:len(base) - (node.level - 1)]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    # `from kata.api import compare` imports the submodule kata.api.compare (kata.api has run before any of its
    # modules); `from kata.x import y` imports kata.x (and kata.x.y when that is a submodule).
    submodules = [f"{origin}.{alias.name}" for alias in node.names if f"{origin}.{alias.name}" in MODULES]
    return submodules + ([origin] if len(submodules) < len(node.names) else [])


def _imports(name: str) -> tuple[set[str], set[str], set[str]]:
    """``(kata modules, other top-level packages)`` that module ``name`` imports at module level, and the kata
    modules it imports only inside functions."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    eager, lazy_nodes = _module_level(tree)
    internal: set[str] = set()
    external: set[str] = set()
    lazy: set[str] = set()
    for nodes, kata_side in ((eager, internal), (lazy_nodes, lazy)):
        for node in nodes:
            for target in _targets(name, node):
                if target == "kata" or target.startswith("kata."):
                    if target in MODULES:
                        kata_side.add(target)
                elif nodes is eager:
                    external.add(target.split(".")[0])
    internal.discard(name)
    lazy -= internal | {name}
    return internal, external, lazy


_READ = {name: _imports(name) for name in MODULES}
#: Module-level imports: ``name -> (kata modules, other top-level packages)``.
GRAPH = {name: (kata_modules, others) for name, (kata_modules, others, _) in _READ.items()}
#: Imports inside functions only: ``name -> kata modules``.
LAZY = {name: lazy for name, (_, _, lazy) in _READ.items()}

#: The engine's layers, bottom first.  A module imports from its own layer or the ones below; inside a function
#: (a lazy import), only from the ones below.
LAYERS: list[tuple[str, set[str]]] = [
    # Words, plain data and files: messages, statuses, the course's catalogue, reports, the manifest, the grading
    # contract, and the packages whose __init__ imports none of their modules.  No torch.
    ("vocabulary", {"kata.messages", "kata.classroom.messages", "kata.status", "kata.errors", "kata.catalog",
                    "kata.display", "kata.frontend", "kata.pyversion", "kata.png", "kata.raster", "kata.manifest",
                    "kata.report", "kata.stash", "kata.grading.contract", "kata.authoring", "kata.authoring.stubs",
                    "kata.api", "kata.grading", "kata.learning", "kata.grading.sandbox",
                    "kata.grading.sandbox.uids", "kata.grading.sandbox.files", "kata.grading.sandbox.framing"}),
    # The learner's world: global state, the simulated accelerator, importing a learner's file, the values that cross
    # the boundary (classes by name, the object table, the codec table, the encoder and decoder), the fork server.
    ("learner's world", {"kata.state", "kata.api.portable", "kata.loader", "kata.grading.sandbox.classes",
                         "kata.grading.sandbox.objecttable", "kata.grading.sandbox.codectable",
                         "kata.grading.sandbox.wire", "kata.grading.sandbox.forkserver"}),
    # The trusted side of the sandbox: the zygote launcher and the client of a chapter's worker.
    ("sandbox client", {"kata.grading.sandbox.zygote", "kata.grading.sandbox.client"}),
    # What checks, references and catalogued wrong answers import (tests below: AUTHOR_API).
    ("check-author API", {"kata.api.compare", "kata.api.hints", "kata.api.inputs", "kata.api.devices",
                          "kata.api.xor", "kata.api.probe", "kata.api.observe", "kata.api.oprules",
                          "kata.api.staticrules", "kata.api.mutants"}),
    # The untrusted process: the jail, the server of requests, the zygote's loop.
    ("sandbox worker", {"kata.grading.sandbox.jail", "kata.grading.sandbox.worker"}),
    # Under pytest: verdicts from exceptions, the learner's terminal, the grader's self-test of its sandbox.
    ("verdicts", {"kata.verdict", "kata.learning.reporter", "kata.grading.sandbox.selftest", "kata.undertest",
                  "kata.timeouts"}),
    # One plugin object per mode for the module under test, and the learner's summary.
    ("mode plugins", {"kata.grading.glue", "kata.learning.plugin", "kata.learning.summary"}),
    # The core both modes share: options, fixtures, CheckRun; it registers the mode's objects.
    ("engine plugin", {"kata.plugin"}),
    ("learner's folder", {"kata.cli.learner", "kata.cli.watch"}),
    # The sub-commands: the learner's, the finale, the lessons, grading, the authors' tools.
    ("commands", {"kata.cli.commands", "kata.cli.run", "kata.lessons", "kata.finale", "kata.grading.parent",
                  "kata.authoring.scaffold", "kata.authoring.selfcheck", "kata.authoring.dev"}),
    ("class", {"kata.classroom.outputs", "kata.classroom.dashboard", "kata.classroom.roster",
               "kata.classroom.template", "kata.classroom.grade", "kata.classroom.merge"}),
    # What starts the engine: the notebook's calls (kata), the command line (kata.cli, python -m kata), kata class.
    # The command line's registrations (kata.cli.*) sit with it: each wires one command's arguments to its module.
    ("entry points", {"kata", "kata.__main__", "kata.cli", "kata.classroom", "kata.cli.grade", "kata.cli.read",
                      "kata.cli.dev", "kata.cli.classroom"}),
]
LAYER = {module: i for i, (_, modules) in enumerate(LAYERS) for module in modules}


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
        for w in sorted(GRAPH[v][0] | LAZY[v]):
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
    names = ["kata.grading.parent", "kata.grading.sandbox.zygote", "kata.status", "kata.grading.contract", "kata.cli.grade",
             "kata.cli.classroom"]
    names += [n for n in MODULES if n == "kata.classroom" or n.startswith("kata.classroom.")]
    return [n for n in names if n in MODULES]


def test_the_graph_is_read_from_the_source():
    # A guard against a reader that silently finds nothing: edges that exist today in both directions of use.
    assert "kata.status" in GRAPH["kata.report"][0]
    assert "kata.catalog" in GRAPH["kata.plugin"][0]
    assert {"torch", "pytest"} <= GRAPH["kata.plugin"][1]
    assert "kata.cli.learner" in GRAPH["kata.cli.watch"][0]


def test_imports_inside_functions_are_read():
    assert "kata.grading.glue" in LAZY["kata.plugin"]
    assert "kata.grading.sandbox.client" in LAZY["kata.api.observe"]
    assert "kata.grading.sandbox.client" not in GRAPH["kata.api.observe"][0]


def test_there_is_no_import_cycle_in_kata():
    assert _cycles() == []


def test_a_cycle_would_be_found(monkeypatch):
    monkeypatch.setitem(GRAPH, "kata.status", ({"kata.report"}, set()))
    assert any({"kata.report", "kata.status"} <= set(c) for c in _cycles())


def test_a_cycle_through_a_lazy_import_would_be_found(monkeypatch):
    monkeypatch.setitem(LAZY, "kata.status", {"kata.report"})
    assert any({"kata.report", "kata.status"} <= set(c) for c in _cycles())


def test_every_module_is_in_one_layer():
    placed = [module for _, modules in LAYERS for module in modules]
    assert sorted(placed) == sorted(set(placed)), "a module in two layers"
    assert sorted(set(MODULES) - set(placed)) == [], "a module in no layer: add it to LAYERS"
    assert sorted(set(placed) - set(MODULES)) == [], "a layer names a module that is gone"


def _layer_problems() -> list[str]:
    problems = []
    for name in sorted(MODULES):
        for target in sorted(GRAPH[name][0]):
            if LAYER[target] > LAYER[name]:
                problems.append(f"{name} ({LAYERS[LAYER[name]][0]}) imports {target} ({LAYERS[LAYER[target]][0]})")
        for target in sorted(LAZY[name]):
            if LAYER[target] >= LAYER[name]:
                problems.append(f"{name} ({LAYERS[LAYER[name]][0]}) imports {target} ({LAYERS[LAYER[target]][0]}) "
                                "inside a function: a lazy import points down the layers")
    return problems


def test_imports_point_down_the_layers():
    assert _layer_problems() == []


def test_an_import_up_the_layers_would_be_found(monkeypatch):
    monkeypatch.setitem(LAZY, "kata.api.compare", {"kata.plugin"})
    assert any(p.startswith("kata.api.compare (check-author API) imports kata.plugin") for p in _layer_problems())


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
#: What course files may import from the engine: the check-author API (``kata.api``'s modules), the learner-facing
#: words and the engine's exceptions.
AUTHOR_API = (*sorted(m for m in MODULES if m.startswith("kata.api.")), "kata.messages", "kata.errors")
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


def test_the_api_package_is_the_check_author_surface_and_nothing_else():
    """``kata.api``'s ``__all__`` names exactly its modules, every one a check-author module (in that layer or, for
    the classes both sides of the sandbox share, below it), and the package imports none of them."""
    import kata.api

    modules = {m.removeprefix("kata.api.") for m in MODULES if m.startswith("kata.api.")}
    assert sorted(kata.api.__all__) == sorted(modules)
    assert GRAPH["kata.api"] == (set(), set()) and not LAZY["kata.api"]
    assert all(LAYER[f"kata.api.{m}"] <= LAYER["kata.api.compare"] for m in modules)


def test_course_files_use_only_the_check_author_api():
    """What checks, references and wrong answers import from ``kata`` is in the author API and in its ``__all__``:
    the engine can change everything else without touching a chapter."""
    import importlib

    problems = []
    for path in _course_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("kata", "kata.api"):
                names = [f"{node.module}.{a.name}" for a in node.names]
                problems += [f"{path.relative_to(COURSE)}: {n}" for n in names if n not in AUTHOR_API]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kata."):
                if node.module not in AUTHOR_API:
                    problems.append(f"{path.relative_to(COURSE)}: {node.module}")
                    continue
                public = set(importlib.import_module(node.module).__all__)
                problems += [f"{path.relative_to(COURSE)}: {node.module}.{a.name} is not in __all__"
                             for a in node.names if a.name not in public]
    assert not problems, "\n".join(problems)


def test_a_catalogued_wrong_answer_crosses_into_the_sandbox_without_the_engine():
    """In grading mode a wrong answer runs inside the sandbox worker, which has no check-author API: the glue replaces
    every import of ``kata`` that a mutant or answer file may have (``mutant``/``answer`` become plain decorators, a
    module becomes an inert stand-in).  A layout change that a replacement misses fails here, not in a slow run."""
    from kata import catalog
    from kata.api import mutants
    from kata.grading.glue import mutant_source

    files = sorted((COURSE / "tests" / "mutants").glob("m*.py")) + sorted((COURSE / "tests" / "answers").glob("a*.py"))
    assert files
    for path in files:
        chapter = catalog.named_chapter(path.stem[1:3])
        fake = mutants.Mutant(chapter=chapter.key, exercise="x", name="x", obj=None, expect=(), file=str(path))
        _, _, text = mutant_source(chapter.reference_file(), fake)
        left = [line for line in text.splitlines() if re.match(r"\s*(from|import) kata\b", line)]
        assert not left, f"{path.name}: {left}"
