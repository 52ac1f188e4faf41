"""Real filesystems that refuse writes, for the journal's failure tests: a read-only folder and a tiny one
that fills up. Root ignores a folder's permissions, so as root (CI) both are tmpfs mounts of their own;
as another user the read-only one is a folder's permissions."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def _mount(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here ({done.stderr.decode().strip()})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """An empty folder no process of this user can write into."""
    if os.geteuid() != 0:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    _mount(folder, "ro,size=1m")
    try:
        yield folder
    finally:
        _unmount(folder)


class Disk:
    """A folder on a filesystem of its own that a test can make full (`fill`) and give room again (`free`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._filler: Path | None = None

    def fill(self) -> None:
        self._filler = fill(self.folder)

    def free(self) -> None:
        if self._filler is not None:
            self._filler.unlink()
            self._filler = None


@contextmanager
def tiny_folder(folder: Path, size: str = "512k") -> Iterator[Disk]:
    """A tmpfs of `size` at `folder`. Mounting needs root: elsewhere the test is skipped (and fails under
    CI), since no other way makes every write fail as a full disk does (SQLite's `max_page_count` still
    lets a small row into a page with room)."""
    if not can_mount():
        reason = "a tiny filesystem needs root (mount -t tmpfs)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    _mount(folder, f"size={size}")
    try:
        yield Disk(folder)
    finally:
        _unmount(folder)


def fill(folder: Path) -> Path:
    """Take every free byte of `folder`'s filesystem (the file returned gives them back when removed)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while out.write(b"\0" * 4096):
                pass
        except OSError:  # ENOSPC: full
            pass
    return filler
