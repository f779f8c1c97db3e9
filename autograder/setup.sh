#!/usr/bin/env bash
# Gradescope: runs once, as root, when the autograder image is built.
# The autograder zip (see autograder/build_zip.sh) is unpacked into /autograder/source.
#
# Works on Gradescope's default base image (Ubuntu 22.04, whose python3 is 3.10): the engine needs Python >= 3.11,
# so when python3 is older this installs python3.11 and python3.11-venv from Ubuntu's own packages (universe).
# Then a virtual environment with the CPU build of torch and the project's dependencies (pyproject.toml); the
# grader itself runs from /autograder/source (`python -m kata grade`), so the project is not installed.
#
# Overridable for a local trial: KATA_SOURCE, KATA_VENV, KATA_SETUP_STOP=venv (stop once the virtual environment
# exists: what tests/test_autograder.py runs, with a stub apt-get).
set -euo pipefail

SOURCE="${KATA_SOURCE:-/autograder/source}"
VENV="${KATA_VENV:-/autograder/venv}"
export DEBIAN_FRONTEND=noninteractive

new_enough() {  # is "$1" a Python >= 3.11?
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

# -- the interpreter --------------------------------------------------------------------------------------------------
PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11; do
    found=$(command -v "$candidate" || true)
    if [ -n "$found" ] && new_enough "$found"; then
        PYTHON="$found"
        break
    fi
done
if [ -z "$PYTHON" ]; then
    echo "setup.sh: python3 is older than 3.11; installing python3.11 from Ubuntu's packages" >&2
    apt-get update -y
    apt-get install -y python3.11 python3.11-venv
    PYTHON=$(command -v python3.11 || true)
fi
if [ -z "$PYTHON" ] || ! new_enough "$PYTHON"; then
    echo "setup.sh: no Python 3.11 or newer could be found or installed; choose a base image with one" >&2
    exit 1
fi
echo "setup.sh: using $PYTHON ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'))"

# -- the virtual environment --------------------------------------------------------------------------------------------
if ! "$PYTHON" -m venv "$VENV"; then
    # Debian/Ubuntu ship venv's ensurepip separately
    version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    apt-get update -y
    apt-get install -y "python$version-venv"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
if [ "${KATA_SETUP_STOP:-}" = venv ]; then
    exit 0
fi

# -- the packages -------------------------------------------------------------------------------------------------------
"$VENV/bin/python" -m pip install --upgrade pip
REQUIREMENTS=$(mktemp)
"$VENV/bin/python" - "$SOURCE/pyproject.toml" >"$REQUIREMENTS" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
PY
# CPU wheels are enough for grading (device checks skip without hardware) and much smaller; then the rest
# (numpy, pytest, pytest-timeout), with torch already satisfied.
TORCH=$(grep -E '^torch([<>=!~ ;[]|$)' "$REQUIREMENTS" | head -n 1 | sed 's/ *#.*//')
"$VENV/bin/python" -m pip install --index-url https://download.pytorch.org/whl/cpu "${TORCH:-torch}"
"$VENV/bin/python" -m pip install -r "$REQUIREMENTS"
rm -f "$REQUIREMENTS"

cd "$SOURCE"
chmod +x run_autograder 2>/dev/null || true
# The zip must hold exactly what the manifest lists: refuse to build an image from edited checks.
"$VENV/bin/python" -m kata verify
"$VENV/bin/python" -c 'import torch, numpy, pytest; print("setup.sh: torch", torch.__version__)'
