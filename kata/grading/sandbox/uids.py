"""Sandbox identities unique to one grading run: a block of uids (and the gids of the same numbers) that no user of
the machine, no other run and no earlier submission uses while it is held.

Kernel state that belongs to a uid rather than to a process (the user's kernel keyring, its process count, …)
outlives a worker.  With the same uid in every run, what one submission left there would reach the next.  So each
trusted process that grades as root takes a block of its own (:func:`allocate`): it is chosen at random in a high
range that the machine maps (``/proc/self/uid_map``) and that no account (``/etc/passwd``, ``/etc/group``) and no
subordinate range (``/etc/subuid``, ``/etc/subgid``) names; no running process may own one of its uids; and it is
held with an exclusive lock on a file in a folder only root may write (``/run/kata-sandbox-uids``), released when the
process ends, even by SIGKILL.  ``kata class grade`` forks one trusted process per submission: each submission gets
a block of its own.

Linux only; used only when the grader is root (the ``root`` isolation).  The system-call filter of the worker
(:mod:`kata.grading.sandbox.worker`) refuses the keyring calls as well: two walls, not one.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import random
import stat
import tempfile

#: uids per block: one per chapter (its number), the rest spare.
BLOCK = 64
#: Where blocks are chosen from, when the machine maps it (every uid a block can have lies in it): far above the
#: accounts a distribution creates (below 60000) and the usual subordinate ranges (from 100000, 65536 each).
HIGH = range(1 << 30, (1 << 31) - BLOCK)
LOCK_DIR = "/run/kata-sandbox-uids"


class NoUids(Exception):
    """No block of uids could be taken (the grader then refuses: it would otherwise share identities)."""


class UidBlock:
    """uids ``base`` … ``base + BLOCK - 1``, held until :meth:`release` (or the end of this process)."""

    def __init__(self, base: int, fd: int, path: str):
        self.base, self._fd, self._path = base, fd, path

    def uid(self, index: int) -> int:
        return self.base + index % BLOCK

    def release(self) -> None:
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            os.unlink(self._path)  # while still locked: a run that opens it later sees another file (or none)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> UidBlock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _ranges(name: str) -> list[range]:
    """The ids this process's user namespace maps (``/proc/self/uid_map`` or ``gid_map``)."""
    out = []
    try:
        with open(f"/proc/self/{name}", encoding="ascii") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    start, length = int(parts[0]), int(parts[2])
                    out.append(range(start, start + length))
    except (OSError, ValueError):
        return [range(0, 1 << 32)]
    return out


def _taken() -> list[range]:
    """ids that belong to someone: accounts, groups and subordinate ranges."""
    taken: list[range] = []
    for path, field in (("/etc/passwd", 2), ("/etc/group", 2)):
        with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split(":")
                if len(parts) > field and parts[field].strip().isdigit():
                    n = int(parts[field])
                    taken.append(range(n, n + 1))
    for path in ("/etc/subuid", "/etc/subgid"):
        with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    taken.append(range(int(parts[1]), int(parts[1]) + int(parts[2])))
    taken.append(range(65534, 65536))  # nobody / nogroup, and (uid_t)-2 on old systems
    return taken


def windows() -> list[range]:
    """Where a block may start: the high range where the machine maps it, else the top of what it maps (a
    container with 65536 ids), never below 10000."""
    mapped = [_overlap(u, g) for u in _ranges("uid_map") for g in _ranges("gid_map")]
    mapped = [r for r in mapped if len(r) >= BLOCK]
    high = [_overlap(r, HIGH) for r in mapped]
    high = [r for r in high if len(r) >= BLOCK]
    if high:
        return high
    low = [_overlap(r, range(10000, r.stop)) for r in mapped]
    return [r for r in low if len(r) >= 4 * BLOCK]


def _overlap(a: range, b: range) -> range:
    return range(max(a.start, b.start), min(a.stop, b.stop))


def _running_uids() -> set[int]:
    """The real and effective uids of every process this machine runs (that this one can see)."""
    uids: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError), \
                    open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uids.update(int(x) for x in line.split()[1:5])
                        break
    return uids


def lock_dir() -> str:
    """The folder of the lock files: made by root, mode 0700; refused if someone else owns it or it is a link."""
    for folder in (LOCK_DIR, os.path.join(tempfile.gettempdir(), "kata-sandbox-uids-0")):
        with contextlib.suppress(OSError):
            os.mkdir(folder, 0o700)
        with contextlib.suppress(OSError):
            st = os.lstat(folder)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022:
                return folder
    raise NoUids("no private folder for the uid locks")


def _sweep(folder: str, most: int = 32) -> None:
    """Remove lock files that no process holds (left by runs that were killed), a few per call."""
    with contextlib.suppress(OSError):
        for name in sorted(os.listdir(folder))[:most]:
            path = os.path.join(folder, name)
            try:
                fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                    os.unlink(path)  # held while unlinked: whoever opened it meanwhile finds it gone and retries
            except OSError:
                pass
            finally:
                os.close(fd)


def allocate(rng: random.Random | None = None, tries: int = 200) -> UidBlock:
    """A block of uids nothing else uses, held by this process (see the module's text)."""
    rng = rng or random.SystemRandom()
    spans = windows()
    if not spans:
        raise NoUids("this machine maps no free range of uids")
    folder = lock_dir()
    _sweep(folder)
    taken = _taken()
    running = _running_uids()
    for _ in range(tries):
        span = rng.choices(spans, weights=[len(r) for r in spans])[0]
        base = span.start + rng.randrange(max(1, len(span) // BLOCK)) * BLOCK
        block = range(base, base + BLOCK)
        if any(_overlap(block, t) for t in taken) or any(u in block for u in running):
            continue
        path = os.path.join(folder, f"{base}.lock")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # The file locked must still be the one at the path (a run releasing it unlinks it first).
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                return UidBlock(base, fd, path)
        except OSError:
            pass
        os.close(fd)
    raise NoUids("no free block of uids found")
