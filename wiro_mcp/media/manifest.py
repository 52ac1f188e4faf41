"""Which files in a task's folder export_panorama wrote, so that only those are served as exports.

Anything else can be put in the folder: a hard link to /etc/passwd or to another task's file, a
symlink, another file in the place of ours. The manifest (`.exports.json` beside the files: a name
files.safe_name never gives, so it is never served itself) records each written file's name, inode,
device, size, modification time and SHA-256. A file is served only if its name is recorded, it has no
other name (st_nlink 1), its inode, device, size and time are still the recorded ones, and the bytes
read hash as recorded (the last catches a swap between the check and the read).

Updates hold an exclusive flock on the folder (threads and other server processes sharing the output
folder) and replace the manifest by a rename, so a reader never sees half of one. POSIX only, as
files.save_output is. Runs in worker threads.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import OutputFileError
from ..text import shown
from .files import safe_name

MANIFEST = ".exports.json"
# A manifest longer than this is not ours (each entry is ~200 bytes; a task's folder holds a few dozen).
MANIFEST_BYTES = 1 << 20

Entry = dict[str, Any]
CHANGED = "{name} was changed, replaced or linked to since export_panorama wrote it, so it is not served"


class NotWritten(OutputFileError):
    """The file asked for is not one export_panorama wrote, or no longer the one it wrote."""


def record(folder: Path, name: str, data: bytes) -> None:
    """Note that `folder/name`, which files.save_output has just written (or found with these bytes), is ours."""
    with _opened(folder) as dir_fd:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)  # released when the folder is closed
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        entries = _load(dir_fd)
        entries[name] = {**_identity(info), "sha256": hashlib.sha256(data).hexdigest()}
        temporary = f"{MANIFEST}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):  # a leftover, or anything planted under that name
            os.unlink(temporary, dir_fd=dir_fd)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
        with os.fdopen(fd, "w") as handle:
            json.dump({"version": 1, "files": entries}, handle, separators=(",", ":"))
        os.replace(temporary, MANIFEST, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def entry(folder: Path, name: str) -> Entry:
    """The record of `name` if the file there is still the one written; NotWritten says why not."""
    if name != safe_name(name, ""):
        raise NotWritten(f"{shown(name, 80)} is not the name of a file export_panorama writes")
    try:
        with _opened(folder) as dir_fd:
            found = _load(dir_fd).get(name)
            info = _lstat(dir_fd, name) if found else None
    except FileNotFoundError:  # no folder: nothing was saved or exported for the task
        found = info = None
    if found is None:
        raise NotWritten(f"{name} is not a file export_panorama wrote for this task")
    if info is None:
        raise NotWritten(f"{name} is gone from the task's folder")
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or _identity(info) != _identity_of(found):
        raise NotWritten(CHANGED.format(name=name))
    return found


def check_bytes(found: Entry, name: str, data: bytes) -> None:
    """The bytes read of `name` are the ones written (found by `entry`)."""
    if hashlib.sha256(data).hexdigest() != found.get("sha256"):
        raise NotWritten(
            f"{name} was changed, replaced or linked to since export_panorama wrote it, so it is not served"
        )


@contextlib.contextmanager
def _opened(folder: Path) -> Iterator[int]:
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        yield dir_fd
    finally:
        os.close(dir_fd)


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _load(dir_fd: int) -> dict[str, Entry]:
    """The recorded files; none when there is no manifest or it is not one we wrote (any file can be put there)."""
    try:
        fd = os.open(MANIFEST, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return {}
        raw = handle.read(MANIFEST_BYTES + 1)
    try:
        files = json.loads(raw)["files"] if len(raw) <= MANIFEST_BYTES else {}
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(files, dict):
        return {}
    return {name: value for name, value in files.items() if isinstance(value, dict)}


def _identity(info: os.stat_result) -> dict[str, int]:
    return {"inode": info.st_ino, "device": info.st_dev, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _identity_of(found: Entry) -> dict[str, Any]:
    return {key: found.get(key) for key in ("inode", "device", "size", "mtime_ns")}
