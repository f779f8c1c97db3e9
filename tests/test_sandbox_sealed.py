"""Issue 17, items 2 and 4: the sandbox sees the grader's own Python wherever it lives, the grader proves it before it
grades (and refuses otherwise), and nothing of one submission outlives its sandbox: not its uids, not what a system
call would leave in the kernel, not its files or processes.

Named after kinds: each ``test_<kind>_…`` covers every case of that kind.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT
from kata import catalog, manifest, messages, report
from kata.classroom import grade as class_grade
from kata.grading import parent
from kata.grading.contract import GradingContract
from kata.grading.sandbox import client, jail, uids

ISOLATION = client.strongest_isolation()
REFERENCE_01 = (catalog.SOLUTIONS / "01_setup" / "seeds.py").read_text(encoding="utf-8")
STUB_01 = (catalog.EXERCISES / "01_setup" / "seeds.py").read_text(encoding="utf-8")
SEALED = pytest.mark.skipif(ISOLATION == "basic", reason="basic isolation: no namespaces here (not root, no userns)")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}


# -- the system-call filter ------------------------------------------------------------------------------------------

#: Per kind, calls the worker must find refused (EPERM): (name, how to call it through ctypes).
PROBE = r'''
import ctypes, errno, os, platform, socket

_libc = ctypes.CDLL(None, use_errno=True)
_NR = {"x86_64": {"add_key": 248, "request_key": 249, "keyctl": 250, "ptrace": 101, "process_vm_readv": 310,
                  "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425, "kexec_load": 246,
                  "init_module": 175, "open_by_handle_at": 304, "setns": 308},
       "aarch64": {"add_key": 217, "request_key": 218, "keyctl": 219, "ptrace": 117, "process_vm_readv": 270,
                   "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425, "kexec_load": 104,
                   "init_module": 105, "open_by_handle_at": 265, "setns": 268}}[platform.machine()]


def _raw(name, *args):
    ctypes.set_errno(0)
    r = _libc.syscall(_NR[name], *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return errno.errorcode.get(ctypes.get_errno(), "?") if r == -1 else "allowed"


def _lib(fn, *args):
    ctypes.set_errno(0)
    r = fn(*args)
    return errno.errorcode.get(ctypes.get_errno(), "?") if r in (-1, None) else "allowed"


def refused():
    return {
        "keyrings": [_raw("add_key", b"user", b"kata", b"x", 1, -4), _raw("request_key", b"user", b"kata", 0, -4),
                     _raw("keyctl", 0, -4, 0, 0, 0)],
        "tracing": [_raw("ptrace", 16, 1, 0, 0), _raw("process_vm_readv", 1, 0, 0, 0, 0, 0)],
        "bpf_perf_userfaultfd": [_raw("bpf", 0, 0, 0), _raw("perf_event_open", 0, 0, -1, -1, 0),
                                 _raw("userfaultfd", 0)],
        "mounts_and_namespaces": [_lib(_libc.mount, b"none", b"/tmp", b"tmpfs", 0, None),
                                  _lib(_libc.umount2, b"/tmp", 2), _lib(_libc.unshare, 0x10000000),
                                  _lib(_libc.unshare, 0x00020000), _raw("setns", 0, 0)],
        "kernel_and_machine": [_raw("kexec_load", 0, 0, 0, 0), _raw("init_module", 0, 0, b""),
                               _lib(_libc.reboot, 0x4321FEDC), _lib(_libc.swapoff, b"/x"), _lib(_libc.acct, None)],
        "file_handles": [_raw("open_by_handle_at", -100, 0, 0)],
        "io_uring": [_raw("io_uring_setup", 1, 0)],
        "sysv_ipc_and_mqueues": [_lib(_libc.shmget, 0x4B415441, 4096, 0o1666),
                                 _lib(_libc.semget, 0x4B415441, 1, 0o1666),
                                 _lib(_libc.msgget, 0x4B415441, 0o1666),
                                 _lib(_libc.mq_open, b"/kata", os.O_CREAT | os.O_RDWR, 0o666, None)],
    }


def still_works():
    import threading, subprocess, torch
    box = []
    t = threading.Thread(target=lambda: box.append(1))
    t.start()
    t.join()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    torch.set_num_threads(2)
    x = torch.randn(64, 64)
    return box == [1] and os.waitstatus_to_exitcode(status) == 7 and (x @ x).shape == (64, 64) \
        and subprocess.run(["true"]).returncode == 0
'''


@pytest.fixture(scope="module")
def probe_session(tmp_path_factory):
    zygote = client.Zygote(ISOLATION)
    block = uids.allocate() if ISOLATION == "root" else None
    chapter = client.Chapter("00_probe", PROBE.encode(), "probe.py", block.uid(0) if block else None,
                             block.uid(0) if block else None, [str(ROOT)])
    session = client.Session(zygote, chapter, client.Limits(call_timeout=60, import_timeout=120),
                             [tmp_path_factory.mktemp("probe")])
    yield session
    session.close()
    zygote.close()
    if block is not None:
        block.release()


KINDS = ("keyrings", "tracing", "bpf_perf_userfaultfd", "mounts_and_namespaces", "kernel_and_machine", "file_handles",
         "io_uring", "sysv_ipc_and_mqueues")


@pytest.mark.skipif(not sys.platform.startswith("linux") or jail.syscall_filter_available() is not None, reason="Linux with libseccomp")
@pytest.mark.parametrize("kind", KINDS)
def test_syscall_filter_refuses_what_a_kata_never_needs(probe_session, kind):
    seen = dict(probe_session.module().refused())
    assert seen[kind] and all(how == "EPERM" for how in seen[kind]), (kind, seen[kind])


@pytest.mark.skipif(not sys.platform.startswith("linux") or jail.syscall_filter_available() is not None, reason="Linux with libseccomp")
def test_syscall_filter_keeps_threads_forks_subprocesses_and_torch(probe_session):
    assert probe_session.module().still_works() is True


def test_syscall_filter_denies_with_eperm_in_this_process_family():
    """The filter itself, without a sandbox: a forked child that loads it gets EPERM, not death."""
    if jail.syscall_filter_available() is not None:
        pytest.skip("no libseccomp here")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)
            jail.install_syscall_filter()
            libc = ctypes.CDLL(None, use_errno=True)
            result = libc.unshare(0x10000000)
            os.write(w, f"{result} {ctypes.get_errno()}".encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    assert text == f"-1 {errno.EPERM}"


# -- identities ------------------------------------------------------------------------------------------------------

def test_uid_blocks_are_unique_while_held_and_clear_of_accounts():
    blocks = [uids.allocate() for _ in range(8)]
    try:
        bases = [b.base for b in blocks]
        assert len(set(bases)) == len(bases)
        taken = uids._taken()
        for b in blocks:
            block = range(b.base, b.base + uids.BLOCK)
            assert not any(uids._overlap(block, t) for t in taken)
            assert b.uid(1) != b.uid(2) and b.uid(1) in block
        # A block held by one process is never handed out again until released (the lock file is held).
        path = os.path.join(uids.lock_dir(), f"{bases[0]}.lock")
        assert os.path.exists(path)
    finally:
        for b in blocks:
            b.release()
    assert not os.path.exists(path)


@SEALED
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_uids_differ_in_every_run_and_every_submission(tmp_path):
    """The uid a chapter's worker runs under, seen from inside, in two ``kata grade`` runs and in two submissions of
    one ``kata class grade`` run: all different, none an account of this machine."""
    if ISOLATION != "root":
        pytest.skip("uids are the grader's only as root (userns keeps the grader's own uid, mapped)")
    spy = STUB_01 + "\nimport os as _os\n\ndef torch_version():\n    raise ValueError(f'uid={_os.getuid()}')\n"
    seen = []
    for run in range(2):
        sub = tmp_path / f"sub{run}" / "exercises" / "01_setup"
        sub.mkdir(parents=True)
        (sub / "seeds.py").write_text(spy, encoding="utf-8")
        result = parent.grade(sub.parent.parent, chapters="01", check_timeout=20, budget=200)
        seen.append(_uid_in(result))
    roster = tmp_path / "roster"
    for name in ("alice", "bob"):
        (roster / name).mkdir(parents=True)
        (roster / name / "seeds.py").write_text(spy, encoding="utf-8")
    out = tmp_path / "class"
    class_grade.grade_class(roster, out, class_grade.ClassOptions(
        chapters="01", jobs=1, contract=GradingContract(budget=200, check_timeout=20), quiet=True))
    for name in ("alice", "bob"):
        text = _class_report(out, name)
        seen.append(int(re.findall(r"uid=(\d+)", text)[0]))
    assert len(set(seen)) == 4, seen
    accounts = {int(line.split(":")[2]) for line in Path("/etc/passwd").read_text().splitlines() if line.count(":") > 2}
    assert not set(seen) & accounts
    assert all(u in uids.HIGH for u in seen) or all(u >= 10000 for u in seen)


def _class_report(out: Path, learner: str) -> str:
    (path,) = (out / "reports").glob(f"{learner}-*.json")
    return path.read_text(encoding="utf-8")


def _uid_in(result: report.GradeResult) -> int:
    verdict = next(c.verdict for e in result.exercises for c in e.checks if "uid=" in c.verdict)
    return int(re.findall(r"uid=(\d+)", verdict)[0])


# -- nothing carries from one submission to the next -----------------------------------------------------------------

#: Submission A: the reference, plus at import an attempt to leave something of every kind behind.
PLANT = r'''
import ctypes as _ct, os as _os, socket as _socket, time as _time

_MARK = b"kata-carry"
_libc = _ct.CDLL(None, use_errno=True)
_planted = {}
def _try(kind, fn):
    try:
        _planted[kind] = fn()
    except Exception as err:
        _planted[kind] = repr(err)

_ADD_KEY = {"x86_64": 248, "aarch64": 217}.get(__import__("platform").machine(), -1)
_try("keyring", lambda: _libc.syscall(_ADD_KEY, b"user", _MARK, _MARK, len(_MARK), _ct.c_long(-4)))  # add_key @u
_try("sysv_shm", lambda: _libc.shmget(0x4B415441, 4096, 0o1666))
_try("sysv_sem", lambda: _libc.semget(0x4B415441, 1, 0o1666))
_try("sysv_msg", lambda: _libc.msgget(0x4B415441, 0o1666))
_try("posix_mqueue", lambda: _libc.mq_open(b"/kata-carry", _os.O_CREAT | _os.O_RDWR, 0o666, None))
for _folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", _os.getcwd()):
    _try("file " + _folder, lambda: open(_os.path.join(_folder, "kata-carry"), "wb").write(_MARK))
if _os.fork() == 0:  # a daemon that holds an abstract socket and outlives the worker if it can
    try:
        _os.setsid()
        _libc.prctl(15, b"katacarry", 0, 0, 0)  # PR_SET_NAME
        _s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        _s.bind(b"\0kata-carry")
        _s.listen(1)
        _time.sleep(600)
    finally:
        _os._exit(0)
_time.sleep(0.5)
'''

#: Submission B: the stub, plus at import a search for what A left; anything found and it would forge points (the
#: reference's answers); what it saw is its first exercise's verdict.
SEARCH = r'''
import ctypes as _ct, json as _json, os as _os, socket as _socket

_libc = _ct.CDLL(None, use_errno=True)
_found = {}
def _look(kind, fn):
    try:
        value = fn()
        if value:
            _found[kind] = repr(value)[:200]
    except Exception:
        pass

_REQUEST_KEY = {"x86_64": 249, "aarch64": 218}.get(__import__("platform").machine(), -1)
_look("keyring", lambda: _libc.syscall(_REQUEST_KEY, b"user", b"kata-carry", None, _ct.c_long(-4)) > 0)
_look("sysv_shm", lambda: _libc.shmget(0x4B415441, 0, 0) >= 0)
_look("sysv_sem", lambda: _libc.semget(0x4B415441, 0, 0) >= 0)
_look("sysv_msg", lambda: _libc.msgget(0x4B415441, 0) >= 0)
_look("posix_mqueue", lambda: _libc.mq_open(b"/kata-carry", _os.O_RDONLY, 0, None) >= 0)
for _folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", _os.getcwd()):
    _look("file " + _folder, lambda: _os.path.exists(_os.path.join(_folder, "kata-carry")))
def _connect():
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    s.connect(b"\0kata-carry")
    return True
_look("abstract_socket", _connect)
def _processes():
    out = []
    for p in _os.listdir("/proc"):
        if p.isdigit():
            try:
                if open(f"/proc/{p}/comm").read().strip() == "katacarry":
                    out.append(p)
            except OSError:
                pass
    return out
_look("process", _processes)

def torch_version():
    raise ValueError("seen:" + _json.dumps(_found, sort_keys=True))
'''


def _carry_sources() -> tuple[str, str]:
    """(A, B): the reference that plants, and the stub that searches (and would forge with the reference's code)."""
    b = STUB_01 + SEARCH + "\nif _found:\n    exec(compile(" + repr(REFERENCE_01) + ", 'seeds.py', 'exec'), globals())\n"
    return REFERENCE_01 + PLANT, b


def _seen(text: str) -> dict:
    start = text.index("seen:") + len("seen:")
    depth, end = 0, start
    for i, ch in enumerate(text[start:], start):
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            end = i + 1
            break
    return json.loads(text[start:end].replace('\\"', '"'))


def _no_carrier_left() -> list[str]:
    left = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if Path(f"/proc/{p}/comm").read_text().strip() == "katacarry":
                    left.append(p)
            except OSError:
                pass
    return left


@SEALED
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kernel_state_files_and_processes_carry_nothing_between_kata_grade_runs(tmp_path):
    """Keyrings, SysV IPC, POSIX message queues, abstract sockets, files in the temp folders, processes: what
    submission A leaves, the stub B graded next finds none of, and B scores 0."""
    a, b = _carry_sources()
    results = []
    for name, source in (("a", a), ("b", b)):
        sub = tmp_path / name / "exercises" / "01_setup"
        sub.mkdir(parents=True)
        (sub / "seeds.py").write_text(source, encoding="utf-8")
        results.append(parent.grade(sub.parent.parent, chapters="01", check_timeout=20, budget=240))
    assert results[0].score == results[0].max_score  # A is the reference: its plants cost it nothing
    assert results[1].score == 0
    verdict = next(c.verdict for e in results[1].exercises for c in e.checks if "seen:" in c.verdict)
    assert _seen(verdict) == {}, verdict
    assert _no_carrier_left() == []
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        assert not os.path.exists(os.path.join(folder, "kata-carry")), folder


@SEALED
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kernel_state_files_and_processes_carry_nothing_between_submissions_of_a_class(tmp_path):
    a, b = _carry_sources()
    roster = tmp_path / "roster"
    for name, source in (("a-planter", a), ("b-searcher", b)):
        (roster / name).mkdir(parents=True)
        (roster / name / "seeds.py").write_text(source, encoding="utf-8")
    out = tmp_path / "class"
    class_grade.grade_class(roster, out, class_grade.ClassOptions(
        chapters="01", jobs=1, contract=GradingContract(budget=240, check_timeout=20), quiet=True))
    a_report = json.loads(_class_report(out, "a-planter"))
    b_report = json.loads(_class_report(out, "b-searcher"))
    assert a_report["score"] == a_report["max_score"]
    assert b_report["score"] == 0
    text = _class_report(out, "b-searcher")
    assert _seen(text) == {}, text
    assert _no_carrier_left() == []


# -- the grader's own Python, and the self-test ----------------------------------------------------------------------

def _copy_grader(tmp_path: Path) -> Path:
    """A copy of the grading path (as in a grader's checkout), to be changed by a test."""
    copy = tmp_path / "grader"
    for name in manifest.grading_files(ROOT):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    return copy


def _references(tmp_path: Path) -> Path:
    sub = tmp_path / "references"
    for ch in catalog.chapters():
        shutil.copytree(catalog.SOLUTIONS / ch.key, sub / "exercises" / ch.key)
    return sub


def _stubs(tmp_path: Path) -> Path:
    sub = tmp_path / "stubs"
    for ch in catalog.chapters():
        shutil.copytree(catalog.EXERCISES / ch.key, sub / "exercises" / ch.key)
    return sub


@SEALED
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_sandbox_that_hides_site_packages_makes_the_grader_refuse_with_one_line(tmp_path):
    """A simulated broken sandbox: a grader copy whose jail covers site-packages after it sets up (as a private
    /tmp covered a venv living there).  torch's lazy imports then fail inside, and the grader refuses: exit status
    2, one Japanese line, no report."""
    grader = _copy_grader(tmp_path)
    path = grader / "kata" / "grading" / "sandbox" / "jail.py"
    text = path.read_text(encoding="utf-8")
    anchor = "    os.makedirs(work, exist_ok=True)\n"
    assert anchor in text
    broken = ("    import sysconfig as _sc\n"
              "    for _p in {_sc.get_path('purelib'), _sc.get_path('platlib')}:\n"
              "        _mount('tmpfs', _p, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=4k')\n")
    path.write_text(text.replace(anchor, broken + anchor, 1), encoding="utf-8")
    out = tmp_path / "report.json"
    proc = _grade_with_copy(grader, tmp_path, str(_references(tmp_path)), "--chapters", "01,11", "--output", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("kata grade: " + messages.GRADE_SELFTEST_FAILED.split("{why}")[0]), lines
    assert not out.exists()


@pytest.fixture(scope="session")
def python_in_temp(request) -> Path:
    """A grader's Python living under the temp folder: a venv in pytest's temp folder (under /tmp) with torch (the
    pinned local file) and this repository installed in it.  About a minute, once per session."""
    # As `python -m venv /tmp/NAME` makes it: readable by everyone (the sandbox's uids read the interpreter).
    venv = Path(tempfile.mkdtemp(prefix="kata-venv-in-tmp-"))
    venv.chmod(0o755)
    request.addfinalizer(lambda: shutil.rmtree(venv, ignore_errors=True))
    assert Path(tempfile.gettempdir()) in venv.parents
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    import torch

    pins = [f"torch=={torch.__version__.split('+')[0]}"]
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.skip(f"torch could not be installed into a venv here: {proc.stderr[-300:]}")
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return python


@SEALED
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_grader_whose_python_lives_in_the_temp_folder_grades_references_full_and_stubs_zero(python_in_temp,
                                                                                            tmp_path):
    for sub, expected in ((_references(tmp_path), "full"), (_stubs(tmp_path), "zero")):
        out = tmp_path / f"{sub.name}.json"
        proc = subprocess.run([str(python_in_temp), "-m", "kata", "grade", str(sub), "--output", str(out)],
                              capture_output=True, text=True, timeout=900, env=_env(), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["score"] == (data["max_score"] if expected == "full" else 0), (sub.name, data["score"])


def test_the_self_test_runs_before_the_checks_and_its_failure_is_a_refusal():
    """The parent reads the self-test's event from the stream: a failure is a refusal (GradingError, exit 2)."""
    grader = parent.Grader(Path("."), parent.Options())
    job = parent.Job([], Path(tempfile.mkstemp()[1]), Path(os.devnull))
    try:
        job.stream.write_text(json.dumps({"event": "selftest", "ok": False, "why": "ModuleNotFoundError: x",
                                          "seconds": 0.5}) + "\n", encoding="utf-8")
        grader._read_stream(job)
        assert grader.selftest_failure == "ModuleNotFoundError: x"
        with pytest.raises(parent.GradingError) as info:
            grader.refuse_if_self_test_failed()
        assert "\n" not in str(info.value) and "ModuleNotFoundError: x" in str(info.value)
    finally:
        job.stream.unlink()


def test_the_needed_paths_cover_the_interpreter_and_leave_out_the_graders_repository():
    needed = jail.needed_paths([str(ROOT)])
    import sysconfig

    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        real = os.path.realpath(sysconfig.get_path(name))
        assert any(real == p or real.startswith(p + "/") for p in needed), (name, real)
    assert os.path.realpath(sys.prefix) in needed and os.path.realpath(sys.base_prefix) in needed
    assert not any(p == str(ROOT) or str(ROOT).startswith(p + "/") for p in needed)


@pytest.mark.skipif(ISOLATION != "root", reason="uids of their own need a grader run as root")
@pytest.mark.timeout(300)
def test_namespaces_and_uids_alone_keep_kernel_state_apart(tmp_path):
    """The second wall, without the first: with no system-call filter, submission A does leave a key in its uid's
    keyring, SysV IPC objects, a POSIX message queue, an abstract socket, temp files and a process -- and B, graded
    next under a block of uids of its own, in namespaces of its own, finds none of them."""
    zygote = client.Zygote(ISOLATION)
    zygote.syscall_filter = "off"  # this test only: the filter is never off in grading (``require`` or ``try``)
    blocks = [uids.allocate(), uids.allocate()]
    sessions = []
    try:
        planted: dict = {}
        found: dict = {}
        for block, (source, name) in zip(blocks, ((PLANT + "\ndef planted():\n    return _planted\n", "a"),
                                                  (SEARCH + "\ndef found():\n    return _found\n", "b"))):
            chapter = client.Chapter("01_setup", source.encode(), f"{name}.py", block.uid(1), block.uid(1),
                                     [str(ROOT)])
            session = client.Session(zygote, chapter, client.Limits(call_timeout=60, import_timeout=120),
                                     [tmp_path])
            sessions.append(session)
            if name == "a":
                planted = dict(session.module().planted())
                session.close()
            else:
                found = dict(session.module().found())
        assert isinstance(planted["keyring"], int) and planted["keyring"] > 0, planted  # the key was made
        assert planted["sysv_shm"] >= 0 and planted["sysv_msg"] >= 0 and planted["sysv_sem"] >= 0, planted
        assert found == {}, found
        # The control: the same search under A's own uid finds A's key (what a fixed uid per chapter let through).
        chapter = client.Chapter("01_setup", (SEARCH + "\ndef found():\n    return _found\n").encode(), "c.py",
                                 blocks[0].uid(1), blocks[0].uid(1), [str(ROOT)])
        control = client.Session(zygote, chapter, client.Limits(call_timeout=60, import_timeout=120), [tmp_path])
        sessions.append(control)
        assert "keyring" in dict(control.module().found())
    finally:
        for session in sessions:
            session.close()
        zygote.close()
        for block in blocks:
            block.release()
    assert _no_carrier_left() == []


def _grade_with_copy(grader: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    code = ("import sys; sys.path.insert(0, %r); from kata.cli import main; sys.exit(main(sys.argv[1:]))"
            % str(grader))
    return subprocess.run([sys.executable, "-I", "-c", code, "grade", *args], capture_output=True, text=True,
                          timeout=500, env=_env(), cwd=tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_grader_without_the_system_call_filter_refuses_unless_basic_is_asked_for(tmp_path):
    """A grader copy whose jail finds no libseccomp: ``kata grade`` refuses (exit 2, one line, no report); with
    ``--isolation basic`` asked for by name it grades (the references in full)."""
    grader = _copy_grader(tmp_path)
    path = grader / "kata" / "grading" / "sandbox" / "jail.py"
    text = path.read_text(encoding="utf-8")
    line = "    import pyseccomp as _seccomp  # type: ignore[import-untyped]\n"
    assert line in text
    path.write_text(text.replace(line, "    raise ImportError('no libseccomp here')\n", 1), encoding="utf-8")
    subs = _references(tmp_path)
    out = tmp_path / "report.json"
    proc = _grade_with_copy(grader, tmp_path, str(subs), "--chapters", "01", "--output", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "kata grade: " + messages.GRADE_SELFTEST_FAILED.split("{why}")[0]), lines
    assert "no system-call filter" in lines[0]
    assert not out.exists()
    proc = _grade_with_copy(grader, tmp_path, str(subs), "--chapters", "01", "--isolation", "basic", "--output",
                            str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["score"] == data["max_score"] and data["isolation"] == "basic"


@pytest.mark.timeout(300)
def test_the_self_test_passes_on_references_and_fails_on_a_chapter_whose_call_differs(tmp_path):
    """:func:`kata.grading.sandbox.selftest.run` in real workers: this course's first chapter (its ``selftest`` call), the
    engine course's chapters (no ``selftest``: the names are compared) -- and a call whose result the sandbox
    cannot reproduce (the reference's own file changed under the grader's feet) is a failure."""
    from conftest import ENGINE_COURSE
    from kata.grading.sandbox import selftest

    zygote = client.Zygote(ISOLATION)
    block = uids.allocate() if ISOLATION == "root" else None

    def new_session(chapter, source, filename, override=None):
        uid = block.uid(int(chapter.number) if chapter else 0) if block else None
        return client.Session(zygote, client.Chapter(chapter.key if chapter else "00", override or source, filename,
                                                     uid, uid, [str(ROOT)]),
                              client.Limits(call_timeout=60, import_timeout=120), [tmp_path])

    try:
        first = catalog.chapters()[0]
        engine = list(catalog.Catalog(ENGINE_COURSE).chapters())
        assert first.selftest and not any(c.selftest for c in engine)
        assert selftest.run(new_session, [first, *engine], jail.syscall_filter_available() is None) is None
        # The grader's own result differs from the sandbox's (here: its reference module is another one): refused.
        wrong = tmp_path / "wrong_reference.py"
        wrong.write_text(first.reference_file().read_text(encoding="utf-8") + (
            "\n\ndef seeded_rand(seed, shape):\n    return torch.zeros(shape)\n"), encoding="utf-8")
        real_load = selftest.loader.load
        selftest.loader.load = lambda path, name, learner=False: real_load(wrong, name, learner=learner)
        try:
            why = selftest.run(new_session, [first], jail.syscall_filter_available() is None)
        finally:
            selftest.loader.load = real_load
        assert why is not None and "01_setup" in why, why
    finally:
        zygote.close()
        if block is not None:
            block.release()
