"""``kata dev new``: the files of a new exercise, every place still to be written marked ``TODO(kata dev new)``.

An exercise lives in five files of its chapter ``NN_topic`` (module file ``<file>.py``)::

    solutions/NN_topic/<file>.py      the reference function (its docstring is the learner's prompt)
    checks/NN_topic/chapter.toml      the ``[exercises.<name>]`` table: points and graduated hints
    checks/NN_topic/test_<file>.py    the checks, named ``test_<name>_<fact>``
    tests/mutants/mNN_topic.py        at least three catalogued wrong answers
    exercises/NN_topic/<file>.py      the learner's stub: always ``make_stub(reference)``, written by ``kata dev sync``

``new_exercise`` appends a skeleton to the first four (creating them, and the chapter's lesson
``exercises/NN_topic/README.md``, for a new chapter).  Each skeleton fails the self-verification until it is
written: the reference raises ``NotImplementedError``, the check raises ``AssertionError``, the mutants expect a
verdict no check gives, and ``kata dev check`` first lists every ``TODO(kata dev new)`` left.  The templates are
files in ``kata/authoring/templates/`` (``string.Template``: ``${name}``).
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template

from kata import catalog, messages
from kata.authoring.stubs import definition_span

__all__ = ["MARK", "ChapterFiles", "ScaffoldError", "Unfilled", "chapter_files", "files_of", "list_in_lesson",
           "new_exercise", "render", "unfilled"]

#: The mark of every place a skeleton leaves to its author.
MARK = "TODO(kata dev new)"
TEMPLATES = Path(__file__).resolve().parent / "templates"
NAME = re.compile(r"[a-z][a-z0-9_]*")
NEW_KEY = re.compile(r"(\d{2})_([a-z][a-z0-9_]*)")
FILE = re.compile(r"[a-z][a-z0-9_]*\.py")
LESSON_FILE = "README.md"


class ScaffoldError(Exception):
    """A bad request for a skeleton; the message is one Japanese line."""


@dataclass(frozen=True)
class ChapterFiles:
    """Where the files of chapter ``key`` (module file ``file``) are under a repository ``root``."""

    root: Path
    key: str
    file: str

    @property
    def nn(self) -> str:
        return self.key[:2]

    @property
    def reference(self) -> Path:
        return self.root / "solutions" / self.key / self.file

    @property
    def stub(self) -> Path:
        return self.root / "exercises" / self.key / self.file

    @property
    def lesson(self) -> Path:
        return self.root / "exercises" / self.key / LESSON_FILE

    @property
    def data(self) -> Path:
        return self.root / "checks" / self.key / "chapter.toml"

    @property
    def checks(self) -> Path:
        return self.root / "checks" / self.key / f"test_{self.file}"

    @property
    def mutants(self) -> Path:
        return self.root / "tests" / "mutants" / f"m{self.key}.py"

    def authored(self) -> list[Path]:
        """The files an author writes (the stub is generated)."""
        return [self.reference, self.data, self.checks, self.mutants, self.lesson]


def files_of(chapter: catalog.Chapter, root: Path | None = None) -> ChapterFiles:
    return ChapterFiles(catalog.ROOT if root is None else Path(root), chapter.key, chapter.file)


def chapter_files(root: Path | None = None) -> list[tuple[ChapterFiles, str]]:
    """Every chapter under ``root`` (default: this repository) with its title, read from the files now (the
    catalogue is read once per process; an authoring command may just have added a chapter)."""
    root = catalog.ROOT if root is None else Path(root)
    out = []
    for data in sorted((root / "checks").glob("[0-9][0-9]_*/chapter.toml")):
        raw = tomllib.loads(data.read_text(encoding="utf-8"))
        out.append((ChapterFiles(root, data.parent.name, raw["file"]), raw["title"]))
    return out


def render(template: str, **fields: str) -> str:
    return Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(fields)


def _append(path: Path, text: str) -> None:
    current = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    _write(path, current + text)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))  # "\n" line ends on every platform, as in the repository


def _resolve(token: str, title: str | None, file: str | None) -> tuple[ChapterFiles, str, bool]:
    """The chapter's files, its title and whether it is new, from "1", "01", "01_setup" or a new "13_topic"."""
    text = token.strip()
    known = chapter_files()
    for where, known_title in known:
        if text == where.key or (text.isdigit() and int(text) == int(where.nn)):
            return where, known_title, False
    choices = ", ".join(where.key for where, _ in known)
    match = NEW_KEY.fullmatch(text)
    if match is None:
        raise ScaffoldError(messages.DEV_UNKNOWN_CHAPTER.format(token=token, choices=choices))
    nn, topic = match.groups()
    taken = next((where for where, _ in known if where.nn == nn), None)
    if taken is not None:
        raise ScaffoldError(messages.DEV_NUMBER_TAKEN.format(nn=nn, key=taken.key))
    file = file or f"{topic}.py"
    if not FILE.fullmatch(file):
        raise ScaffoldError(messages.DEV_BAD_FILE.format(file=file))
    return ChapterFiles(catalog.ROOT, match.group(0), file), title or messages.DEV_DEFAULT_TITLE, True


def new_exercise(token: str, name: str, *, title: str | None = None, file: str | None = None
                 ) -> tuple[ChapterFiles, list[Path], list[Path]]:
    """Write the skeleton of exercise ``name`` in chapter ``token``; returns the chapter's files and the files
    created and appended to.

    The stub and the manifest are not touched: ``kata dev sync`` writes them (the CLI runs it right after).
    """
    if not NAME.fullmatch(name):
        raise ScaffoldError(messages.DEV_BAD_NAME.format(name=name))
    where, chapter_title, is_new = _resolve(token, title, file)
    fields = {"name": name, "nn": where.nn, "number": str(int(where.nn)), "key": where.key,
              "topic": where.key[3:], "title": chapter_title, "file": where.file,
              "title_toml": json.dumps(chapter_title, ensure_ascii=False)}  # a TOML basic string
    if not is_new:
        data = tomllib.loads(where.data.read_text(encoding="utf-8"))
        reference = where.reference.read_text(encoding="utf-8")
        if name in data.get("exercises", {}) or definition_span(reference, name) is not None:
            shown = where.data if name in data.get("exercises", {}) else where.reference
            raise ScaffoldError(messages.DEV_NAME_TAKEN.format(nn=where.nn, key=where.key, name=name,
                                                               file=shown.relative_to(where.root).as_posix()))
    created: list[Path] = []
    appended: list[Path] = []
    parts = (
        (where.reference, "reference_header.py.tmpl", "reference.py.tmpl"),
        (where.data, "chapter_header.toml.tmpl", "chapter_entry.toml.tmpl"),
        (where.checks, "check_header.py.tmpl", "check.py.tmpl"),
        (where.mutants, "mutants_header.py.tmpl", "mutants.py.tmpl"),
    )
    for path, header, body in parts:
        if path.exists():
            _append(path, render(body, **fields))
            appended.append(path)
        else:
            _write(path, render(header, **fields) + render(body, **fields))
            created.append(path)
    if is_new and not where.lesson.exists():
        _write(where.lesson, render("lesson.md.tmpl", **fields))
        created.append(where.lesson)
    elif where.lesson.is_file():
        _write(where.lesson, list_in_lesson(where, where.lesson.read_text(encoding="utf-8"), name))
        appended.append(where.lesson)
    return where, created, appended


def list_in_lesson(where: ChapterFiles, lesson: str, name: str) -> str:
    """The lesson with ``name`` added to the list of its "## 演習" section (the line that starts with the file's path,
    ``exercises/NN_topic/<file>.py``: ``a``、``b``。); a marked line at its end when there is no such list."""
    path = f"exercises/{where.key}/{where.file}"
    listing = re.compile(rf"^(`{re.escape(path)}`: .*`)(。?)$", re.MULTILINE)
    match = listing.search(lesson)
    if match is not None:
        return lesson[:match.end(1)] + f"、`{name}`" + lesson[match.end(1):]
    return lesson.rstrip("\n") + "\n\n" + messages.DEV_LESSON_TODO.format(exercise=name) + "\n"


@dataclass(frozen=True)
class Unfilled:
    path: Path
    line: int
    text: str


def unfilled(where: ChapterFiles) -> list[Unfilled]:
    """Every line of the chapter's authored files that still carries the skeleton's mark."""
    out = []
    for path in where.authored():
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if MARK in line:
                out.append(Unfilled(path, number, line.strip()))
    return out
