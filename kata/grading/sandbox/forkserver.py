"""The fork server: a process that has imported what its children need once, then forks one child per request.

Two processes are fork servers: the sandbox's zygote (:mod:`kata.grading.sandbox.worker`, one sandbox worker per chapter)
and the class's warm trusted template (:mod:`kata.classroom.template`, one trusted pytest run per submission).  They
share this loop and differ only in what their children do and in what they say about them:

- the server dies with its parent (``PR_SET_PDEATHSIG``), imports its ``warm`` modules, runs ``prepare`` (what
  every child would otherwise do for itself) and then says ``ready`` on its control socket;
- each request is one JSON message with ``"op": "spawn"`` and the file descriptors that come with it (SCM_RIGHTS);
  the server forks, the child runs ``child(request, fds, report)`` and never returns; the child may write the pid
  that names it (a worker inside a PID namespace is its own parent's child) to ``report`` and close it;
- the server answers each request with one line (``started(request, pid, reported_pid)``), and, where asked,
  reports each child's end as ``exit PID CODE``;
- when the control socket closes, the server kills every child and what they started, and exits without
  finalising the interpreter (finalising torch takes seconds and helps nothing).

This module imports neither torch nor pytest: what a server warms up is its caller's choice.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import importlib
import json
import os
import select
import signal
import socket
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: Largest request, and most file descriptors that come with one.
MAX_REQUEST = 1 << 20
MAX_FDS = 4


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent ends (Linux; elsewhere nothing)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class ForkServer:
    """The loop of a fork server on ``control`` (see the module's docstring)."""

    def __init__(self, control: socket.socket, child: Callable[[dict[str, Any], list[int], int], NoReturn],
                 started: Callable[[dict[str, Any], int, int], bytes], *, report_exits: bool = False,
                 subreaper: bool = False):
        self.control = control
        self.child = child
        self.started = started
        #: Say ``exit PID CODE`` when a child ends (the template's parent waits on its children that way); the loop
        #: then wakes up every 50 ms to reap.  Without it, children are reaped after each request.
        self.report_exits = report_exits
        #: Orphans of the children come back to this process, to be killed with the rest at the end.
        self.subreaper = subreaper
        self.children: set[int] = set()

    def serve(self, warm: Iterable[str] = (), prepare: Callable[[], None] | None = None) -> NoReturn:
        die_with_parent()
        if self.subreaper:
            with contextlib.suppress(Exception):
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for name in warm:  # before "ready": imported later, it would hold up the first child that waits for it
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        if prepare is not None:
            prepare()
        self.control.sendall(b"ready\n")
        while True:
            if self.report_exits:
                ready, _, _ = select.select([self.control], [], [], 0.05)
            else:
                ready = [self.control]
            if ready:
                try:
                    msg, fds, _, _ = socket.recv_fds(self.control, MAX_REQUEST, MAX_FDS)
                except OSError:
                    break
                if not msg:
                    break
                request = json.loads(msg.decode("utf-8"))
                if isinstance(request, dict) and request.get("op") == "spawn":
                    self.fork(request, fds)
                else:
                    for fd in fds:
                        os.close(fd)
            self.reap()
        self.kill_all()
        os._exit(0)

    def fork(self, request: dict[str, Any], fds: list[int]) -> None:
        """Fork the child for ``request``, hand it ``fds`` (closed here), and answer the request."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            with contextlib.suppress(OSError):
                self.control.close()
            os.close(r)
            try:
                self.child(request, fds, w)
            finally:
                os._exit(3)  # a child never comes back into the server's loop
        os.close(w)
        for fd in fds:
            os.close(fd)
        self.children.add(pid)
        with os.fdopen(r, "rb") as f:
            line = f.readline().strip()
        self.control.sendall(self.started(request, pid, int(line) if line.isdigit() else pid))

    def reap(self) -> None:
        """Reap the children that ended (and, as a subreaper, the orphans that came back here)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid not in self.children:
                continue
            self.children.discard(pid)
            if self.report_exits:
                with contextlib.suppress(OSError):
                    self.control.sendall(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n".encode())

    def kill_all(self) -> None:
        """Kill every child, its process group, and (as a subreaper) every orphan that came back here."""
        for pid in list(self.children):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        me = os.getpid()
        try:
            entries = os.listdir("/proc")
        except OSError:  # no /proc (not Linux): the process groups above are all there is
            entries = []
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == me:
                    os.kill(int(entry), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                continue
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except OSError as err:
                if err.errno != errno.EINTR:
                    break
