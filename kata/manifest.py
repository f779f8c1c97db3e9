"""The manifest of hashes shipped with the suite: what `kata verify` compares before grading in place.

The grading path is the engine (``kata/``), the checks (``checks/``), the references (``solutions/``), the root
``conftest.py`` (it loads the engine's plugin) and ``pyproject.toml`` (pytest's settings).
``kata/MANIFEST.sha256`` lists the SHA-256 of each of those files in the format of ``sha256sum`` (so
``sha256sum --check kata/MANIFEST.sha256`` works from the repository root too)::

    python -m kata.manifest --write     # regenerate after changing checks, engine or references
    python -m kata.manifest             # compare (what `kata verify` does)
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kata import catalog, messages

MANIFEST_NAME = "kata/MANIFEST.sha256"
#: Folders whose every file is part of the grading path.
TREES = ("kata", "checks", "solutions")
#: Single files of the grading path.
FILES = ("conftest.py", "pyproject.toml")
#: Never part of the grading path.
SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", ".benchmarks", ".mypy_cache", ".ruff_cache", "node_modules",
             ".venv", "venv", ".tox", "build", "dist"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info")


@dataclass
class Comparison:
    """The result of comparing a tree with a manifest."""

    manifest: Path
    count: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    no_manifest: bool = False

    @property
    def ok(self) -> bool:
        return not (self.no_manifest or self.changed or self.missing or self.extra)

    @property
    def problems(self) -> list[str]:
        """Every differing path, changed first."""
        return self.changed + self.missing + self.extra

    def lines(self) -> list[str]:
        """Japanese lines naming each differing file."""
        if self.no_manifest:
            return [messages.VERIFY_NO_MANIFEST.format(manifest=self.manifest)]
        out = [messages.VERIFY_CHANGED.format(path=p) for p in self.changed]
        out += [messages.VERIFY_MISSING.format(path=p) for p in self.missing]
        out += [messages.VERIFY_EXTRA.format(path=p) for p in self.extra]
        return out


def grading_files(root: Path = catalog.ROOT) -> list[str]:
    """Relative POSIX paths of the files on the grading path, sorted."""
    root = Path(root)
    found: set[str] = set()
    for name in FILES:
        if (root / name).is_file():
            found.add(name)
    for top in TREES:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            for fn in filenames:
                if fn.endswith(SKIP_SUFFIXES):
                    continue
                rel = (Path(dirpath) / fn).relative_to(root).as_posix()
                if rel != MANIFEST_NAME:
                    found.add(rel)
    return sorted(found)


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def compute(root: Path = catalog.ROOT) -> dict[str, str]:
    """``{relative path: sha256}`` of the grading path under ``root``."""
    root = Path(root)
    return {rel: file_hash(root / rel) for rel in grading_files(root)}


def render(hashes: dict[str, str]) -> str:
    """The manifest text (``sha256sum`` format: hash, two spaces, path)."""
    return "".join(f"{digest}  {rel}\n" for rel, digest in sorted(hashes.items()))


def parse(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, rel = line.partition("  ")
        out[rel.lstrip("*")] = digest.lower()
    return out


def manifest_path(root: Path = catalog.ROOT) -> Path:
    return Path(root) / MANIFEST_NAME


def digest_of_manifest(root: Path = catalog.ROOT) -> str:
    return file_hash(manifest_path(root))


def write(root: Path = catalog.ROOT) -> Path:
    path = manifest_path(root)
    path.write_text(render(compute(root)), encoding="utf-8")
    return path


def compare(root: Path = catalog.ROOT, manifest: Path | None = None) -> Comparison:
    """Compare the grading path under ``root`` with the manifest (default: the one shipped in ``root``)."""
    root = Path(root)
    manifest = Path(manifest) if manifest else manifest_path(root)
    result = Comparison(manifest)
    if not manifest.is_file():
        result.no_manifest = True
        return result
    expected = parse(manifest.read_text(encoding="utf-8"))
    actual = compute(root)
    result.count = len(expected)
    result.changed = sorted(p for p in expected if p in actual and actual[p] != expected[p])
    result.missing = sorted(p for p in expected if p not in actual)
    result.extra = sorted(p for p in actual if p not in expected)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kata.manifest",
                                     description=messages.MANIFEST_DESCRIPTION)
    parser.add_argument("--write", action="store_true", help=messages.MANIFEST_ARG_WRITE)
    parser.add_argument("--root", type=Path, default=catalog.ROOT, help=messages.MANIFEST_ARG_ROOT)
    args = parser.parse_args(argv)
    if args.write:
        path = write(args.root)
        count = len(parse(path.read_text(encoding="utf-8")))
        print(f"{path}: {count} files, sha256 of the manifest = {digest_of_manifest(args.root)}")
        return 0
    result = compare(args.root)
    for line in result.lines():
        print(line)
    if result.ok:
        print(messages.VERIFY_OK.format(manifest=result.manifest, count=result.count))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
