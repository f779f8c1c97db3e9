"""``kata dev``: the instructor's commands (modelled on rustlings' ``dev`` commands).

    kata dev new NN name      the skeleton of a new exercise in chapter NN (or a new chapter "13_topic"), then sync
    kata dev sync [--check]   exercises/ from solutions/ (every stub is make_stub(reference)) and the manifest
    kata dev check [NN ...]   the self-verification of those chapters (every chapter without NN)

``docs/AUTHORING.md`` walks through adding an exercise with them; their arguments are registered by
:mod:`kata.cli.dev`.  Cheap to import: ``check`` imports the mutant catalogue (and with it torch) when it runs.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from kata import catalog, manifest, messages
from kata.authoring import scaffold, selfcheck
from kata.authoring.stubs import make_stub
from kata.errors import UsageError

__all__ = ["cmd_check", "cmd_new", "cmd_sync", "stale_stubs", "sync"]

SHOWN_FILES = 3


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(catalog.ROOT).as_posix()
    except ValueError:
        return str(path)


# -- kata dev new --------------------------------------------------------------------------------------------------

def cmd_new(args: argparse.Namespace) -> int:
    try:
        where, created, appended = scaffold.new_exercise(args.chapter, args.name, title=args.title, file=args.file)
    except scaffold.ScaffoldError as err:
        raise UsageError(str(err)) from None
    for path in created:
        print(messages.DEV_NEW_WROTE.format(path=_shown(path)))
    for path in appended:
        print(messages.DEV_NEW_APPENDED.format(path=_shown(path)))
    sync(write=True)
    print()
    print(messages.DEV_NEW_NEXT.format(nn=where.nn))
    return 0


# -- kata dev sync -------------------------------------------------------------------------------------------------

def stale_stubs() -> list[tuple[Path, str]]:
    """(stub path, what it should hold) for every chapter whose stub is not ``make_stub(reference)`` byte for byte."""
    out = []
    for where, _ in scaffold.chapter_files():
        expected = make_stub(where.reference.read_bytes().decode("utf-8"))
        if not where.stub.is_file() or where.stub.read_bytes() != expected.encode("utf-8"):
            out.append((where.stub, expected))
    return out


def sync(write: bool) -> bool:
    """Stubs and manifest in step with the references (writing them when ``write``); whether they already were."""
    in_step = True
    for path, text in stale_stubs():
        in_step = False
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            print(messages.DEV_SYNC_WROTE.format(path=_shown(path)))
        else:
            print(messages.DEV_SYNC_STALE.format(path=_shown(path)))
    comparison = manifest.compare(catalog.ROOT)
    if not comparison.ok:
        in_step = False
        if write:
            path = manifest.write(catalog.ROOT)
            print(messages.DEV_MANIFEST_WROTE.format(path=_shown(path), count=len(manifest.compute(catalog.ROOT))))
        else:
            files = ", ".join(comparison.problems[:SHOWN_FILES]) + (" …" if len(comparison.problems) > SHOWN_FILES
                                                                    else "")
            print(messages.DEV_MANIFEST_STALE.format(path=_shown(comparison.manifest), files=files or "-"))
    return in_step


def cmd_sync(args: argparse.Namespace) -> int:
    in_step = sync(write=not args.check)
    if in_step:
        print(messages.DEV_SYNC_OK.format(count=len(scaffold.chapter_files())))
        return 0
    if args.check:
        print(messages.DEV_SYNC_RUN)
        return 1
    return 0


# -- kata dev check ------------------------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    chapters = catalog.named_chapters(args.chapters)
    left = [u for c in chapters for u in scaffold.unfilled(scaffold.files_of(c))]
    if left:
        print(messages.DEV_CHECK_UNFILLED.format(count=len(left)), file=sys.stderr)
        for u in left:
            print(messages.DEV_CHECK_UNFILLED_AT.format(path=_shown(u.path), line=u.line, text=u.text),
                  file=sys.stderr)
        return 1
    if not sync(write=False):
        print(messages.DEV_SYNC_RUN, file=sys.stderr)
        return 1
    found = selfcheck.load_mutants()
    results = {c.key: selfcheck.ChapterResult(c.key, len(c.exercises), problems=selfcheck.static_problems(c, found),
                                              mutants=sum(1 for m in found if m.chapter == c.key))
               for c in chapters}
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "little")
    print(messages.DEV_CHECK_RUNNING.format(chapters=", ".join(c.key for c in chapters)), flush=True)
    try:
        runs = selfcheck.run_all(chapters, seed)
    except selfcheck.RunBroken as err:
        print(err, file=sys.stderr)
        return 1
    for c in chapters:
        results[c.key].problems += selfcheck.run_problems(c, runs, found)
        results[c.key].checks = selfcheck.count_checks(c, runs)
    # More seeds for the references and the catalogue of wrong answers: a reference that fails on some seed fails
    # a correct learner there, and a wrong answer rejected on one seed only is a hole (a telling case left to
    # chance).  Each seed is one more reference run and one more mutant run; a problem names the seed that shows it.
    extra = [(seed + i * 7919) % (1 << 24) for i in range(1, max(1, args.seeds))]
    for i, more in enumerate(extra, start=2):
        print(messages.DEV_CHECK_MORE_SEEDS.format(i=i, n=len(extra) + 1, seed=more), flush=True)
        with tempfile.TemporaryDirectory(prefix="kata-dev-seeds-") as tmp:
            try:
                reference = selfcheck.run_way("reference", chapters, Path(tmp), more)
                run = selfcheck.run_way("mutants", chapters, Path(tmp), more)
            except selfcheck.RunBroken as err:
                print(err, file=sys.stderr)
                return 1
        for c in chapters:
            results[c.key].problems += [messages.DEV_SEED_PROBLEM.format(seed=more, text=text)
                                        for text in [*selfcheck.reference_problems(c, reference),
                                                     *selfcheck.mutant_problems(c, run, found)]]
    for result in results.values():
        if result.ok:
            print(messages.DEV_CHECK_CHAPTER_OK.format(mark=messages.MARK_PASS, key=result.key,
                                                       exercises=result.exercises, checks=result.checks,
                                                       mutants=result.mutants))
        else:
            print(messages.DEV_CHECK_CHAPTER_NG.format(mark=messages.MARK_FAIL, key=result.key,
                                                       count=len(result.problems)))
            for text in result.problems:
                print(messages.DEV_CHECK_PROBLEM.format(text=text))
    failed = sum(1 for r in results.values() if not r.ok)
    print(messages.DEV_CHECK_NG.format(failed=failed, count=len(results)) if failed
          else messages.DEV_CHECK_OK.format(count=len(results)))
    again = "".join(f" {c.number}" for c in chapters) if args.chapters else ""  # none named: every chapter
    print(messages.DEV_CHECK_SEED.format(seed=seed, chapters=again))
    return 1 if failed else 0
