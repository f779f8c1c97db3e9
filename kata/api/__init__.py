"""The check-author API: everything a check, a reference's self-test or a catalogued wrong answer imports from the
engine, and nothing else.

One module per job, each with its own ``__all__``:

- :mod:`~kata.api.compare`: ``expect_*`` and :class:`~kata.api.compare.Mismatch`, every comparison and its verdict;
- :mod:`~kata.api.inputs`: random inputs that span the prompt's domain, and ``call_both`` under one RNG state;
- :mod:`~kata.api.hints`: targeted hints, recognised from what differs;
- :mod:`~kata.api.staticrules`: rules read from the learner's source text (they count in both modes);
- :mod:`~kata.api.oprules` and :mod:`~kata.api.observe`: what learner code calls at run time (advice in grading);
- :mod:`~kata.api.probe`, :mod:`~kata.api.devices`, :mod:`~kata.api.portable`: a model's mode and inputs, the real
  and the simulated devices, and the classes both sides of the sandbox have;
- :mod:`~kata.api.xor`: the XOR task of chapters 09-12;
- :mod:`~kata.api.mutants`: the catalogue of wrong answers that proves the checks bite.

The learner-facing words a check uses come from :mod:`kata.messages`.  Importing this package imports none of its
modules (``from kata.api import compare`` imports one): the sandbox's trusted side needs :mod:`kata.api.portable`
without the rest.
"""
__all__ = ["compare", "devices", "hints", "inputs", "mutants", "observe", "oprules", "portable", "probe",
           "staticrules", "xor"]
