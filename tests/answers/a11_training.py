"""Correct answers for chapter 11, written differently from the reference."""
import copy

from kata.mutants import answer


@answer("11", "snapshot_state")
def deep_copy_of_the_state_dict(model):
    # deepcopy gives every tensor its own memory (and keeps the OrderedDict's order).
    return copy.deepcopy(model.state_dict())
