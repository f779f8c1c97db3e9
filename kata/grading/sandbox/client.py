"""The trusted side of grading: starts the zygote, one worker per chapter, and proxies learner objects.

A check's ``sub`` is a :class:`RemoteModule` in grading mode.  ``sub.f(x)`` sends ``x`` as data, the worker calls the
learner's ``f`` and the result comes back as data (tensors with their dtype, shape, strides, storage sharing and
autograd state) or, for objects that cannot be data (a learner's ``nn.Module`` subclass instance, a DataLoader it
built), as a :class:`RemoteObject` whose attribute reads and calls cross the same way.  A non-leaf tensor that comes
back keeps a graph: its ``grad_fn`` (named like the worker's) asks the worker for the gradients on ``backward()``.

Nothing from the worker is executed, imported or unpickled here; see :mod:`kata.grading.sandbox.wire`.
"""
from __future__ import annotations

import builtins
import contextlib
import os
import pathlib
import random
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Any, cast

import torch

from kata import messages
from kata.errors import KataTimeout, LearnerImportError
from kata.grading.contract import GradingContract
from kata.grading.sandbox import classes, framing, objecttable, wire
from kata.grading.sandbox.zygote import ISOLATION_TEXT, SandboxError, Zygote, strongest_isolation  # noqa: F401 (re-exported)
from kata.state import RNG_KEYS, SHARED_KEYS, LearnerWorld, device_availability, seedings, state_snapshot
from kata.status import Attribute

#: A frame from the worker may be at most this large.
REPLY_LIMIT = 256 * 1024 * 1024
#: When both sides forget the objects of earlier checks (begin_check): past this many, or by chance at a boundary.
FORGET_AFTER = 1024
FORGET_CHANCE = 0.2
_BOUNDARIES = random.SystemRandom()
FILE_LIMIT = 64 * 1024 * 1024


class WorkerDied(Exception):
    """The worker process ended in the middle of a request."""

    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


class LearnerException(Exception):
    """An exception raised by learner code in the worker, as data."""

    def __init__(self, info: dict, filename: str):
        self.type_name = str(info.get("type", "Exception"))
        self.frames = [tuple(f) for f in info.get("frames", [])]
        self.stub = bool(info.get("stub"))
        self.filename = filename
        super().__init__(framing.clip(str(info.get("msg", "")), 2000))


_BUILTIN_EXCEPTIONS = {name: obj for name, obj in vars(builtins).items()
                       if isinstance(obj, type) and issubclass(obj, BaseException)}
_EXCEPTION_CLASSES: dict[tuple[str, str], type] = {}


def learner_exception(info: dict, filename: str) -> BaseException:
    """An exception of the learner's exception type where that is a built-in one (so ``pytest.raises`` works)."""
    name = str(info.get("type", "Exception"))
    base = next((_BUILTIN_EXCEPTIONS[n] for n in info.get("mro", []) if n in _BUILTIN_EXCEPTIONS
                 and n not in ("BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit")), Exception)
    key = (name, base.__name__)
    cls = _EXCEPTION_CLASSES.get(key)
    if cls is None:
        cls = type(name if name.isidentifier() else "LearnerError", (LearnerException, base), {})
        cls.__module__ = "learner"
        _EXCEPTION_CLASSES[key] = cls
    err = cast(Any, cls).__new__(cls)
    LearnerException.__init__(err, info, filename)
    return err


# -- one chapter's worker ------------------------------------------------------------------------------------------

@dataclass
class Limits:
    """One session's limits: the first three from the grading contract (:meth:`of`), defaults included; ``profile``
    is the contract's ``worker_profile`` (a maintainer's measurement, not a limit)."""

    call_timeout: float = GradingContract.check_timeout
    import_timeout: float = GradingContract.check_timeout
    memory_mb: int = GradingContract.memory_mb
    cpu_seconds: int = 600
    file_mb: int = 64
    nproc: int = 64
    profile: str | None = None

    @classmethod
    def of(cls, terms: GradingContract) -> Limits:
        """A session's limits under ``terms`` (importing the learner's module gets the same time as a call)."""
        return cls(call_timeout=terms.check_timeout, import_timeout=terms.check_timeout, memory_mb=terms.memory_mb,
                   profile=terms.worker_profile)


@dataclass
class Chapter:
    key: str
    source: bytes
    filename: str
    uid: int | None = None
    gid: int | None = None
    hide: list[str] = field(default_factory=list)
    #: Other files whose frames are the learner's (a mutant's own file), with their text for the verdicts.
    extra_files: dict[str, str] = field(default_factory=dict)


class Session:
    """The learner module of one chapter, behind a worker process; restarted after a timeout or a crash."""

    def __init__(self, zygote: Zygote, chapter: Chapter, limits: Limits, temp_roots: list[pathlib.Path]):
        self.zygote = zygote
        self.chapter = chapter
        self.limits = limits
        self.temp_roots = [pathlib.Path(p).resolve() for p in temp_roots]
        self.sock: socket.socket | None = None
        self.pid: int | None = None
        self.table = objecttable.ObjectTable("t", handle_factory=self._handle)
        self.prints: dict[str, Any] = {}
        self.import_error: BaseException | None = None
        self.loaded = False
        self.observers: list[tuple[list, dict]] = []
        self.pending_deps: dict[str, list[str]] = {}
        self.related: dict[str, set[str]] = {}
        self.remote_state: dict[str, Any] = {}  # the trusted side's state as last handed to the worker
        self.world = LearnerWorld()  # the learner's world's configuration (recorded, never applied here)
        self.world_rng: dict[str, Any] = {}  # and its random-number streams, as the worker last reported them
        self.seedings = -1  # kata.state.seedings() when the generators were last handed over
        self.names: dict[str, str] = {}
        self.pending_reset = False
        self._clean: Session | None = None  # a worker that has run no learner code (clean_call), started on demand

    # process ---------------------------------------------------------------------------------------------------
    def config(self) -> dict:
        """How the zygote sets up this session's worker (:meth:`kata.grading.sandbox.zygote.Zygote.spawn`)."""
        workdir = pathlib.Path(self.temp_roots[0] if self.temp_roots else "/tmp") / f"kata-{self.chapter.key}-work"
        return {"isolation": self.zygote.isolation, "uid": self.chapter.uid, "gid": self.chapter.gid,
                "hide": self.chapter.hide, "memory_mb": self.limits.memory_mb,
                "cpu_seconds": self.limits.cpu_seconds, "file_mb": self.limits.file_mb,
                "nproc": self.limits.nproc if self.chapter.uid is not None else None, "workdir": str(workdir),
                "profile": self.limits.profile}

    def start(self) -> None:
        self.stop()
        self.sock, self.pid = self.zygote.spawn(self.config())
        self.table.reset()
        self.prints = {}
        self.remote_state = {}
        self.world = LearnerWorld()
        self.world_rng = {}
        self.seedings = -1
        self.loaded = False
        header, _ = self._exchange({"op": "load", "source": 0, "filename": self.chapter.filename,
                                    "extra_files": self.chapter.extra_files},
                                   [self.chapter.source], self.limits.import_timeout, importing=True)
        if not all(isinstance(header.get(field, {}), dict) for field in ("syntax", "error", "names")):
            self.stop()
            self.import_error = LearnerImportError(messages.WORKER_DIED.format(how=messages.WORKER_BAD_DATA))
            raise self.import_error
        if "syntax" in header:
            info = header["syntax"]
            self.import_error = LearnerImportError(messages.IMPORT_SYNTAX.format(
                file=self.chapter.filename, line=info.get("line"), msg=framing.clip(str(info.get("msg")), 300)),
                Attribute.SYNTAX)
        elif "error" in header:
            info = header["error"]
            frames = info.get("frames") or []
            where = f"{self.chapter.filename}:{frames[-1][1]}" if frames else self.chapter.filename
            msg = str(info.get("msg", "")).splitlines()[0] if info.get("msg") else ""
            self.import_error = LearnerImportError(messages.IMPORT_ERROR.format(
                file=self.chapter.filename, where=where, exc_type=framing.clip(str(info.get("type")), 100),
                exc_msg=framing.clip(msg, 300)))
        else:
            self.loaded = True
            self.names = {str(k): str(v) for k, v in (header.get("names") or {}).items()}
        if self.import_error is not None:
            raise self.import_error

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock, self.pid = None, None

    def ensure(self) -> None:
        if self.import_error is not None:
            raise self.import_error
        if self.sock is None:
            self.start()

    def begin_check(self) -> None:
        """A new check, which the worker is not told about.

        The objects of earlier checks stay known on both sides (keys are never reused), so that nothing the worker
        receives marks where a check starts or how many calls it has made.  Both sides forget them together now
        and then: when the table has grown large, and otherwise at a boundary drawn at random (from the system's
        randomness, never the global generators), so that a forgetting marks no particular check."""
        self.observers.clear()
        if len(self.table.objects) > FORGET_AFTER or _BOUNDARIES.random() < FORGET_CHANCE:
            self.table.reset()
            self.prints = {}
            self.related = {}
            self.pending_reset = True  # sent with the next request (one round trip fewer)

    # transport -------------------------------------------------------------------------------------------------
    def _exchange(self, header: dict, buffers: list[bytes], timeout: float, importing: bool = False
                  ) -> tuple[dict, list[memoryview]]:
        assert self.sock is not None
        sock = self.sock
        deadline = time.monotonic() + timeout
        try:
            sock.settimeout(timeout)
            sock.sendall(framing.pack(header, buffers))

            def recv(n: int) -> bytes:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError()
                sock.settimeout(left)
                return sock.recv(n)

            return framing.unpack(recv, REPLY_LIMIT, framing.MAX_HEADER)
        except TimeoutError:
            self.stop()
            if importing:
                self.import_error = LearnerImportError(messages.IMPORT_TIMEOUT.format(file=self.chapter.filename))
                raise self.import_error from None
            raise KataTimeout(timeout) from None
        except (EOFError, OSError, framing.WireError) as err:
            how = self._how_it_died(err)
            self.stop()
            if importing:
                self.import_error = LearnerImportError(messages.WORKER_DIED.format(how=how))
                raise self.import_error from None
            raise WorkerDied(how) from None
        except BaseException:
            # Interrupted from outside (the check's own time limit, Ctrl+C, a decoding error): the worker may still
            # be busy and would send this request's reply later, as the reply to the next one.  Start afresh.
            self.stop()
            raise

    def _how_it_died(self, err: BaseException) -> str:
        if isinstance(err, framing.WireError):
            return messages.WORKER_BAD_DATA
        return messages.WORKER_ENDED

    # requests --------------------------------------------------------------------------------------------------
    def _file_out(self, path: Any) -> dict:
        p = pathlib.Path(path)
        known = self.table.key_of(p)
        key = self.table.register(p, None) if known is None else known
        self.table.files[key] = p
        spec: dict[str, Any] = {"key": key, "name": p.name, "data": None, "str": isinstance(path, str)}
        try:
            if p.is_file() and key not in getattr(self, "_files_sent", set()):
                spec["data"] = self._enc.buffer(p.read_bytes()[:FILE_LIMIT])
        except OSError:
            pass
        return spec

    def _pathlike(self, value: Any) -> Any:
        """String arguments naming a file under the check's temporary folders travel as files."""
        if isinstance(value, str) and os.path.isabs(value):
            resolved = pathlib.Path(value).resolve()
            if any(resolved == root or root in resolved.parents for root in self.temp_roots):
                return _StrPath(value)
        if type(value) in (list, tuple):
            return type(value)(self._pathlike(v) for v in value)
        return value

    def do(self, action: str, operands: list, kwargs: dict | None = None, **extra: Any) -> Any:
        self.ensure()
        enc = wire.Encoder(self.table, allow_handles=False, file_map=self._file_spec)
        self._enc = enc
        header: dict[str, Any] = {"op": "do", "action": action, **extra}
        if self.pending_reset:
            header["reset"] = True
            self.pending_reset = False
        header["operands"] = [enc.value(self._pathlike(v)) for v in operands]
        header["kwargs"] = enc.value({k: self._pathlike(v) for k, v in (kwargs or {}).items()}) \
            if kwargs else None
        header["sync"] = self._changed(enc, list(operands) + [kwargs])
        state = state_snapshot()
        state.update(device_availability())
        handed = {k: v for k, v in state.items() if self.remote_state.get(k) != v}
        if seedings() != self.seedings:  # seeded again, perhaps to the same state: the worker's streams moved on
            self.seedings = seedings()
            handed.update({k: state[k] for k in RNG_KEYS})
        header["state"] = enc.value(handed)
        self.remote_state.update(state)
        self.world.handed(handed)
        self.world_rng.update({k: v for k, v in handed.items() if k in RNG_KEYS})
        spec = self._observe_spec()
        if spec:
            header["observe"] = spec
        header["states"], header["storages"] = enc.states, enc.storages
        # One deadline for the whole call: the worker's answer, then decoding and rebuilding it here.  A reply that
        # is slow to decode costs its own call (a time-out), never the budget of the calls after it.
        timeout = self.limits.call_timeout
        deadline = time.monotonic() + timeout
        reply, buffers = self._exchange(header, enc.buffers, timeout)
        if "fatal" in reply:
            self.stop()
            raise WorkerDied(messages.WORKER_BAD_DATA)
        return self._receive(reply, buffers, operands, deadline, timeout)

    def _relate(self, reach: dict) -> None:
        """Remember, for each handle, the crossed objects the worker can reach from it (its parameters, say)."""
        for key, keys in reach.items():
            self.related[str(key)] = {str(k) for k in keys}

    def _receive(self, reply: dict, buffers: list, operands: list, deadline: float | None = None,
                 timeout: float = 0.0) -> Any:
        try:
            deps, reach = reply.get("deps") or {}, reply.get("reach") or {}
            for field in (deps, reach):
                if not isinstance(field, dict) or not all(isinstance(v, list) for v in field.values()):
                    raise framing.MalformedFrame("bad deps or reach")
            if not isinstance(reply.get("error", {}), dict):
                raise framing.MalformedFrame("bad error")
            self.pending_deps = {str(k): [str(x) for x in v] for k, v in deps.items()}
            dec = wire.Decoder(self.table, reply, buffers, make_nonleaf=self._nonleaf, leaf_hooks=self._leaf_hooks,
                               deadline=deadline)
            value = dec.value(reply.get("value"))
            for key in list(dec.states):
                dec.keyed(key)
            wire.set_versions(dec.version_updates)
            state = dec.value(reply["state"]) if reply.get("state") is not None else None
            events = dec.value(reply["events"]) if reply.get("events") is not None else []
            files = reply.get("files") or {}
            if not isinstance(files, dict):
                raise framing.MalformedFrame("bad files")
            for key, index in files.items():
                path = self.table.files.get(str(key))
                if path is not None:
                    self._write_back(path, dec.buffer(index) if index is not None else None)
        except framing.WireTimeout:
            self.stop()
            raise KataTimeout(timeout) from None
        except framing.WireError as err:  # MalformedFrame among them: what the worker sent does not decode
            self.stop()
            raise WorkerDied(messages.WORKER_BAD_DATA + f" ({type(err).__name__})") from None
        if deadline is not None and time.monotonic() > deadline:
            self.stop()
            raise KataTimeout(timeout)
        if isinstance(state, dict) and state:
            # The learner's world as the worker reports it: recorded for the checks that judge it
            # (kata.state.learner_state), never applied to this process.  Only known keys are kept.
            state = {k: v for k, v in state.items() if k in SHARED_KEYS}  # the keys of state_snapshot()
            self.world.reported(state)
            self.world_rng.update({k: v for k, v in state.items() if k in RNG_KEYS})
        for log, _ in self.observers:
            log.extend(events if isinstance(events, list) else [])
        self._relate(reach)
        # What this side now knows of each object in the exchange's scope: the worker's word for what it sent (and,
        # when the reply wrote into a storage this side had, for everything, since views share it) and for what is
        # new here; the rest kept the fingerprint the request's own look for changes took (a change made here since
        # still shows next time).
        fresh = set(dec.states) if not dec.storages_written else None
        for key in wire.scan_keys(self.table, list(operands) + [value], self._related):
            if fresh is None or key in fresh or key not in self.prints:
                self.prints[key] = wire.fingerprint(self.table.objects[key])
        if "error" in reply:
            info = reply["error"]
            if info.get("missing"):
                raise _MissingName(str(info["missing"]))
            if info.get("type") == "SystemExit" and "SystemExit" in info.get("mro", []):
                raise SystemExit(info.get("code"))
            if info.get("type") == "KeyboardInterrupt":
                raise learner_exception({**info, "mro": ["Exception"]}, self.chapter.filename)
            raise learner_exception(info, self.chapter.filename)
        return value

    def _write_back(self, path: pathlib.Path, data: Any) -> None:
        if data is None:
            return
        data = bytes(data)
        try:
            if path.is_symlink():
                return
            if not path.exists() or path.read_bytes() != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data[:FILE_LIMIT])
        except OSError:
            pass

    def _file_spec(self, value: Any) -> dict:
        raw = value.path if isinstance(value, _StrPath) else value
        spec = self._file_out(raw)
        spec["str"] = isinstance(value, _StrPath)
        return spec

    def _related(self, obj: Any) -> list[Any]:
        """For a handle: the objects that came back from requests on it (its parameters, say)."""
        if getattr(type(obj), "_kata_is_remote", False):
            key = object.__getattribute__(obj, "_kata_remote_key")
            return [self.table.objects[k] for k in self.related.get(key, ()) if k in self.table.objects]
        return []

    def _changed(self, enc: wire.Encoder, roots: list) -> list[str]:
        """Keys of objects changed here since the last exchange (their states travel with the request)."""
        keys = []
        for key in wire.scan_keys(self.table, roots, self._related):
            obj = self.table.objects[key]
            if isinstance(obj, pathlib.PurePath):
                continue
            if key in enc.states:
                self.prints.pop(key, None)  # its state travels with this request: fingerprinted after the reply
                continue
            now = wire.fingerprint(obj)
            if now != self.prints.get(key) and enc.state_of(obj):
                keys.append(key)
            self.prints[key] = now
        return keys

    def _observe_spec(self) -> dict:
        spec: dict[str, Any] = {}
        for _, want in self.observers:
            if want.get("ops"):
                spec["ops"] = True
            spec.setdefault("calls", [])
            spec["calls"] += [c for c in want.get("calls", []) if c not in spec["calls"]]
        return spec

    def _nonleaf(self, key: str, state: dict, base: torch.Tensor) -> torch.Tensor:
        deps = [k for k in self.pending_deps.get(key, []) if isinstance(self.table.objects.get(k), torch.Tensor)]
        leaves = [self.table.objects[k] for k in deps]
        use = [(k, t) for k, t in zip(deps, leaves) if t.requires_grad and t.is_leaf]
        fn = _remote_function(str(state.get("fn") or "RemoteBackward"))
        with torch.enable_grad():
            return fn.apply(self, key, [k for k, _ in use], base.detach(), torch.zeros((), requires_grad=True),
                            *[t for _, t in use])

    def _leaf_hooks(self, leaf: torch.Tensor) -> None:
        """A leaf the learner registered gradient hooks on (``register_hook``): its gradient goes through them in the
        worker, where they live, before it reaches ``leaf.grad`` here (as in learning mode)."""
        def hook(grad: torch.Tensor) -> torch.Tensor:
            out = self.do("hooks", [leaf, grad])
            if out is None:
                return grad
            if not isinstance(out, torch.Tensor) or out.shape != grad.shape:
                raise RuntimeError("hook returned an invalid value")
            return out.to(grad.dtype)

        leaf.register_hook(hook)

    def backward(self, key: str, grad: torch.Tensor, deps: list[str]) -> list[torch.Tensor | None]:
        target = self.table.objects.get(key)
        if target is None:
            raise RuntimeError("the result's graph is no longer available")
        grads = self.do("backward", [target, grad], deps=deps)
        return list(grads)

    def learner_state(self) -> dict[str, Any]:
        """The global state of the learner's world (kata.state.learner_state)."""
        now = state_snapshot()
        pending = {k for k, v in now.items() if self.remote_state.get(k) != v}
        if seedings() != self.seedings:
            pending |= RNG_KEYS
        return self.world.state(self.world_rng, now, pending)

    def clean_call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)`` in a worker that has run no learner code (to read a file learner code wrote)."""
        clean = self._clean
        if clean is None:
            chapter = Chapter(self.chapter.key, b"", "clean.py", self.chapter.uid, self.chapter.gid, self.chapter.hide)
            clean = self._clean = Session(self.zygote, chapter, self.limits, self.temp_roots)
        clean.begin_check()
        clean.ensure()
        return clean.do("call", [func, *args], kwargs)

    def _handle(self, handle: objecttable.Handle) -> Any:
        return _remote_class(tuple(handle.mro))(self, handle)

    def module(self) -> RemoteModule:
        self.ensure()
        return RemoteModule(self)

    def close(self) -> None:
        if self._clean is not None:
            self._clean.close()
        if self.sock is not None and self.loaded:
            with contextlib.suppress(Exception):
                self.sock.sendall(framing.pack({"op": "exit"}, []))
                if self.limits.profile:  # let the worker write its profile before it is killed
                    self.sock.settimeout(30)
                    while self.sock.recv(1 << 16):
                        pass
        self.stop()


class _StrPath:
    _kata_path = True

    def __init__(self, path: str):
        self.path = path


class _MissingName(AttributeError):
    pass


# -- autograd across the boundary ----------------------------------------------------------------------------------

class _RemoteGraph(torch.autograd.Function):
    @staticmethod
    def forward(ctx, session, key, dep_keys, data, _dummy, *leaves):
        ctx.session, ctx.key, ctx.dep_keys = session, key, dep_keys
        ctx.leaf_meta = [(t.shape, t.dtype) for t in leaves]
        return data.clone()

    @staticmethod
    def backward(ctx, grad):
        grads = ctx.session.backward(ctx.key, grad, ctx.dep_keys)
        out = []
        for g, (shape, _dtype) in zip(grads, ctx.leaf_meta):
            out.append(g if isinstance(g, torch.Tensor) and g.shape == shape else None)
        return (None, None, None, None, None, *out)


_FUNCTIONS: dict[str, type[_RemoteGraph]] = {}


def _remote_function(name: str) -> type[_RemoteGraph]:
    name = name if name.isidentifier() else "RemoteBackward"
    cls = _FUNCTIONS.get(name)
    if cls is None:
        cls = type(f"Remote{name}", (_RemoteGraph,), {})
        cls._backward_cls.__name__ = name
        cls._backward_cls.__qualname__ = name
        _FUNCTIONS[name] = cls
    return cls


# -- proxies -------------------------------------------------------------------------------------------------------

class RemoteObject:
    """A learner object that stays in the worker."""

    _kata_is_remote = True

    def __init__(self, session: Session, handle: objecttable.Handle):
        object.__setattr__(self, "_kata_remote_key", handle.key)
        object.__setattr__(self, "_kata_session", session)
        object.__setattr__(self, "_kata_mro", tuple(handle.mro))
        object.__setattr__(self, "_kata_repr", handle.text)

    @property  # type: ignore[misc]
    def __class__(self):
        # The worker-side type as far as checks can tell: the type itself when it is an allow-listed or built-in class,
        # else a subclass of its nearest such base named like the learner's class (isinstance works against torch).
        return classes.stand_in(list(object.__getattribute__(self, "_kata_mro")), object)  # made once per class

    def _do(self, action: str, *operands: Any, kwargs: dict | None = None, **extra: Any) -> Any:
        return object.__getattribute__(self, "_kata_session").do(action, [self, *operands], kwargs, **extra)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._do("getattr", name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._do("setattr", value, name=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._do("call", *args, kwargs=kwargs)

    def call_within(self, context: str, *args: Any, **kwargs: Any) -> Any:
        """Call with ``kata.api.portable.<context>()`` entered around the call in the worker (a simulated GPU)."""
        return self._do("call", *args, kwargs=kwargs, within=context)

    def __len__(self) -> int:
        return self._do("len")

    def __iter__(self):
        return iter(self._do("iter"))

    def __next__(self):
        return self._do("method", name="__next__")

    def __getitem__(self, index: Any) -> Any:
        return self._do("getitem", index)

    def items_upto(self, n: int) -> list:
        """``[self[0], …, self[n - 1]]`` in one exchange (the worker indexes them in order)."""
        return self._do("items", n=int(n))

    def __repr__(self) -> str:
        try:
            return str(self._do("repr"))
        except Exception:
            return object.__getattribute__(self, "_kata_repr")

    def __str__(self) -> str:
        return str(self._do("str"))

    def __bool__(self) -> bool:
        return bool(self._do("bool"))

    def __deepcopy__(self, memo: dict) -> Any:
        return self._do("deepcopy")

    def __copy__(self) -> Any:
        return self._do("deepcopy")

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


_REMOTE_CLASSES: dict[tuple[str, ...], type[RemoteObject]] = {}


def _remote_class(mro: tuple[str, ...]) -> type[RemoteObject]:
    """The proxy class for a worker-side object of this class: a :class:`RemoteObject` named like it, so that
    ``type(obj).__name__`` (which no ``__class__`` property can change) reads as in learning mode."""
    cls = _REMOTE_CLASSES.get(mro)
    if cls is None:
        own = mro[0] if mro else "builtins:object"
        module, _, qual = own.partition(":")
        name = qual.rsplit(".", 1)[-1]
        cls = type(name if name.isidentifier() else "RemoteObject", (RemoteObject,),
                   {"__module__": module, "__qualname__": qual, "__slots__": ()})
        if len(_REMOTE_CLASSES) < 10_000:
            _REMOTE_CLASSES[mro] = cls
    return cls


class RemoteModule:
    """The learner's module, in the worker: ``sub.name`` is a function proxy, a handle or the value of that name."""

    def __init__(self, session: Session):
        self._session = session

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        kind = self._session.names.get(name)
        if kind is None:
            raise _MissingName(name)
        if kind == "callable":
            return ModuleFunction(self._session, name)
        return self._session.do("getmodule", [], name=name)


class ModuleFunction:
    """A function or class of the learner's module, called by name in one request; anything else asks for its
    handle first."""

    _kata_is_module_function = True

    def __init__(self, session: Session, name: str):
        self._session = session
        self._name = name
        self._handle: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.do("callname", list(args), kwargs, name=self._name)

    def call_within(self, context: str, *args: Any, **kwargs: Any) -> Any:
        """Call with ``kata.api.portable.<context>()`` entered around the call in the worker (a simulated GPU)."""
        return self._session.do("callname", list(args), kwargs, name=self._name, within=context)

    def _resolve(self) -> Any:
        if self._handle is None:
            self._handle = self._session.do("getmodule", [], name=self._name)
        return self._handle

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(self._resolve(), name)

    @property  # type: ignore[misc]
    def __class__(self):
        return self._resolve().__class__

    def __repr__(self) -> str:
        return repr(self._resolve())


# -- observing what learner code calls -----------------------------------------------------------------------------

@contextlib.contextmanager
def observing(session: Session, ops: bool = False, calls: tuple[str, ...] = ()):
    log: list = []
    entry = (log, {"ops": ops, "calls": list(calls)})
    session.observers.append(entry)
    try:
        yield log
    finally:
        with contextlib.suppress(ValueError):
            session.observers.remove(entry)
