"""Japanese that reads as written: no space between a word (or a name put into a template) and the particle after it.

「戻り値の型」, not 「戻り値 の型」; a name substituted into a template is quoted (「『戻り値』の型」) or followed directly
by its particle.  A space after Latin text (``x.grad は``) is ordinary Japanese technical typesetting and allowed.
"""
from __future__ import annotations

import ast
import re
import string
import tomllib

import pytest

from kata import catalog, messages
from kata.api import hints

PARTICLE = r"(?:から|まで|より|の|が|を|に|は|で|と|も|へ|や)(?![\u3041-\u3096])"
JAPANESE_BEFORE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e」』）][ \u3000]+" + PARTICLE)
FIELD_BEFORE = re.compile(r"\{(?P<field>[^{}!:]*)(?P<conversion>![rsa])?(?::[^{}]*)?\}[ \u3000]+" + PARTICLE)
# Fields that hold numbers or chapter numbers (ASCII): 「4 個」「1/{factor} で」「06 の」 read naturally with a space.
NUMERIC_FIELDS = {"chapter", "nn", "factor", "count", "total", "seconds", "limit", "line", "level", "code", "score", "max_score",
                  "chapters", "exercises", "size", "accuracy", "threshold", "first", "last", "low", "high", "dim"}


def _texts(value, where: str):
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{where}[{key!r}]")
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _texts(item, f"{where}[{i}]")


def chapter_words(path) -> dict[str, object]:
    """A check file's own words: its module-level UPPER_CASE constants whose value is a literal (read, not imported)."""
    out: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id.isupper():
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # computed (torch dtypes, recorded names): no words
    return out


def _all_texts():
    for module in (messages, hints):
        for name, value in vars(module).items():
            if name.isupper():
                yield from _texts(value, f"{module.__name__}.{name}")
    for chapter in catalog.chapters():
        raw = tomllib.loads((catalog.CHECKS / chapter.key / "chapter.toml").read_text(encoding="utf-8"))
        yield from _texts(raw, f"checks/{chapter.key}/chapter.toml")
        for path in sorted((catalog.CHECKS / chapter.key).glob("test_*.py")):
            for name, value in chapter_words(path).items():
                yield from _texts(value, f"checks/{chapter.key}/{path.name}:{name}")


def space_before_particle(text: str) -> list[str]:
    found = [m.group(0) for m in JAPANESE_BEFORE.finditer(text)]
    for m in FIELD_BEFORE.finditer(text):
        if m.group("conversion") == "!r" or m.group("field") in NUMERIC_FIELDS:
            continue  # repr() quotes the value itself; numbers take a space
        found.append(m.group(0))
    return found


@pytest.mark.parametrize("where, text", list(_all_texts()), ids=lambda v: v if "." in v or "/" in v else "")
def test_no_space_between_a_word_and_its_particle(where, text):
    assert space_before_particle(text) == [], f"{where}: {text}"


@pytest.mark.parametrize("text, bad", [
    ("戻り値 の型が違います", ["値 の"]),
    ("{name} の型が違います", ["{name} の"]),
    ("『{name}』の型が違います", []),
    ("バージョン が違います", ["ン が"]),
    ("x.grad は None のままです", []),
    ("{count} 個が不合格", []),
    ("章 {token!r} はありません", []),
])
def test_the_scan_itself(text, bad):
    assert space_before_particle(text) == bad


def test_every_template_field_is_known_to_format():
    """Templates are str.format strings: each one parses (a stray brace would break a verdict at run time)."""
    for where, text in _all_texts():
        if where.startswith("kata.messages") or (where.startswith("checks/") and ".py:" in where):
            list(string.Formatter().parse(text))


def test_chapter_words_are_read():
    """The scan above sees the words at the top of a check file (a verdict template and a hint of chapter 06)."""
    words = chapter_words(catalog.CHECKS / "06_autograd" / "test_autograd.py")
    assert "{name}" in words["VERSION_NOT_BUMPED"]
    assert "detach" in words["DETACH_FORGOTTEN"]


# -- the course's own files: prompts, references, checks and lessons ------------------------------------------------

def _python_strings(path):
    """Every string literal of a Python file (docstrings included).  An f-string's fields read as Latin text (its
    values are names, shapes, dtypes and numbers, after which a space is ordinary); a str.format template keeps its
    ``{field}`` for the scan above."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                elif isinstance(value, ast.FormattedValue):
                    parts.append("X")
            yield f"{path.relative_to(catalog.ROOT)}:{node.lineno}", "".join(parts)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield f"{path.relative_to(catalog.ROOT)}:{node.lineno}", node.value


def _course_texts():
    for folder in (catalog.EXERCISES, catalog.SOLUTIONS, catalog.CHECKS):
        for path in sorted(folder.rglob("*.py")):
            yield from _python_strings(path)
    for path in sorted(catalog.EXERCISES.rglob("README.md")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            yield f"{path.relative_to(catalog.ROOT)}:{number}", line


@pytest.mark.parametrize("where, text", list(_course_texts()), ids=lambda v: v if ":" in v else "")
def test_no_space_before_a_particle_in_the_course(where, text):
    """The prompts (stubs and references), the checks' strings (verdicts, names put into templates, docstrings) and
    the lessons read as natural Japanese too, not only kata/ and chapter.toml."""
    assert space_before_particle(text) == [], f"{where}: {text}"


def test_one_word_per_concept_in_the_course():
    """次元 names a tensor's dim everywhere (NumPy's axis included); 軸 only the axes of a plot (横軸・縦軸)."""
    found = [where for where, text in _course_texts() if re.search(r"(?<![横縦])軸", text)]
    assert found == []
