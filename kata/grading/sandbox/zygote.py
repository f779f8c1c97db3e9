"""The zygote: the process that has imported torch once and forks one sandbox worker per chapter.

This module imports neither torch nor pytest, so that ``kata grade``'s parent can start a zygote while its trusted
processes are still importing theirs (the two imports then overlap), and hand it to one of them: its control socket
is inherited as a file descriptor whose number is in :data:`ZYGOTE_FD_ENV`; what the trusted process needs to know
about it comes with the grading contract (:mod:`kata.grading.contract`).
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
from kata.grading.contract import GradingContract


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
#: The environment variable that carries the number of a handed-over zygote's control socket (a mechanism, not a
#: setting: every setting is in the grading contract).
ZYGOTE_FD_ENV = "KATA_ZYGOTE_FD"


class Zygote:
    """The process that has imported torch once and forks a worker per chapter."""

    def __init__(self, isolation: str | None = None, log: Path | None = None, warm: tuple[str, ...] = (),
                 control: socket.socket | None = None, proc: subprocess.Popen | None = None,
                 root: Path | None = None, syscall_filter: str = "require"):
        from kata import catalog

        self.isolation = isolation or strongest_isolation()
        #: ``require`` (default): a worker that cannot install its system-call filter stops before it reads learner
        #: code; ``try``: it goes on without (:attr:`kata.grading.contract.GradingContract.syscall_filter`).
        self.syscall_filter = syscall_filter
        self._ready = False
        self._buffer = b""
        if control is not None:
            self.control, self.proc = control, proc
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # ``root``: where the engine is imported from (``kata grade`` passes its private copy of the grading path,
        # never a learner's repository).
        code = ("import sys; sys.path.insert(0, %r); from kata.grading.sandbox.worker import main; main()"
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
    def handed_over(cls, contract: GradingContract, isolation: str | None = None) -> Zygote | None:
        """The zygote the grading parent started for this process, if it handed one over (its control socket's
        descriptor in :data:`ZYGOTE_FD_ENV`), set up as ``contract`` says."""
        raw = os.environ.get(ZYGOTE_FD_ENV)
        if not raw or not raw.isdigit():
            return None
        try:
            control = socket.socket(fileno=int(raw))
        except OSError:
            return None
        os.environ.pop(ZYGOTE_FD_ENV, None)
        zygote = cls(contract.zygote_isolation or isolation, control=control, syscall_filter=contract.syscall_filter)
        # A long-lived zygote (``kata class grade``) said "ready" once, to the process that started it.
        zygote._ready = contract.zygote_ready
        return zygote

    @property
    def ready(self) -> bool:
        """The zygote said it is ready (:meth:`wait_ready` returned)."""
        return self._ready

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


