"""kata.state: the one list of global state that learner code can change, read and set back by both sides."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from kata.state import ENTRIES, RNG_KEYS, SHARED_KEYS, GlobalState, apply_snapshot, same_state, state_snapshot

#: A change of each shared entry, as learner code would make it.
CHANGES = {
    "torch_rng": lambda: torch.rand(3),
    "numpy_rng": lambda: np.random.rand(3),
    "random_rng": lambda: random.random(),
    "default_dtype": lambda: torch.set_default_dtype(torch.float64),
    "grad_enabled": lambda: torch.set_grad_enabled(False),
    "deterministic": lambda: torch.use_deterministic_algorithms(True, warn_only=True),
    "cudnn": lambda: setattr(torch.backends.cudnn, "benchmark", not torch.backends.cudnn.benchmark),
    "matmul_precision": lambda: torch.set_float32_matmul_precision(
        "high" if torch.get_float32_matmul_precision() != "high" else "medium"),
    "anomaly": lambda: torch.set_anomaly_enabled(True),
    "default_device": lambda: torch.set_default_device("meta"),
}


def test_the_learners_world_is_the_shared_part_of_the_one_list():
    assert set(state_snapshot()) == set(SHARED_KEYS) == {n for n, e in ENTRIES.items() if e.shared}
    assert set(SHARED_KEYS) >= RNG_KEYS
    # This process's own part: restored around checks and calls, never handed across.
    assert {"num_threads", "cuda_is_available", "cuda_device_count", "mps_is_available"} <= set(ENTRIES) - set(
        SHARED_KEYS)
    assert set(CHANGES) >= set(SHARED_KEYS)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_each_shared_entry_is_seen_changed_and_set_back_as_data(name):
    if name not in ENTRIES:
        pytest.skip(f"{name}: not in this torch")  # default_device before torch 2.3
    saved = GlobalState.capture()
    before = state_snapshot()
    try:
        CHANGES[name]()
        after = state_snapshot()
        assert [k for k in SHARED_KEYS if not same_state(before[k], after[k])] == [name]
        apply_snapshot(before)
        assert all(same_state(before[k], v) for k, v in state_snapshot().items())
    finally:
        saved.restore()


def test_global_state_puts_back_this_processs_own_part_too():
    saved = GlobalState.capture()
    own = GlobalState.capture(shared=False)
    assert set(own.values) == set(ENTRIES) - set(SHARED_KEYS)
    real = torch.cuda.is_available
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        torch.cuda.is_available = lambda: True
        torch.set_default_dtype(torch.float64)
        assert sorted(own.restore()) == ["cuda_is_available", "num_threads"]
        assert torch.get_num_threads() == threads and torch.cuda.is_available is real
        assert torch.get_default_dtype() == torch.float64  # the shared part: not this snapshot's
    finally:
        saved.restore()
    assert torch.get_default_dtype() == torch.float32


def test_same_state_compares_data_from_the_wire_by_content():
    assert same_state([True, False], (True, False))
    assert same_state(b"\x01\x02", b"\x01\x02") and not same_state(b"\x01", b"\x02")
    assert not same_state(torch.zeros(2), torch.zeros(3))
    assert not same_state(object(), object())
