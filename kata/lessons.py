"""``kata read NN``: print the chapter's lesson, ``exercises/NN_topic/README.md``.

The lesson says what the chapter teaches and why, which section of which source it follows (01-07 the Japanese text
"Intro2DL : Pytorchの基礎", 08-12 the UvA Deep Learning Tutorial 2), the key API with a small example and the classic
mistakes.  Cheap to import (no torch): the lesson is read from this repository, not from the learner's copy, so a
learner who edited or deleted it still gets the original.  The sub-command's argument is registered by
:mod:`kata.cli.read`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from kata import catalog, messages

LESSON_FILE = "README.md"


def lesson_file(chapter: catalog.Chapter) -> Path:
    return catalog.EXERCISES / chapter.key / LESSON_FILE


def show_lesson(chapter: str | None) -> int:
    """``kata read`` and ``kata.read()``: the chapter's lesson on stdout."""
    ch = catalog.named_chapter(chapter)  # the one parser of chapter names, and its Japanese errors
    path = lesson_file(ch)
    if not path.is_file():
        print(messages.LESSON_MISSING.format(chapter=ch.key), file=sys.stderr)
        return 1
    print(path.read_text(encoding="utf-8").rstrip("\n"))
    return 0
