"""Names in ``kata/`` that look unused to vulture but are used by name from outside Python's own calls.

Read by ``tests/test_dead_code.py`` (vulture's whitelist format: each line uses a name).  Hooks of pytest
(``pytest_*``) are left out there by pattern; everything else is listed here, each with who uses it.
"""
# ruff: noqa: B018, F821
from types import SimpleNamespace

_ = SimpleNamespace()

# argparse: a sub-parser group that must be given (set on argparse's object, read by argparse).
_.required
# IPython: how a notebook shows an object (kata.cli.commands).
_._ipython_display_
# pytest: an item's failure text, assigned on the item (kata.plugin, kata.cli.watch).
_.repr_failure
# pytest: its terminal reporter's own attributes and methods, overridden by kata.learning.reporter.LearnerReporter.
_.showheader
_.report_collect
# torch: nn.Module.forward and autograd.Function.forward, called by torch (kata.api.portable, kata.grading.sandbox.client).
_.forward
# The simulated accelerator's stream (kata.api.portable): the torch.cuda.Stream methods that learner code calls.
_.wait_stream
_.record_event
# An argument whose name a protocol fixes: copy.deepcopy's memo (__deepcopy__ of kata.grading.sandbox.client's handles).
memo
