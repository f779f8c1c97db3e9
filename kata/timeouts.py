"""Check timeouts with a Japanese verdict on every OS, and the notice about a check that is still running.

Used by the engine's pytest plugin (:class:`kata.plugin.CheckRun`, through pytest-timeout's ``pytest_timeout_set_timer``
and ``pytest_timeout_cancel_timer`` hooks) in every mode.
"""
from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
from typing import Any

from kata import loader, messages
from kata.display import PLAIN_ERRORS
from kata.errors import KataTimeout

SLOW_NOTICE_AFTER = 5.0  # seconds before a still-running check is announced


def start(seconds: float, method: str) -> CheckTimer:
    """A started timer: SIGALRM where the platform has it and ``method`` is ``signal``, else a watchdog thread."""
    timer: CheckTimer = AlarmTimer(seconds) if method == "signal" and _HAS_ALARM() else ThreadTimer(seconds)
    timer.start()
    return timer


def _HAS_ALARM() -> bool:
    # Looked up on every call: Windows has neither; the engine's tests delete them to act as Windows.
    return hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")


def _in_learner_code(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_filename in loader.LEARNER_FILES:
            return True
        frame = frame.f_back
    return False


class CheckTimer:
    def __init__(self, seconds: float):
        self.seconds = seconds

    def start(self) -> None:
        raise NotImplementedError

    def cancel(self) -> None:
        raise NotImplementedError


class AlarmTimer(CheckTimer):
    """SIGALRM after ``seconds``, then every second while learner code is still running (it may swallow one)."""

    def start(self) -> None:
        fired = False

        def on_timeout(signum: int, frame: Any) -> None:  # noqa: ARG001 (a signal handler's signature)
            nonlocal fired
            if fired and not _in_learner_code(frame):
                return
            fired = True
            raise KataTimeout(self.seconds)

        signal.signal(signal.SIGALRM, on_timeout)
        signal.setitimer(signal.ITIMER_REAL, self.seconds, 1.0)

    def cancel(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


class ThreadTimer(CheckTimer):
    """For platforms without SIGALRM: a daemon thread interrupts the main thread (``_thread.interrupt_main``, the
    same path as Ctrl+C) after ``seconds`` and then every second; the SIGINT handler installed for the check raises
    ``KataTimeout`` for those interrupts and behaves as before for a real Ctrl+C."""

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.fired = False
        self.previous: Any = None

    def start(self) -> None:
        self.previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_sigint)
        threading.Thread(target=self._run, name="kata-timeout", daemon=True).start()

    def _run(self) -> None:
        wait = self.seconds
        while not self.done.wait(wait):
            with self.lock:
                if self.done.is_set():
                    return
                self.fired = True
                _thread.interrupt_main(signal.SIGINT)
            wait = 1.0

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.fired:
            if self.done.is_set():
                return  # the check ended as the timer fired: nothing left to stop
            raise KataTimeout(self.seconds)
        previous = self.previous
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    def cancel(self) -> None:
        with self.lock:
            self.done.set()
        signal.signal(signal.SIGINT, self.previous if self.previous is not None else signal.default_int_handler)


def slow_notice(fd: int | None, chapter: str, exercise: str, timeout: float) -> threading.Timer | None:
    """After a few seconds, say which exercise the run is waiting on (on the terminal ``fd``, past pytest's
    capture); nothing without a terminal."""
    if fd is None:
        return None
    after = max(1.0, min(SLOW_NOTICE_AFTER, timeout / 2))
    text = "\n" + messages.SLOW_CHECK.format(chapter=chapter[:2], exercise=exercise, seconds=f"{after:g}",
                                             limit=f"{timeout:g}") + "\n"
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"

    def say() -> None:
        with contextlib.suppress(OSError, LookupError):
            os.write(fd, text.encode(encoding, errors=PLAIN_ERRORS))

    notice = threading.Timer(after, say)
    notice.daemon = True
    notice.start()
    return notice
