"""Reading a submission's files without following anything a learner could plant: no symlink anywhere in the path,
no FIFO, device or folder where a file belongs, bounded size."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from kata import messages

MAX_SOURCE = 1 << 20


class BadSubmissionFile(Exception):
    """The file cannot be graded; ``verdict`` says why, in Japanese."""

    def __init__(self, verdict: str):
        super().__init__(verdict)
        self.verdict = verdict


def read_submission_file(root: Path, parts: tuple[str, ...], shown: str, limit: int = MAX_SOURCE) -> bytes:
    """The bytes of ``root/parts…``, opened component by component with ``O_NOFOLLOW``."""
    flags_dir = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(root, flags_dir)
    except OSError as err:
        raise BadSubmissionFile(_why(err, shown)) from None
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, flags_dir, dir_fd=fd)
            except OSError as err:
                # O_NOFOLLOW | O_DIRECTORY on a link says ENOTDIR: name the link as what it is.
                if _is_link(part, fd):
                    raise BadSubmissionFile(messages.SUBMISSION_SYMLINK.format(file=shown)) from None
                raise BadSubmissionFile(_why(err, shown)) from None
            os.close(fd)
            fd = nxt
        try:
            st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except OSError as err:
            raise BadSubmissionFile(_why(err, shown)) from None
        if stat.S_ISLNK(st.st_mode):
            raise BadSubmissionFile(messages.SUBMISSION_SYMLINK.format(file=shown))
        if not stat.S_ISREG(st.st_mode):
            raise BadSubmissionFile(messages.SUBMISSION_NOT_FILE.format(file=shown))
        if st.st_size > limit:
            raise BadSubmissionFile(messages.SUBMISSION_TOO_LARGE.format(file=shown, limit=limit // 1024))
        try:
            ffd = os.open(parts[-1], os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0),
                          dir_fd=fd)
        except OSError as err:
            raise BadSubmissionFile(_why(err, shown)) from None
        try:
            if not stat.S_ISREG(os.fstat(ffd).st_mode):
                raise BadSubmissionFile(messages.SUBMISSION_NOT_FILE.format(file=shown))
            data = os.read(ffd, limit + 1)
        finally:
            os.close(ffd)
        if len(data) > limit:
            raise BadSubmissionFile(messages.SUBMISSION_TOO_LARGE.format(file=shown, limit=limit // 1024))
        return data
    finally:
        os.close(fd)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _why(err: OSError, shown: str) -> str:
    if err.errno == errno.ELOOP:
        return messages.SUBMISSION_SYMLINK.format(file=shown)
    if err.errno == errno.ENOTDIR:
        return messages.SUBMISSION_NOT_FILE.format(file=shown)
    if err.errno == errno.ENOENT:
        return messages.IMPORT_MISSING_FILE.format(file=shown)
    return messages.SUBMISSION_UNREADABLE.format(file=shown, why=os.strerror(err.errno or 0))
