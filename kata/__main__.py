import sys

# Before anything else is imported: the engine needs Python 3.11 (tomllib, enum.StrEnum), and an older interpreter
# should say so in one line, not with a traceback from deep inside an import.  (kata.messages imports nothing.)
if sys.version_info < (3, 11):  # noqa: UP036 - pyproject says >=3.11, but a learner may run `python -m kata` anyway
    from kata.messages import PYTHON_TOO_OLD

    sys.stderr.write(PYTHON_TOO_OLD.format(major=sys.version_info[0], minor=sys.version_info[1]) + "\n")
    sys.exit(2)

from kata.cli import main

sys.exit(main())
