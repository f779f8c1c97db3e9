"""Grading mode inside the engine's pytest plugin: ``sub`` becomes a proxy to a sandbox worker per chapter.

Switched on by ``--kata-sandbox`` (``kata grade`` always uses it): :mod:`kata.plugin` then registers a
:class:`GradingPlugin` instead of its in-process one.  The check files do not change: the same checks run
against the learner's module in-process (learning mode) or through the boundary (grading mode).  Every limit and option
comes from the grading contract the parent wrote (``--kata-contract PATH``, :mod:`kata.grading.contract`); a run started
without one uses :data:`kata.grading.contract.UNGRADED`.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from kata import catalog
from kata.errors import LearnerImportError
from kata.grading.contract import CONTRACT_OPTION, UNGRADED, ContractError, GradingContract
from kata.grading.sandbox import client, uids
from kata.grading.sandbox.files import BadSubmissionFile, read_submission_file
from kata.stash import ITEM_INFO, RUN
from kata.status import Attribute, CheckResult, CheckStatus
from kata.undertest import UnderTest, source_of_mutant, source_of_text

#: The trusted process's exit status when the self-test failed.
SELFTEST_FAILED = 9

#: What the zygote imports before it forks: torch imports its compiler lazily on the first optimiser step or meta
#: arithmetic (about a second); imported once in the zygote, every worker has it.
WARM = ("torch._dynamo",)


def read_contract(config: pytest.Config) -> GradingContract:
    """The one place that reads how ``kata grade`` configured this run: the contract file it wrote
    (``--kata-contract``); a run started without one is :data:`kata.grading.contract.UNGRADED`."""
    path = config.getoption(CONTRACT_OPTION, None)
    try:
        return GradingContract.from_file(path) if path else UNGRADED
    except ContractError as err:
        raise pytest.UsageError(str(err)) from None


class GradingPlugin:
    """The module under test in a sandbox worker: one session per chapter (one alive at a time), started from one
    zygote per run, under this run's own uids; the grader's self-test; each exercise's share of the run's deadline.

    Registered as ``kata-grading`` by :mod:`kata.plugin` with ``--kata-sandbox``."""

    def __init__(self, config: pytest.Config, settings: Any):
        self.config = config
        self.settings = settings
        self.contract = read_contract(config)
        self.isolation = self.contract.isolation or config.getoption("--kata-isolation") or None
        self.sessions: dict[str, client.Session] = {}
        self.uid_block: uids.UidBlock | None = None
        self.upcoming: dict[int, int] | None = None  # per check (by id): exercises left from it on, its own included
        self.zygote = self._start_zygote()  # started now: its imports overlap with this process's collection

    def _start_zygote(self) -> client.Zygote:
        terms = self.contract
        z = client.Zygote.handed_over(terms, self.isolation)
        if z is None:
            log = terms.zygote_log
            z = client.Zygote(self.isolation, Path(log) if log else None, warm=WARM, syscall_filter=terms.syscall_filter)
        return z

    def pytest_unconfigure(self) -> None:
        for session in self.sessions.values():
            session.close()
        self.zygote.close()
        if self.uid_block is not None:
            self.uid_block.release()  # after the zygote (and so every worker under these uids) is gone

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Wait for the zygote once collection is over, before any check's timer starts; then the self-test."""
        if session.items:
            # While the zygote imports torch's compiler, this process does the same: its checks need it for their
            # own optimiser steps, and the time is spent waiting anyway.
            for name in WARM:
                with contextlib.suppress(Exception):
                    importlib.import_module(name)
            # Everything imported so far is out of the garbage collector's reach from now on, and the collector
            # is on again (the process started with it off: kata.grading.sandbox.zygote.GC_OFF).
            gc.freeze()
            gc.enable()
            with contextlib.suppress(Exception):
                self.zygote.wait_ready()
            if self.contract.selftest != "only":  # the first chapter's worker, forked while the self-test runs
                self._prespawn_after(session, None, self._temp_roots())
        if self.contract.selftest in ("first", "only"):
            self._self_test(session, self.contract.selftest)

    def _self_test(self, session: pytest.Session, mode: str) -> None:
        """The grader's self-test (:mod:`kata.grading.sandbox.selftest`) for the chapters of this run, before any check: its
        outcome is an event of the stream; a failure ends the run (``kata grade`` then refuses to grade)."""
        from kata.grading.sandbox import selftest

        settings = self.settings
        keys = sorted({info[0] for it in session.items if (info := it.stash.get(ITEM_INFO, None)) is not None})
        chapters = [c for c in (settings.course.chapter_of_key(k) for k in keys) if c is not None]
        temp = self._temp_roots()

        def new_session(chapter: catalog.Chapter | None, source: bytes, filename: str) -> client.Session:
            return self._new_session(chapter, source, filename, {}, temp)

        started = time.monotonic()
        why = selftest.run(new_session, chapters, self.zygote.syscall_filter == "require") if chapters else None
        stream = self.config.pluginmanager.get_plugin("kata-stream")
        if stream is not None:
            stream._write({"event": "selftest", "ok": why is None, "why": why or "",
                           "seconds": round(time.monotonic() - started, 3)})
        if why is not None:
            session.items[:] = []
            pytest.exit(f"kata self-test failed: {why}", returncode=SELFTEST_FAILED)
        if mode == "only":
            session.items[:] = []

    # -- the module under test ------------------------------------------------------------------------------------

    def under_test(self, request: pytest.FixtureRequest, chapter: catalog.Chapter, mutant: Any,
                   ref: Any) -> UnderTest:  # noqa: ARG002 (one signature for both plugins' under_test)
        """``sub``: a proxy to the chapter's session, ready for a new check."""
        shown = f"exercises/{chapter.key}/{chapter.file}"
        session = self.session_for(request, chapter, mutant)
        self._share_the_budget(request, session)
        session.begin_check()
        source = source_of_mutant(mutant) if mutant is not None else source_of_text(
            lambda: session.chapter.source, shown)
        return UnderTest(session.module, shown, session, source)

    def session_for(self, request: pytest.FixtureRequest, chapter: catalog.Chapter,
                    mutant: Any = None) -> client.Session:
        sessions = self.sessions
        key = chapter.key + (f"::{mutant.id}" if mutant is not None else "")
        session = sessions.get(key)
        if session is None:
            try:
                source, shown, extra = _chapter_source(chapter, self.settings, mutant)
            except BadSubmissionFile as err:
                raise LearnerImportError(err.verdict) from None
            temp = self._temp_roots()
            session = self._new_session(chapter, source, shown, extra, temp)
            # Checks run chapter after chapter: one worker at work at a time (and the next chapter's, forked ahead,
            # waiting) keeps the memory of the tree small (a chapter met again later simply starts a new worker).
            for other_key in list(sessions):
                sessions.pop(other_key).close()
            sessions[key] = session
            if mutant is None:
                self._prespawn_after(request.session, chapter.key, temp)
        return session

    def _temp_roots(self) -> list[Path]:
        """Where a session's worker gets its work folder: the run's pytest temporary folder."""
        factory = getattr(self.config, "_tmp_path_factory", None)
        return [Path(factory.getbasetemp())] if factory is not None else []

    def _prespawn_after(self, session: pytest.Session, key: str | None, temp: list[Path]) -> None:
        """Have the zygote fork, now, the worker of the chapter that comes after ``key`` in this run (the first
        chapter when ``key`` is None): it enters its sandbox while this chapter's checks run, and waits there for
        the learner's file (:meth:`kata.grading.sandbox.zygote.Zygote.prespawn`)."""
        order = list(dict.fromkeys(info[0] for it in session.items
                                   if (info := it.stash.get(ITEM_INFO, None)) is not None))
        later = order[order.index(key) + 1:] if key in order else order if key is None else []
        chapter = self.settings.course.chapter_of_key(later[0]) if later else None
        if chapter is None or chapter.key in self.sessions:
            return
        with contextlib.suppress(client.SandboxError, OSError):
            self.zygote.prespawn(self._new_session(chapter, b"", "", {}, temp).config())

    def _new_session(self, chapter: catalog.Chapter | None, source: bytes, shown: str, extra: dict[str, str],
                     temp: list[Path]) -> client.Session:
        """A session for ``source`` set up as the chapter's learner session is: its uid, the folders it hides,
        limits."""
        uid = gid = None
        number = int(chapter.number) if chapter is not None else 0
        if self.zygote.isolation == "root":
            uid = gid = self._uids().uid(number)
        hide = [str(catalog.ROOT)] + ([str(chapter.root)] if chapter is not None and chapter.root != catalog.ROOT
                                      else [])
        if self.settings.submission is not None:
            hide.append(str(self.settings.submission))
        hide += [p for p in self.contract.hide if p]
        key = chapter.key if chapter is not None else "00_selftest"
        return client.Session(self.zygote, client.Chapter(key, source, shown, uid, gid, hide, extra),
                              client.Limits.of(self.contract), temp)

    def _uids(self) -> uids.UidBlock:
        """This run's own uids (one per chapter), taken on first use and held until the run ends: no other run and
        no other submission shares them (:mod:`kata.grading.sandbox.uids`)."""
        if self.uid_block is None:
            try:
                self.uid_block = uids.allocate()
            except uids.NoUids as err:
                raise client.SandboxError(f"no sandbox uids: {err}") from None
        return self.uid_block

    def _share_the_budget(self, request: pytest.FixtureRequest, session: client.Session) -> None:
        """With a deadline for the whole run (set by ``kata grade``), each exercise still to come gets at most an
        equal share of the time left: a submission whose every function loops forever still finishes."""
        deadline = self.contract.deadline
        if deadline is None:
            return
        items = request.session.items
        if self.upcoming is None:
            # For each check: how many exercises are left from it on (its own included), counted once for the run.
            self.upcoming = {}
            seen: set = set()
            for it in reversed(items):
                info = it.stash.get(ITEM_INFO, None)
                if info is not None:
                    seen.add(info)
                self.upcoming[id(it)] = len(seen)
        count = self.upcoming.get(id(request.node), len(items))
        left = deadline - time.time()
        base = self.contract.check_timeout
        share = max(0.5, left / max(1, count))
        session.limits.call_timeout = min(base, share)
        session.limits.import_timeout = min(base, share)


_MUTANT_DECORATOR = (r"def \1(chapter, exercise, *, expect=(), name=None, headline=False, absent=()): "
                     "return lambda obj: _kata_found.setdefault((exercise, name or obj.__name__), obj)")
_ANYTHING = "{name} = type('_Anything', (), {{'__getattr__': lambda self, attr: ''}})()"


def mutant_source(reference: Path, mutant: Any) -> tuple[bytes, str, str]:
    """(source, filename, mutant file text): the reference module with one exercise replaced by a catalogued wrong
    answer, as one learner file.  The mutant file runs in a namespace of its own, as when it is imported in learning
    mode, with its line numbers kept (the verdicts show its lines)."""
    text = Path(mutant.file).read_text(encoding="utf-8")
    text = re.sub(r"^from kata\.api\.mutants import (mutant|answer)[ \t]*$", _MUTANT_DECORATOR, text, flags=re.M)
    text = re.sub(r"^from kata(?:\.api)? import (\w+)[ \t]*$", lambda m: _ANYTHING.format(name=m.group(1)), text,
                  flags=re.M)
    shown = f"tests/{Path(mutant.file).parent.name}/{Path(mutant.file).name}"
    source = reference.read_text(encoding="utf-8")
    source += ("\n\n# ---- the wrong answer under test ----\n"
               f"_kata_space = {{'__name__': 'kata_mutants', '_kata_found': {{}}}}\n"
               f"exec(compile({text!r}, {shown!r}, 'exec'), _kata_space)\n"
               f"{mutant.exercise} = _kata_space['_kata_found'][({mutant.exercise!r}, {mutant.name!r})]\n"
               "del _kata_space\n")
    return source.encode("utf-8"), shown, text


def _chapter_source(chapter: catalog.Chapter, settings: Any, mutant: Any) -> tuple[bytes, str, dict[str, str]]:
    if mutant is not None:
        source, shown, text = mutant_source(chapter.reference_file(), mutant)
        return source, f"<{mutant.id}>", {shown: text}
    if settings.solutions:
        return chapter.reference_file().read_bytes(), f"solutions/{chapter.key}/{chapter.file}", {}
    shown = f"exercises/{chapter.key}/{chapter.file}"
    return read_submission_file(settings.learner_root, ("exercises", chapter.key, chapter.file), shown), shown, {}



class Stream:
    """Writes one JSON line per event to a file as the run goes (``--kata-stream``), so that ``kata grade`` can
    write its report progressively and knows which checks never ran if this process is stopped from outside.

    Events: ``{"event": "collected", "checks": [...]}`` (every check as ``CheckResult.to_dict()``, status
    ``notrun``), ``{"event": "result", "check": {...}}`` (one check's ``CheckResult.to_dict()``, after its teardown)
    and ``{"event": "done", "exitstatus": N}``; ``kata.grading.parent`` reads them back with ``CheckResult.from_dict``."""

    def __init__(self, path: Path, config: pytest.Config):
        self.config = config
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole session

    def _write(self, event: dict) -> None:
        self.file.write(json.dumps(event, ensure_ascii=True) + "\n")
        self.file.flush()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Every check that will run, as a :class:`CheckResult` not run yet (what a stopped run leaves)."""
        checks = []
        for item in session.items:
            info = item.stash.get(ITEM_INFO, None)
            if info is None:
                continue
            checks.append(CheckResult(item.nodeid, info[0], info[1], getattr(item, "originalname", item.name),
                                      CheckStatus.NOT_RUN, attribute=Attribute.NOT_RUN,
                                      advisory=item.get_closest_marker("advisory") is not None).to_dict())
        self._write({"event": "collected", "checks": checks})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        record = self.config.stash[RUN].records.get(report.nodeid)
        if record is None:
            return
        self._write({"event": "result", "check": record.to_dict()})

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        self._write({"event": "done", "exitstatus": int(exitstatus)})
        self.file.close()


def register_stream(config: pytest.Config, path: str) -> None:
    stream = Stream(Path(path), config)
    config.pluginmanager.register(stream, "kata-stream")
