"""The roster: who submitted what, found in a folder, with zip files unpacked safely, and each submission's key.

A roster folder holds one entry per learner, as GitHub Classroom's "clone all" and a Gradescope export lay them
out: a sub-folder (a repository copy, an ``exercises`` folder or files laid flat; a folder whose only entry is one
folder, as in a downloaded repository archive, is entered) or a ``.zip`` file.  Nothing a learner made is
followed: an entry that is a symbolic link is a row with its reason, a zip member that is a link, an absolute path,
a path with ``..`` or bigger than the limits stops that zip's unpacking (that row only).
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kata import catalog
from kata.classroom import messages
from kata.grading.sandbox.files import BadSubmissionFile, read_submission_file

__all__ = ["GRADESCOPE_METADATA", "METADATA_MAX_BYTES", "ZIP_MAX_MEMBERS", "ZIP_MAX_MEMBER_BYTES",
           "ZIP_MAX_TOTAL_BYTES", "BadZip", "Learner", "content_hash", "discover", "gradescope_people", "in_shard",
           "parse_shard", "slug", "unpack_zip"]

#: A Gradescope export's list of who submitted each ``submission_NNN`` folder, and the most of it that is read.
GRADESCOPE_METADATA = "submission_metadata.yml"
METADATA_MAX_BYTES = 32 << 20

#: Limits on one zip file: members unpacked (only ``.py`` files are), bytes per member and bytes in all.
ZIP_MAX_MEMBERS = 5000
ZIP_MAX_MEMBER_BYTES = 2 << 20
ZIP_MAX_TOTAL_BYTES = 64 << 20


@dataclass
class Learner:
    name: str  # the roster entry's name (a zip's without ``.zip``), exactly as the folder shows it
    entry: Path  # the roster entry itself
    kind: str  # "folder" / "zip" / "other"
    submission: Path | None = None  # the folder graded (a zip's unpacked copy); None when there is none
    problem: str = ""  # why there is nothing to grade (Japanese), when submission is None
    #: Who submitted it, when the roster says so (a Gradescope export): one {"name", "sid", "email"} per submitter.
    people: list[dict[str, str]] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return slug(self.name)


def slug(name: str) -> str:
    """A file name for a learner: the name's letters, digits and ``._-`` (others as ``_``), cut, plus a hash of the
    whole name, so that two names never share files and no name escapes the folder."""
    safe = re.sub(r"[^\w.-]", "_", name, flags=re.UNICODE).strip("._")[:40] or "learner"
    return f"{safe}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def in_shard(name: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``name`` belongs to shard ``K/N`` (1-based): a stable hash of the name, not the roster's order."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(messages.BAD_SHARD.format(value=text))
    return int(match.group(1)), int(match.group(2))


def gradescope_people(roster: Path) -> tuple[dict[str, list[dict[str, str]]], str | None]:
    """The submitters of each folder of a Gradescope export, from its ``submission_metadata.yml``:
    ``({"submission_123": [{"name": ..., "sid": ..., "email": ...}, ...]}, None)``, or ``({}, why)`` in Japanese
    when the file is there but cannot be used (no PyYAML, not YAML, too big, a link).  ``({}, None)`` without it.

    The file maps each folder to ``:submitters:`` (a group submission has several), each with ``:name:``, ``:sid:``
    and ``:email:`` (Ruby symbols as keys, as Gradescope writes them)."""
    if not os.path.lexists(Path(roster) / GRADESCOPE_METADATA):
        return {}, None
    try:
        import yaml
    except ImportError:
        return {}, messages.METADATA_NO_YAML
    try:  # read as a submission's file is: no link followed, a regular file, bounded
        raw = read_submission_file(Path(roster), (GRADESCOPE_METADATA,), GRADESCOPE_METADATA, METADATA_MAX_BYTES)
    except BadSubmissionFile as err:
        return {}, messages.METADATA_UNREADABLE.format(why=err.verdict)
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        data = err
    if not isinstance(data, dict):
        return {}, messages.METADATA_UNREADABLE.format(why=messages.METADATA_NOT_YAML.format(what=type(data).__name__))
    out: dict[str, list[dict[str, str]]] = {}
    for folder, record in data.items():
        submitters = record.get(":submitters", record.get("submitters")) if isinstance(record, dict) else None
        people = []
        for person in submitters if isinstance(submitters, list) else []:
            if isinstance(person, dict):
                people.append({k: _text(person.get(f":{k}", person.get(k))) for k in ("name", "sid", "email")})
        if people:
            out[str(folder)] = people
    return out, None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()[:200]


def discover(roster: Path, unpack_to: Path, shard: tuple[int, int] | None = None,
             exclude: tuple[Path, ...] = (), people: dict[str, list[dict[str, str]]] | None = None) -> list[Learner]:
    """Every learner of ``roster`` in ``shard``, sorted by name; zips unpacked under ``unpack_to``; ``exclude``:
    folders that are no learner's (the class folder itself, when it was put inside the roster); ``people``: who
    submitted which entry (:func:`gradescope_people`)."""
    people = people or {}
    skip = {os.path.realpath(p) for p in exclude}
    entries = sorted(os.scandir(roster), key=lambda e: e.name)
    folders = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    learners: list[Learner] = []
    for entry in entries:
        if entry.name.startswith(".") or os.path.realpath(entry.path) in skip:
            continue
        path = Path(entry.path)
        mode = os.lstat(path).st_mode
        is_zip = entry.name.lower().endswith(".zip")
        name = entry.name[:-4] if is_zip and entry.name[:-4] not in folders else entry.name
        if not in_shard(name, shard):
            continue
        if stat.S_ISLNK(mode):
            learners.append(Learner(name, path, "other", problem=messages.ENTRY_LINK))
        elif stat.S_ISDIR(mode):
            learners.append(Learner(name, path, "folder", submission=_enter_single_folder(path)))
        elif is_zip and stat.S_ISREG(mode):
            learner = Learner(name, path, "zip")
            target = unpack_to / learner.slug
            try:
                unpack_zip(path, target)
                learner.submission = _enter_single_folder(target)
            except BadZip as err:
                learner.problem = str(err)
            learners.append(learner)
        elif is_zip:
            learners.append(Learner(name, path, "other", problem=messages.ENTRY_SPECIAL))
        # other plain files (a Gradescope metadata file, a CSV of names) are not learners
    for learner in learners:
        learner.people = people.get(learner.name, [])
    return sorted(learners, key=lambda learner: learner.name)


def _enter_single_folder(path: Path) -> Path:
    """A folder whose only visible entry is a real folder (a repository archive's top folder) is entered."""
    for _ in range(3):
        try:
            entries = [e for e in os.scandir(path) if not e.name.startswith(".") and e.name != "__MACOSX"]
        except OSError:
            return path
        if len(entries) != 1 or not entries[0].is_dir(follow_symlinks=False):
            return path
        if entries[0].name == "exercises" or catalog.chapter_of_key(entries[0].name) is not None:
            return path  # a layout the grader reads as it is
        path = Path(entries[0].path)
    return path


class BadZip(Exception):
    """The zip cannot be unpacked safely; the message is the Japanese reason."""


def unpack_zip(archive: Path, target: Path) -> None:
    """Unpack the ``.py`` members of ``archive`` into ``target`` (created fresh), refusing anything unsafe."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise BadZip(messages.ZIP_BROKEN.format(why=type(err).__name__)) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > ZIP_MAX_MEMBERS:
            raise BadZip(messages.ZIP_TOO_LARGE.format(limit=ZIP_MAX_TOTAL_BYTES >> 20, count=ZIP_MAX_MEMBERS))
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            shown = name[:200]
            if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\0" in name:
                raise BadZip(messages.ZIP_UNSAFE.format(member=shown, why=messages.WHY_TRAVERSAL))
            kind = (info.external_attr >> 16) & 0o170000
            if kind == stat.S_IFLNK:
                raise BadZip(messages.ZIP_UNSAFE.format(member=shown, why=messages.WHY_LINK))
            if info.is_dir():
                continue
            if kind not in (0, stat.S_IFREG):
                raise BadZip(messages.ZIP_UNSAFE.format(member=shown, why=messages.WHY_SPECIAL))
            if not name.endswith(".py") or "__MACOSX" in parts:
                continue
            if info.file_size > ZIP_MAX_MEMBER_BYTES:
                raise BadZip(messages.ZIP_UNSAFE.format(member=shown, why=messages.WHY_MEMBER_SIZE))
            plan.append((info, PurePosixPath(*[p for p in parts if p not in ("", ".")])))
        target.mkdir(parents=True, exist_ok=False)
        total = 0
        for info, rel in plan:
            dest = target.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src:
                    # The header's size can lie: read at most the limit plus one byte.
                    data = src.read(ZIP_MAX_MEMBER_BYTES + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as err:
                raise BadZip(messages.ZIP_BROKEN.format(why=type(err).__name__)) from None
            if len(data) > ZIP_MAX_MEMBER_BYTES:
                raise BadZip(messages.ZIP_UNSAFE.format(member=str(rel)[:200], why=messages.WHY_MEMBER_SIZE))
            total += len(data)
            if total > ZIP_MAX_TOTAL_BYTES:
                raise BadZip(messages.ZIP_TOO_LARGE.format(limit=ZIP_MAX_TOTAL_BYTES >> 20, count=ZIP_MAX_MEMBERS))
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)


def content_hash(learner: Learner, chapters: list[catalog.Chapter]) -> str:
    """A hash of exactly what grading reads: each chapter's file (or why it cannot be read)."""
    from kata.grading.parent import read_learner_file

    h = hashlib.sha256()
    if learner.submission is None:
        h.update(b"problem\0" + learner.problem.encode("utf-8"))
        return h.hexdigest()
    for ch in chapters:
        h.update(ch.key.encode() + b"\0")
        try:
            data = read_learner_file(learner.submission, ch)
            h.update(b"F" + hashlib.sha256(data).digest())
        except BadSubmissionFile as err:
            h.update(b"E" + err.verdict.encode("utf-8"))
    return h.hexdigest()
