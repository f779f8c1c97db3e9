"""A model wrapper that records, at every forward, the model's mode and whether autograd was recording.

Whether learner code switched to eval mode or stopped building the graph cannot be seen from the results of a model
without Dropout or BatchNorm, so checks observe it inside the forward.
"""
from __future__ import annotations

import torch
from torch import nn

from kata import messages
from kata.api import hints
from kata.api.compare import expect
from kata.api.portable import Probe, plain, to_simulated_cuda

__all__ = [
    "Probe",
    "cpu_parameters",
    "expect_called",
    "expect_eval_mode",
    "expect_inputs_on",
    "expect_no_graph",
    "expect_train_mode",
    "on_simulated_gpu",
]


def on_simulated_gpu(model: nn.Module) -> Probe:
    """``model`` in a :class:`Probe`, moved to the simulated GPU (``kata.api.portable``): its parameters report cuda:0
    on every machine, a CPU batch given to it fails as on a real GPU, and the probe records the inputs' devices.
    Call learner code on it through ``kata.api.devices.call_simulated``."""
    probe = Probe(model)
    to_simulated_cuda(probe)  # in place, like Module.to
    return probe


def cpu_parameters(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """``(name, values)`` of every parameter, as plain CPU tensors (also for a model on the simulated GPU)."""
    return [(name, plain(p).detach().clone()) for name, p in module.named_parameters()]


def expect_inputs_on(probe: Probe, device: str, name: str) -> None:
    """Every forward received its input on ``device`` (the device of the model's parameters)."""
    __tracebackhide__ = True
    expect_called(probe, name)
    wrong = [d for d in probe.input_devices if d != device]
    expect(not wrong, "device", messages.INPUT_DEVICE, hints.MOVE_BATCH, name=name, expected=device,
           actual=wrong[0] if wrong else None)


def expect_called(probe: Probe, name: str) -> None:
    __tracebackhide__ = True
    expect(probe.grad_enabled, "model_not_called", messages.MODEL_NOT_CALLED, name=name)


def expect_no_graph(probe: Probe, name: str) -> None:
    """Every forward ran with autograd off (``torch.no_grad`` / ``inference_mode``)."""
    __tracebackhide__ = True
    expect_called(probe, name)
    expect(not any(probe.grad_enabled), "grad_mode", messages.GRAD_ENABLED_IN_FORWARD, hints.NO_GRAD_FOR_EVAL,
           name=name)


def expect_eval_mode(probe: Probe, name: str) -> None:
    """Every forward ran in eval mode."""
    __tracebackhide__ = True
    expect_called(probe, name)
    expect(not any(probe.training_flags), "training", messages.TRAINING_IN_FORWARD, hints.EVAL_MODE, name=name)


def expect_train_mode(probe: Probe, name: str) -> None:
    """Every forward ran in train mode."""
    __tracebackhide__ = True
    expect_called(probe, name)
    expect(all(probe.training_flags), "training", messages.EVAL_MODE_IN_FORWARD, hints.TRAIN_MODE, name=name)
