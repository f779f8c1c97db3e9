"""Stubs and reference blocks built from a chapter's reference file (``solutions/NN_*/<file>.py``).

``make_stub`` is the single source of the learner's starting files: ``exercises/`` holds exactly
``make_stub(reference)`` for every chapter (``kata dev sync`` writes them, a test checks it), and ``kata reset``
rebuilds the pristine stub from the reference.  Torch-free and cheap to import.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kata import catalog

__all__ = ["definition_span", "make_stub", "reference_source", "replace_exercise", "stub_source"]


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _functions_to_stub(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Top-level functions, and the methods of top-level classes: every body that a stub replaces."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def make_stub(reference: str) -> str:
    """The stub of a reference file: every body after its docstring becomes ``raise NotImplementedError``.

    Stubs and references are identical except for the bodies (a contract the self-verification enforces), so this
    rebuilds the pristine stub even after the learner has edited theirs.
    """
    tree = ast.parse(reference)
    lines = reference.splitlines(keepends=True)
    edits = []
    for fn in _functions_to_stub(tree):
        has_doc = _is_docstring(fn.body[0])
        body = fn.body[1:] if has_doc else fn.body
        if not body:
            continue
        if has_doc:
            start = fn.body[0].end_lineno  # 0-based index of the first line after the docstring
        else:
            start = body[0].lineno - 1
            while start - 1 > fn.lineno - 1 and (not lines[start - 1].strip()
                                                 or lines[start - 1].lstrip().startswith("#")):
                start -= 1  # comments above the first statement belong to the body
        edits.append((start, fn.end_lineno, " " * body[0].col_offset + "raise NotImplementedError\n"))
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text]
    return "".join(lines)


def stub_source(chapter: catalog.Chapter) -> str:
    return make_stub(chapter.reference_file().read_text(encoding="utf-8"))


def definition_span(source: str, name: str) -> tuple[int, int] | None:
    """Lines [start, end) of the top-level function or class ``name`` (decorators included)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _span_by_text(source, name)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            end = node.end_lineno if node.end_lineno is not None else node.lineno  # always set by ast.parse
            return start - 1, end
    return None


def _span_by_text(source: str, name: str) -> tuple[int, int] | None:
    """The same for a file that does not parse (the learner is in the middle of an edit): by indentation."""
    lines = source.splitlines(keepends=True)
    header = re.compile(rf"^(?:async\s+def|def|class)\s+{re.escape(name)}\b")
    for i, line in enumerate(lines):
        if not header.match(line):
            continue
        start = i
        while start > 0 and lines[start - 1].startswith("@"):
            start -= 1
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t)]"):
            end += 1
        while end > i + 1 and not lines[end - 1].strip():
            end -= 1
        return start, end
    return None


def replace_exercise(current: str, stub: str, name: str) -> tuple[str, bool]:
    """``current`` with the function or class ``name`` taken from ``stub``; appended when ``current`` lacks it."""
    stub_span = definition_span(stub, name)
    assert stub_span is not None, f"{name} is not in the stub"
    block = stub.splitlines(keepends=True)[stub_span[0]:stub_span[1]]
    if block and not block[-1].endswith("\n"):
        block[-1] += "\n"
    span = definition_span(current, name)
    if span is None:
        return current.rstrip("\n") + "\n\n\n" + "".join(block), True
    lines = current.splitlines(keepends=True)
    if span[1] == len(lines) and lines and not lines[-1].endswith("\n"):
        block[-1] = block[-1].rstrip("\n")
    lines[span[0]:span[1]] = block
    return "".join(lines), False


def reference_source(chapter: catalog.Chapter, name: str) -> str:
    source = chapter.reference_file().read_text(encoding="utf-8")
    span = definition_span(source, name)
    assert span is not None, f"{name} is not in {chapter.reference_file()}"
    return "".join(source.splitlines(keepends=True)[span[0]:span[1]])
