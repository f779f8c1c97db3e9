"""How paths and Japanese text are laid out for the learner (no torch import: the CLI uses it too)."""
from __future__ import annotations

import unicodedata
from pathlib import Path


def display_path(path: Path | str, *, from_exercises: bool = True) -> str:
    """The path relative to the working folder when inside it.  Elsewhere, in verdicts (``from_exercises``), from its
    ``exercises/`` folder on, as the learner knows it; for the CLI's file operations, absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        parts = path.parts
        if from_exercises and "exercises" in parts:
            return str(Path(*parts[len(parts) - 1 - parts[::-1].index("exercises"):]))
        return str(path)


def display_width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))
