"""A catalogue of hostile submissions, each with the score it must get from ``kata grade``.

Every case is chapter 01's reference answer (``solutions/01_setup/seeds.py``: four exercises worth one point each)
with something hostile added: code run at import, or one exercise redefined at the end of the file (the later
``def`` wins).  ``expected`` is chapter 01's score; where ``others`` is set, a second chapter is graded beside it
from its untouched reference and must keep full marks.  ``fragment`` is Japanese text that some verdict of chapter
01 must contain, naming what happened.

Chapter 01's checks: torch_version (2 checks), seeded_rand (2), same_random_twice (2), rand_with_generator (3).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kata import catalog, messages

REFERENCE = (catalog.SOLUTIONS / "01_setup" / "seeds.py").read_text(encoding="utf-8")
TAMPERED = "干渉を検出"  # messages.GRADE_TAMPERED
FORBIDDEN = "採点中は"  # messages.GRADE_FORBIDDEN


@dataclass(frozen=True)
class Hostile:
    name: str
    what: str
    code: str  # appended to the reference
    expected: float
    fragment: str = ""
    others: bool = False
    outcome: str | None = None  # chapter 01's outcome in the report, where it matters
    restarts: int = 3  # how often the grader may resume the chapter past a check that killed it

    @property
    def source(self) -> str:
        return REFERENCE + "\n\n# --- hostile ---\n" + self.code.strip() + "\n"

    def write(self, submission: Path) -> Path:
        """Write this submission (chapter 01 only) under ``submission/exercises`` and return ``submission``."""
        target = submission / "exercises" / "01_setup" / "seeds.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.source, encoding="utf-8")
        return submission


CASES = [
    # -- processes that hang, crash, exit or run out of memory: 0 for what did not pass ---------------------------
    Hostile("import_infinite_loop", "an endless loop at import: the first check times out, the rest fail at once", """
while True:
    pass
""", expected=0, fragment="時間切れ", others=True, outcome="completed", restarts=0),
    Hostile("function_infinite_loop", "seeded_rand never returns", """
def seeded_rand(seed, shape):
    while True:
        pass
""", expected=3, fragment="時間切れ"),
    Hostile("timeout_signal_blocked", "seeded_rand blocks SIGALRM and loops: only the chapter's clock stops it", """
import signal as _signal

def seeded_rand(seed, shape):
    _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGALRM})
    while True:
        pass
""", expected=3, fragment="制限時間", outcome="timeout"),
    Hostile("import_sys_exit", "sys.exit at import", """
import sys as _sys
_sys.exit(0)
""", expected=0, fragment="SystemExit", others=True),
    Hostile("function_os_exit", "os._exit inside same_random_twice", """
import os as _os

def same_random_twice(seed, n):
    _os._exit(0)
""", expected=3, fragment="途中で終了", others=True, outcome="exited"),
    Hostile("function_segfault", "a real segmentation fault inside seeded_rand", """
import faulthandler as _fh

def seeded_rand(seed, shape):
    _fh._sigsegv()
""", expected=3, fragment="SIGSEGV", others=True, outcome="crashed"),
    Hostile("function_kills_itself", "SIGKILL to its own process inside rand_with_generator", """
import os as _os, signal as _signal

def rand_with_generator(seed, n):
    _os.kill(_os.getpid(), _signal.SIGKILL)
""", expected=3, fragment="SIGKILL", outcome="crashed"),
    Hostile("memory_bomb", "seeded_rand allocates until memory runs out", """
def seeded_rand(seed, shape):
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))
""", expected=3, fragment="MemoryError", others=True),
    Hostile("keyboard_interrupt", "same_random_twice raises KeyboardInterrupt (stops pytest's session)", """
def same_random_twice(seed, n):
    raise KeyboardInterrupt
""", expected=3, fragment="中断"),
    Hostile("fork_bomb", "seeded_rand forks without end", """
import os as _os

def seeded_rand(seed, shape):
    while True:
        _os.fork()
""", expected=3, fragment="子プロセス", others=True),
    Hostile("close_channel", "closes every inherited descriptor (the result pipe too) at import", """
import os as _os
_os.closerange(3, 4096)
""", expected=0, fragment="途中で終了"),
    Hostile("close_channel_and_hang", "closes the result pipe and loops with SIGALRM blocked", """
import os as _os, signal as _signal
_os.closerange(3, 4096)
_signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGALRM})
while True:
    pass
""", expected=0, fragment="制限時間", others=True, outcome="timeout", restarts=0),
    Hostile("kill_parent", "SIGKILL to the grading parent at import", """
import os as _os, signal as _signal
_os.kill(_os.getppid(), _signal.SIGKILL)
""", expected=0, fragment="シグナル", others=True),
    # -- output that pretends to be a result: ignored ------------------------------------------------------------
    Hostile("prints_fake_results", "untouched stubs that print pytest, JUnit and Gradescope text claiming a pass", """
print("==== 9 passed in 0.01s ====")
print('<testsuite errors="0" failures="0" tests="9"><testcase name="x"/></testsuite>')
print('{"score": 4, "tests": [{"name": "01 torch_version", "score": 1, "status": "passed"}]}')

def torch_version():
    print("PASSED")
    raise NotImplementedError

def seeded_rand(seed, shape):
    print("9 passed")
    raise NotImplementedError

def same_random_twice(seed, n):
    raise NotImplementedError

def rand_with_generator(seed, n):
    raise NotImplementedError
""", expected=0, fragment="未着手"),
    Hostile("forged_channel", "wrong answers that write forged result lines to every open descriptor", """
import json as _json, os as _os
_line = ("0" * 64 + " " + _json.dumps({"kind": "test", "seq": 2, "nodeid": "x", "status": "pass"}) + "\\n").encode()
for _fd in range(3, 256):
    try:
        _os.write(_fd, _line)
    except OSError:
        pass

def torch_version():
    return "0.0"
""", expected=0, fragment=TAMPERED, outcome="tampered"),
    Hostile("fake_report_file", "writes a passing report into the work folder and outside it", """
import json as _json
_fake = {"score": 4, "tests": [{"name": "01 torch_version", "score": 1, "status": "passed"}]}
with open("results.json", "w") as _f:   # the child's own work folder: allowed, and ignored
    _json.dump(_fake, _f)
try:
    with open("/tmp/kata-fake-results.json", "w") as _f:   # outside: refused
        _json.dump(_fake, _f)
except PermissionError:
    pass

def seeded_rand(seed, shape):
    return None
""", expected=3, fragment="型が違います"),
    # -- patching the grader to force a pass: the whole chapter scores 0 -----------------------------------------
    Hostile("patch_torch_testing", "torch.testing.assert_close, torch.equal and torch.allclose always pass", """
import torch as _torch
_torch.testing.assert_close = lambda *a, **k: None
_torch.equal = lambda *a, **k: True
_torch.allclose = lambda *a, **k: True

def seeded_rand(seed, shape):
    return _torch.zeros(shape)
""", expected=0, fragment="torch.testing.assert_close", others=True, outcome="tampered"),
    Hostile("patch_engine_compare", "replaces kata.compare's functions and the check module's copies", """
import sys as _sys
_noop = lambda *a, **k: None
for _name, _mod in list(_sys.modules.items()):
    if _name == "ka" + "ta.compare" or _name.startswith("test_"):
        for _attr in ("expect_tensor", "expect_equal", "expect_type", "expect_sequence", "expect_rng_unchanged"):
            if hasattr(_mod, _attr):
                setattr(_mod, _attr, _noop)

def seeded_rand(seed, shape):
    return None
""", expected=0, fragment="expect_tensor"),
    Hostile("patch_plugin_hook", "replaces the engine plugin's report hook", """
import sys as _sys
_plugin = _sys.modules["ka" + "ta.plugin"]
_original = _plugin.pytest_runtest_makereport
_plugin.pytest_runtest_makereport = lambda item, call: None

def seeded_rand(seed, shape):
    return None
""", expected=0, fragment="pytest_runtest_makereport"),
    Hostile("patch_testreport", "makes every pytest report say 'passed'", """
import sys as _sys
_reports = _sys.modules["_py" + "test.reports"]
_report = getattr(_reports, "Test" + "Report")
_report.passed = property(lambda self: True)
_report.failed = property(lambda self: False)

def seeded_rand(seed, shape):
    return None
""", expected=0, fragment="TestReport"),
    Hostile("register_plugin", "registers a pytest plugin that rewrites every report to passed", """
import sys as _sys
_hook = [f for f in _sys.__dict__["meta_" + "path"] if hasattr(f, "config")][0]

class _Force:
    def pytest_runtest_logreport(self, report):
        report.outcome = "passed"

getattr(_hook.config, "plugin" + "manager").register(_Force(), "force")

def seeded_rand(seed, shape):
    return None
""", expected=0, fragment="フック"),
    Hostile("code_swap", "swaps the code of kata.compare.expect_tensor for a no-op", """
import sys as _sys
_compare = _sys.modules["ka" + "ta.compare"]
setattr(_compare.expect_tensor, "__co" + "de__", (lambda *a, **k: None).__code__)

def seeded_rand(seed, shape):
    return None
""", expected=0, fragment=TAMPERED),
    Hostile("frame_walk", "reaches the check's globals through the caller's frame", """
import sys as _sys

def seeded_rand(seed, shape):
    frame = getattr(_sys, "_get" + "frame")(1)
    getattr(frame, "f_" + "globals")["expect_tensor"] = lambda *a, **k: None
    return None
""", expected=0, fragment="フレーム"),
    Hostile("gc_walk", "looks for the grader's objects with gc", """
import gc as _gc

def seeded_rand(seed, shape):
    for obj in getattr(_gc, "get_" + "objects")():
        pass
    return None
""", expected=0, fragment="gc"),
    Hostile("torch_function_mode", "leaves a TorchFunctionMode on that answers every comparison with True", """
import torch as _torch
from torch.overrides import TorchFunctionMode as _Mode

class _Agree(_Mode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (_torch.equal, _torch.allclose, _torch.isclose):
            return True
        return func(*args, **(kwargs or {}))

_Agree().__enter__()

def seeded_rand(seed, shape):
    return _torch.zeros(shape)
""", expected=0, fragment="横取り"),
    Hostile("global_hook", "registers a global nn.Module forward hook (it would change the reference's output too)", """
import torch as _torch
_torch.nn.modules.module.register_module_forward_hook(lambda module, args, output: output)
""", expected=0, fragment="_global_forward_hooks"),
    Hostile("ctypes_segfault", "ctypes.string_at(0): ctypes is refused (and flagged), so it never crashes", """
import ctypes as _ctypes

def seeded_rand(seed, shape):
    return _ctypes.string_at(0)
""", expected=0, fragment="ctypes"),
    Hostile("learner_skip", "seeded_rand skips the checks that would fail it", """
import importlib as _importlib

def seeded_rand(seed, shape):
    getattr(_importlib.import_module("py" + "test"), "sk" + "ip")("GPU がないので")
""", expected=0, fragment="飛ばそう"),
    Hostile("liar_tensor", "returns a tensor subclass whose __torch_function__ answers every comparison with True", """
import torch as _torch

class _Liar(_torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (_torch.equal, _torch.allclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def seeded_rand(seed, shape):
    return _torch.zeros(shape).as_subclass(_Liar)
""", expected=0, fragment="比較をごまかす"),
    Hostile("liar_str", "torch_version returns a str that equals anything", """
class _Anything(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__

def torch_version():
    return _Anything("0.0")
""", expected=0, fragment="比較をごまかす"),
    Hostile("writes_grader_files", "tries to delete and overwrite the grader's checks", """
import os as _os, shutil as _shutil, sys as _sys
for _root in [p for p in _sys.path if "kata-grade-" in p]:  # only the grading child's private copy
    for _sub in ("checks", "solutions"):
        _target = _os.path.join(_root, _sub)
        if _os.path.isdir(_target) and _os.path.isdir(_os.path.join(_root, "kata")):
            try:
                _shutil.rmtree(_target)
            except PermissionError:
                pass
""", expected=0, fragment="書き換えよう", others=True),
    Hostile("c_level_write", "overwrites its private copy of the reference with torch.save (C++, no audit)", """
import os as _os, sys as _sys, torch as _torch

def seeded_rand(seed, shape):
    for root in [p for p in _sys.path if "kata-grade-" in p]:  # only the grading child's private copy
        ref = _os.path.join(root, "solutions", "01_setup", "seeds.py")
        if _os.path.isfile(ref) and _os.path.isdir(_os.path.join(root, "kata")):
            _torch.save({}, ref)
    return None
""", expected=0, fragment="書き換えられました"),
    # -- global state: restored, so it neither helps nor hurts -------------------------------------------------
    Hostile("default_dtype_at_import", "sets the default dtype to float64 at import; answers are right", """
import torch as _torch
_torch.set_default_dtype(_torch.float64)
""", expected=4),
    Hostile("default_dtype_in_function", "seeded_rand switches the default dtype to float64 and returns float64", """
import torch as _torch

def seeded_rand(seed, shape):
    _torch.set_default_dtype(_torch.float64)
    _torch.manual_seed(seed)
    return _torch.rand(shape)
""", expected=3, fragment="データ型"),
]

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "hostile case names must be unique"
assert messages.GRADE_TAMPERED.find(TAMPERED) >= 0 and messages.GRADE_FORBIDDEN.startswith(FORBIDDEN)
