"""The sandbox side of grading: a zygote that has imported torch once, and one worker per chapter forked from it.

Run as ``python -I -m kata.grading.sandbox.worker FD`` by the trusted grading process, with ``FD`` one end of a Unix
socket.  The zygote never runs learner code.  For every ``spawn`` request it receives a fresh socket (SCM_RIGHTS) and forks a
worker that, before it reads a single byte of learner code:

- when the zygote may (root, or an unprivileged user namespace): enters new mount, PID, network and IPC namespaces;
  is PID 1 of its own PID namespace, so every process it starts dies with it; hides the grader's folders, the
  submission and the report under empty tmpfs mounts, and mounts a private ``/tmp`` (its empty working folder),
  ``/var/tmp``, ``/dev/shm``…; the grader's own Python (interpreter, standard library, site-packages with the
  packages' metadata) stays visible and read-only wherever it lives, under those temp folders too;
- when root: drops to its own unprivileged uid/gid, one per chapter from a block taken for this run only
  (:mod:`kata.grading.sandbox.uids`), so that chapters cannot signal or read each other and nothing the kernel keeps per
  uid reaches another run or submission;
- always: a new session, ``PR_SET_NO_NEW_PRIVS``, rlimits (address space, CPU seconds, file size, processes, open
  files, no core files), death with its parent, and a system-call filter (seccomp,
  :data:`~kata.grading.sandbox.jail.DENIED_SYSCALLS`) that refuses with EPERM what a kata never needs; a worker that
  cannot install it stops (unless ``--isolation basic`` was asked for by name).

That jail is :mod:`kata.grading.sandbox.jail`; this module is the zygote and the server.  The worker then receives the
learner's source as bytes over the socket, imports it as a module and answers requests
(:mod:`kata.grading.sandbox.wire` frames): attribute reads, calls, iteration, ``backward`` of results, each with the caller's
global state (RNG states, grad mode, default dtype, …) applied before and reported after.
"""
from __future__ import annotations

import contextlib
import gc
import json
import linecache
import os
import pathlib
import socket
import sys
import traceback
import types
from typing import Any, NoReturn

import torch

from kata.api import portable
from kata.api.observe import recording  # imported here: the grader's files are hidden from a running worker
from kata.grading.sandbox import framing, jail, objecttable, wire
from kata.grading.sandbox.forkserver import ForkServer, die_with_parent
from kata.state import GlobalState, apply_snapshot, check_threads, state_snapshot

#: The name the learner's module has in the worker (``sys.modules``).
LEARNER_MODULE = "learner"


# -- serving requests ----------------------------------------------------------------------------------------------

class Worker:
    def __init__(self, sock: socket.socket, work: str):
        self.sock = sock
        self.work = pathlib.Path(work)
        self.table = objecttable.ObjectTable("w")
        self.module: types.ModuleType | None = None
        self.filename = ""
        self.prints: dict[str, Any] = {}
        self.files: dict[str, tuple[pathlib.Path, bool]] = {}
        self.state: dict[str, Any] | None = None  # the global state after the last request

    # transport -----------------------------------------------------------------------------------------------------
    def send(self, header: dict, buffers: tuple[bytes, ...] | list[bytes] = ()) -> None:
        self.sock.sendall(framing.pack(header, list(buffers)))

    def serve(self) -> None:
        while True:
            try:
                header, buffers = framing.unpack(self.sock.recv)
            except EOFError:
                return
            op = header.get("op")
            if op == "exit":
                return
            if op == "load":
                self.load(header, buffers)
                continue
            if op == "do":
                self.do(header, buffers)
                continue
            self.send({"fatal": f"unknown op {op!r}"})

    def load(self, header: dict, buffers: list) -> None:
        source = bytes(buffers[header["source"]])
        self.filename = str(header["filename"])
        module = types.ModuleType(LEARNER_MODULE)
        module.__file__ = self.filename
        sys.modules[LEARNER_MODULE] = module
        lines = source.decode("utf-8", "replace").splitlines(keepends=True)
        linecache.cache[self.filename] = (len(source), None, lines, self.filename)
        self.learner_files = {self.filename}
        for name, text in dict(header.get("extra_files") or {}).items():
            linecache.cache[str(name)] = (len(text), None, str(text).splitlines(keepends=True), str(name))
            self.learner_files = {str(name)}
        try:
            code = compile(source, self.filename, "exec", dont_inherit=True)
        except SyntaxError as err:
            self.send({"syntax": {"line": err.lineno, "msg": framing.clip(str(err.msg), 500)}})
            return
        except (ValueError, UnicodeError) as err:
            self.send({"syntax": {"line": None, "msg": framing.clip(str(err), 500)}})
            return
        saved = GlobalState.capture()  # what the module's top level changes is put back, as in learning mode
        try:
            exec(code, module.__dict__)
        except BaseException as err:
            saved.restore()
            self.send({"error": self.describe(err)})
            return
        saved.restore()
        self.module = module
        names = {}
        for name, value in list(vars(module).items()):
            if not name.startswith("_"):
                names[name] = "callable" if callable(value) else "value"
        self.send({"names": names})

    # the objects of a request --------------------------------------------------------------------------------------
    def _file_in(self, spec: dict) -> Any:
        key = str(spec["key"])
        name = os.path.basename(str(spec.get("name") or "file")) or "file"
        folder = self.work / "files" / key
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        data = spec.get("data")
        if data is not None and key not in self.files:
            path.write_bytes(bytes(self._buffers[data]))
        self.files[key] = (path, bool(spec.get("str")))
        return str(path) if spec.get("str") else path

    def _decoder(self, header: dict, buffers: list) -> wire.Decoder:
        self._buffers = buffers
        return wire.Decoder(self.table, header, buffers, file_map=self._file_in)

    def _snapshot(self, roots: list) -> None:
        """The keys in the call's scope, each with its fingerprint as the caller knows the object.

        ``self.prints`` keeps each object's fingerprint after the last call that had it in scope: nothing runs
        here between calls, so only objects without one, or that this request's states or storages updated, are
        fingerprinted again."""
        self.scope = wire.scan_keys(self.table, roots)
        for k in self.scope:
            if k not in self.prints:
                self.prints[k] = wire.fingerprint(self.table.objects[k])

    def _changed(self, enc: wire.Encoder, roots: list) -> None:
        keys = set(self.scope) | set(wire.scan_keys(self.table, roots))
        for key in keys:
            obj = self.table.objects.get(key)
            if obj is None or key in enc.states:
                self.prints.pop(key, None)  # gone, or its state travels with this reply: fingerprinted when next used
                continue
            now = wire.fingerprint(obj)
            if now != self.prints.get(key):
                enc.state_of(obj)
            self.prints[key] = now

    def _files_out(self, enc: wire.Encoder) -> dict:
        out: dict[str, Any] = {}
        for key, (path, _) in self.files.items():
            try:
                if path.is_file() and not path.is_symlink():
                    with open(path, "rb") as f:
                        data = f.read(64 << 20)
                    out[key] = enc.buffer(data)
                else:
                    out[key] = None
            except OSError:
                out[key] = None
        return out

    def do(self, header: dict, buffers: list) -> None:
        if header.get("reset"):
            self.table.reset()
            self.prints.clear()
            self.files.clear()
        try:
            dec = self._decoder(header, buffers)
            operands = [dec.value(v) for v in header.get("operands", [])]
            kwargs = dec.value(header["kwargs"]) if header.get("kwargs") is not None else {}
            for key in header.get("sync", []):
                dec.keyed(key)
            wire.set_versions(dec.version_updates)
            if dec.storages_written:  # a storage the caller changed changes every tensor that views it
                self.prints.clear()
            for key in dec.states:  # updated from the caller's side: fingerprinted again before the call
                self.prints.pop(key, None)
            incoming = dec.value(header["state"]) if header.get("state") is not None else None
            apply_snapshot(incoming)
            if self.state is not None and incoming:
                self.state = {**self.state, **{k: v for k, v in incoming.items() if k in self.state}}
        except framing.WireError as err:  # MalformedFrame among them
            self.send({"fatal": f"bad request: {type(err).__name__}: {framing.clip(str(err), 500)}"})
            return
        # The state before the call: what it was after the last one, with what the caller changed since.
        before = self.state if self.state is not None else state_snapshot()
        # The leaves of a graph that ``backward`` runs through get gradients: they are in scope like the operands.
        leaves = _leaves(operands[0]) if header.get("action") == "backward" and operands and \
            isinstance(operands[0], torch.Tensor) else []
        self._snapshot(operands + [kwargs] + leaves)
        # This process's own state (its thread count, the availability functions the caller's state set): what the
        # call changes of it is put back after the call, as the learning plugin puts it back after every check.
        own = GlobalState.capture(shared=False)
        action = header.get("action")
        events: list = []
        try:
            within = header.get("within")
            context = contextlib.nullcontext()
            if within is not None:
                if within not in portable.__all__:
                    raise ValueError(f"unknown context {within!r}")
                context = getattr(portable, within)()
            with observe(header.get("observe") or {}, events), context:
                result = self.act(str(action), operands, kwargs, header)
            error = None
        except BaseException as err:
            result, error = None, self.describe(err)
        after = state_snapshot()
        own.restore()
        self.state = after
        state = {k: v for k, v in after.items() if before.get(k) != v}
        try:
            enc = wire.Encoder(self.table, allow_handles=True)
            value = enc.value(result) if error is None else None
            self._changed(enc, operands + [kwargs, result] + leaves)
            reply = {"value": value, "states": enc.states, "storages": enc.storages, "state": enc.value(state),
                     "events": enc.value(events), "files": self._files_out(enc)}
            if error is not None:
                reply["error"] = error
            if action == "call" or action == "getattr":
                reply["deps"] = self._deps(result)
            reach = {}
            for obj in operands + [result]:
                key = self.table.key_of(obj)
                if key is not None and key in self.table.own_handles:
                    reach[key] = sorted(wire.reachable_keys(self.table, [vars(obj)] if hasattr(obj, "__dict__")
                                                            else []))[:10_000]
            reply["reach"] = reach
            self.send(reply, enc.buffers)
        except BaseException as err:
            self.send({"error": self.describe(err), "state": None})

    def _deps(self, result: Any) -> dict:
        """For each non-leaf tensor in the result: the keys of the caller's leaves its graph reaches."""
        out: dict[str, list[str]] = {}
        for key in wire.reachable_keys(self.table, [result]):
            obj = self.table.objects[key]
            if isinstance(obj, torch.Tensor) and obj.grad_fn is not None and key.startswith("w"):
                out[key] = [k for k in _leaf_keys(obj, self.table) if not k.startswith("w")]
        return out

    def act(self, action: str, operands: list, kwargs: dict, header: dict) -> Any:
        if action == "getmodule":
            name = str(header["name"])
            if self.module is None or not hasattr(self.module, name):
                raise _Missing(name)
            return getattr(self.module, name)
        if action == "callname":
            name = str(header["name"])
            if self.module is None or not hasattr(self.module, name):
                raise _Missing(name)
            return getattr(self.module, name)(*operands, **kwargs)
        obj: Any = operands[0] if operands else None
        args = operands[1:]
        if action == "getattr":
            return getattr(obj, str(header["name"]))
        if action == "setattr":
            setattr(obj, str(header["name"]), args[0])
            return None
        if action == "call":
            return obj(*args, **kwargs)
        if action == "method":
            return getattr(obj, str(header["name"]))(*args, **kwargs)
        if action == "len":
            return len(obj)
        if action == "iter":
            items = []
            for i, item in enumerate(iter(obj)):
                if i >= int(header.get("limit", 100_000)):
                    break
                items.append(item)
            return items
        if action == "getitem":
            return obj[args[0]]
        if action == "items":
            return [obj[i] for i in range(min(int(header["n"]), 100_000))]
        if action == "repr":
            return framing.clip(repr(obj), 100_000)
        if action == "str":
            return framing.clip(str(obj), 100_000)
        if action == "bool":
            return bool(obj)
        if action == "deepcopy":
            import copy
            return copy.deepcopy(obj)
        if action == "backward":
            return self.backward(obj, args[0], header)
        if action == "hooks":
            return _run_hooks(obj, args[0])
        raise ValueError(f"unknown action {action!r}")

    def backward(self, result: torch.Tensor, grad: torch.Tensor, header: dict) -> list:
        """Gradients of ``result`` for the caller's leaves (returned); the worker's own leaves accumulate here."""
        keys = [str(k) for k in header.get("deps", [])]
        theirs = [self.table.objects[k] for k in keys]
        ours = [t for t in _leaves(result) if self.table.key_of(t) not in keys]
        inputs = theirs + ours
        grads = torch.autograd.grad(result, inputs, grad, retain_graph=True, allow_unused=True) if inputs else []
        with torch.no_grad():
            for leaf, g in zip(ours, grads[len(theirs):]):
                if g is not None:
                    leaf.grad = g.clone() if leaf.grad is None else leaf.grad + g
        return list(grads[:len(theirs)])

    def describe(self, err: BaseException) -> dict:
        frames = traceback.extract_tb(err.__traceback__)
        files = getattr(self, "learner_files", {self.filename})
        mine = [[f.filename, f.lineno, f.name, (f.line or "")[:500]] for f in frames if f.filename in files]
        last = frames[-1] if frames else None
        stub = bool(isinstance(err, NotImplementedError) and last is not None and last.filename in files and
                    "NotImplementedError" in (last.line or ""))
        try:
            text = str(err)
        except Exception:  # a learner's exception whose __str__ fails
            text = ""
        out = {"type": type(err).__name__, "mro": [c.__name__ for c in type(err).__mro__][:20],
               "msg": framing.clip(text, 2000), "frames": mine[-20:], "stub": stub}
        if isinstance(err, _Missing):
            out["missing"] = err.args[0]
        if isinstance(err, SystemExit):
            out["code"] = framing.clip(repr(err.code), 200)
        return out


class _Missing(Exception):
    pass


def _run_hooks(leaf: Any, grad: Any) -> Any:
    """The gradient of ``leaf`` through the hooks the learner registered on it, in order (``Tensor.register_hook``)."""
    if not isinstance(leaf, torch.Tensor) or not isinstance(grad, torch.Tensor):
        raise TypeError("hooks of a tensor only")
    for hook in list((leaf._backward_hooks or {}).values()):
        out = hook(grad)
        if out is not None:
            grad = out
    return grad


def _leaves(t: torch.Tensor) -> list[torch.Tensor]:
    out, seen, stack = [], set(), [t.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        var = getattr(fn, "variable", None)
        if isinstance(var, torch.Tensor):
            out.append(var)
        stack.extend(f for f, _ in getattr(fn, "next_functions", ()))
    return out


def _leaf_keys(t: torch.Tensor, table: objecttable.ObjectTable) -> list[str]:
    keys = []
    for leaf in _leaves(t):
        key = table.key_of(leaf)
        if key is not None:
            keys.append(key)
    return keys


# -- observation of what learner code calls ------------------------------------------------------------------------

def observe(spec: dict, events: list) -> contextlib.AbstractContextManager:
    """Record the torch functions called (``ops``) and calls of the named functions (``calls``) into ``events``,
    with the same recorders as learning mode (:func:`kata.api.observe.recording`)."""
    calls = tuple(str(c) for c in spec.get("calls", []) if str(c).split(".")[0] in ("torch", "numpy", "random", "time"))
    return recording(events, bool(spec.get("ops")), calls)


# -- the zygote ----------------------------------------------------------------------------------------------------

def _worker_main(fd: int, cfg: dict, report: int) -> NoReturn:
    """In the forked child: enter the sandbox, then serve.  Never returns."""
    code = 0
    try:
        os.setsid()
        die_with_parent()
        mode = cfg.get("isolation", "basic")
        if mode in ("root", "userns"):
            jail.enter_namespaces(user_ns=(mode == "userns"))
            pid = os.fork()
            if pid:
                os.write(report, f"{pid}\n".encode())
                os.close(report)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            die_with_parent()
        else:
            os.write(report, f"{os.getpid()}\n".encode())
        os.close(report)
        work = jail.enter(cfg)
        for stream_fd in (0, 1, 2):
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, stream_fd)
            os.close(devnull)
        check_threads()
        sock = socket.socket(fileno=fd)
        profile = cfg.get("profile")
        if profile:  # a maintainer's measurement (basic isolation only: the file must be visible outside)
            import cProfile

            cProfile.runctx("Worker(sock, work).serve()", globals(), {"Worker": Worker, "sock": sock, "work": work},
                            f"{profile}.{os.getpid()}")
        else:
            Worker(sock, work).serve()
    except BaseException as err:
        code = 3
        with contextlib.suppress(Exception):
            os.write(2, f"kata worker: {err}\n".encode())
    os._exit(code)


def prepare_to_fork() -> None:
    """What every forked child would otherwise do for itself, done once before the forks (pure Python, no thread).

    torch's table of overridable functions (the names the op recorder gives) is built on first use, and so are the
    interpreter's folders that the jail shows again (:func:`kata.grading.sandbox.jail.interpreter_paths`); and the objects
    imported so far are moved out of the garbage collector's reach (``gc.freeze``), so that a collection in a child
    neither walks them (torch alone brings hundreds of thousands) nor writes to their pages, which the child then
    has to copy.  The process that imported them started with the collector off (:data:`GC_OFF`); it is on again
    from here, in this process and in every child."""
    with contextlib.suppress(Exception):
        torch.overrides.resolve_name(torch.add)
    jail.interpreter_paths()
    gc.collect()
    gc.freeze()
    gc.enable()


def zygote(control: socket.socket, warm: tuple[str, ...] = ()) -> None:
    """Fork one worker per ``spawn`` request; kill them all when the control socket closes (a
    :class:`~kata.grading.sandbox.forkserver.ForkServer`, a subreaper so that orphans of workers come back to be killed).

    ``warm`` modules are imported before the zygote says it is ready, so that every worker forked has them."""

    def child(request: dict, fds: list[int], report: int) -> NoReturn:
        _worker_main(fds[0], request["config"], report)

    def started(request: dict, pid: int, worker_pid: int) -> bytes:  # noqa: ARG001 (ForkServer's started callback)
        return json.dumps({"pid": worker_pid}).encode() + b"\n"

    ForkServer(control, child, started, subreaper=True).serve(warm, prepare_to_fork)


def main() -> None:
    fd = int(sys.argv[1])
    control = socket.socket(fileno=fd)
    zygote(control, tuple(sys.argv[2:]))


if __name__ == "__main__":
    main()
