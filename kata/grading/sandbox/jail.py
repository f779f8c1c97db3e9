"""The sandbox worker's jail, entered by each forked worker before it reads a byte of learner code: namespaces,
mounts that hide the grader's folders and keep its Python visible and read-only, privileges dropped, resource limits,
and a system-call filter (seccomp, :data:`DENIED_SYSCALLS`).  What each isolation level gives is said in
:mod:`kata.grading.sandbox.worker`'s docstring; :func:`enter` is the whole of it for one worker.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import pathlib
import resource
import sys
import sysconfig
from collections.abc import Sequence

import numpy as np
import torch

try:  # libseccomp's interface (ctypes); imported by the zygote, before any sandbox hides the packages
    import pyseccomp as _seccomp  # type: ignore[import-untyped]
except (ImportError, OSError, RuntimeError):  # not installed, or no libseccomp.so.2 on this machine
    _seccomp = None

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUSER = 0x20000, 0x20000000, 0x40000000, 0x8000000, \
    0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


# -- the sandbox ---------------------------------------------------------------------------------------------------

def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@functools.cache
def interpreter_paths() -> tuple[str, ...]:
    """The folders of the interpreter itself: its prefixes, the folder of its executable (the real one, after
    links) and the standard library and site-packages as :mod:`sysconfig` names them.  Always shown (read-only).

    Computed once, in the zygote before it forks (:func:`kata.grading.sandbox.worker.prepare_to_fork`): reading
    :mod:`sysconfig`'s data the first time costs each worker about 5 ms of its start."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(os.__file__)}
    if sys.executable:
        paths.add(os.path.dirname(sys.executable))
        paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError, OSError):
            paths.add(sysconfig.get_path(name))
    return tuple(sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)}))


def needed_paths(hidden: Sequence[str] = ()) -> list[str]:
    """Folders the worker must still read after the grader's folders are hidden: the interpreter, its standard
    library, its site-packages (with the packages' metadata, ``*.dist-info``), the folders of the packages already
    imported and every other ``sys.path`` folder (a ``.pth`` file's target) -- wherever they live, the temp folders
    included.  A ``sys.path`` folder that is, holds or lies in one of ``hidden`` (the grader's repository put on
    ``sys.path`` by an editable install, the submission) is left out unless it is a site-packages folder: the worker
    imported everything it needs of the engine before the sandbox was set up."""
    paths = set(interpreter_paths())
    for mod in (torch, np):
        if mod.__file__:
            paths.add(os.path.realpath(os.path.dirname(os.path.dirname(mod.__file__))))
    hidden_real = [os.path.realpath(h) for h in hidden]
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        real = os.path.realpath(entry)
        if real == "/":
            continue
        packages = os.path.basename(real) in ("site-packages", "dist-packages")
        if not packages and any(_inside(real, h) or _inside(h, real) for h in hidden_real):
            continue
        paths.add(real)
    return sorted(paths)


def _blocked_ancestors(needed: list[str], uid: int) -> set[str]:
    """Ancestors of ``needed`` that ``uid`` could not traverse (e.g. /root with mode 0700)."""
    out = set()
    for path in needed:
        parts = pathlib.PurePosixPath(path).parts
        for i in range(2, len(parts) + 1):
            p = str(pathlib.PurePosixPath(*parts[:i]))
            try:
                st = os.stat(p)
            except OSError:
                break
            if st.st_uid != uid and not st.st_mode & 0o001:
                out.add(p)
                break
    return out


def _hide(hidden: list[str], needed: list[str], stash: str) -> None:
    """Cover every folder in ``hidden`` with an empty tmpfs; re-expose (read-only) the ``needed`` paths below it."""
    os.makedirs(stash, exist_ok=True)
    _mount("tmpfs", stash, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700")
    for top in sorted(set(hidden), key=len):
        if not os.path.isdir(top):
            continue
        inside = [p for p in needed if p == top or p.startswith(top.rstrip("/") + "/")]
        saved = []
        for i, path in enumerate(inside):
            spot = os.path.join(stash, str(i))
            os.makedirs(spot, exist_ok=True)
            _mount(path, spot, None, MS_BIND | MS_REC)
            saved.append((path, spot))
        _mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        for path, spot in saved:
            os.makedirs(path, exist_ok=True)
            _mount(spot, path, None, MS_BIND | MS_REC)
            _check(_libc.umount2(spot.encode(), 2), "umount stash")  # MNT_DETACH
    _check(_libc.umount2(stash.encode(), 2), "umount stash")


ST_RDONLY = 1


def _hold(paths: list[str]) -> list[tuple[str, int]]:
    """Each path with a descriptor (``O_PATH``) that keeps the folder reachable after something covers it."""
    held = []
    for path in paths:
        with contextlib.suppress(OSError):
            held.append((path, os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
    return held


def _show_again(held: list[tuple[str, int]], hidden: list[str]) -> None:
    """Bind every held folder that something now covers back onto its path (read-only, as its mount is by now), then
    cover again the hidden folders that lie inside one of them; the descriptors are closed."""
    shown = []
    for path, fd in sorted(held, key=lambda item: len(item[0])):
        try:
            here = os.stat(path)
        except OSError:
            here = None
        there = os.fstat(fd)
        if here is None or (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino):
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            shown.append(path)
            if not os.statvfs(path).f_flag & ST_RDONLY:  # a clone of a read-only mount is read-only: seldom here
                flags = os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
                with contextlib.suppress(OSError):
                    _mount("none", path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | flags)
        os.close(fd)
    for folder in hidden:
        if any(_inside(folder, p) and folder != p for p in shown) and os.path.isdir(folder):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=0755")


#: Top-level folders a worker keeps (read-only): the system's programs, libraries and settings.
_SYSTEM_TOPS = {"usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "etc", "dev", "proc", "sys", "tmp"}
_MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": 1024,
                "nodiratime": 2048, "relatime": 1 << 21, "strictatime": 1 << 24}
MS_REMOUNT = 32


def _read_only_everywhere() -> None:
    """Remount every mount point read-only in this mount namespace (the locked flags of each kept), so that the
    worker can write nowhere on the host's file systems; its private tmpfs folders are mounted afterwards."""
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        fields = line.split()
        if len(fields) < 6:
            continue
        point = fields[4].replace("\\040", " ")
        if point.startswith(("/proc", "/sys", "/dev")) and point not in ("/dev/shm",):
            continue
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for option in fields[5].split(","):
            flags |= _MOUNT_FLAGS.get(option, 0)
        with contextlib.suppress(OSError):
            _mount("none", point, None, flags)


def _unshare_user(flags: int = 0) -> None:
    """A new user namespace (plus ``flags``) in which this process keeps its own uid and gid."""
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | flags), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _enter_nested_user_namespace() -> None:
    _unshare_user()


def enter_namespaces(user_ns: bool) -> None:
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
    if user_ns:
        _unshare_user(flags)
    else:
        _check(_libc.unshare(flags), "unshare")


def _limits(cfg: dict) -> None:
    def setlimit(which: int, value: int) -> None:
        try:
            _, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    setlimit(resource.RLIMIT_CORE, 0)
    setlimit(resource.RLIMIT_FSIZE, int(cfg.get("file_mb", 64)) << 20)
    setlimit(resource.RLIMIT_NOFILE, 256)
    if cfg.get("cpu_seconds"):
        setlimit(resource.RLIMIT_CPU, int(cfg["cpu_seconds"]))
    if cfg.get("memory_mb"):
        # The address space already mapped by torch's import (shared with the zygote) plus the allowance.
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        setlimit(resource.RLIMIT_AS, pages * resource.getpagesize() + (int(cfg["memory_mb"]) << 20))
    if cfg.get("nproc"):
        setlimit(resource.RLIMIT_NPROC, int(cfg["nproc"]))


def enter(cfg: dict) -> str:
    """Enter the sandbox described by ``cfg``; return the working folder.  Runs in the forked worker."""
    mode = cfg.get("isolation", "basic")
    uid, gid = cfg.get("uid"), cfg.get("gid")
    work = "/tmp/kata-work"
    if mode in ("root", "userns"):
        try:
            _mount("none", "/", None, MS_REC | MS_PRIVATE)
            needed = needed_paths(list(cfg.get("hide", [])))
            # Everything at the top of the file system but the system's own folders is hidden (the grader's folders,
            # home folders, other projects…); what the interpreter needs from below them is shown again.
            hidden = [os.path.join("/", name) for name in sorted(os.listdir("/")) if name not in _SYSTEM_TOPS
                      and os.path.isdir(os.path.join("/", name)) and not os.path.islink(os.path.join("/", name))]
            hidden += list(cfg.get("hide", []))
            if uid is not None:
                hidden += sorted(_blocked_ancestors(needed, uid))
            # Held open from here on: whatever covers them below (the private /tmp, /var/tmp, /dev/shm…), they are
            # shown again, read-only, at the end (``_show_again``).
            kept = _hold(needed)
            _hide([h for h in hidden if h not in ("/", "/tmp")], needed, "/dev/shm/.kata-stash"
                  if os.path.isdir("/dev/shm") else "/mnt")
            _read_only_everywhere()
            _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(cfg.get('file_mb', 64))}m,mode=1777")
            # The host's other world-writable folders would outlive the worker (shared by chapters and by the next
            # submission): private and empty too.
            for shared in ("/dev/shm", "/var/tmp", "/run/lock", "/dev/mqueue"):
                if os.path.isdir(shared) and not os.path.islink(shared):
                    _mount("tmpfs", shared, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")
            _show_again(kept, [h for h in hidden if h not in ("/", "/tmp")])
            with contextlib.suppress(OSError):
                _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as err:
            raise SystemExit(f"sandbox set-up failed: {err}") from err
    else:
        work = cfg["workdir"]
    os.makedirs(work, exist_ok=True)
    if uid is not None and gid is not None:
        os.chown(work, uid, gid)
    os.chdir(work)
    if mode == "root" and uid is not None and gid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    if mode == "userns":
        # Still all-powerful inside the user namespace it made: one more, nested, locks the mounts made so far
        # (hidden folders stay hidden, read-only stays read-only) and leaves no power over them.
        _enter_nested_user_namespace()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _limits(cfg)
    if cfg.get("syscall_filter", "require") != "off":
        try:
            install_syscall_filter()
        except FilterUnavailable as err:
            if cfg.get("syscall_filter", "require") == "require":
                raise SystemExit(f"sandbox set-up failed: no system-call filter: {err}") from err
    os.environ.clear()
    os.environ.update({"HOME": work, "TMPDIR": work, "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
                       "LANG": "C.UTF-8"})
    return work


# -- the system-call filter ----------------------------------------------------------------------------------------

#: System calls a kata never needs, refused with EPERM (learner code that makes one gets an exception, hence a
#: verdict): kernel keyrings (their content belongs to a uid and outlives the process), tracing and reading other
#: processes, BPF, perf, userfaultfd, mounts and namespaces (the sandbox is set up by then), modules, kexec, swap,
#: reboot, accounting, quotas, file handles (they open files by inode, past the mounts), io_uring (its operations
#: are not seen by this filter), SysV IPC and POSIX message queues (kernel-held; the IPC namespace also isolates
#: them), the clock and the host name, the kernel log, raw I/O ports and the LDT.
DENIED_SYSCALLS = (
    "add_key", "request_key", "keyctl",
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
    "bpf", "perf_event_open", "userfaultfd", "fanotify_init", "lookup_dcookie",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "mount_setattr", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd",
    "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl", "shmget", "shmat", "shmdt",
    "shmctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "syslog",
    "iopl", "ioperm", "modify_ldt", "uselib", "vhangup", "nfsservctl", "move_pages", "migrate_pages",
)
#: ``clone`` with any of these flags makes a new namespace: refused like ``unshare``.  ``clone3`` passes its flags
#: in memory, where a filter cannot read them: it answers ENOSYS, and the C library falls back to ``clone``.
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


class FilterUnavailable(Exception):
    """The system-call filter could not be installed here (no libseccomp, or the kernel refused it)."""


def syscall_filter_available() -> str | None:
    """None when the filter can be built here, else why not (the filter itself is loaded only in a worker)."""
    if _seccomp is None:
        return "libseccomp (pyseccomp) is not available"
    return None


def install_syscall_filter() -> list[str]:
    """Load the filter into this process (and so into every process it starts).  Returns the denied calls this
    machine's libseccomp knows (older ones lack the newest calls, which then do not exist on that kernel either)."""
    if _seccomp is None:
        raise FilterUnavailable("libseccomp (pyseccomp) is not available")
    try:
        f = _seccomp.SyscallFilter(_seccomp.ALLOW)
        eperm = _seccomp.ERRNO(errno.EPERM)
        known = []
        for name in DENIED_SYSCALLS:
            try:
                f.add_rule(eperm, name)
            except (OSError, ValueError):
                continue  # unknown to this libseccomp
            known.append(name)
        for flag in CLONE_NAMESPACE_FLAGS:
            f.add_rule(eperm, "clone", _seccomp.Arg(0, _seccomp.MASKED_EQ, flag, flag))
        with contextlib.suppress(OSError, ValueError):
            f.add_rule(_seccomp.ERRNO(errno.ENOSYS), "clone3")
        f.load()
    except OSError as err:
        raise FilterUnavailable(str(err)) from err
    return known
