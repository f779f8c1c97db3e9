"""Import a chapter's module (learner's, reference or mutant) on its own, isolated from global state changes."""
from __future__ import annotations

import importlib.util
import sys
import traceback
import types
from pathlib import Path

from kata import messages
from kata.display import display_path
from kata.errors import KataTimeout, LearnerImportError
from kata.state import GlobalState

_CACHE: dict[tuple[str, str], tuple[tuple[int, int], types.ModuleType]] = {}
_FAILED: dict[tuple[str, str], tuple[tuple[int, int], str]] = {}
#: Files whose frames are the learner's own (for verdicts that show the learner's line).
LEARNER_FILES: set[str] = set()


def load(path: Path, module_name: str, learner: bool = True) -> types.ModuleType:
    """Import ``path`` as ``module_name``; re-import only when the file changed on disk.

    Global state changed by the file at import time (default dtype, seeds, grad mode, …) is restored at once.
    """
    path = path.resolve()
    if learner:
        LEARNER_FILES.add(str(path))
    if not path.exists():
        raise LearnerImportError(messages.IMPORT_MISSING_FILE.format(file=display_path(path)))
    stat = path.stat()
    key = (str(path), module_name)
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    failed = _FAILED.get(key)
    if failed and failed[0] == stamp:
        raise LearnerImportError(failed[1])
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    state = GlobalState.capture()
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        sys.modules.pop(module_name, None)
        raise LearnerImportError(messages.IMPORT_SYNTAX.format(
            file=display_path(path), line=err.lineno, msg=err.msg)) from None
    except BaseException as err:  # any failure at import time is the learner's
        sys.modules.pop(module_name, None)
        if isinstance(err, KataTimeout):
            # Do not import (and time out) again for every check of this file until it changes.
            _FAILED[key] = (stamp, messages.IMPORT_TIMEOUT.format(file=display_path(path)))
            raise
        if isinstance(err, KeyboardInterrupt):
            raise
        frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename).resolve() == path]
        where = f"{display_path(path)}:{frames[-1].lineno}" if frames else display_path(path)
        raise LearnerImportError(messages.IMPORT_ERROR.format(
            file=display_path(path), where=where, exc_type=type(err).__name__,
            exc_msg=str(err).splitlines()[0] if str(err) else "")) from None
    finally:
        state.restore()
    _CACHE[key] = (stamp, module)
    return module


def forget(path: Path) -> None:
    """Drop every cached import of ``path`` so that the next ``load`` imports it afresh."""
    resolved = str(Path(path).resolve())
    for cache in (_CACHE, _FAILED):
        for key in [k for k in cache if k[0] == resolved]:
            del cache[key]
