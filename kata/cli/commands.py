"""The learner's sub-commands of ``kata``: list, hint, check, watch, reset, solution.

Cheap to import (no torch, no pytest plugin): only the commands that run checks in this process import them.
What the command remembers (hint levels) and keeps (backups of reset files) lives in ``<learner root>/.kata/``,
which ignores itself for git.  The learner root is this repository, or ``--root DIR`` / ``KATA_ROOT`` (a copy of
``exercises/`` elsewhere, graded like a submission).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from kata import catalog, messages
from kata.authoring.stubs import reference_source, replace_exercise, stub_source
from kata.cli.learner import (
    add_root,
    display,
    forget_learner_module,
    learner_root,
    pytest_args,
    resolve_chapter,
    resolve_exercise,
    run_in_process,
    run_report,
)
from kata.display import display_width, pad
from kata.errors import UsageError
from kata.frontend import say
from kata.status import ExerciseStatus

STATE_DIR = ".kata"
HINTS_FILE = "hints.json"
BACKUP_DIR = "backup"
MARKS = {ExerciseStatus.PASS: messages.MARK_PASS, ExerciseStatus.FAIL: messages.MARK_FAIL,
         ExerciseStatus.TODO: messages.MARK_TODO, ExerciseStatus.SKIP: messages.MARK_SKIP}


# -- the sub-commands ---------------------------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("list", help=messages.LIST_HELP, description=messages.LIST_DESCRIPTION)
    p.add_argument("chapter", nargs="?", metavar=messages.ARG_CHAPTER, help=messages.LIST_ARG_CHAPTER)
    add_root(p)
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("hint", help=messages.HINT_HELP, description=messages.HINT_DESCRIPTION)
    p.add_argument("chapter", nargs="?", metavar=messages.ARG_CHAPTER, help=messages.ARG_CHAPTER_NUMBER)
    p.add_argument("exercise", nargs="?", metavar=messages.ARG_EXERCISE, help=messages.ARG_EXERCISE_NAME)
    p.add_argument("--reset", action="store_true", help=messages.HINT_ARG_RESET)
    add_root(p)
    p.set_defaults(func=cmd_hint)

    p = subparsers.add_parser("check", help=messages.CHECK_HELP, description=messages.CHECK_DESCRIPTION,
                              usage=messages.CHECK_USAGE)
    add_root(p)
    p.add_argument("chapter", nargs="?", metavar=messages.ARG_CHAPTER, help=messages.ARG_CHAPTER_OR_ALL)
    p.set_defaults(pytest_args=[], func=cmd_check)

    p = subparsers.add_parser("watch", help=messages.WATCH_HELP, description=messages.WATCH_DESCRIPTION,
                              usage=messages.WATCH_USAGE)
    add_root(p)
    p.add_argument("--interval", type=float, default=0.03, metavar=messages.ARG_SECONDS,
                   help=messages.WATCH_ARG_INTERVAL)
    p.add_argument("chapter", nargs="?", metavar=messages.ARG_CHAPTER, help=messages.WATCH_ARG_CHAPTER)
    p.set_defaults(pytest_args=[], func=cmd_watch)

    p = subparsers.add_parser("reset", help=messages.RESET_HELP, description=messages.RESET_DESCRIPTION)
    p.add_argument("chapter", nargs="?", metavar=messages.ARG_CHAPTER, help=messages.ARG_CHAPTER_NUMBER)
    p.add_argument("exercise", nargs="?", metavar=messages.ARG_EXERCISE, help=messages.RESET_ARG_EXERCISE)
    add_root(p)
    p.set_defaults(func=cmd_reset)

    p = subparsers.add_parser("solution", help=messages.SOLUTION_HELP, description=messages.SOLUTION_DESCRIPTION)
    p.add_argument("chapter", nargs="?", metavar=messages.ARG_CHAPTER, help=messages.ARG_CHAPTER_NUMBER)
    p.add_argument("exercise", nargs="?", metavar=messages.ARG_EXERCISE, help=messages.ARG_EXERCISE_NAME)
    p.add_argument("--force", action="store_true", help=messages.SOLUTION_ARG_FORCE)
    add_root(p)
    p.set_defaults(func=cmd_solution)


def cmd_list(args: argparse.Namespace) -> int:
    return show_progress(learner_root(args.root), args.chapter)


def show_progress(root: Path, chapter: str | None = None) -> int:
    """``kata list`` and ``kata.progress()``: run the checks (a fresh interpreter) and list every exercise."""
    chapters = [resolve_chapter(chapter)] if chapter else list(catalog.chapters())
    print(messages.LIST_RUNNING, file=sys.stderr, flush=True)
    report = run_report(root, chapters[0] if chapter else None, ["--continue-on-collection-errors"])
    if report is None:
        return 1
    results = {(e["chapter"], e["exercise"]): e for e in report["exercises"]}
    width = display_width(messages.MARK_TODO)  # the mark column (スキップ is longer and may push its line out)
    upcoming = None
    for ch in chapters:
        statuses = [results.get((ch.key, ex.name), {}).get("status") for ex in ch.exercises]
        print(messages.LIST_CHAPTER.format(chapter=ch.number, title=ch.title, solved=statuses.count(ExerciseStatus.PASS),
                                           total=len(ch.exercises)))
        for ex, status in zip(ch.exercises, statuses):
            mark = MARKS.get(status, messages.MARK_UNKNOWN)
            detail = ""
            if status is None:
                detail = say(messages.LIST_NO_RESULT, ch.number)
            elif status == ExerciseStatus.FAIL:
                verdict = results[(ch.key, ex.name)].get("verdict") or ""
                detail = " — " + verdict.splitlines()[0] if verdict.strip() else ""
            elif status == ExerciseStatus.PASS and results[(ch.key, ex.name)].get("skipped"):
                detail = messages.UNVERIFIED_DETAIL.format(count=results[(ch.key, ex.name)]["skipped"])
            print(messages.LIST_EXERCISE.format(mark=pad(mark, width), exercise=ex.name,
                                                detail=detail))
            if status != ExerciseStatus.PASS and upcoming is None:
                upcoming = (ch, ex)
    if upcoming is None:
        print(messages.ALL_DONE)
    else:
        ch, ex = upcoming
        print(messages.NEXT_STEP.format(file=display(ch.learner_file(root)), exercise=ex.name, chapter=ch.number))
    return 0


def cmd_hint(args: argparse.Namespace) -> int:
    return show_hint(learner_root(args.root), args.chapter, args.exercise, reset=args.reset)


def show_hint(root: Path, chapter: str | None, exercise: str | None, reset: bool = False) -> int:
    """``kata hint`` and ``kata.hint()``: the next level of the exercise's hints (the level is remembered)."""
    ch = resolve_chapter(chapter)
    ex = resolve_exercise(ch, exercise)
    state = _load_json(_state_dir(root) / HINTS_FILE)
    key = f"{ch.key}/{ex.name}"
    names = {"chapter": ch.number, "exercise": ex.name}
    if reset:
        state.pop(key, None)
        _save_json(root, HINTS_FILE, state)
        print(say(messages.HINT_FORGOTTEN, ch.number, ex.name))
        return 0
    total = len(ex.hints)
    seen = state.get(key, 0)
    level = min((seen if isinstance(seen, int) else 0) + 1, total)
    if level < 1:
        print(say(messages.HINT_LAST, ch.number, ex.name))
        return 0
    state[key] = level
    _save_json(root, HINTS_FILE, state)
    print(messages.HINT_TITLE.format(level=level, total=total, **names))
    print("\n".join(f"  {line}" for line in ex.hints[level - 1].splitlines()))  # skeletons span lines
    print(say(messages.HINT_MORE if level < total else messages.HINT_LAST, ch.number, ex.name))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    root = learner_root(args.root)
    ch = resolve_chapter(args.chapter) if args.chapter else None
    return run_in_process(pytest_args(ch, root, args.pytest_args))


def cmd_watch(args: argparse.Namespace) -> int:
    from kata.cli import watch

    root = learner_root(args.root)
    chapters = [resolve_chapter(args.chapter)] if args.chapter else list(catalog.chapters())
    if not args.interval > 0:
        raise UsageError(messages.CLI_ARG_OTHER.format(message=messages.WATCH_BAD_INTERVAL.format(value=args.interval)))
    return watch.watch(chapters, root, pytest_args=args.pytest_args, interval=args.interval,
                       initial_run=bool(args.chapter))


def cmd_reset(args: argparse.Namespace) -> int:
    return reset_file(learner_root(args.root), args.chapter, args.exercise)


def reset_file(root: Path, chapter: str | None, exercise: str | None = None) -> int:
    """``kata reset`` and ``kata.reset()``: the chapter's file, or one exercise of it, back to the stub."""
    ch = resolve_chapter(chapter)
    ex = resolve_exercise(ch, exercise) if exercise else None
    target = ch.learner_file(root)
    stub = stub_source(ch)
    shown = display(target)
    if ex is None and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(stub, encoding="utf-8")
        print(messages.RESET_CREATED.format(file=shown))
        return 0
    if not target.exists():
        raise UsageError(say(messages.MISSING_LEARNER_FILE, ch.number, file=shown))
    current = target.read_text(encoding="utf-8")
    if ex is None:
        new, done = stub, messages.RESET_CHAPTER.format(file=shown)
    else:
        new, appended = replace_exercise(current, stub, ex.name)
        template = messages.RESET_APPENDED if appended else messages.RESET_EXERCISE
        done = template.format(file=shown, exercise=ex.name)
    if new == current:
        print(messages.RESET_UNCHANGED.format(target=shown if ex is None else f"{shown}: {ex.name}"))
        return 0
    backup = backup_file(root, ch, target)
    target.write_text(new, encoding="utf-8")
    print(done)
    print(messages.RESET_BACKUP.format(backup=display(backup)))
    return 0


def cmd_solution(args: argparse.Namespace) -> int:
    return show_solution(learner_root(args.root), args.chapter, args.exercise, force=args.force)


def show_solution(root: Path, chapter: str | None, exercise: str | None, force: bool = False) -> int:
    """``kata solution`` and ``kata.solution()``: the reference answer, once the exercise passes (or ``force``)."""
    ch = resolve_chapter(chapter)
    ex = resolve_exercise(ch, exercise)
    print(messages.LIST_RUNNING, file=sys.stderr, flush=True)
    report = run_report(root, ch, ["-k", ex.name])
    if report is None:
        return 1
    status = next((e["status"] for e in report["exercises"] if e["exercise"] == ex.name), None)
    names = {"chapter": ch.number, "exercise": ex.name}
    status_word = messages.STATUS_WORDS.get(status, status)
    if status != ExerciseStatus.PASS:
        if not force:
            print(say(messages.SOLUTION_LOCKED, ch.number, ex.name, status=status_word), file=sys.stderr)
            return 1
        print(say(messages.SOLUTION_FORCED, ch.number, ex.name, status=status_word), file=sys.stderr, flush=True)
    print(messages.SOLUTION_TITLE.format(file=display(ch.reference_file()), **names))
    print()
    print(reference_source(ch, ex.name), end="")
    return 0


def notebook_call(command: str, func, root, *args, **kwargs) -> None:
    """A sub-command called from Python (``kata.hint`` …): the same output; a bad argument is one Japanese line on
    stderr instead of an exception.  Returns None, so that a notebook cell shows only what was printed."""
    try:
        func(learner_root(root), *(None if a is None else str(a) for a in args), **kwargs)
    except UsageError as err:
        print(messages.CLI_ERROR.format(command=command, message=err), file=sys.stderr)


class ExitStatus(int):
    """pytest's exit status, returned by ``kata.check``; a notebook shows nothing for it (the verdicts are printed)."""

    def _ipython_display_(self) -> None:
        pass


def check_here(chapter: str | int | None = None, pytest_args_: tuple[str, ...] | list[str] = (),
               root: str | os.PathLike | None = None) -> ExitStatus:
    """``kata.check``: the chapter's checks in this process, with the same verdicts and table as pytest."""
    try:
        learner = learner_root(root)
        ch = resolve_chapter(str(chapter)) if chapter is not None else None
    except UsageError as err:
        print(messages.CLI_ERROR.format(command="check", message=err), file=sys.stderr)
        return ExitStatus(2)
    for c in [ch] if ch else catalog.chapters():
        forget_learner_module(c.learner_file(learner))
    extra = list(pytest_args_)
    if not any(a.startswith("--color") for a in extra):
        extra.append("--color=no")  # a notebook shows escape codes as text (and Colab's output is no terminal)
    return ExitStatus(run_in_process(pytest_args(ch, learner, ["--assert=plain", *extra])))


# -- state: hint levels and backups -------------------------------------------------------------------------------

def _state_dir(root: Path) -> Path:
    return root / STATE_DIR


def _ensure_state_dir(root: Path) -> Path:
    folder = _state_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(messages.STATE_DIR_GITIGNORE, encoding="utf-8")
    return folder


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_json(root: Path, name: str, data: dict) -> None:
    folder = _ensure_state_dir(root)
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / name)


def backup_file(root: Path, chapter: catalog.Chapter, path: Path) -> Path:
    """Copy ``path`` to ``.kata/backup/<time>/<chapter>/<file>`` (never overwriting an earlier backup)."""
    base = _ensure_state_dir(root) / BACKUP_DIR
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder, n = base / stamp, 1
    while (folder / chapter.key / path.name).exists():
        n += 1
        folder = base / f"{stamp}-{n}"
    dest = folder / chapter.key / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(path.read_bytes())
    return dest
