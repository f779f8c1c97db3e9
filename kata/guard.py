"""The grading child: one chapter's checks on a learner's file, under limits, watched for tampering.

``kata.grading`` (the parent) starts one child per chapter, either a fork of itself or a fresh interpreter
(:func:`main`, with the job and the key on stdin), and reads the child's results from a pipe.  This module is the
child's side and is never loaded in a learner's ordinary ``pytest`` run.  In order, the child

1. leaves the parent's world: own process group, no inherited descriptors but the result pipe, a minimal
   environment, ``cwd`` in its own work folder, optionally another (unprivileged) user;
2. sets resource limits (address space, CPU seconds, file size, no core dumps, processes);
3. installs an audit hook (it cannot be removed) that blocks, while learner code is on the stack, what a kata
   never needs: peeking at frames, ``gc``'s object walks, ``ctypes``, trace functions, code objects made on the
   fly, new processes, signals to others, network, and writes outside the work folder;
4. runs pytest on its private copy of the chapter's checks and reference with :class:`GuardPlugin`, which takes
   a snapshot of the objects the verdict depends on (pytest's runner and reports, pluggy's hook callers, the
   engine, ``torch.testing``, the comparison functions torch and NumPy offer, builtins, the check modules, the
   reference module) *before* learner code is imported, and after every check looks for any of them replaced,
   for hook implementations added or removed, and for learner classes built to fool a comparison;
5. sends one HMAC-signed line per event (collected checks, each check's result, the end) over the pipe.

The limits of all this are documented in the README (講師の方へ): it is one process, so learner code that studies
this module can still find its objects; what it buys is that the easy ways to fake a pass are caught, and the
hard ones leave evidence in the submission.
"""
from __future__ import annotations

import ast
import hmac
import itertools
import json
import operator
import os
import signal
import sys
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from kata import messages

PROTOCOL = 1
IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: such classes cannot be patched with setattr
MAX_VERDICT = 4000
MAX_LINE = 1 << 20  # the parent treats a longer line as tampering

# -- what the audit hook watches ----------------------------------------------------------------------------------
#: Looking at live frames from learner code (the caller itself is learner code).
FRAME_EVENTS = {"sys._getframe"}
FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame"}
#: Walking the object graph, poking memory, tracing: any learner frame on the stack.
GC_EVENTS = {"gc.get_objects", "gc.get_referrers", "gc.get_referents"}
TRACE_EVENTS = {"sys.settrace", "sys.setprofile", "sys._current_frames"}
CODE_EVENTS = {"code.__new__", "function.__new__"}
PROCESS_EVENTS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system", "subprocess.Popen",
                  "os.startfile", "pty.spawn"}
SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"}
#: Events that change the file system, with the argument positions of the paths they change.
WRITE_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.truncate": (0,), "os.chmod": (0,),
                "os.chown": (0,), "os.link": (0, 1), "os.symlink": (1,), "os.mkdir": (0,), "os.utime": (0,),
                "shutil.rmtree": (0,), "os.chflags": (0,), "os.lchflags": (0,), "os.setxattr": (0,),
                "os.removexattr": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,), "shutil.move": (0, 1)}
WATCHED = (FRAME_EVENTS | GC_EVENTS | TRACE_EVENTS | CODE_EVENTS | PROCESS_EVENTS | SIGNAL_EVENTS | NETWORK_EVENTS
           | set(WRITE_EVENTS) | {"open", "object.__getattr__", "object.__setattr__", "object.__delattr__",
                                  "compile"})

# -- what the snapshot watches ------------------------------------------------------------------------------------
#: Modules whose namespaces (and the classes defined in them) the verdict depends on.
WATCHED_MODULES = ("builtins", "torch", "torch.testing", "torch.testing._comparison", "torch.nn",
                   "torch.nn.functional", "torch.autograd", "torch.optim", "torch.utils.data", "numpy", "numpy.testing",
                   "random", "math", "operator", "functools", "pytest", "pluggy", "pytest_timeout")
WATCHED_PREFIXES = ("kata.", "_pytest.", "pluggy.", "torch.nn.modules.", "torch.utils.data.", "torch.optim.")
#: Names that pytest itself rebinds around every check.
VOLATILE = {"_pytest.assertion.util": {"_reprcompare", "_assertion_pass", "_config"}}
#: Names Python adds to a class on first use (``copyreg`` caches ``__slotnames__`` when pickling, e.g. torch.save).
CACHED_CLASS_NAMES = {"__slotnames__"}
#: Dunders by which an object of a learner's subclass of a value type can pass a comparison it should fail.
DECEPTIVE_ARRAY_DUNDERS = {"__torch_function__", "__torch_dispatch__", "__array_function__", "__array_ufunc__",
                           "__array__", "__getattribute__", "__getattr__", "__eq__", "__ne__", "__bool__", "__len__"}
DECEPTIVE_SCALAR_DUNDERS = {"__eq__", "__ne__", "__bool__", "__float__", "__int__", "__index__", "__getattribute__",
                            "__lt__", "__le__", "__gt__", "__ge__", "__abs__", "__sub__", "__rsub__"}
DECEPTIVE_CONTAINER_DUNDERS = {"__eq__", "__ne__", "__getattribute__"}
#: ... and of any learner class (``__class__`` makes ``isinstance`` lie).
DECEPTIVE_ANY_DUNDERS = {"__class__", "__instancecheck__", "__subclasscheck__"}
DECEPTIVE_OWN_FILE_DUNDERS = {"__eq__", "__ne__"}

#: Source tokens that have no place in an exercise: they reach into the grader (used by :func:`scan_source`).
SUSPICIOUS_MODULES = ("_pytest", "pluggy", "kata", "pytest_timeout", "ctypes")
SUSPICIOUS_NAMES = {"_getframe", "_current_frames", "f_back", "f_globals", "f_locals", "tb_frame", "gi_frame",
                    "ctypeslib",
                    "__code__", "__closure__", "__globals__", "__subclasses__", "get_referrers", "get_referents",
                    "get_objects", "meta_path", "settrace", "setprofile", "addaudithook", "pythonapi", "string_at",
                    "memmove", "pluginmanager", "hookimpl", "TestReport", "CallInfo", "kata_status"}
SUSPICIOUS_PYTEST_CALLS = {"skip", "xfail", "exit", "importorskip"}


# -- the job ------------------------------------------------------------------------------------------------------

@dataclass
class ChildJob:
    """Everything a grading child needs, as plain data (it travels as JSON to a spawned interpreter)."""

    chapter: str  # "03_numpy"
    suite: str  # private copy of the grading path: kata/, conftest.py, pyproject.toml, checks/<ch>, solutions/<ch>
    submission: str  # staged submission root, holding exercises/<chapter>/<file> only (the work folder)
    learner_file: str  # the staged file
    work: str  # writable folder: cwd, HOME, TMPDIR, pytest's basetemp
    grader_root: str  # the grader's own repository (never written)
    run_root: str  # the parent's folder holding every chapter's job
    seed: int
    check_timeout: float = 10.0
    cpu_seconds: int = 120
    memory_bytes: int | None = 2 << 30
    file_bytes: int = 64 << 20
    max_processes: int | None = 64
    deselect: list[str] = field(default_factory=list)
    uid: int | None = None
    gid: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ChildJob":
        return cls(**json.loads(text))


# -- the signed channel -------------------------------------------------------------------------------------------

def make_sender(fd: int, key: bytes) -> Callable[..., None]:
    """A function that writes one signed line per message to ``fd``; the key lives only in its closure."""
    mac = hmac.new(key, digestmod="sha256")
    counter = itertools.count()
    write = os.write

    def send(kind: str, **fields: Any) -> None:
        fields["kind"] = kind
        fields["seq"] = next(counter)
        payload = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
        signer = mac.copy()
        signer.update(payload.encode("ascii"))
        data = memoryview(f"{signer.hexdigest()} {payload}\n".encode("ascii"))
        while data:
            try:
                written = write(fd, data)
            except InterruptedError:
                continue
            except OSError:
                return  # the parent is gone or the pipe was closed: nothing left to tell
            data = data[written:]

    return send


def verify_line(line: bytes, key: bytes) -> dict | None:
    """The message of one signed line, or ``None`` when the line was not written by a grading child's sender."""
    mac, _, payload = line.partition(b" ")
    if len(mac) != 64 or not payload:
        return None
    expected = hmac.new(key, payload, digestmod="sha256").hexdigest().encode("ascii")
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        message = json.loads(payload)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


# -- the audit hook -----------------------------------------------------------------------------------------------

def _path_of(value: Any) -> str | None:
    if isinstance(value, (str, bytes, os.PathLike)):
        try:
            return os.path.realpath(os.fsdecode(value))
        except (TypeError, ValueError, OSError):
            return None
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class AuditGuard:
    """The audit hook of a grading child (see the module docstring for what it blocks and why)."""

    def __init__(self, learner_files: set[str], allowed: list[str], protected: list[str]):
        self.learner_files = set(learner_files)
        self.allowed = [os.path.realpath(p) for p in allowed] + ["/dev/null"]
        self.protected = [os.path.realpath(p) for p in protected]
        self.monitored_ids: set[int] = set()
        self.findings: list[str] = []
        self.pid = os.getpid()
        self._busy = False
        import inspect
        import traceback

        import torch
        self._helpers = {inspect.__file__, traceback.__file__}
        self._torch_dir = os.path.dirname(torch.__file__) + os.sep

    # a finding is tampering (zero for the chapter); a forbidden operation is only refused
    def _tamper(self, what: str) -> None:
        if what not in self.findings:
            self.findings.append(what)
        raise PermissionError(messages.GRADE_FORBIDDEN.format(what=what))

    @staticmethod
    def _forbid(what: str) -> None:
        raise PermissionError(messages.GRADE_FORBIDDEN.format(what=what))

    def take(self) -> list[str]:
        out, self.findings = self.findings, []
        return out

    def _learner_on_stack(self, frame: Any) -> bool:
        files = self.learner_files
        while frame is not None:
            if frame.f_code.co_filename in files:
                return True
            frame = frame.f_back
        return False

    def _learner_calls(self, frame: Any, skip_helpers: bool = False) -> bool:
        """Whether the nearest real caller is learner code (frames of exec'd strings are looked through)."""
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith("<") or (skip_helpers and name in self._helpers):
                frame = frame.f_back
                continue
            return name in self.learner_files
        return False

    def _torch_calls(self, frame: Any) -> bool:
        """Whether the nearest real caller is torch itself (torch's own use of ctypes, e.g. to find a GPU)."""
        while frame is not None:
            name = frame.f_code.co_filename
            if not name.startswith("<"):
                return name.startswith(self._torch_dir)
            frame = frame.f_back
        return False

    def __call__(self, event: str, args: tuple) -> None:
        if self._busy or (event not in WATCHED and not event.startswith("ctypes.")):
            return
        if event == "object.__getattr__" and (len(args) < 2 or args[1] not in FRAME_ATTRIBUTES):
            return
        self._busy = True
        try:
            self._check(event, args, sys._getframe(1))
        finally:
            self._busy = False

    def _check(self, event: str, args: tuple, frame: Any) -> None:  # noqa: C901 - one branch per kind of event
        if event in FRAME_EVENTS:
            if self._learner_calls(frame, skip_helpers=True):
                self._tamper(messages.TAMPER_FRAMES.format(how=event))
        elif event == "object.__getattr__":
            if self._learner_calls(frame):
                self._tamper(messages.TAMPER_FRAMES.format(how=args[1]))
        elif event in ("object.__setattr__", "object.__delattr__"):
            if args and id(args[0]) in self.monitored_ids:
                name = getattr(args[0], "__qualname__", type(args[0]).__name__)
                self._tamper(messages.TAMPER_CODE.format(how=f"{name}.{args[1] if len(args) > 1 else '?'}"))
        elif event in CODE_EVENTS:
            if self._learner_calls(frame):
                self._tamper(messages.TAMPER_CODE.format(how=event))
        elif event == "compile":
            filename = args[1] if len(args) > 1 else None
            if isinstance(filename, (str, bytes)):
                filename = os.fsdecode(filename)
                if not filename.startswith("<") and filename not in self.learner_files \
                        and self._learner_calls(frame):
                    self._tamper(messages.TAMPER_CODE.format(how=f"compile(…, {filename!r})"))
        elif event in GC_EVENTS:
            if self._learner_on_stack(frame):
                self._tamper(messages.TAMPER_GC.format(how=event))
        elif event in TRACE_EVENTS:
            if self._learner_on_stack(frame) and not self._torch_calls(frame):
                self._tamper(messages.TAMPER_TRACE.format(how=event))
        elif event.startswith("ctypes."):
            if self._learner_on_stack(frame) and not self._torch_calls(frame):
                self._tamper(messages.TAMPER_CTYPES.format(how=event))
        elif event in PROCESS_EVENTS:
            if self._learner_on_stack(frame):
                self._forbid(messages.FORBIDDEN_PROCESS.format(how=event))
        elif event in SIGNAL_EVENTS:
            target = args[0] if args else None
            own = target in (self.pid, 0, -self.pid) or (event == "signal.pthread_kill")
            if not own and self._learner_on_stack(frame):
                self._forbid(messages.FORBIDDEN_SIGNAL.format(how=f"{event}({target})"))
        elif event in NETWORK_EVENTS:
            if self._learner_on_stack(frame):
                self._forbid(messages.FORBIDDEN_NETWORK.format(how=event))
        elif event == "open":
            if len(args) >= 3 and _opens_for_writing(args[1], args[2]):
                self._check_write([args[0]], frame)
        elif event in WRITE_EVENTS:
            self._check_write([args[i] for i in WRITE_EVENTS[event] if i < len(args)], frame)

    def _check_write(self, targets: list[Any], frame: Any) -> None:
        paths = [p for p in map(_path_of, targets) if p is not None]
        outside = [p for p in paths if not any(_inside(p, a) for a in self.allowed)]
        if not outside or not self._learner_on_stack(frame):
            return
        hit = next((p for p in outside if any(_inside(p, d) for d in self.protected)), None)
        if hit is not None:
            self._tamper(messages.TAMPER_WRITE.format(path=hit))
        self._forbid(messages.FORBIDDEN_WRITE.format(path=outside[0]))


def _opens_for_writing(mode: Any, flags: Any) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    if isinstance(flags, int):
        return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC))
    return False


# -- the snapshot of objects the verdict depends on ---------------------------------------------------------------

class Snapshot:
    """Identities of namespace entries, compared after every check.

    Functions are only listed (``monitored_ids``): replacing their ``__code__``, ``__defaults__`` or
    ``__kwdefaults__`` raises an audit event, which :class:`AuditGuard` turns into a finding on the spot.
    """

    def __init__(self) -> None:
        self._spaces: list[tuple[str, Any, list[Any], list[Any]]] = []
        self._flat: list[Any] = []
        self._modules: list[tuple[str, types.ModuleType]] = []
        self._seen: set[int] = set()
        self.monitored_ids: set[int] = set()
        self._keep: list[Any] = []  # monitored objects stay alive, so that their ids stay theirs
        #: ``rule(name, old, new) -> bool``: a change that the library itself makes (accepted, then watched anew)
        self.benign: list[Callable[[Any, Any, Any], bool]] = []

    def add_namespace(self, label: str, mapping: Any, volatile: set[str] = frozenset(),
                      new_names: str = "any") -> None:
        """Watch ``mapping``; ``new_names``: which names added later count as a change (``"any"``, or
        ``"non-module"`` for a package namespace that lazily gains submodules, ``"ignore"`` for a cache)."""
        if id(mapping) in self._seen:
            return
        self._seen.add(id(mapping))
        self._keep.append(mapping)
        keys = [k for k in list(mapping.keys()) if k not in volatile]
        values = [mapping.get(k) for k in keys]
        self._spaces.append((label, mapping, keys, values, set(keys) | set(volatile), new_names))
        self._flat += list(mapping.values())
        for value in values:
            for func in _functions_of(value):
                self.monitored_ids.add(id(func))
                self._keep.append(func)

    def add_class(self, label: str, cls: type) -> None:
        self.monitored_ids.add(id(cls))
        self.add_namespace(label, type.__dict__["__dict__"].__get__(cls))

    def add_module(self, module: types.ModuleType, classes: bool = True) -> None:
        name = module.__name__
        self._modules.append((name, module))
        namespace = vars(module)
        lazy = name.startswith(("torch", "numpy")) or name in ("pytest", "pluggy", "_pytest")
        self.add_namespace(name, namespace, VOLATILE.get(name, set()), "non-module" if lazy else "any")
        if not classes:
            return
        for attr, value in list(namespace.items()):
            if isinstance(value, type) and getattr(value, "__module__", None) == name \
                    and not value.__flags__ & IMMUTABLE_TYPE \
                    and not (name == "torch" and attr.endswith("Tensor") and attr != "Tensor"):
                self.add_class(f"{name}.{attr}", value)

    @property
    def size(self) -> int:
        return sum(len(space[2]) for space in self._spaces)


    def verify(self) -> list[str]:
        """Labels of what changed since the snapshot (empty when nothing did).

        The common case is one identity pass over the values of every namespace, end to end; only when that
        differs (a replaced or deleted name, or a name added, such as a lazily imported torch submodule) are the
        namespaces compared name by name.
        """
        is_not = operator.is_not
        flat = list(itertools.chain.from_iterable(space[1].values() for space in self._spaces))
        changed = []
        if len(flat) != len(self._flat) or any(map(is_not, flat, self._flat)):
            for label, mapping, keys, values, known, new_names in self._spaces:
                keyed = list(map(mapping.get, keys))
                if any(map(is_not, keyed, values)):
                    for i, (k, now_value, old) in enumerate(zip(keys, keyed, values)):
                        if now_value is old:
                            continue
                        if any(rule(k, old, now_value) for rule in self.benign):
                            values[i] = now_value
                        else:
                            changed.append(f"{label}.{k}")
                if new_names != "ignore":
                    added = [k for k in list(mapping.keys()) if k not in known and k not in CACHED_CLASS_NAMES]
                    if new_names != "any":
                        added = [k for k in added if not isinstance(mapping.get(k), types.ModuleType)]
                    changed += [f"{label}.{k}" for k in added]
            if not changed:
                self._flat = flat  # only names were added, or volatile ones moved
        for name, module in self._modules:
            if sys.modules.get(name) is not module:
                changed.append(f"sys.modules[{name!r}]")
        return changed


def _functions_of(value: Any) -> list[Any]:
    if isinstance(value, types.FunctionType):
        return [value]
    if isinstance(value, (classmethod, staticmethod)):
        inner = value.__func__
        return [inner] if isinstance(inner, types.FunctionType) else []
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType)]
    return []


def _optimizer_step_hook() -> Callable[[Any, Any, Any], bool]:
    """``torch.optim.Optimizer.__init__`` wraps ``type(self).step`` in a profiling hook the first time a class is
    instantiated: torch's own change, recognised by the wrapper's code object and ``__wrapped__``."""
    import torch
    hook_code = torch.optim.Optimizer.profile_hook_step(lambda *a, **k: None).__code__

    def benign(name: Any, old: Any, new: Any) -> bool:
        return (name == "step" and type(new) is types.FunctionType and new.__code__ is hook_code
                and new.__dict__.get("__wrapped__") is old and new.__dict__.get("hooked") is True)

    return benign


def _watched_modules() -> list[types.ModuleType]:
    out = []
    for name in sorted(sys.modules):
        module = sys.modules.get(name)
        if not isinstance(module, types.ModuleType):
            continue
        if name in WATCHED_MODULES or name.startswith(WATCHED_PREFIXES):
            out.append(module)
    return out


class ClassWatch:
    """Finds classes, made by learner code after the snapshot, that could fool a comparison.

    It looks at the direct subclasses of ``object`` and of the value types, the whole subclass trees of
    ``torch.Tensor`` and ``numpy.ndarray``, and the subclasses of every class it finds new.
    """

    def __init__(self, learner_files: set[str], learner_prefix: str = "kata_under_test"):
        import numpy as np
        import torch
        self.learner_files = learner_files
        self.prefix = learner_prefix
        self.dunders: dict[type, set[str]] = {
            torch.Tensor: DECEPTIVE_ARRAY_DUNDERS, np.ndarray: DECEPTIVE_ARRAY_DUNDERS,
            **{t: DECEPTIVE_SCALAR_DUNDERS for t in (str, int, float, complex, bytes)},
            **{t: DECEPTIVE_CONTAINER_DUNDERS for t in (tuple, list, dict, torch.Size)},
        }
        self.value_roots: tuple[type, ...] = tuple(self.dunders)
        self.deep = (torch.Tensor, np.ndarray)
        self.known: set[int] = set()
        self._lists: dict[int, tuple[type, list[type]]] = {}
        for root in (object, *self.value_roots):
            self._track(root, deep=root in self.deep)

    def _track(self, cls: type, deep: bool) -> None:
        subs = type.__subclasses__(cls)
        self._lists[id(cls)] = (cls, subs)
        self.known.update(map(id, subs))
        if deep:
            for sub in subs:
                if id(sub) not in self._lists:
                    self._track(sub, deep=True)

    def _fresh(self) -> list[type]:
        fresh = []
        is_not = operator.is_not
        for key, (cls, old) in list(self._lists.items()):
            now = type.__subclasses__(cls)
            if len(now) == len(old) and not any(map(is_not, now, old)):
                continue
            self._lists[key] = (cls, now)
            for sub in now:
                if id(sub) not in self.known:
                    self.known.add(id(sub))
                    fresh.append(sub)
        return fresh

    def _learner_made(self, cls: type, namespace: Any) -> bool:
        module = namespace.get("__module__")
        if isinstance(module, str) and module.startswith(self.prefix):
            return True
        for value in namespace.values():
            for func in _functions_of(value):
                if func.__code__.co_filename in self.learner_files:
                    return True
        return False

    def scan(self) -> list[str]:
        findings = []
        fresh = self._fresh()
        while fresh:
            cls = fresh.pop()
            self._lists[id(cls)] = (cls, type.__subclasses__(cls))
            for sub in self._lists[id(cls)][1]:
                if id(sub) not in self.known:
                    self.known.add(id(sub))
                    fresh.append(sub)
            try:
                namespace = type.__dict__["__dict__"].__get__(cls)
                if not self._learner_made(cls, namespace):
                    continue
                name = type.__dict__["__qualname__"].__get__(cls)
                bad = sorted(DECEPTIVE_ANY_DUNDERS & set(namespace))
                roots = [r for r in self.value_roots if issubclass(cls, r)]
                if roots:
                    bad += sorted(set().union(*(self.dunders[r] for r in roots)) & set(namespace) - set(bad))
                else:
                    bad += sorted(d for d in DECEPTIVE_OWN_FILE_DUNDERS & set(namespace)
                                  if any(f.__code__.co_filename in self.learner_files
                                         for f in _functions_of(namespace[d])))
                if bad:
                    findings.append(messages.TAMPER_DECEPTIVE.format(cls=name, how=", ".join(bad)))
            except Exception:  # noqa: BLE001 - a class that cannot be inspected is not evidence
                continue
        return findings


# -- the pytest plugin --------------------------------------------------------------------------------------------

class GuardPlugin:
    """Registered only in grading children (``pytest.main(..., plugins=[GuardPlugin(...)])``)."""

    def __init__(self, job: ChildJob, send: Callable[..., None], audit: AuditGuard):
        self.job = job
        self._send = send
        self.audit = audit
        self.snapshot: Snapshot | None = None
        self.classes: ClassWatch | None = None
        self.hooks: dict[str, tuple] = {}
        self.config: Any = None
        self.phases: dict[str, tuple[str, str]] = {}
        self.collect_errors: list[str] = []
        self.findings_sent: set[str] = set()
        self.modes: dict[str, int] = {}
        self.ended = False

    # -- collection: the list of checks and the snapshot, both before any learner code runs ----------------------

    def pytest_configure(self, config: Any) -> None:
        self.config = config

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append(_text(report.longrepr)[:MAX_VERDICT])

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: Any) -> None:
        from kata.plugin import ITEM_INFO
        collected = []
        for item in session.items:
            chapter, exercise = item.stash.get(ITEM_INFO, (None, None))
            collected.append({"nodeid": item.nodeid, "chapter": chapter, "exercise": exercise,
                              "function": getattr(item, "originalname", item.name)})
        self._preload_reference()
        self.snapshot = self._take_snapshot(session)
        self.audit.monitored_ids |= self.snapshot.monitored_ids
        self.classes = ClassWatch(self.audit.learner_files)
        self.hooks = self._hook_impls()
        self.modes = _mode_stacks()
        self._send("collected", tests=collected, errors=self.collect_errors)

    def _preload_reference(self) -> None:
        from kata import catalog, loader
        chapter = catalog.chapter_of_key(self.job.chapter)
        if chapter is None:
            return
        try:
            loader.load(chapter.reference_file(), f"kata_reference.c{chapter.key}", learner=False)
        except Exception:  # noqa: BLE001 - the ref fixture will report it
            pass

    def _take_snapshot(self, session: Any) -> Snapshot:
        # Importing torch._dynamo rebinds torch.manual_seed (and torch imports it on the first call of any
        # function wrapped with torch._disable_dynamo): let that happen before the snapshot, not during a check.
        import torch._dynamo  # noqa: F401
        snap = Snapshot()
        snap.benign.append(_optimizer_step_hook())
        for module in _watched_modules():
            snap.add_module(module)
        import torch
        snap.add_class("torch.Tensor", torch.Tensor)
        for item in session.items:
            module = getattr(item, "module", None)
            if isinstance(module, types.ModuleType):
                snap.add_module(module)
        for name, module in list(sys.modules.items()):
            if name.startswith("kata_reference.") and isinstance(module, types.ModuleType):
                snap.add_module(module)
        from kata import loader
        snap.add_namespace("kata.loader._CACHE", loader._CACHE, new_names="ignore")
        # Global registries of hooks (every nn.Module's forward, every optimizer's step, ...): normally empty.
        for name, module in list(sys.modules.items()):
            if name.startswith("torch.") and isinstance(module, types.ModuleType):
                for attr, value in list(vars(module).items()):
                    if attr.startswith("_global_") and isinstance(value, dict):
                        snap.add_namespace(f"{name}.{attr}", value)
        return snap

    def _hook_impls(self) -> dict[str, tuple]:
        hook = self.config.pluginmanager.hook
        out = {}
        for name in dir(hook):
            if name.startswith("pytest_"):
                caller = getattr(hook, name)
                out[name] = tuple((impl.plugin_name, impl.function) for impl in caller.get_hookimpls())
        return out

    # -- running: the status of each check as the guard saw it ---------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
        self.phases = {}
        try:
            return (yield)
        finally:
            self._report(item)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
        report = yield
        status, verdict = "pass", ""
        if call.excinfo is not None:
            exc = call.excinfo.value
            learner = self._raised_by_learner(call.excinfo.tb)
            if isinstance(exc, (pytest.skip.Exception, pytest.xfail.Exception)) and learner:
                self.audit.findings.append(messages.TAMPER_SKIP.format(how=type(exc).__name__))
                status = "fail"
            elif isinstance(exc, pytest.skip.Exception) and call.when != "teardown":
                status = "skip"
            elif getattr(report, "kata_status", None) == "todo":
                status = "todo"
            else:
                status = "fail"
            verdict = _text(report.longrepr)
        self.phases[call.when] = (status, verdict[:MAX_VERDICT])
        return report

    def _raised_by_learner(self, tb: Any) -> bool:
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in self.audit.learner_files:
                return True
            tb = tb.tb_next
        return False

    def _report(self, item: Any) -> None:
        phases = self.phases
        failing = [phases[w] for w in ("setup", "call", "teardown") if w in phases and phases[w][0] in ("fail", "todo")]
        if failing:
            status, verdict = failing[0]
        elif phases.get("setup", ("pass",))[0] == "skip" or phases.get("call", ("",))[0] == "skip":
            status, verdict = "skip", (phases.get("call") or phases["setup"])[1]
        elif "call" in phases:
            status, verdict = "pass", ""
        else:
            status, verdict = "fail", messages.GRADE_INTERRUPTED
        attribute = ""
        if status == "fail":
            from kata.plugin import RECORDS
            record = self.config.stash.get(RECORDS, {}).get(item.nodeid) if self.config else None
            attribute = str(getattr(record, "attribute", "") or "")
        self._send("test", nodeid=item.nodeid, status=status, verdict=verdict, attribute=attribute,
                   findings=self._findings())

    def _findings(self) -> list[str]:
        found = self.audit.take()
        if self.snapshot is not None:
            found += [messages.TAMPER_REPLACED.format(name=label) for label in self.snapshot.verify()[:5]]
        if self.hooks:
            now = self._hook_impls()
            found += [messages.TAMPER_HOOKS.format(hook=name) for name in sorted(set(now) | set(self.hooks))
                      if now.get(name) != self.hooks.get(name)][:3]
        if self.classes is not None:
            found += self.classes.scan()
        if self.modes:
            found += [messages.TAMPER_MODE.format(how=name) for name, depth in _mode_stacks().items()
                      if depth != self.modes.get(name)]
        fresh = [f for f in dict.fromkeys(found) if f not in self.findings_sent]
        self.findings_sent.update(fresh)
        return fresh

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: Any, exitstatus: Any) -> None:
        self.ended = True
        self._send("end", exitstatus=int(exitstatus), findings=self._findings())


def _mode_stacks() -> dict[str, int]:
    """Depths of torch's stacks of TorchFunctionMode / TorchDispatchMode (outside a check they are empty)."""
    import torch
    out = {}
    for name, getter in (("TorchFunctionMode", "_len_torch_function_stack"),
                         ("TorchDispatchMode", "_len_torch_dispatch_stack")):
        func = getattr(torch._C, getter, None)
        if func is not None:
            try:
                out[name] = int(func())
            except Exception:  # noqa: BLE001
                pass
    return out


def _text(longrepr: Any) -> str:
    if longrepr is None:
        return ""
    if isinstance(longrepr, str):
        return longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


# -- the child's life ---------------------------------------------------------------------------------------------

def _vm_size() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _count_processes(uid: int) -> int:
    count = 0
    try:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid == uid:
                        count += len(os.listdir(f"/proc/{entry.name}/task"))
                except OSError:
                    continue
    except OSError:
        return 0
    return count


def _set_limits(job: ChildJob) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return

    def limit(which: int, soft: int, hard: int | None = None) -> None:
        try:
            _, old_hard = resource.getrlimit(which)
            hard = soft if hard is None else hard
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):
            pass

    limit(resource.RLIMIT_CORE, 0)
    limit(resource.RLIMIT_CPU, job.cpu_seconds, job.cpu_seconds + 5)
    limit(resource.RLIMIT_FSIZE, job.file_bytes)
    base = _vm_size()
    if job.memory_bytes and base:  # without /proc the current size is unknown: no address-space limit then
        limit(resource.RLIMIT_AS, base + job.memory_bytes)
    if job.max_processes and hasattr(resource, "RLIMIT_NPROC") and os.getuid() != 0:
        limit(resource.RLIMIT_NPROC, _count_processes(os.getuid()) + job.max_processes)


def _leave_parent(job: ChildJob, keep_fd: int) -> None:
    """Own process group, no inherited descriptors, a minimal environment, the work folder as cwd."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE):
        try:
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGPIPE else signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    work = Path(job.work)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(work / "output.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        max_fd = os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        max_fd = 4096
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, max_fd)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    os.environ.clear()
    tmp = work / "tmp"
    os.environ.update({
        "PATH": path, "HOME": str(work), "TMPDIR": str(tmp), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONBREAKPOINT": "0", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLCONFIGDIR": str(work / "mpl"),
        "XDG_CACHE_HOME": str(work / "cache"), "TORCH_HOME": str(work / "torch"), "NO_COLOR": "1",
    })
    import tempfile
    tempfile.tempdir = str(tmp)
    os.chdir(work)
    sys.dont_write_bytecode = True
    submission = os.path.realpath(job.submission)
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and not _inside(os.path.realpath(p), submission)
                   and not _inside(os.path.realpath(p), os.path.realpath(job.run_root))]
    if job.suite not in sys.path:
        sys.path.insert(0, job.suite)


def _drop_privileges(job: ChildJob) -> None:
    if job.uid is None or os.getuid() != 0:
        return
    os.setgroups([])
    os.setgid(job.gid if job.gid is not None else job.uid)
    os.setuid(job.uid)


def _point_catalog_at(suite: Path) -> None:
    """Checks and references come from the child's private copy (the engine is already imported)."""
    from kata import catalog, loader
    catalog.chapters()  # keep the grader's list of chapters (cached before the paths move)
    catalog.ROOT, catalog.CHECKS = suite, suite / "checks"
    catalog.SOLUTIONS, catalog.EXERCISES = suite / "solutions", suite / "exercises"
    loader.clear_cache()
    for name in [n for n in sys.modules if n.startswith(("kata_reference.", "kata_under_test."))]:
        del sys.modules[name]
    for check in (suite / "checks").rglob("*.py"):
        sys.modules.pop(check.stem, None)


def pytest_args(job: ChildJob) -> list[str]:
    suite = Path(job.suite)
    args = [str(suite / "checks" / job.chapter), f"--rootdir={suite}", f"--config-file={suite / 'pyproject.toml'}",
            f"--confcutdir={suite}", f"--kata-submission={job.submission}", f"--kata-seed={job.seed}",
            f"--basetemp={Path(job.work) / 'basetemp'}", "-p", "pytest_timeout", "-p", "no:cacheprovider",
            "-p", "no:debugging", "-p", "no:pastebin", "-p", "no:junitxml", "-p", "no:doctest", "-p", "no:legacypath",
            "-o", f"timeout={job.check_timeout:g}", "-o", "timeout_method=signal", "-q", "--color=no"]
    args += [f"--deselect={nodeid}" for nodeid in job.deselect]
    return args


def run_child(job: ChildJob, fd: int, key: bytes) -> int:
    """Run the chapter and report over ``fd``; returns the exit status for ``os._exit``."""
    _leave_parent(job, fd)
    send = make_sender(fd, key)
    del key
    import torch
    try:
        torch.set_num_threads(1)
    except RuntimeError:
        pass
    _drop_privileges(job)
    _set_limits(job)
    learner = {os.path.realpath(job.learner_file), str(Path(job.learner_file).resolve())}
    audit = AuditGuard(learner, allowed=[job.work], protected=[job.suite, job.grader_root, job.run_root])
    sys.addaudithook(audit)
    _point_catalog_at(Path(job.suite))
    send("hello", protocol=PROTOCOL, pid=os.getpid(), chapter=job.chapter)
    plugin = GuardPlugin(job, send, audit)
    code = pytest.main(pytest_args(job), plugins=[plugin])
    if not plugin.ended:
        send("end", exitstatus=int(code), findings=plugin._findings())
    return 0


def fork_child(job: ChildJob, fd: int, key: bytes) -> None:
    """The body of a forked child: never returns into the parent's code."""
    status = 70
    try:
        status = run_child(job, fd, key)
    except BaseException:  # noqa: BLE001 - nothing may unwind into the parent's stack
        status = 70
        try:
            import traceback
            traceback.print_exc()  # into the child's output.log (kept with `kata grade --keep`)
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        os._exit(status)


def main() -> None:
    """Entry of a spawned child: the first line of stdin is the job, the second the hex key; fd 3.. is the pipe."""
    raw = sys.stdin.buffer.read()
    job_line, key_line, fd_line = raw.split(b"\n")[:3]
    job = ChildJob.from_json(job_line.decode())
    fd = int(fd_line)
    fork_child(job, fd, bytes.fromhex(key_line.decode()))


# -- the static scan (run by the parent, before any learner code) -------------------------------------------------

def scan_source(source: str) -> list[tuple[str, int]]:
    """Places in a learner's source that reach into the grader: ``[(what, line), ...]`` (empty for a kata)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []  # the check run reports the syntax error
    found: list[tuple[str, int]] = []

    def root(name: str) -> str:
        return name.split(".")[0]

    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [(f"import {a.name}", line) for a in node.names if root(a.name) in SUSPICIOUS_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and root(node.module) in SUSPICIOUS_MODULES:
            found.append((f"from {node.module} import …", line))
        elif isinstance(node, ast.Attribute):
            if node.attr in SUSPICIOUS_NAMES:
                found.append((f".{node.attr}", line))
            elif isinstance(node.value, ast.Name) and node.value.id == "pytest" \
                    and node.attr in SUSPICIOUS_PYTEST_CALLS:
                found.append((f"pytest.{node.attr}", line))
        elif isinstance(node, ast.Name) and node.id in SUSPICIOUS_NAMES:
            found.append((node.id, line))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if text in SUSPICIOUS_NAMES or (text.isascii() and text.replace(".", "").replace("_", "").isalnum()
                                            and root(text) in ("_pytest", "pluggy", "pytest_timeout")) \
                    or (text.startswith("kata.") and text.replace(".", "").replace("_", "").isalnum()):
                found.append((repr(text), line))
    return sorted(set(found), key=lambda x: (x[1], x[0]))


if __name__ == "__main__":
    main()
