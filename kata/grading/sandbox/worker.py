"""The sandbox side of grading: a zygote that has imported torch once, and one worker per chapter forked from it.

Run as ``python -I -m kata.grading.sandbox.worker FD`` by the trusted grading process, with ``FD`` one end of a Unix socket.
The zygote never runs learner code.  For every ``spawn`` request it receives a fresh socket (SCM_RIGHTS) and forks a
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
  files, no core files), death with its parent, and a system-call filter (seccomp, :data:`DENIED_SYSCALLS`) that
  refuses with EPERM what a kata never needs; a worker that cannot install it stops (unless ``--isolation basic``
  was asked for by name).

The worker then receives the learner's source as bytes over the socket, imports it as a module and answers requests
(``kata.grading.sandbox.wire`` frames): attribute reads, calls, iteration, ``backward`` of results, each with the caller's
global state (RNG states, grad mode, default dtype, …) applied before and reported after.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import json
import linecache
import os
import pathlib
import resource
import socket
import sys
import traceback
import types
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np
import torch

from kata.api import portable
from kata.api.observe import recording  # imported here: the grader's files are hidden from a running worker
from kata.grading.sandbox import framing, objecttable, wire
from kata.grading.sandbox.forkserver import ForkServer, die_with_parent
from kata.state import GlobalState, apply_snapshot, check_threads, state_snapshot

try:  # libseccomp's interface (ctypes); imported by the zygote, before any sandbox hides the packages
    import pyseccomp as _seccomp  # type: ignore[import-untyped]
except (ImportError, OSError, RuntimeError):  # not installed, or no libseccomp.so.2 on this machine
    _seccomp = None

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUSER = 0x20000, 0x20000000, 0x40000000, 0x8000000, \
    0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
LEARNER_MODULE = "learner"

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


def interpreter_paths() -> list[str]:
    """The folders of the interpreter itself: its prefixes, the folder of its executable (the real one, after
    links) and the standard library and site-packages as :mod:`sysconfig` names them.  Always shown (read-only)."""
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(os.__file__)}
    if sys.executable:
        paths.add(os.path.dirname(sys.executable))
        paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError, OSError):
            paths.add(sysconfig.get_path(name))
    return sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)})


def _needed_paths(hidden: Sequence[str] = ()) -> list[str]:
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


def _enter_namespaces(user_ns: bool) -> None:
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


def _sandbox(cfg: dict) -> str:
    """Enter the sandbox described by ``cfg``; return the working folder.  Runs in the forked worker."""
    mode = cfg.get("isolation", "basic")
    uid, gid = cfg.get("uid"), cfg.get("gid")
    work = "/tmp/kata-work"
    if mode in ("root", "userns"):
        try:
            _mount("none", "/", None, MS_REC | MS_PRIVATE)
            needed = _needed_paths(list(cfg.get("hide", [])))
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
        self.scope = wire.scan_keys(self.table, roots)
        self.prints = {k: wire.fingerprint(self.table.objects[k]) for k in self.scope}

    def _changed(self, enc: wire.Encoder, roots: list) -> None:
        keys = set(self.scope) | set(wire.scan_keys(self.table, roots))
        for key in keys:
            obj = self.table.objects.get(key)
            if obj is None or key in enc.states:
                continue
            if wire.fingerprint(obj) != self.prints.get(key):
                enc.state_of(obj)

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
            _enter_namespaces(user_ns=(mode == "userns"))
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
        work = _sandbox(cfg)
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

    torch's table of overridable functions (the names the op recorder gives) is built on first use; and the objects
    imported so far are moved out of the garbage collector's reach (``gc.freeze``), so that a collection in a child
    neither walks them (torch alone brings hundreds of thousands) nor writes to their pages, which the child then
    has to copy."""
    with contextlib.suppress(Exception):
        torch.overrides.resolve_name(torch.add)
    gc.collect()
    gc.freeze()


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
