"""The grading side (``kata grade``, ``kata verify``, and each submission of ``kata class grade``), in three kinds of
process:

- :mod:`~kata.grading.parent`: the grading parent (no torch, NumPy or pytest): stages the grader's copy, writes the
  :mod:`~kata.grading.contract` every trusted run reads, enforces the budget and writes the report;
- :mod:`~kata.grading.glue`: the trusted pytest process's plugin object for grading mode (``--kata-sandbox``), and
  the trusted half of :mod:`kata.grading.sandbox` (``client``, ``wire``, ``zygote``, ``selftest``);
- the sandbox workers (:mod:`kata.grading.sandbox.worker`), forked by :mod:`kata.grading.sandbox.forkserver`: the
  only processes that run learner code.

Importing this package imports none of its modules.
"""
