"""The simulated GPU (kata.api.portable): what only a GPU reveals fails on every machine, what is right on a GPU passes."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from kata.api import devices
from kata.api.portable import (
    CUDA_NUMPY_ERROR,
    MIXED_DEVICES_ERROR,
    Probe,
    SimulatedCuda,
    SimulatedCudaTensor,
    SimulatedCudaTiming,
    plain,
    to_simulated_cuda,
)


def test_tensor_reports_cuda_and_numpy_needs_cpu():
    t = SimulatedCudaTensor.wrap(torch.randn(3, requires_grad=True))
    assert t.device == torch.device("cuda", 0) and t.is_cuda and t.is_leaf and t.requires_grad
    for wrong in (lambda: t.detach().numpy(), lambda: np.asarray(t.detach()), lambda: t.numpy()):
        with pytest.raises(TypeError, match="can't convert cuda"):
            wrong()
    for right in (t.detach().cpu(), t.detach().to("cpu"), t.to(torch.device("cpu")).detach(), t.cpu().detach()):
        assert type(right) is torch.Tensor and right.device.type == "cpu"
        np.testing.assert_array_equal(right.numpy(), plain(t).detach().numpy())
    assert isinstance(t.numpy(force=True), np.ndarray)
    assert plain(t).detach().cpu().data_ptr() == plain(t).data_ptr()  # plain() is an alias ...
    assert t.detach().cpu().data_ptr() != plain(t).data_ptr()  # ... while a move to the CPU copies
    assert CUDA_NUMPY_ERROR.startswith("can't convert cuda:0")


def test_mixing_with_cpu_tensors_fails_as_on_a_gpu():
    t = SimulatedCudaTensor.wrap(torch.randn(3))
    with pytest.raises(RuntimeError, match="same device"):
        t + torch.ones(3)
    assert MIXED_DEVICES_ERROR.startswith("Expected all tensors to be on the same device")
    out = t + torch.tensor(1.0)  # a 0-dim CPU tensor is a scalar, as on CUDA
    assert type(out) is SimulatedCudaTensor and out.device.type == "cuda"
    assert type(t.to(torch.float64)) is SimulatedCudaTensor and t.to(torch.float64).dtype == torch.float64


def test_context_makes_cuda_available_and_restores():
    real = torch.cuda.is_available
    with SimulatedCuda():
        assert torch.cuda.is_available()
        x = torch.randn(2, 2, device="cuda")
        y = torch.ones(2, 2).to("cuda")
        assert type(x) is SimulatedCudaTensor and type(y) is SimulatedCudaTensor
        torch.cuda.synchronize()
        torch.accelerator.synchronize()
        model = nn.Linear(2, 1).to("cuda")
        assert type(model.weight) is SimulatedCudaTensor and isinstance(model.weight, nn.Parameter)
        assert model.weight.is_leaf
    assert torch.cuda.is_available is real


def test_model_on_the_simulated_gpu_trains_like_on_the_cpu():
    torch.manual_seed(0)
    cpu = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    gpu = to_simulated_cuda(Probe(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))))
    gpu.inner.load_state_dict(cpu.state_dict())
    opt_cpu, opt_gpu = torch.optim.SGD(cpu.parameters(), lr=0.1), torch.optim.SGD(gpu.parameters(), lr=0.1)
    x, y = torch.randn(5, 2), torch.randint(0, 2, (5,)).float()
    with SimulatedCuda():
        device = next(gpu.parameters()).device
        assert device == torch.device("cuda", 0)
        with pytest.raises(RuntimeError, match="same device"):
            gpu(x)
        for _ in range(2):
            opt_gpu.zero_grad()
            loss = nn.BCEWithLogitsLoss()(gpu(x.to(device))[:, 0], y.to(device))
            loss.backward()
            opt_gpu.step()
    for _ in range(2):
        opt_cpu.zero_grad()
        nn.BCEWithLogitsLoss()(cpu(x)[:, 0], y).backward()
        opt_cpu.step()
    assert gpu.input_devices == ["cpu", "cuda:0", "cuda:0"]
    for a, b in zip(gpu.inner.parameters(), cpu.parameters()):
        torch.testing.assert_close(plain(a).detach(), b.detach())


def _timed(n: int, device, before: bool, after: bool) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    if before:
        torch.cuda.synchronize()
    start = time.perf_counter()
    a @ b
    if after:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def test_timing_needs_synchronize_before_and_after():
    product, creation = SimulatedCudaTiming.kernel_seconds["matmul"], SimulatedCudaTiming.kernel_seconds["factory"]
    with SimulatedCudaTiming():
        right = _timed(8, "cuda", True, True)
        unsynchronized = _timed(8, "cuda", True, False)
        late = _timed(8, "cuda", False, True)
    assert product / 2 < right < product + creation
    assert unsynchronized < product / 2
    assert late > product + creation


def test_timing_with_cuda_events_and_item():
    product = SimulatedCudaTiming.kernel_seconds["matmul"]
    with SimulatedCudaTiming():
        a, b = torch.randn(8, 8, device="cuda"), torch.randn(8, 8, device="cuda")
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        end.synchronize()
        assert start.elapsed_time(end) / 1000 == pytest.approx(product, abs=0.01)
        a.sum().item()  # reading a value waits for the GPU
        t0 = time.perf_counter()
        (a @ b).sum().item()
        assert time.perf_counter() - t0 >= product * 0.9


def test_call_simulated_in_process():
    def learner(n, device):
        return type(torch.zeros(n, device=device)).__name__, torch.cuda.is_available()

    assert devices.call_simulated(learner, 2, "cuda") == ("SimulatedCudaTensor", True)
