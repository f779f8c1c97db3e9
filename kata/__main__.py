# Before anything else is imported: an interpreter outside the supported range (3.11-3.13) says so in one line, not
# with a traceback from deep inside an import.  (kata.pyversion imports only kata.messages, which imports nothing.)
from kata.pyversion import refuse_unsupported

refuse_unsupported(2)

import sys  # noqa: E402 - after the version check, on purpose

from kata.cli import main  # noqa: E402

sys.exit(main())
