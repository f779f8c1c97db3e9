"""Correct answers for chapter 08, written differently from the reference."""
import torch
import torch.nn.functional as F

from kata.mutants import answer


@answer("08", "my_tanh")
def copysign_of_the_odd_part(x):
    e = torch.exp(-2 * x.abs())
    return torch.copysign((1 - e) / (1 + e), x)


@answer("08", "count_parameters")
def counted_in_a_generator_expression(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _unused_helper(x):  # not used by the answers: the rule reads only what the exercise uses
    return F.tanh(x)


@answer("08", "count_weight_parameters")
def biases_subtracted_from_all(model):
    trainable = dict(model.named_parameters())
    everything = sum(p.numel() for p in trainable.values() if p.requires_grad)
    biases = sum(p.numel() for key, p in trainable.items() if p.requires_grad and key.split(".")[-1] == "bias")
    return everything - biases
