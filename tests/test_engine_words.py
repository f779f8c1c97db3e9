"""The engine's words live in its message modules; a chapter's own words live with that chapter's checks.

* No Japanese string literal (hiragana, katakana or kanji; f-strings included) in ``kata/**/*.py`` outside the
  message modules below.  Docstrings are documentation, not something the engine shows, and are not scanned.
* Every constant in ``kata/messages.py`` and ``kata/api/hints.py`` is used (by the engine or by a check).
* A template or hint that only one chapter's checks use sits at the top of that chapter's check file, unless it is
  one of the generic building blocks listed below (worded for any chapter).
"""
from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KATA = ROOT / "kata"
CHECKS = ROOT / "checks"

#: The modules that hold the engine's words, each with the reason it may.
MESSAGE_MODULES = {
    "kata/messages.py": "the engine's templates and texts",
    "kata/api/hints.py": "the engine's targeted hints",
    "kata/classroom/messages.py": "the class-grading package's words (kata class), beside its dashboard",
}

#: Templates only one chapter uses today, kept in the engine because their wording names no chapter, exercise or
#: API: the next chapter's checks may use them as they are.
GENERIC_FOR_CHECKS = {
    "STATE_CHANGED": "a global setting that changed",
    "CALL_ARGS": "a recorded call with other arguments (beside CALL_MISSING, which two chapters use)",
    "OUT_OF_RANGE": "a number outside an open interval",
    "MUST_USE_OP": "an operation that must be used (the counterpart of FORBIDDEN_OP)",
    "NOT_IN_UNIT_INTERVAL": "values outside [0, 1]",
    "FILE_NOT_WRITTEN": "a file the learner's code should have written",
}

JAPANESE = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the module's, classes' and functions' docstring nodes."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def japanese_literals(source: str, where: str) -> list[str]:
    """``where:line: text`` for each string literal (or f-string part) in ``source`` that contains Japanese."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                and JAPANESE.search(node.value):
            found.append(f"{where}:{node.lineno}: {node.value[:60]!r}")
    return sorted(found, key=lambda s: (s.split(":")[0], int(s.split(":")[1])))


def engine_files() -> list[Path]:
    return sorted(p for p in KATA.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_japanese_string_literal_in_the_engine_outside_its_message_modules():
    offenders = []
    for path in engine_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel not in MESSAGE_MODULES:
            offenders += japanese_literals(path.read_text(encoding="utf-8"), rel)
    assert offenders == [], ("Japanese text in the engine belongs in kata/messages.py or kata/api/hints.py "
                             "(a chapter's own words: at the top of its check file):\n" + "\n".join(offenders))


def test_the_message_modules_exist():
    """An allowlist entry for a module that is gone would hide nothing, but says something false."""
    assert [m for m in MESSAGE_MODULES if not (ROOT / m).is_file()] == []


@pytest.mark.parametrize("source, expected", [
    ('x = "正解"\n', ["t.py:1: '正解'"]),
    ('def f(n):\n    return f"{n} 個"\n', ["t.py:2: ' 個'"]),
    ('def f():\n    """日本語の説明。"""\n    return "ok"\n', []),
    ('"""モジュールの説明。"""\nclass C:\n    """クラス。"""\n', []),
    ('x = "『{name}』"  # brackets only\n', []),
    ('y = "カタカナ"\nz = ("ascii"\n     "漢字")\n', ["t.py:1: 'カタカナ'", "t.py:2: 'ascii漢字'"]),
])
def test_the_scan_itself(source, expected):
    assert japanese_literals(source, "t.py") == expected


# -- message constants: used, and generic -------------------------------------------------------------------------

def _constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name) and t.id.isupper()]


@functools.cache
def _words() -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    """The words (maximal runs of word characters, as ``\\bNAME\\b`` finds them) of the engine's files and of the
    check files, counted per file by relative path: read and counted once, not once per constant."""
    def count(paths):
        return {p.relative_to(ROOT).as_posix(): Counter(re.findall(r"\w+", p.read_text(encoding="utf-8")))
                for p in paths}
    return count(engine_files()), count(sorted(CHECKS.glob("*/*.py")))


def _users(name: str, module: str) -> tuple[list[str], list[str]]:
    """The engine files and the chapters whose code names ``name`` (its own definition not counted)."""
    engine_words, check_words = _words()
    engine = [rel for rel, words in engine_words.items() if words[name] > (1 if rel == module else 0)]
    chapters = sorted({rel.split("/")[1] for rel, words in check_words.items() if words[name]})
    return engine, chapters


@pytest.mark.parametrize("module", ["kata/messages.py", "kata/api/hints.py"])
def test_every_message_constant_is_used_and_generic(module):
    dead, chapter_only = [], []
    for name in _constants(ROOT / module):
        engine, chapters = _users(name, module)
        if not engine and not chapters:
            dead.append(name)
        elif not engine and len(chapters) == 1 and name not in GENERIC_FOR_CHECKS:
            chapter_only.append(f"{name} ({chapters[0]})")
    assert dead == [], f"{module}: constants nothing uses: {dead}"
    assert chapter_only == [], (f"{module}: words only one chapter's checks use belong at the top of that chapter's "
                                f"check file: {chapter_only}")


def test_the_generic_list_names_constants_that_exist():
    from kata import messages

    assert [n for n in GENERIC_FOR_CHECKS if not hasattr(messages, n)] == []
