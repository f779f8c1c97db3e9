"""A model wrapper that records, at every forward, the model's mode and whether autograd was recording.

Whether learner code switched to eval mode or stopped building the graph cannot be seen from the results of a model
without Dropout or BatchNorm, so checks observe it inside the forward.
"""
from __future__ import annotations

import torch
from torch import nn

from kata import hints, messages
from kata.compare import expect
from kata.portable import Probe

__all__ = ["Probe", "expect_called", "expect_no_graph", "expect_eval_mode", "expect_train_mode"]


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
