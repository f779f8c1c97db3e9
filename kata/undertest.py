"""The module under test as a check sees it (the ``sub`` fixture): the learner's module, the reference or a
catalogued wrong answer, imported lazily in this process (learning mode) or held by a sandbox worker (grading mode),
and its source text for the static op rules.

Imported by the plugin of each mode (:mod:`kata.plugin`, :mod:`kata.grading.glue`) and by the check-author
helpers that must know where the module runs (:mod:`kata.api.observe`).
"""
from __future__ import annotations

import contextlib
import inspect
import types
from pathlib import Path
from typing import Any

from kata import messages
from kata.api import mutants
from kata.api.compare import fail
from kata.state import LearnerWorld
from kata.status import Attribute


class UnderTest:
    """The module under test, imported lazily on first use so that an import error is that check's failure.

    A missing name is reported as a verdict rather than an AttributeError inside the check.
    """

    def __init__(self, load, file: str, session: Any = None, source: Any = None):
        self._load = load
        self._file = file
        self._module = None
        self._session = session  # grading mode: the sandbox session that holds the module
        self._source = source  # () -> kata.api.staticrules.Source: the module's text, never imported for that
        # Learning mode: the learner's configuration (default dtype, grad mode, flags…) kept apart from the check's,
        # as the sandbox worker keeps it in grading mode (kata.state.LearnerWorld).
        self._world = LearnerWorld()

    def _learner_state(self) -> dict[str, Any]:
        """The global state as the code under test left it (kata.state.learner_state)."""
        if self._session is not None:
            return self._session.learner_state()
        return self._world.state()

    @property
    def module(self):
        if self._module is None:
            self._module = self._load()
        return self._module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        module = self.module
        try:
            value = getattr(module, name)
        except AttributeError:
            fail(Attribute.MISSING, messages.MISSING_NAME, None, file=self._file, exercise=name)
        if self._session is None and isinstance(value, types.FunctionType):
            return self._world.fence(value)
        return value


def source_of_text(read: Any, shown: str) -> Any:
    """The module's source as text for static op rules (:mod:`kata.api.staticrules`): the same bytes it is run from."""
    from kata.api.staticrules import Source

    def source() -> Source | None:
        try:
            data = read()
        except OSError:
            return None
        return Source(data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data), shown)

    return source


def source_of_mutant(m: mutants.Mutant) -> Any:
    """A catalogued wrong answer's file as text, with the first line of its definition (one file holds many)."""
    from kata.api.staticrules import Source

    def source() -> Source | None:
        code = getattr(m.obj, "__code__", None)
        line = code.co_firstlineno if code is not None else None
        if line is None:
            with contextlib.suppress(OSError, TypeError):
                line = inspect.getsourcelines(m.obj)[1]
        try:
            text = Path(m.file).read_text(encoding="utf-8")
        except OSError:
            return None
        return Source(text, f"tests/{Path(m.file).parent.name}/{Path(m.file).name}", line)

    return source
