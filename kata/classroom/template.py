"""The warm trusted template: one ``python -I`` process that has imported torch, pytest and the engine once, and
forks one trusted pytest run per submission (``kata class grade``).

``kata grade`` starts a fresh trusted interpreter per submission, and pays for the import of torch and pytest each
time.  For a class, that cost is paid once here: the template imports them from the grader's private copy, sets
torch to one thread *before* it forks (it never runs an operation, so no thread pool exists yet), and serves
``spawn`` requests on a control socket.  Each child is what ``kata grade``'s trusted process is: it runs
``pytest.main`` on the grader's checks with ``--kata-sandbox``, talks to a sandbox worker through the zygote it was
handed, and never imports, runs or unpickles learner code.  The trust boundary is unchanged: learner code runs only
in the sandbox workers forked by the zygote.

This module imports neither torch nor pytest at import time: the class parent uses :class:`TrustedTemplate`.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from kata.grading.sandbox.forkserver import ForkServer, die_with_parent
from kata.grading.sandbox.zygote import GC_OFF, ZYGOTE_FD_ENV

__all__ = ["WARM", "Child", "TemplateGone", "TrustedTemplate", "serve"]

#: Imported by the template before it says "ready": everything a trusted pytest run of the checks imports.
WARM = ("torch", "torch._dynamo", "numpy", "pytest", "_pytest.python", "_pytest.fixtures", "pytest_timeout",
        "kata.plugin", "kata.grading.glue", "kata.grading.sandbox.client", "kata.api.compare", "kata.api.inputs",
        "kata.verdict", "kata.api.observe", "kata.api.oprules", "kata.api.staticrules", "kata.state", "kata.api.devices")


class TemplateGone(Exception):
    """The template process ended (it is restarted for the next submission)."""


class Child:
    """A trusted pytest run forked by the template, with :class:`subprocess.Popen`'s ``pid``, ``poll``, ``wait`` and
    ``returncode`` (what :class:`kata.grading.parent.Grader` uses)."""

    def __init__(self, template: TrustedTemplate, pid: int):
        self.template = template
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.template.pump()
            self.returncode = self.template.exits.pop(self.pid, None)
            if self.returncode is None and not self.template.alive():
                self.returncode = -signal.SIGKILL  # its template is gone, and it died with it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired("kata-trusted-child", timeout or 0.0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode


class TrustedTemplate:
    """The parent's handle on the template process (thread-safe: one lock around the control socket)."""

    def __init__(self, suite: Path, env: dict[str, str], log: Path):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        code = (GC_OFF + "import sys; sys.path.insert(0, %r); from kata.classroom.template import serve; serve()"
                % str(suite))
        with open(log, "ab") as err:
            try:
                self.proc = subprocess.Popen([sys.executable, "-I", "-c", code, str(theirs.fileno())],
                                             pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                             stdout=err, stderr=err, env=env, cwd=str(suite),
                                             start_new_session=True)
            finally:
                theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.buffer = b""
        self.exits: dict[int, int] = {}
        self.started: dict[str, int] = {}
        self.ready = False
        self.count = 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _lines(self, block: float | None) -> list[str]:
        """Read what the template has sent (waiting up to ``block`` seconds for something); caller holds the lock."""
        ready, _, _ = select.select([self.sock], [], [], block or 0)
        if ready:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                raise TemplateGone("template closed its socket")
            self.buffer += data
        lines = []
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            lines.append(line.decode("ascii", "replace"))
        return lines

    def _handle(self, line: str) -> None:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "exit":
            self.exits[int(parts[1])] = int(parts[2])
        elif len(parts) == 3 and parts[0] == "started":
            self.started[parts[1]] = int(parts[2])
        elif parts and parts[0] == "ready":
            self.ready = True

    def wait_ready(self, timeout: float = 600.0) -> None:
        end = time.monotonic() + timeout
        with self.lock:
            while not self.ready:
                if time.monotonic() > end or not self.alive():
                    raise TemplateGone("template did not start")
                for line in self._lines(0.2):
                    self._handle(line)

    def pump(self) -> None:
        """Take in the template's news (children that ended) without waiting."""
        with self.lock, contextlib.suppress(TemplateGone, OSError):
            for line in self._lines(0):
                self._handle(line)

    def spawn(self, args: list[str], env: dict[str, str], cwd: Path, log: Path, fd: int | None) -> Child:
        """Fork a trusted pytest run: ``pytest.main(args)`` with ``env`` as its whole environment, in ``cwd``,
        output to ``log``; ``fd`` (a zygote's control socket) is handed over (its number in
        :data:`kata.grading.sandbox.zygote.ZYGOTE_FD_ENV`)."""
        self.wait_ready()
        with self.lock:
            self.count += 1
            ident = f"{os.getpid()}-{self.count}"
            request = json.dumps({"op": "spawn", "id": ident, "args": args, "env": env, "cwd": str(cwd),
                                  "log": str(log)}).encode()
            try:
                socket.send_fds(self.sock, [request], [fd] if fd is not None else [])
            except OSError as err:
                raise TemplateGone(str(err)) from None
            end = time.monotonic() + 60
            while ident not in self.started:
                if time.monotonic() > end or not self.alive():
                    raise TemplateGone("template did not fork")
                for line in self._lines(0.2):
                    self._handle(line)
            return Child(self, self.started.pop(ident))

    def close(self) -> None:
        """Closing the socket ends the template; it kills the children still running."""
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the template process itself ---------------------------------------------------------------------------------------

def serve() -> None:
    """Run in the template process (``python -I`` from the grader's private copy): import, then fork on demand (a
    :class:`~kata.grading.sandbox.forkserver.ForkServer` that reports each child's end)."""
    def started(request: dict[str, Any], pid: int, _reported: int) -> bytes:
        return f"started {request['id']} {pid}\n".encode()

    control = socket.socket(fileno=int(sys.argv[1]))
    ForkServer(control, _child, started, report_exits=True).serve(prepare=_warm_up)


def _warm_up() -> None:
    import importlib

    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    from kata.grading.sandbox.worker import prepare_to_fork
    from kata.state import check_threads

    # Set before any fork: the template never runs an operation, so torch has not started its thread pool.
    check_threads()
    prepare_to_fork()


def _child(request: dict[str, Any], fds: list[int], report: int) -> NoReturn:
    """In the forked child: become what ``kata grade``'s trusted process is, run pytest, exit.  Never returns."""
    os.close(report)  # its pid is the one the template forked
    code = 3
    try:
        os.setsid()
        die_with_parent()
        os.chdir(request["cwd"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        env = {str(k): str(v) for k, v in request["env"].items()}
        if fds:
            env[ZYGOTE_FD_ENV] = str(fds[0])
        os.environ.clear()
        os.environ.update(env)
        import pytest

        sys.argv = ["pytest", *request["args"]]
        code = int(pytest.main(list(request["args"])))
    except BaseException as err:
        with contextlib.suppress(Exception):
            os.write(2, f"kata trusted child: {type(err).__name__}: {err}\n".encode())
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    os._exit(code)
