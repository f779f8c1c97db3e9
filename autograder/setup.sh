#!/usr/bin/env bash
# Gradescope: runs once, as root, when the autograder image is built.
# The autograder zip (see autograder/build_zip.sh) is unpacked into /autograder/source.
# Choose a base image with Python >= 3.11 (e.g. Ubuntu 24.04) in the assignment's autograder settings.
set -euo pipefail

SOURCE=/autograder/source
VENV=/autograder/venv

PYTHON=$(command -v python3 || true)
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get update -y
    apt-get install -y python3 python3-venv python3-pip
    PYTHON=$(command -v python3)
fi
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
if ! "$PYTHON" -m venv "$VENV"; then
    apt-get update -y && apt-get install -y python3-venv
    "$PYTHON" -m venv "$VENV"
fi

"$VENV/bin/pip" install --upgrade pip
# CPU wheels are enough for grading (device checks skip without hardware) and much smaller.
"$VENV/bin/pip" install --index-url https://download.pytorch.org/whl/cpu torch
"$VENV/bin/pip" install numpy pytest pytest-timeout

cd "$SOURCE"
chmod +x run_autograder 2>/dev/null || true
# The zip must hold exactly what the manifest lists: refuse to build an image from edited checks.
"$VENV/bin/python" -m kata verify
