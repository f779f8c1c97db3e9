import sys

# Before anything else is imported: the engine needs Python 3.11 (tomllib), and an older interpreter should say so in
# one line, not with a traceback from deep inside an import.
if sys.version_info < (3, 11):
    sys.stderr.write("kata: Python 3.11 以上が必要です (この Python は %d.%d です)。\n" % sys.version_info[:2])
    sys.exit(2)

from kata.cli import main  # noqa: E402

sys.exit(main())
