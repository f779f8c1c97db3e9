"""Correct answers for chapter 10, written differently from the reference."""
import torch
from torch.nn import functional as F

from kata.api.mutants import answer


@answer("10", "bce_manual")
def softplus_form(logits, targets):
    return (F.softplus(logits) - logits * targets).mean()


@answer("10", "momentum_step_")
def momentum_with_augmented_assignments(params, velocities, lr, momentum):
    for index in range(len(params)):
        weight, speed = params[index], velocities[index]
        with torch.no_grad():
            speed *= momentum
            speed += weight.grad
            weight -= lr * speed
        weight.grad = None
