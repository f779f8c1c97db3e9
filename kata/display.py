"""How paths and Japanese text are laid out for the learner (no torch import: the CLI uses it too)."""
from __future__ import annotations

import codecs
import sys
import unicodedata
from pathlib import Path
from typing import Any

from kata import messages


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


# -- consoles that cannot print every character (a Japanese Windows console is often cp932) ----------------------

#: Plain stand-ins for the symbols the learner's output uses, where the console's encoding lacks them.
PLAIN_SYMBOLS = {"✔": "○", "✘": "×", "—": "―", "≈": "~", "≤": "<=", "≥": ">=", "⏳": "…"}
PLAIN_ERRORS = "kata-plain"


def _plain(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    out = []
    for ch in err.object[err.start:err.end]:
        sub = PLAIN_SYMBOLS.get(ch, "?")
        try:
            sub.encode(err.encoding)
        except (UnicodeError, LookupError):
            sub = "?"
        out.append(sub)
    return "".join(out), err.end


codecs.register_error(PLAIN_ERRORS, _plain)


def can_print(text: str, stream: Any = None) -> bool:
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeError, LookupError):
        return False
    return True


def plain_consoles(*streams: Any) -> None:
    """Let ``sys.stdout`` and ``sys.stderr`` (or ``streams``) print ✔ / ✘ as ○ / × (and anything else they cannot
    encode as ``?``) instead of failing with UnicodeEncodeError.  Streams that can print everything are left alone."""
    for stream in streams or (sys.stdout, sys.stderr):
        if stream is None or can_print("".join(PLAIN_SYMBOLS) + messages.MARK_TODO, stream):
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or getattr(stream, "errors", None) == PLAIN_ERRORS:
            continue
        try:
            reconfigure(errors=PLAIN_ERRORS)
        except (ValueError, OSError, AttributeError):  # pragma: no cover - a stream that refuses
            pass
