"""Correct answers for chapter 08, written differently from the reference."""
import collections

import torch
import torch.nn.functional as F

from kata.api.mutants import answer


@answer("08", "my_tanh")
def copysign_of_the_odd_part(x):
    e = torch.exp(-2 * x.abs())
    return torch.copysign((1 - e) / (1 + e), x)


@answer("08", "count_parameters")
def counted_in_a_generator_expression(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _unused_helper(x):  # not used by the answers: the rule reads only what the exercise uses
    return F.tanh(x)


@answer("08", "parameters_by_child")
def each_child_skipping_parameters_seen_before(model):
    seen, counts = set(), {}
    for child_name, child in model.named_children():
        counts[child_name] = 0
        for _, p in child.named_parameters():
            if id(p) not in seen:
                seen.add(id(p))
                counts[child_name] += p.numel() if p.requires_grad else 0
    return counts


@answer("08", "parameters_by_child")
def counted_with_a_counter(model):
    totals = collections.Counter({name: 0 for name, _ in model.named_children()})
    for key, p in model.named_parameters():
        totals[key.partition(".")[0]] += p.numel() * p.requires_grad
    return {name: int(totals[name]) for name, _ in model.named_children()}
