"""What the lessons, prompts and hints claim about torch holds for the torch the suite pins.

Each test runs torch and asserts the fact a text states, next to the text that states it: if torch changes, or the
text does, the two part company here instead of in front of a learner.
"""
from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT, replace_exactly, run_checks
from kata import catalog
from kata.api import hints

LESSONS = catalog.EXERCISES


def _lesson(key: str) -> str:
    return (LESSONS / key / "README.md").read_text(encoding="utf-8")


def test_torch_Tensor_follows_the_default_dtype():
    """02: torch.Tensor builds the default dtype (float32 unless changed), not "always float32"."""
    assert "get_default_dtype" in _lesson("02_creation") and "get_default_dtype" in hints.INT_VS_FLOAT
    assert torch.Tensor([1, 2]).dtype == torch.float32
    before = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        assert torch.Tensor([1, 2]).dtype == torch.float64
    finally:
        torch.set_default_dtype(before)


def test_torch_Tensor_of_a_float32_array_shares_its_memory():
    """03: torch.Tensor(a) shares a float32 array's memory (only torch.tensor always copies)."""
    assert "メモリを共有" in _lesson("03_numpy") and "torch.tensor(a)" in _lesson("03_numpy")
    a = np.arange(3, dtype=np.float32)
    shared, copied = torch.Tensor(a), torch.tensor(a)
    a[0] = 9
    assert shared[0] == 9 and copied[0] == 0
    b = np.arange(3, dtype=np.float64)
    converted = torch.Tensor(b)  # another dtype: a converted copy
    b[0] = 9
    assert converted[0] == 0 and converted.dtype == torch.float32


def test_only_a_dtype_change_makes_a_new_node():
    """06: .float() of a float32 leaf is the leaf itself; a conversion to another dtype is a new node."""
    assert "dtype を変える" in _lesson("06_autograd") and ".double()" in hints.NOT_LEAF
    w = torch.ones(2, requires_grad=True)
    assert w.float() is w and w.float().is_leaf
    assert not w.double().is_leaf and w.double().grad_fn is not None
    with pytest.raises(RuntimeError, match="floating point"):
        torch.arange(3, requires_grad=True)


def test_manual_seed_seeds_every_device():
    """07: torch.manual_seed seeds every device (it calls torch.cuda.manual_seed_all itself); no text says that the
    CUDA generators need a call of their own."""
    assert "torch.cuda.manual_seed_all(seed)" in inspect.getsource(torch.random._manual_seed_impl)
    assert "all devices" in (torch.manual_seed.__doc__ or "")
    hints_07 = (catalog.CHECKS / "07_devices" / "chapter.toml").read_text(encoding="utf-8")
    assert "torch.cuda.manual_seed_all (すべての GPU)" not in hints_07 and "torch.cuda.____(seed)" not in hints_07
    assert "torch.cuda.manual_seed_all" not in (catalog.SOLUTIONS / "07_devices" / "devices.py").read_text(
        encoding="utf-8")


def test_float64_input_into_a_float32_linear():
    """03: the error a float64 batch gives in a float32 nn.Linear is the one the lesson quotes, and a hint knows it."""
    layer = torch.nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as err:
        layer(torch.ones(1, 2, dtype=torch.float64))
    message = str(err.value)
    assert message.startswith("mat1 and mat2 must have the same dtype")
    assert "mat1 and mat2 must have the same dtype" in _lesson("03_numpy")
    assert "expected scalar type" not in _lesson("03_numpy")
    hint = hints.for_exception(err.value)
    assert hint and "float64" in hint and ".float()" in hint


def test_torch_Tensor_of_an_unpacked_empty_shape_is_not_0_dim():
    """02: torch.Tensor(*()) gives shape (0,), so no hint recommends torch.Tensor(*shape) for a shape."""
    assert torch.Tensor(*()).shape == (0,) and torch.empty(()).shape == ()
    texts = [v for k, v in vars(hints).items() if k.isupper() and isinstance(v, str)]
    assert not any("torch.Tensor(*shape) か" in t or "torch.Tensor(*shape) を使" in t for t in texts)
    assert "形状 (0,)" in hints.TENSOR_FROM_SHAPE and "(0,)" in _lesson("02_creation")


def test_cudnn_flags_matter_only_on_a_gpu_lesson():
    """07: the lesson explains the source's guarded form (the flags only matter on a GPU) and accepts it."""
    lesson = _lesson("07_devices")
    assert "if has_cuda:" in lesson and "cuDNN" in lesson and "GPU の上でしか動かない" in lesson


GUARDED = '''def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    if torch.cuda.is_available():
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def time_matmul('''

INVERTED = GUARDED.replace("if torch.cuda.is_available():", "if not torch.cuda.is_available():")


def _seed_everything_run(tmp_path: Path, body: str, *mode: str) -> list[dict]:
    work = tmp_path / "submission"
    (work / "exercises").mkdir(parents=True)
    for chapter in catalog.chapters():
        if chapter.key == "07_devices":
            source = chapter.reference_file().read_text(encoding="utf-8")
            start, end = source.index("def seed_everything("), source.index("def time_matmul(")
            target = chapter.learner_file(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(replace_exactly(source, source[start:end + len("def time_matmul(")], body),
                              encoding="utf-8")
    report, _ = run_checks(tmp_path / "report.json", f"--kata-submission={work}", *mode,
                           str(Path("checks") / "07_devices"), "-k", "seed_everything", cwd=ROOT)
    return [t for t in report["tests"] if t["exercise"] == "seed_everything"]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", [(), ("--kata-sandbox",)], ids=["learning", "grading"])
def test_the_source_texts_guarded_cudnn_flags_pass(tmp_path, mode):
    """The source sets the cuDNN flags inside ``if torch.cuda.is_available():``: accepted on a machine without a GPU
    (the check runs the call on the simulated CUDA machine), in both modes."""
    tests = _seed_everything_run(tmp_path, GUARDED, *mode)
    cudnn = [t for t in tests if "cudnn_flags" in t["nodeid"]]
    assert cudnn and all(t["status"] == "pass" for t in cudnn), cudnn
    failed = [t for t in tests if t["status"] == "fail" and "cuda_seed" not in t["nodeid"]]
    assert not failed, failed


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", [(), ("--kata-sandbox",)], ids=["learning", "grading"])
def test_flags_set_only_without_cuda_name_the_guard(tmp_path, mode):
    tests = _seed_everything_run(tmp_path, INVERTED, *mode)
    cudnn = [t for t in tests if "cudnn_flags" in t["nodeid"]]
    assert cudnn and all(t["status"] == "fail" and "CUDA が使えないときにだけ" in t["verdict"] for t in cudnn), cudnn
