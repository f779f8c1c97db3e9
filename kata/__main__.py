import sys

# Before anything else is imported: the engine needs Python 3.11 (tomllib), and an older interpreter should say so in
# one line, not with a traceback from deep inside an import.
from kata.cli import main

sys.exit(main())
