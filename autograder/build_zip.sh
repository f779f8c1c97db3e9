#!/usr/bin/env bash
# Build the Gradescope autograder zip: the grading path of this repository plus setup.sh and run_autograder at
# the top of the zip, as Gradescope expects.  Usage: autograder/build_zip.sh [OUTPUT.zip]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(realpath -m "${1:-autograder.zip}")"
python3 -m kata verify   # the manifest must match what goes into the zip
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -r kata checks solutions conftest.py pyproject.toml "$STAGE"/
cp autograder/setup.sh autograder/run_autograder "$STAGE"/
find "$STAGE" -name __pycache__ -type d -prune -exec rm -rf {} +
rm -f "$OUT"
(cd "$STAGE" && python3 -m zipfile -c "$OUT" kata checks solutions conftest.py pyproject.toml setup.sh run_autograder)
echo "$OUT"
