"""No dead code in ``kata/``: vulture reads the engine with everything that uses it (checks, references, the
engine's tests, the benchmarks) and finds nothing unused in the engine.

What is used only by name from outside Python's own calls (pytest's hooks, argparse's and IPython's attributes,
methods torch calls) is listed in ``tests/vulture_whitelist.py``; pytest's hooks (``pytest_*``) by pattern.  Unused
imports and variables are also ruff's (F401, F841); unused arguments are ruff's ARG rules.

Also run as a script by ``.ci/run`` before the tests: ``python tests/test_dead_code.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KATA = ROOT / "kata"
#: Where the engine's names are used: the engine itself, the course, the engine's tests (with the whitelist).
USERS = [KATA, ROOT / "checks", ROOT / "solutions", ROOT / "tests", ROOT / "benchmarks", ROOT / "conftest.py"]


def unused_in_kata() -> list[str]:
    import vulture

    v = vulture.Vulture(ignore_names=["pytest_*"])
    v.scavenge([str(p) for p in USERS])
    # A file vulture cannot read would make everything it uses look unused (and hide what it leaves unused).
    assert v.exit_code != vulture.core.ExitCode.InvalidInput, "vulture could not read a file (see stderr)"
    return [item.get_report() for item in v.get_unused_code()
            if Path(item.filename).resolve().is_relative_to(KATA)]


def test_kata_has_no_dead_code():
    assert unused_in_kata() == []


def test_dead_code_would_be_found(tmp_path):
    # A guard against a scan that silently finds nothing: a function nobody calls, in a copy of one engine module.
    import vulture

    module = tmp_path / "kata" / "lonely.py"
    module.parent.mkdir()
    module.write_text("def never_called():\n    return 1\n", encoding="utf-8")
    v = vulture.Vulture(ignore_names=["pytest_*"])
    v.scavenge([str(module)])
    assert [item.name for item in v.get_unused_code()] == ["never_called"]


if __name__ == "__main__":
    found = unused_in_kata()
    print("\n".join(found) or "vulture: no dead code in kata/")
    sys.exit(1 if found else 0)
