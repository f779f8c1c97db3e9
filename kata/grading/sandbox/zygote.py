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
import signal
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
#: The first statement of a process that imports torch before it works (a zygote, the class template, a trusted
#: pytest run): the cyclic garbage collector stays off while it imports, and is switched on again, after the objects
#: imported so far are frozen (``gc.freeze``), before anything else runs (:func:`kata.grading.sandbox.worker.prepare_to_fork`,
#: :meth:`kata.grading.glue.GradingPlugin.pytest_collection_finish`).  Importing torch and its compiler otherwise
#: pays for about half a dozen full collections over hundreds of thousands of objects (a few tenths of a second),
#: and every later full collection walks them all again.
GC_OFF = "import gc; gc.disable(); "
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
        #: Workers asked for ahead of need (:meth:`prespawn`): (config, our end of its socket, its pid, or None while
        #: the zygote's answer is still to be read), in the order asked.
        self._spares: list[tuple[dict, socket.socket, int | None]] = []
        if control is not None:
            self.control, self.proc = control, proc
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # ``root``: where the engine is imported from (``kata grade`` passes its private copy of the grading path,
        # never a learner's repository).
        code = (GC_OFF + "import sys; sys.path.insert(0, %r); from kata.grading.sandbox.worker import main; main()"
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
        """A worker set up as ``config`` says: (our end of its socket, its pid).  A spare asked for with the same
        config (:meth:`prespawn`) is taken when there is one."""
        config = {**config, "syscall_filter": self.syscall_filter}
        self._settle()
        for i, (wanted, sock, pid) in enumerate(self._spares):
            if wanted == config and pid is not None:
                del self._spares[i]
                return sock, pid
        sock = self._request(config)
        return sock, self._answer()

    def prespawn(self, config: dict) -> None:
        """Ask for a worker set up as ``config`` says, without waiting for it: it is forked and enters its sandbox
        while this process goes on, and the next :meth:`spawn` with the same config takes it.  A spare runs nothing
        until it is sent the learner's file (a worker waits for that first), and one never taken is killed with
        the others (:meth:`discard_spares`, :meth:`close`).  At most two are kept waiting."""
        config = {**config, "syscall_filter": self.syscall_filter}
        if len(self._spares) >= 2 or any(wanted == config for wanted, _, _ in self._spares):
            return
        try:
            sock = self._request(config)
        except (OSError, SandboxError):
            return
        self._spares.append((config, sock, None))

    def discard_spares(self) -> None:
        """Kill the spares not taken, after reading the zygote's answers about them (a long-lived zygote is handed
        to the next trusted run with nothing left unread)."""
        with contextlib.suppress(OSError, SandboxError):
            self._settle()
        for _, sock, pid in self._spares:
            if pid is not None:
                for kill in (os.killpg, os.kill):
                    with contextlib.suppress(OSError):
                        kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                sock.close()
        self._spares.clear()

    def _request(self, config: dict) -> socket.socket:
        """Send one spawn request; returns our end of the new worker's socket."""
        self.wait_ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            socket.send_fds(self.control, [json.dumps({"op": "spawn", "config": config}).encode()],
                            [theirs.fileno()])
        except OSError as err:
            ours.close()
            raise SandboxError(f"zygote is gone: {err}") from None
        finally:
            theirs.close()
        return ours

    def _answer(self) -> int:
        """The pid in the zygote's answer to the oldest spawn request not yet answered."""
        self.control.settimeout(120)
        try:
            line = self._line()
        finally:
            self.control.settimeout(None)
        return int(json.loads(line)["pid"])

    def _settle(self) -> None:
        """Read the answers about the spares (they come before the answer to any later request)."""
        for i, (wanted, sock, pid) in enumerate(self._spares):
            if pid is None:
                self._spares[i] = (wanted, sock, self._answer())

    def close(self) -> None:
        """Close the control socket: the zygote then kills every worker and what they started, and exits."""
        self.discard_spares()
        with contextlib.suppress(OSError):
            self.control.close()
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


