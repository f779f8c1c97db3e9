"""Learning mode: the learner runs ``pytest exercises/NN`` and the module under test is imported in that process.

- :mod:`~kata.learning.plugin`: :class:`~kata.learning.plugin.LearningPlugin`, the module under test in this process;
- :mod:`~kata.learning.summary`: the per-exercise lines, the chapter table and the progress kept across runs;
- :mod:`~kata.learning.reporter`: pytest's terminal reporter with Japanese around the checks.

The shared core of both modes is :mod:`kata.plugin`.  Importing this package imports none of its modules.
"""
