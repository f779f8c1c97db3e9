"""A catalogue of hostile submissions for ``kata grade``, each with the score it must get.

A case is one chapter's file: the chapter's reference or its untouched stub with hostile code appended (``code``),
a whole file of its own (``source``), or something planted in the submission folder (``build``: symlinks, FIFOs,
folders, devices).  ``expect`` is the score that chapter must get:

- ``"full"``: every exercise (a reference whose hostile part must not cost it anything),
- ``"zero"``: nothing (a stub that tries to score without solving, or a file that cannot be graded),
- ``"victim"``: every exercise but the chapter's first (``@VICTIM@``, the function the hostile code replaced),
- a number: that many points;
- a tuple of exercise names: every exercise but those (the ones the hostile code replaced).

Cases that need nothing but their own chapter are graded together, several chapters in one ``kata grade`` run (each
chapter on its own worker and uid, scored separately), beside a chapter graded from its untouched reference that
must keep full marks (``BYSTANDER``).  Cases marked ``alone`` get a run of their own.  In the code, ``@VICTIM@``,
``@KEY@``, ``@FILE@``, ``@MOD@``, ``@ROOT@`` (the grader's checkout, as a Python string) and ``@REPORT@`` (the
report's path) are filled in: the hostile code knows everything about the grader's layout.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kata import catalog

#: Chapters that carry the batched cases (functions only, quick checks) and the untouched one beside them.
SLOTS = ("01_setup", "02_creation", "04_shapes", "05_matmul", "06_autograd")
BYSTANDER = "03_numpy"

#: Japanese fragments of verdicts (kata/messages.py) that name what happened.
SYMLINK = "シンボリックリンク"
NOT_FILE = "ふつうのファイルではない"
SYNTAX = "構文エラー"
MISSING = "見つかりません"
TIMEOUT = "時間切れ"
DIED = "途中で終了"


@dataclass(frozen=True)
class Hostile:
    name: str
    kind: str  # reference / forge / symlink / signal / outlive / tree / crash / encoding
    what: str
    code: str = ""  # appended to the base
    base: str = "reference"  # reference / stub
    expect: str | float | tuple[str, ...] = "full"
    chapter: str | None = None  # a fixed chapter (else any slot)
    source: bytes | None = None  # the whole file (``@...@`` filled in), instead of base + code
    build: Callable[[Path, catalog.Chapter], None] | None = None  # plants something at the chapter's file
    fragment: str = ""  # Japanese text some verdict of the chapter must contain
    alone: bool = False  # a run of its own
    dangerous: bool = False  # must not run without namespaces (isolation "basic": same uid as the test runner)
    slow: bool = False
    xfail: str = ""  # a known hole: the reason (the test is xfail strict)
    options: dict = field(default_factory=dict)  # extra grade() options for a run of its own

    def expected(self, chapter: catalog.Chapter) -> float:
        full = sum(e.points for e in chapter.exercises)
        if self.expect == "full":
            return full
        if self.expect == "zero":
            return 0.0
        if self.expect == "victim":
            return full - chapter.exercises[0].points
        if isinstance(self.expect, tuple):  # every exercise but these (the ones the hostile code replaced)
            return full - sum(e.points for e in chapter.exercises if e.name in self.expect)
        return float(self.expect)

    def fill(self, text: str, chapter: catalog.Chapter, report: Path | None = None, root: Path | None = None) -> str:
        names = {"@VICTIM@": chapter.exercises[0].name, "@KEY@": chapter.key, "@FILE@": chapter.file,
                 "@MOD@": Path(chapter.file).stem, "@ROOT@": repr(str(root or catalog.ROOT)),
                 "@REPORT@": repr(str(report) if report else "/nonexistent/report.json")}
        for token, value in names.items():
            text = text.replace(token, value)
        return text

    def write(self, submission: Path, chapter: catalog.Chapter, report: Path | None = None,
              root: Path | None = None) -> None:
        """Put this case's file for ``chapter`` into ``submission`` (a learner's repository layout); ``root`` is
        the grader's checkout the hostile code is told about (default: this one)."""
        target = submission / "exercises" / chapter.key / chapter.file
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.build is not None:
            self.build(submission, chapter)
            return
        if self.source is not None:
            reference = (catalog.SOLUTIONS / chapter.key / chapter.file).read_bytes()
            crlf = reference.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            target.write_bytes(self.source.replace(b"@REFERENCE_CRLF@", crlf).replace(b"@REFERENCE@", reference))
            return
        base = (catalog.SOLUTIONS if self.base == "reference" else catalog.EXERCISES) / chapter.key / chapter.file
        text = base.read_text(encoding="utf-8")
        if self.code:
            text += "\n\n# ---- hostile ----\n" + self.fill(PRELUDE + self.code.strip("\n"), chapter, report, root) + "\n"
        target.write_text(text, encoding="utf-8")


#: Helpers every appended hostile part may use.
PRELUDE = '''
import os as _os, sys as _sys, types as _types


def _h_public():
    """The chapter's functions, as the learner module defines them."""
    return [n for n, v in list(globals().items())
            if isinstance(v, _types.FunctionType) and v.__module__ == __name__ and not n.startswith("_")]


def _h_wrap_all(make):
    """Replace every public function ``f`` with ``make(name, f)``."""
    for _n in _h_public():
        globals()[_n] = make(_n, globals()[_n])


def _h_exec_file(path, name):
    """``name`` from the Python file at ``path`` (None when it cannot be read or has no such function)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        if b"NotImplementedError" in data and b"raise NotImplementedError" in data:
            return None  # a stub, not a reference
        space = {"__name__": "stolen"}
        exec(compile(data, str(path), "exec"), space)
        fn = space.get(name)
        return fn if callable(fn) else None
    except BaseException:
        return None


def _h_from_roots(roots, name):
    """Look for the chapter's reference (or its checks) below every folder in ``roots``."""
    seen = set()
    for root in roots:
        root = str(root)
        if not root or root in seen:
            continue
        seen.add(root)
        for rel in ("solutions/@KEY@/@FILE@", "@KEY@/@FILE@", "@FILE@", "grader/solutions/@KEY@/@FILE@",
                    "source/solutions/@KEY@/@FILE@", "main/solutions/@KEY@/@FILE@"):
            fn = _h_exec_file(_os.path.join(root, rel), name)
            if fn is not None:
                return fn
    return None


def _h_mount_points():
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                parts = line.split()
                out.append(parts[4])
    except OSError:
        pass
    return out


def _h_delegate(find):
    """Every function asks ``find(name)`` for a real implementation and falls back to the stub."""
    def make(name, stub):
        def f(*args, **kwargs):
            real = find(name)
            return stub(*args, **kwargs) if real is None else real(*args, **kwargs)
        f.__name__ = name
        return f
    _h_wrap_all(make)

'''


def _victim(body: str) -> str:
    """Code that redefines the chapter's first exercise with ``body``."""
    return "def @VICTIM@(*args, **kwargs):\n" + "\n".join("    " + line for line in body.strip("\n").splitlines())


# -- builders for cases that are not a file's contents ------------------------------------------------------------

def _target(submission: Path, chapter: catalog.Chapter) -> Path:
    target = submission / "exercises" / chapter.key / chapter.file
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    return target


def _link_file(submission: Path, chapter: catalog.Chapter) -> None:
    _target(submission, chapter).symlink_to(catalog.SOLUTIONS / chapter.key / chapter.file)


def _link_folder(submission: Path, chapter: catalog.Chapter) -> None:
    folder = submission / "exercises" / chapter.key
    if folder.exists():
        import shutil
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(catalog.SOLUTIONS / chapter.key, target_is_directory=True)


def _link_exercises(submission: Path, chapter: catalog.Chapter) -> None:
    folder = submission / "exercises"
    if folder.exists():
        import shutil
        shutil.rmtree(folder)
    submission.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(catalog.SOLUTIONS, target_is_directory=True)


def _link_relative(submission: Path, chapter: catalog.Chapter) -> None:
    target = _target(submission, chapter)
    target.symlink_to(os.path.relpath(catalog.SOLUTIONS / chapter.key / chapter.file, target.parent))


def _link_flat(submission: Path, chapter: catalog.Chapter) -> None:
    """A flat upload (the file at the top of the submission) that is a link; no exercises/ copy of this chapter."""
    folder = submission / "exercises" / chapter.key
    if folder.exists():
        import shutil
        shutil.rmtree(folder)
    (submission / chapter.key).mkdir(parents=True, exist_ok=True)
    (submission / chapter.key / chapter.file).symlink_to(catalog.SOLUTIONS / chapter.key / chapter.file)


def _link_loop(submission: Path, chapter: catalog.Chapter) -> None:
    target = _target(submission, chapter)
    target.symlink_to(target.name)


def _fifo(submission: Path, chapter: catalog.Chapter) -> None:
    os.mkfifo(_target(submission, chapter))


def _folder(submission: Path, chapter: catalog.Chapter) -> None:
    target = _target(submission, chapter)
    target.mkdir()
    (target / "__init__.py").write_text((catalog.SOLUTIONS / chapter.key / chapter.file).read_text("utf-8"), "utf-8")


def _device(submission: Path, chapter: catalog.Chapter) -> None:
    """A character device where the file belongs (/dev/zero's numbers); a link to /dev/zero where mknod is denied."""
    target = _target(submission, chapter)
    try:
        os.mknod(target, stat.S_IFCHR | 0o644, os.makedev(1, 5))
    except (PermissionError, OSError):
        target.symlink_to("/dev/zero")


def _odd_names(submission: Path, chapter: catalog.Chapter) -> None:
    """The reference, beside files whose names are odd (newline, invalid UTF-8, a dash, huge) and a dangling link."""
    target = _target(submission, chapter)
    target.write_bytes((catalog.SOLUTIONS / chapter.key / chapter.file).read_bytes())
    folder = os.fsencode(target.parent)
    for name in (b"seeds.py\n", b"\xff\xfe.py", b"-rf", b"--help", b"a" * 200 + b".py", b" " + os.fsencode(chapter.file),
                 b"\x1b[31mred.py"):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"raise SystemExit('not this file')\n")
    with open(target.parent / "big.py", "wb") as f:
        f.truncate(3 << 20)
    os.symlink("/etc/shadow", target.parent / "shadow.py")
    os.symlink("/nonexistent", submission / "dangling")


# -- the catalogue -------------------------------------------------------------------------------------------------

CASES: list[Hostile] = [
    # -- reading or delegating to the references: a stub that finds the reference would score ---------------------
    Hostile("ref_import_modules", "reference", "every function imports the reference by every module name it could "
            "have (solutions.*, kata_reference.*, kata.loader/catalog/plugin), or finds it in sys.modules", base="stub",
            expect="zero", code='''
import importlib as _importlib


def _h_find(name):
    for candidate in ("solutions.@KEY@.@MOD@", "solutions.@MOD@", "kata_reference.c@KEY@", "@MOD@",
                      "checks.@KEY@", "kata.loader", "kata.catalog", "kata.plugin", "kata.solutions", "conftest"):
        try:
            module = _importlib.import_module(candidate)
        except BaseException:
            continue
        fn = getattr(module, name, None)
        if callable(fn) and getattr(fn, "__module__", None) != __name__:
            return fn
    for mname, module in list(_sys.modules.items()):
        if module is None or not any(w in mname for w in ("kata", "solution", "reference", "check")):
            continue
        fn = getattr(module, name, None)
        if callable(fn) and getattr(fn, "__module__", None) not in (__name__, None):
            return fn
    try:
        import kata.catalog as _catalog
        return _h_exec_file(_catalog.SOLUTIONS / "@KEY@" / "@FILE@", name)
    except BaseException:
        return None


_h_delegate(_h_find)
'''),
    Hostile("ref_search_paths", "reference", "every function looks for solutions/ below sys.path, the grader's "
            "known checkout, /autograder, the working folder's parents, the kata package's folder and every mount "
            "point (the hidden folders are mount points)", base="stub", expect="zero", code='''
def _h_roots():
    roots = [@ROOT@, "/work/main", "/autograder/source", "/autograder", _os.getcwd(), "/"]
    for entry in list(_sys.path):
        roots += [entry, _os.path.dirname(entry)]
    for module in list(_sys.modules.values()):
        f = getattr(module, "__file__", None)
        if f and ("kata" in f):
            roots += [_os.path.dirname(_os.path.dirname(f)), _os.path.dirname(_os.path.dirname(_os.path.dirname(f)))]
    roots += _h_mount_points()
    roots += [v for v in _os.environ.values() if v.startswith("/")]
    return roots


_h_delegate(lambda name: _h_from_roots(_h_roots(), name))
'''),
    Hostile("ref_proc_snoop", "reference", "every function reads /proc: every process's cwd, root, exe, environ, "
            "cmdline and open files, and /proc/<pid>/root/<grader>, for paths to the grader's files", base="stub",
            expect="zero", code='''
def _h_proc_roots():
    roots = []
    for pid in _os.listdir("/proc"):
        if not pid.isdigit():
            continue
        for link in ("cwd", "root", "exe"):
            try:
                target = _os.readlink(f"/proc/{pid}/{link}")
                roots += [target, _os.path.dirname(target), f"/proc/{pid}/{link}"]
            except OSError:
                pass
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    for token in f.read().replace(b"=", b"\\0").split(b"\\0"):
                        if token.startswith(b"/"):
                            t = token.decode("utf-8", "replace")
                            roots += [t, _os.path.dirname(t)]
            except OSError:
                pass
        try:
            for fd in _os.listdir(f"/proc/{pid}/fd"):
                try:
                    t = _os.readlink(f"/proc/{pid}/fd/{fd}")
                    roots += [t, _os.path.dirname(t), f"/proc/{pid}/fd/{fd}"]
                except OSError:
                    pass
        except OSError:
            pass
        roots.append(f"/proc/{pid}/root" + @ROOT@)
    try:
        roots.append(_os.getppid() and f"/proc/{_os.getppid()}/cwd")
    except Exception:
        pass
    return roots


_h_delegate(lambda name: _h_from_roots(_h_proc_roots(), name))
'''),
    Hostile("ref_walk_root", "reference", "every call walks / (2 s a call, resuming where it stopped) for a file "
            "named like the chapter's that is not a stub, or a solutions/ folder", base="stub", expect="zero",
            slow=True, code='''
import time as _time

_h_found = {}
_h_walker = None


def _h_walk():
    for top, dirs, files in _os.walk("/", onerror=lambda e: None):
        dirs[:] = [d for d in dirs if _os.path.join(top, d) not in ("/proc", "/sys", "/dev")]
        if "@FILE@" in files:
            yield _os.path.join(top, "@FILE@")
        if "solutions" in dirs:
            yield _os.path.join(top, "solutions", "@KEY@", "@FILE@")


def _h_find(name):
    global _h_walker
    if name in _h_found:
        return _h_found[name]
    if _h_walker is None:
        _h_walker = _h_walk()
    end = _time.monotonic() + 2.0
    for path in _h_walker:
        fn = _h_exec_file(path, name)
        if fn is not None:
            _h_found[name] = fn
            return fn
        if _time.monotonic() > end:
            break
    return None


_h_delegate(_h_find)
'''),
    Hostile("ref_umount_hidden", "reference", "every call unmounts every mount point it can (the tmpfs that hides "
            "the grader's folders) and mounts a fresh proc, then looks below them for the references", base="stub",
            expect="zero", code='''
import ctypes as _ctypes

_h_libc = _ctypes.CDLL(None, use_errno=True)


def _h_roots():
    points = _h_mount_points()
    for mp in sorted(set(points), key=len, reverse=True):
        if mp not in ("/", "/proc"):
            _h_libc.umount2(mp.encode(), 2)
    _h_libc.mount(b"proc", b"/proc", b"proc", 0, None)
    return [@ROOT@, "/work/main"] + points


_h_delegate(lambda name: _h_from_roots(_h_roots(), name))
'''),
    # -- forging results from inside the worker -----------------------------------------------------------------
    Hostile("forge_gc_frames", "forge", "every call searches gc objects, sys.modules, every thread's frames and "
            "their globals for anything of the grader (records, verdicts, plugins, pytest) and marks it passed, "
            "then rewrites the worker's own replies so an error becomes a value", base="stub", expect="zero", code='''
import gc as _gc, threading as _threading


def _h_forge():
    hits = 0
    for obj in _gc.get_objects():
        try:
            if isinstance(obj, dict) and ("verdict" in obj or "status" in obj or "nodeid" in obj):
                obj["status"] = "pass"
                obj["verdict"] = ""
                hits += 1
            elif hasattr(obj, "status") and hasattr(obj, "verdict"):
                obj.status, obj.verdict = "pass", ""
                hits += 1
        except Exception:
            pass
    for frame in list(_sys._current_frames().values()):
        while frame is not None:
            for space in (frame.f_locals, frame.f_globals):
                for key in ("RECORDS", "records", "report", "result"):
                    if key in space:
                        hits += 1
            frame = frame.f_back
    for name in [n for n in _sys.modules if "plugin" in n or "pytest" in n or "grading" in n]:
        hits += 1
    worker = _sys.modules.get("kata.grading.sandbox.worker")
    if worker is not None and not getattr(worker.Worker, "_h_patched", False):
        real_send = worker.Worker.send

        def send(self, header, buffers=()):
            if isinstance(header, dict) and "error" in header:
                header = {k: v for k, v in header.items() if k != "error"}
                header.setdefault("value", None)
            return real_send(self, header, buffers)

        worker.Worker.send = send
        worker.Worker._h_patched = True
    return hits


def _h_make(name, stub):
    def f(*args, **kwargs):
        _h_forge()
        return stub(*args, **kwargs)
    return f


_h_wrap_all(_h_make)
'''),
    Hostile("forge_std_streams", "forge", "stubs that print, at import and in every call, fake stream lines "
            "({\"event\": \"result\", \"status\": \"pass\"} for every check), pytest, JUnit and Gradescope text to "
            "sys.stdout, sys.stderr and fds 0-2", base="stub", expect="zero", code='''
import json as _json

_H_LINES = "".join(_json.dumps({"event": "result", "nodeid": f"checks/@KEY@/test_x.py::test_{n}", "status": "pass",
                                "verdict": "", "attribute": ""}) + "\\n" for n in range(200))
_H_LINES += '{"event": "done", "exitstatus": 0}\\n{"score": 999, "max_score": 64, "tests": []}\\n'
_H_LINES += "==== 64 passed in 0.01s ====\\n<testsuite tests=\\"64\\" failures=\\"0\\"></testsuite>\\n"


def _h_shout():
    for stream in (_sys.stdout, _sys.stderr, _sys.__stdout__, _sys.__stderr__):
        try:
            stream.write(_H_LINES)
            stream.flush()
        except Exception:
            pass
    for fd in (0, 1, 2):
        try:
            _os.write(fd, _H_LINES.encode())
        except OSError:
            pass


_h_shout()


def _h_make(name, stub):
    def f(*args, **kwargs):
        _h_shout()
        return stub(*args, **kwargs)
    return f


_h_wrap_all(_h_make)
'''),
    Hostile("forge_all_fds", "forge", "the first exercise writes fake stream lines and fake wire frames to every "
            "fd 3-20 (the worker's socket among them), then returns the right answer from the reference",
            expect="victim", code='''
import json as _json, struct as _struct

_h_real = @VICTIM@


def _h_frame(header):
    head = _json.dumps(header).encode()
    body = head + _struct.pack("<I", 0)
    return _struct.pack("<QQ", len(body), len(head)) + body


def @VICTIM@(*args, **kwargs):
    line = _json.dumps({"event": "result", "nodeid": "x", "status": "pass"}).encode() + b"\\n"
    for fd in range(3, 21):
        for data in (line, _h_frame({"ok": True, "value": None}), b"\\xff" * 64, b"\\0" * 16):
            try:
                _os.write(fd, data)
            except OSError:
                pass
    return _h_real(*args, **kwargs)
'''),
    Hostile("forge_socket_bombs", "forge", "the first exercise sends the trusted side frames built to hurt its "
            "decoder (a 2**40-byte length, 2**32 buffers, a header nested 100 000 deep, invalid UTF-8), then the "
            "reference's answer", expect="victim", code='''
import socket as _socket, stat as _stat, struct as _struct

_h_real = @VICTIM@


def _h_socks():
    out = []
    for fd in range(3, 64):
        try:
            if _stat.S_ISSOCK(_os.fstat(fd).st_mode):
                out.append(fd)
        except OSError:
            pass
    return out


def @VICTIM@(*args, **kwargs):
    deep = b"[" * 100_000 + b"]" * 100_000
    frames = [_struct.pack("<QQ", 1 << 40, 10) + b"x" * 10,
              _struct.pack("<QQ", 16, 8) + b"{\\"a\\":1}" + b"\\xff" * 8,
              _struct.pack("<QQ", len(deep) + 4, len(deep)) + deep + _struct.pack("<I", 0),
              _struct.pack("<QQ", 20, 2) + b"{}" + _struct.pack("<I", 0xFFFFFFFF) + b"\\0" * 14]
    for fd in _h_socks():
        for frame in frames:
            try:
                _os.write(fd, frame)
            except OSError:
                pass
    return _h_real(*args, **kwargs)
'''),
    Hostile("forge_liar_objects", "forge", "torch_version returns a str subclass and an object that claim equality "
            "with everything, pose as str through __class__, and answer isinstance/len/repr as wished; seeded_rand "
            "returns a tensor subclass whose __eq__/__torch_function__ say True", chapter="01_setup",
            expect=("torch_version", "seeded_rand"), code='''
import torch as _torch


class _HLiarStr(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


class _HLiar:
    __class__ = property(lambda self: str)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __str__(self):
        return str(_torch.__version__)

    __repr__ = __str__

    def __len__(self):
        return len(str(_torch.__version__))


class _HLiarTensor(_torch.Tensor):
    def __eq__(self, other):
        return True

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("equal", "allclose", "isclose", "eq", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


_h_calls = [0]


def torch_version():
    _h_calls[0] += 1
    return _HLiarStr("0.0.0-forged") if _h_calls[0] % 2 else _HLiar()


def seeded_rand(seed, shape):
    return _torch.zeros(shape).as_subclass(_HLiarTensor)
'''),
    Hostile("forge_report_paths", "forge", "stubs that write a perfect report to the report's path, to every "
            "stream/report file it can guess, and to the grader's checkout", base="stub", expect="zero", code='''
import glob as _glob, json as _json

_H_PERFECT = _json.dumps({"format": "kata-grade", "score": 999, "max_score": 64, "exercises": []})


def _h_overwrite():
    paths = [@REPORT@, _os.path.join(_os.path.dirname(@REPORT@), "results.json"),
             _os.path.join(@ROOT@, "report.json")]
    for pattern in ("/tmp/kata-grade-*/stream-*.jsonl", "/tmp/*/stream-*.jsonl", "/autograder/results/results.json",
                    @ROOT@ + "/*.json"):
        paths += _glob.glob(pattern)
    for path in paths:
        for mode in ("w", "a"):
            try:
                with open(path, mode) as f:
                    f.write(_H_PERFECT + "\\n")
            except OSError:
                pass


_h_overwrite()


def _h_make(name, stub):
    def f(*args, **kwargs):
        _h_overwrite()
        return stub(*args, **kwargs)
    return f


_h_wrap_all(_h_make)
'''),
    # -- symlinks and other things that are not a file -----------------------------------------------------------
    Hostile("link_file", "symlink", "the chapter's file is a symlink to the grader's reference", expect="zero",
            build=_link_file, fragment=SYMLINK),
    Hostile("link_folder", "symlink", "the chapter's folder (a link in the middle of the path) points to the "
            "grader's solutions/<chapter>", expect="zero", build=_link_folder, fragment=SYMLINK),
    Hostile("link_relative", "symlink", "the chapter's file is a relative symlink (../..) to the reference",
            expect="zero", build=_link_relative, fragment=SYMLINK),
    Hostile("link_flat_upload", "symlink", "a flat upload (<chapter>/<file>, no exercises/ copy) that is a symlink",
            expect="zero", build=_link_flat, fragment=SYMLINK),
    Hostile("link_loop", "symlink", "the chapter's file is a symlink to itself (ELOOP)", expect="zero",
            build=_link_loop, fragment=SYMLINK),
    Hostile("fifo_file", "symlink", "a FIFO where the chapter's file belongs (reading it would block forever)",
            expect="zero", build=_fifo, fragment=NOT_FILE),
    Hostile("folder_file", "symlink", "a folder (a package with the reference as __init__.py) where the file "
            "belongs", expect="zero", build=_folder, fragment=NOT_FILE),
    Hostile("device_file", "symlink", "a character device (/dev/zero's numbers) where the file belongs",
            expect="zero", build=_device, fragment=""),
    Hostile("link_exercises", "symlink", "the whole exercises/ folder is a symlink to the grader's solutions/ "
            "(every chapter of the submission goes with it)", expect="zero", build=_link_exercises,
            fragment=SYMLINK, chapter="01_setup", alone=True),
    # -- signalling or limiting other processes ------------------------------------------------------------------
    Hostile("signal_kill_everyone", "signal", "at import and in every call: kill(-1, SIGKILL), SIGSTOP to -1, "
            "killpg of every group it can name", expect="full", dangerous=True, code='''
import signal as _signal


def _h_kill_all():
    for sig in (_signal.SIGSTOP, _signal.SIGKILL):
        try:
            _os.kill(-1, sig)
        except OSError:
            pass
    for pgrp in range(2, 400):
        if pgrp != _os.getpgrp():
            try:
                _os.killpg(pgrp, _signal.SIGKILL)
            except OSError:
                pass


_h_kill_all()


def _h_make(name, real):
    def f(*args, **kwargs):
        _h_kill_all()
        return real(*args, **kwargs)
    return f


_h_wrap_all(_h_make)
'''),
    Hostile("signal_parent_and_pids", "signal", "at import: SIGKILL to its parent, to PID 1 and to every pid up to "
            "the kernel's pid_max but its own (the sibling chapter's worker, the trusted pytest, the grader)",
            expect="full", dangerous=True, slow=True, code='''
import signal as _signal

try:
    _h_max = int(open("/proc/sys/kernel/pid_max").read())
except Exception:
    _h_max = 32768
for _pid in [_os.getppid(), 1] + list(range(2, min(_h_max, 100_000))):
    if _pid > 0 and _pid != _os.getpid():
        try:
            _os.kill(_pid, _signal.SIGKILL)
        except OSError:
            pass
'''),
    Hostile("signal_priorities_limits", "signal", "at import: lowest priority and CPU affinity for every user, "
            "group and pid it can name, prlimit(NOFILE/AS=tiny) on them, and an ioprio of idle",
            expect="full", dangerous=True, code='''
import ctypes as _ctypes, resource as _resource

for _who in [0, 1, _os.getppid()] + list(range(61000, 61013)):
    for _which in (_os.PRIO_USER, _os.PRIO_PGRP, _os.PRIO_PROCESS):
        try:
            _os.setpriority(_which, _who, 19)
        except OSError:
            pass
for _pid in range(1, 5000):
    if _pid == _os.getpid():
        continue
    try:
        _os.sched_setaffinity(_pid, {0})
    except OSError:
        pass
    try:
        _resource.prlimit(_pid, _resource.RLIMIT_NOFILE, (3, 3))
        _resource.prlimit(_pid, _resource.RLIMIT_AS, (1 << 20, 1 << 20))
    except (OSError, ValueError):
        pass
try:
    _libc = _ctypes.CDLL(None, use_errno=True)
    for _pid in range(1, 5000):
        _libc.syscall(251, 1, _pid, (3 << 13))  # ioprio_set(IOPRIO_WHO_PROCESS, pid, IDLE)
except Exception:
    pass
'''),
    # -- outliving the grader --------------------------------------------------------------------------------------
    Hostile("outlive_double_fork", "outlive", "at import: a double-forked, setsid'd child with SIGTERM/SIGHUP "
            "ignored and no death signal sleeps 4 s, then rewrites the report, writes a conftest.py into the grader's "
            "checkout and a file into /dev/shm, and lives on", expect="full", dangerous=True, alone=True, code='''
import ctypes as _ctypes, signal as _signal, time as _time

if _os.fork() == 0:
    try:
        _os.setsid()
        _ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG: none
        if _os.fork() == 0:
            for _sig in (_signal.SIGTERM, _signal.SIGHUP, _signal.SIGINT):
                _signal.signal(_sig, _signal.SIG_IGN)
            _time.sleep(4)
            for _path, _text in ((@REPORT@, '{"score": 999}'), (@ROOT@ + "/kata-hostile-outlive.txt", "x"),
                                 ("/dev/shm/kata-hostile-outlive", "x")):
                try:
                    with open(_path, "w") as _f:
                        _f.write(_text)
                except OSError:
                    pass
            _time.sleep(60)
    finally:
        _os._exit(0)
'''),
    # -- writing into the grader's tree (graded by a copy of the grader; then an innocent stub must score 0) ------
    Hostile("tree_write_everything", "tree", "at import and in every call: writes a conftest.py that passes "
            "everything into the grader's checkout, checks/, checks/<chapter>/, overwrites the chapter's checks and "
            "reference, appends to kata/plugin.py, drops sitecustomize.py and a .pth file into every sys.path folder "
            "and /dev/shm, by path and through directory fds (os.open with dir_fd, every inherited fd)",
            expect="full", alone=True, chapter="01_setup", code='''
_H_EVIL = "import pytest\\n@pytest.hookimpl(tryfirst=True)\\ndef pytest_runtest_call(item):\\n    pass\\n"
_H_RELS = ("conftest.py", "checks/conftest.py", "checks/@KEY@/conftest.py", "checks/@KEY@/test_zz_hostile.py",
           "checks/@KEY@/test_seeds.py", "solutions/@KEY@/@FILE@", "kata/plugin.py", "kata/__init__.py",
           "pyproject.toml", "kata/MANIFEST.sha256", "sitecustomize.py", "kata_hostile.pth")


def _h_bases():
    bases = [@ROOT@, "/work/main", "/autograder/source", _os.path.dirname(@REPORT@), "/dev/shm", "/var/tmp"]
    for module in list(_sys.modules.values()):
        f = getattr(module, "__file__", None) or ""
        if "kata" in f:
            bases.append(_os.path.dirname(_os.path.dirname(_os.path.dirname(f))))
    bases += [p for p in _sys.path if p]
    bases += _h_mount_points()
    return bases


def _h_vandalise():
    wrote = 0
    for base in _h_bases():
        for rel in _H_RELS:
            for mode in ("a", "w"):
                try:
                    with open(_os.path.join(base, rel), mode) as f:
                        f.write("\\n" + _H_EVIL)
                    wrote += 1
                except OSError:
                    pass
        try:
            dfd = _os.open(base, _os.O_RDONLY | _os.O_DIRECTORY)
        except OSError:
            continue
        try:
            for rel in ("conftest.py", "kata_hostile.pth"):
                try:
                    fd = _os.open(rel, _os.O_WRONLY | _os.O_CREAT | _os.O_APPEND, 0o644, dir_fd=dfd)
                    _os.write(fd, _H_EVIL.encode())
                    _os.close(fd)
                    wrote += 1
                except OSError:
                    pass
        finally:
            _os.close(dfd)
    for fd in range(0, 256):
        try:
            sub = _os.open("conftest.py", _os.O_WRONLY | _os.O_CREAT | _os.O_APPEND, 0o644, dir_fd=fd)
            _os.write(sub, _H_EVIL.encode())
            _os.close(sub)
            wrote += 1
        except (OSError, ValueError):
            pass
    return wrote


_h_vandalise()


def _h_make(name, real):
    def f(*args, **kwargs):
        _h_vandalise()
        return real(*args, **kwargs)
    return f


_h_wrap_all(_h_make)
'''),
    # -- the same, in the sandbox a non-root grader gets (user namespaces) ----------------------------------------
    Hostile("userns_umount_hidden", "reference", "ref_umount_hidden with --isolation userns: the worker is root of "
            "its own user namespace, which owns the mounts that hide the grader's folders", base="stub",
            expect="zero", alone=True, chapter="01_setup", options={"isolation": "userns"},
            code='''
import ctypes as _ctypes

_h_libc = _ctypes.CDLL(None, use_errno=True)


def _h_roots():
    points = _h_mount_points()
    for mp in sorted(set(points), key=len, reverse=True):
        if mp not in ("/", "/proc"):
            _h_libc.umount2(mp.encode(), 2)
    return [@ROOT@, "/work/main"] + points


_h_delegate(lambda name: _h_from_roots(_h_roots(), name))
'''),
    # -- hanging or crashing the grader ------------------------------------------------------------------------
    Hostile("crash_huge_result", "crash", "the first exercise returns a 600 MB tensor (over the frame limit)",
            expect="victim", code=_victim('''
import torch
return torch.zeros(150_000_000)
''')),
    Hostile("crash_deep_nesting", "crash", "the first exercise returns a list nested 1 000 000 deep",
            expect="victim", code=_victim('''
out = []
for _ in range(1_000_000):
    out = [out]
return out
''')),
    Hostile("crash_evil_object", "crash", "the first exercise returns an object whose __repr__, __str__, __len__, "
            "__iter__, __eq__, __bool__, __getattr__ and __del__ loop forever or raise", expect="victim",
            code='''
class _HEvil:
    def __repr__(self):
        while True:
            pass

    __str__ = __repr__

    def __len__(self):
        raise RuntimeError("<script>alert(1)</script>")

    def __iter__(self):
        while True:
            yield self

    def __eq__(self, other):
        while True:
            pass

    __hash__ = object.__hash__

    def __bool__(self):
        raise SystemExit(0)

    def __getattr__(self, name):
        while True:
            pass

    def __del__(self):
        while True:
            pass


''' + _victim("return _HEvil()")),
    Hostile("crash_os_exit_import", "crash", "os._exit(0) at import", expect="zero", fragment="", code='''
_os._exit(0)
'''),
    Hostile("crash_os_exit_call", "crash", "the first exercise calls os._exit(3)", expect="victim",
            code=_victim("_os._exit(3)")),
    Hostile("crash_segfault", "crash", "the first exercise dereferences NULL through ctypes (SIGSEGV)",
            expect="victim", code=_victim('''
import ctypes
ctypes.string_at(0)
''')),
    Hostile("crash_fork_bomb", "crash", "the first exercise forks without end, every child spinning",
            expect="victim", dangerous=True, code=_victim('''
while True:
    try:
        _os.fork()
    except OSError:
        pass
''')),
    Hostile("crash_memory_bomb", "crash", "the first exercise allocates until MemoryError, keeps what it got and "
            "spins", expect="victim", code=_victim('''
hoard = []
try:
    while True:
        hoard.append(bytearray(32 << 20))
except MemoryError:
    pass
while True:
    pass
''')),
    Hostile("crash_deep_recursion", "crash", "the first exercise raises the recursion limit to 10**7 and recurses "
            "(a C stack overflow)", expect="victim", code=_victim('''
_sys.setrecursionlimit(10**7)
def r(n):
    return r(n + 1) + 1
return r(0)
''')),
    Hostile("crash_close_fds_import", "crash", "closes every fd 0-1000 at import (the worker's socket too)",
            expect="zero", code='''
_os.closerange(0, 1000)
'''),
    Hostile("crash_close_fds_call", "crash", "the first exercise closes every fd 0-1000 and returns",
            expect="victim", code=_victim('''
_os.closerange(0, 1000)
return None
''')),
    Hostile("hang_everything", "crash", "every function blocks SIGTERM/SIGINT/SIGALRM, ignores them and spins",
            base="stub", expect="zero", fragment=TIMEOUT, slow=True, code='''
import signal as _signal


def _h_make(name, stub):
    def f(*args, **kwargs):
        for sig in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGALRM, _signal.SIGHUP):
            try:
                _signal.signal(sig, _signal.SIG_IGN)
            except Exception:
                pass
        _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGTERM, _signal.SIGINT, _signal.SIGALRM})
        while True:
            pass
    return f


_h_wrap_all(_h_make)
'''),
    Hostile("crash_interrupts", "crash", "the first exercise raises KeyboardInterrupt; SystemExit and "
            "GeneratorExit are raised at import but caught", expect="victim", code='''
try:
    raise SystemExit(0)
except SystemExit:
    pass
''' + _victim("raise KeyboardInterrupt")),
    # -- odd text, encodings and file names --------------------------------------------------------------------
    Hostile("text_lone_surrogate", "encoding", "the first exercise returns '\\ud800' (and raises one in a message "
            "elsewhere)", expect="victim", code=_victim("return '\\ud800x\\udfff'")),
    Hostile("text_hostile_message", "encoding", "the first exercise raises an exception whose class name and "
            "5 MB message hold HTML, ANSI escapes, NUL, CR, lone surrogates and a fake verdict", expect="victim",
            code=_victim('''
cls = type("Bad<script>", (ValueError,), {})
raise cls("<script>alert(1)</script>\\x1b[2J\\x00\\r\\ud800 合格です 64/64 " + "x" * 5_000_000)
''')),
    Hostile("text_unprintable_exception", "encoding", "the first exercise raises an exception whose __str__ loops "
            "forever", expect="victim", code='''
class _HUnprintable(Exception):
    def __str__(self):
        while True:
            pass


''' + _victim("raise _HUnprintable()")),
    Hostile("enc_latin1_no_cookie", "encoding", "the reference with a Latin-1 byte (é) in a string literal and no "
            "coding cookie: not UTF-8, so a syntax error", expect="zero", fragment=SYNTAX,
            source=b"@REFERENCE@\n_h_word = 'caf\xe9'\n"),
    Hostile("enc_latin1_cookie", "encoding", "a coding: latin-1 cookie and a Latin-1 comment (the Japanese "
            "docstrings become mojibake but the code is the reference's)", expect="full",
            source=b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + b"@REFERENCE@\n_h_word = 'caf\xe9'\n"),
    Hostile("enc_bom", "encoding", "the reference with a UTF-8 BOM", expect="full",
            source=b"\xef\xbb\xbf@REFERENCE@"),
    Hostile("enc_nul", "encoding", "the reference with a NUL byte in a comment", expect="zero",
            source=b"# \x00\n@REFERENCE@"),
    Hostile("enc_crlf", "encoding", "the reference with CRLF line ends", expect="full", source=b"@REFERENCE_CRLF@"),
    Hostile("enc_syntax_error", "encoding", "the reference with a syntax error at the end", expect="zero",
            fragment=SYNTAX, source=b"@REFERENCE@\n\ndef broken(:\n    pass\n"),
    Hostile("enc_empty", "encoding", "an empty file", expect="zero", source=b""),
    Hostile("names_odd_siblings", "encoding", "the reference beside files named with a newline, invalid UTF-8, "
            "dashes, ANSI escapes, 200 characters, a 3 MB file and links to /etc/shadow and nowhere",
            expect="full", build=_odd_names),
    # -- the trusted side adopts nothing the worker reports (issue: one grade, sealed) ---------------------------------
    Hostile("state_meta_default_device", "forge", "every function of a stub sets the default device to meta and the "
            "default dtype to float64, then returns its first tensor argument moved to meta (a trusted side that "
            "took the reported state on would build its expected values on meta and skip comparing them)",
            base="stub", expect="zero", chapter="04_shapes", code='''
import torch as _torch


def _h_forge(*args, **kwargs):
    _torch.set_default_device("meta")
    _torch.set_default_dtype(_torch.float64)
    tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, _torch.Tensor)]
    return (tensors[0] if tensors else _torch.zeros(1)).to("meta")


for _h_name, _h_value in list(globals().items()):
    if callable(_h_value) and getattr(_h_value, "__module__", None) == __name__ and not _h_name.startswith("_"):
        globals()[_h_name] = _h_forge
'''),
    Hostile("state_rng_reported", "forge", "every function of a stub reseeds every global generator the check "
            "might draw its expected values from, and returns a fresh draw of the global generator shaped like its "
            "first tensor argument", base="stub", expect="zero", chapter="05_matmul", code='''
import random as _random

import numpy as _np
import torch as _torch


def _h_forge(*args, **kwargs):
    tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, _torch.Tensor)]
    _torch.manual_seed(0)
    _np.random.seed(0)
    _random.seed(0)
    shape = tensors[0].shape if tensors else (1,)
    return _torch.rand(shape)


for _h_name, _h_value in list(globals().items()):
    if callable(_h_value) and getattr(_h_value, "__module__", None) == __name__ and not _h_name.startswith("_"):
        globals()[_h_name] = _h_forge
'''),
]


def by_name(name: str) -> Hostile:
    return next(c for c in CASES if c.name == name)
