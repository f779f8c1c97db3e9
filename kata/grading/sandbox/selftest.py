"""The grader's self-test: before it grades, the trusted process proves that its sandbox can run the references.

A sandbox that cannot see the grader's own Python (a venv under a private ``/tmp``, say) still imports torch -- the
zygote imported it before the sandbox was set up -- but every module torch imports lazily at run time is missing, and
references lose points with nothing said.  A grade is never silently wrong: ``kata grade`` and ``kata class grade``
(once per run) first run, in workers set up exactly as the learner's are (same isolation, uids, hidden folders,
limits, system-call filter):

- a probe: ``torch.save`` / ``torch.load`` round trips (a file in the worker's temp folder and memory), the version
  of torch and NumPy read from the package metadata (``importlib.metadata``), the compiler's lazy import of
  ``torch._dynamo`` and, where the filter is required, that a kernel-keyring call and ``unshare`` are refused;
- per chapter, the reference module imported in the sandbox and the call named by the chapter's ``selftest`` (its
  ``chapter.toml``), compared with the same call in this process; a chapter without one compares the names the
  module defines.

:func:`run` returns ``None`` when everything matched, else why not (one line, English: the grader's own fault,
shown after the Japanese message).
"""
from __future__ import annotations

import ast
import contextlib
import importlib.metadata
import os
import platform
import stat
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from kata import catalog, loader
from kata.grading.sandbox import client

#: The probe module, run in a worker as if it were a learner's file.
PROBE = b'''
import ctypes
import errno
import importlib
import importlib.metadata
import io
import os

import torch


def lazy_imports():
    path = os.path.join(os.getcwd(), "kata-selftest.pt")
    torch.save({"w": torch.arange(6.0).reshape(2, 3)}, path)
    from_file = torch.load(path, weights_only=True)["w"]
    os.remove(path)
    buffer = io.BytesIO()
    torch.save(from_file, buffer)
    buffer.seek(0)
    from_memory = torch.load(buffer, weights_only=True)
    importlib.import_module("torch._dynamo")  # the compiler, imported lazily by optimisers
    return (from_file, from_memory, importlib.metadata.version("torch"), importlib.metadata.version("numpy"),
            len(list(importlib.metadata.distributions())) > 0)


_references = {}


def load_reference(key, source, filename):
    """A chapter's reference module, run in a namespace of its own inside this worker."""
    space = {"__name__": "kata_selftest_" + key, "__file__": filename}
    exec(compile(bytes(source), filename, "exec"), space)
    _references[key] = space
    return sorted(name for name in space if not name.startswith("_"))


def call_reference(key, name, args, kwargs):
    return _references[key][name](*args, **kwargs)


def refused(keyctl_nr):
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}
    calls = [("unshare", lambda: libc.unshare(0x10000000))]
    if keyctl_nr is not None:
        calls.append(("keyctl", lambda: libc.syscall(keyctl_nr, 0, -3, 1, 0, 0)))
    for name, call in calls:
        ctypes.set_errno(0)
        result = call()
        out[name] = errno.errorcode.get(ctypes.get_errno(), "?") if result == -1 else "allowed"
    return out
'''

#: ``keyctl``'s system-call number where this machine's is known (the probe calls it by number: no C library wraps
#: it).
KEYCTL = {"x86_64": 250, "aarch64": 219, "arm64": 219}


class SelfTestFailed(Exception):
    pass


def _same(a: Any, b: Any, where: str = "result") -> None:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            raise SelfTestFailed(f"{where}: {type(a).__name__} != {type(b).__name__}")
        if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a.detach().cpu(), b.detach().cpu()):
            raise SelfTestFailed(f"{where}: tensors differ ({a.dtype}{tuple(a.shape)} vs {b.dtype}{tuple(b.shape)})")
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.dtype != b.dtype \
                or not np.array_equal(a, b):
            raise SelfTestFailed(f"{where}: arrays differ")
        return
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        if len(a) != len(b):
            raise SelfTestFailed(f"{where}: lengths differ ({len(a)} vs {len(b)})")
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
        return
    if a != b:
        raise SelfTestFailed(f"{where}: {a!r} != {b!r}")


def parse_call(text: str) -> tuple[str, Callable[[], tuple[tuple, dict]]]:
    """``"name(args…)"`` (a chapter's ``selftest``): the function's name and a maker of its arguments (evaluated
    with ``torch``, ``np`` and ``nn`` in scope, under a fixed seed, anew for each side)."""
    tree = ast.parse(text.strip(), mode="eval").body
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
        raise SelfTestFailed(f"selftest is not a call of a name: {text!r}")
    args = compile(ast.fix_missing_locations(ast.Expression(ast.Tuple(tree.args, ast.Load()))), "<selftest>", "eval")
    kwargs = compile(ast.fix_missing_locations(ast.Expression(ast.Dict(
        [ast.Constant(k.arg) for k in tree.keywords], [k.value for k in tree.keywords]))), "<selftest>", "eval")
    scope = {"torch": torch, "np": np, "nn": torch.nn}

    def make() -> tuple[tuple, dict]:
        torch.manual_seed(0)
        return eval(args, dict(scope)), eval(kwargs, dict(scope))  # the grader's own chapter.toml (in the manifest)

    return tree.func.id, make


def run(new_session: Callable[[catalog.Chapter | None, bytes, str], client.Session],
        chapters: list[catalog.Chapter], require_filter: bool) -> str | None:
    """The self-test (see the module's text); ``new_session(chapter, source, filename)`` makes a session set up as
    the chapter's learner session is (``chapter`` None: the probe).  ``None`` when everything matched.  This
    process's random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        return _run(new_session, chapters, require_filter)


def _run(new_session: Callable[[catalog.Chapter | None, bytes, str], client.Session],
        chapters: list[catalog.Chapter], require_filter: bool) -> str | None:
    """The self-test (see the module's text); ``new_session(chapter, source, filename)`` makes a session set up as
    the chapter's learner session is (``chapter`` None: the probe).  ``None`` when everything matched."""
    if require_filter:
        from kata.grading.sandbox.jail import syscall_filter_available

        missing = syscall_filter_available()
        if missing is not None:  # the workers would stop before the first check: said here, with the reason
            return f"no system-call filter: {missing}"
    try:
        probe = new_session(None, PROBE, "<kata-selftest>")
        try:
            module = probe.module()
            got = module.lazy_imports()
            expected = torch.arange(6.0).reshape(2, 3)
            _same(got[0], expected, "torch.save/torch.load (file)")
            _same(got[1], expected, "torch.save/torch.load (memory)")
            _same(got[2], importlib.metadata.version("torch"), "importlib.metadata.version('torch')")
            _same(got[3], importlib.metadata.version("numpy"), "importlib.metadata.version('numpy')")
            _same(got[4], True, "importlib.metadata.distributions()")
            if require_filter:
                refused = module.refused(KEYCTL.get(platform.machine()))
                for name, how in dict(refused).items():
                    if how != "EPERM":
                        raise SelfTestFailed(f"system-call filter: {name} {how}, not EPERM")
            # Every chapter's reference in this same worker (set up as a learner's is: one fork, not one per
            # chapter), each call compared with the same call in this process.
            for chapter in chapters:
                reference = chapter.reference_file()
                shown = f"solutions/{chapter.key}/{chapter.file}"
                there_names = module.load_reference(chapter.key, reference.read_bytes(), shown)
                local = loader.load(reference, f"kata_selftest_{chapter.key}_{time.monotonic_ns()}", learner=False)
                text = chapter.selftest
                if text:
                    name, make = parse_call(text)
                    args, kwargs = make()
                    there = module.call_reference(chapter.key, name, list(args), kwargs)
                    args, kwargs = make()
                    here = getattr(local, name)(*args, **kwargs)
                    _same(there, here, f"{chapter.key}: {text}")
                else:
                    names = {n for n in vars(local) if not n.startswith("_")}
                    if set(there_names) != names:
                        raise SelfTestFailed(f"{chapter.key}: the reference defines other names in the sandbox")
        finally:
            probe.close()
    except SelfTestFailed as err:
        return str(err) + unreadable()
    except Exception as err:  # the sandbox itself failed (a worker that did not start, a lazy import missing, …)
        return f"{type(err).__name__}: {err}"[:300] + unreadable()
    return None


def unreadable() -> str:
    """Why the sandbox's own uids may not read the interpreter (a grader run as root whose venv folder is private,
    mode 0700): the first folder of the interpreter that others may not read and enter, as a hint; else ''."""
    if os.geteuid() != 0:
        return ""
    from kata.grading.sandbox.jail import needed_paths

    for path in needed_paths():
        with contextlib.suppress(OSError):
            mode = os.stat(path).st_mode
            if mode & 0o005 != 0o005:
                return f" (the sandbox's uids may not read {path}: mode {stat.S_IMODE(mode):o}; make it readable)"
    return ""


__all__ = ["PROBE", "SelfTestFailed", "parse_call", "run"]
