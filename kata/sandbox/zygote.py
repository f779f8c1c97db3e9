"""The zygote: the process that has imported torch once and forks one sandbox worker per chapter.

This module imports neither torch nor pytest, so that ``kata grade``'s parent can start a zygote while its trusted
processes are still importing theirs (the two imports then overlap), and hand it to one of them as a file
descriptor (``KATA_ZYGOTE_FD``).
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from kata import messages


class SandboxError(Exception):
    """The sandbox could not be set up (a grader-side problem, not the learner's)."""


# -- the zygote ----------------------------------------------------------------------------------------------------

def strongest_isolation() -> str:
    """What the sandbox can do on this machine: ``root``, ``userns`` or ``basic``."""
    if not sys.platform.startswith("linux"):
        return "basic"
    if os.geteuid() == 0:
        return "root"
    return "userns" if _userns_works() else "basic"


def _userns_works() -> bool:
    try:
        proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "true"],
                              capture_output=True, timeout=20)
        return proc.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


ISOLATION_TEXT = messages.ISOLATION_TEXT
#: Set to ``try`` by ``kata grade --isolation basic``: the system-call filter is then installed where it can be.
SYSCALL_FILTER_ENV = "KATA_SYSCALL_FILTER"


class Zygote:
    """The process that has imported torch once and forks a worker per chapter."""

    def __init__(self, isolation: str | None = None, log: Path | None = None, warm: tuple[str, ...] = (),
                 control: socket.socket | None = None, proc: subprocess.Popen | None = None,
                 root: Path | None = None):
        from kata import catalog

        self.isolation = isolation or strongest_isolation()
        #: ``require`` (default): a worker that cannot install its system-call filter stops before it reads learner
        #: code; ``try``: it goes on without (only with ``--isolation basic``, asked for explicitly).
        self.syscall_filter = "try" if os.environ.get(SYSCALL_FILTER_ENV) == "try" else "require"
        self._ready = False
        self._buffer = b""
        if control is not None:
            self.control, self.proc = control, proc
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # ``root``: where the engine is imported from (``kata grade`` passes its private copy of the grading path,
        # never a learner's repository).
        code = ("import sys; sys.path.insert(0, %r); from kata.sandbox.worker import main; main()"
                % str(root or catalog.ROOT))
        stderr = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME")}
        env["OMP_NUM_THREADS"] = "1"
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", "-c", code, str(theirs.fileno()), *warm],
                                         pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=stderr, env=env, close_fds=True)
        finally:
            theirs.close()
            if log:
                stderr.close()  # type: ignore[union-attr]
        self.control = ours

    @classmethod
    def from_environment(cls, isolation: str | None = None) -> Zygote | None:
        """The zygote ``kata grade`` started for this process, if it handed one over (``KATA_ZYGOTE_FD``)."""
        raw = os.environ.get("KATA_ZYGOTE_FD")
        if not raw or not raw.isdigit():
            return None
        try:
            control = socket.socket(fileno=int(raw))
        except OSError:
            return None
        os.environ.pop("KATA_ZYGOTE_FD", None)
        zygote = cls(os.environ.get("KATA_ZYGOTE_ISOLATION") or isolation, control=control)
        # A long-lived zygote (``kata class grade``) said "ready" once, to the process that started it.
        zygote._ready = os.environ.pop("KATA_ZYGOTE_READY", "") == "1"
        return zygote

    def wait_ready(self) -> None:
        if self._ready:
            return
        self.control.settimeout(300)
        try:
            line = self._line()
        except OSError as err:
            raise SandboxError(f"zygote did not start: {err}") from None
        finally:
            self.control.settimeout(None)
        if not line.startswith(b"ready"):
            raise SandboxError("zygote did not start")
        self._ready = True

    def _line(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = self.control.recv(4096)
            if not chunk:
                raise SandboxError("zygote is gone")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def spawn(self, config: dict) -> tuple[socket.socket, int]:
        self.wait_ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            config = {**config, "syscall_filter": self.syscall_filter}
            socket.send_fds(self.control, [json.dumps({"op": "spawn", "config": config}).encode()],
                            [theirs.fileno()])
        except OSError as err:
            ours.close()
            raise SandboxError(f"zygote is gone: {err}") from None
        finally:
            theirs.close()
        self.control.settimeout(120)
        try:
            line = self._line()
        finally:
            self.control.settimeout(None)
        return ours, int(json.loads(line)["pid"])

    def close(self) -> None:
        """Close the control socket: the zygote then kills every worker and what they started, and exits."""
        with contextlib.suppress(OSError):
            self.control.close()
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


