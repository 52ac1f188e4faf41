"""Output files: image type sniffing, and saving without ever leaving the folder (downloading them
is fetch.py's).

Nothing here knows MCP.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import SaveError

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
)


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type from the bytes themselves (never from a name), or None."""
    for magic, offset, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_type(data: bytes) -> str | None:
    """Any output's MIME type from its bytes: an image, MP4/MOV video, WAV/MP3/OGG/FLAC audio, a glTF
    binary, PDF, or UTF-8 text; None when the bytes say none of these."""
    image = sniff_image_type(data)
    if image is not None:
        return image
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    for magic, mime in ((b"OggS", "audio/ogg"), (b"fLaC", "audio/flac"), (b"glTF", "model/gltf-binary")):
        if data.startswith(magic):
            return mime
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" not in data[:4096]:
        try:
            data[:65536].decode("utf-8")
        except UnicodeDecodeError as exc:  # a character cut at the sample's end is still text
            if exc.start < len(data[:65536]) - 4:
                return None
        return "text/plain; charset=utf-8"
    return None


def is_text(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind.startswith("text/") or kind in ("application/json", "application/x-ndjson")


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Names Windows gives to devices, whatever the extension: "con.png" would open the console.
_DEVICES = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))})


def safe_name(name: str, fallback: str) -> str:
    """A file name from an untrusted one: last path component only, no leading or trailing dots, plain
    characters, never a Windows device name."""
    base = re.split(r"[\\/]", name)[-1]
    base = _UNSAFE.sub("_", base).strip(".")[:120]
    if not base:
        return fallback
    if base.split(".", 1)[0].lower() in _DEVICES:
        base = f"_{base}"
    return base


def save_output(root: Path, task_id: str, name: str, data: bytes, fallback: str) -> Path:
    """Write one output to `root/task-<id>/<name>` without ever writing outside `root`.

    The task folder may not be a symlink and must resolve inside `root`; files are created with
    O_EXCL|O_NOFOLLOW relative to the folder's descriptor, so a planted symlink is never followed
    and no existing file is overwritten. A file already there with the same bytes is reused (the
    same task saved twice); a different one keeps its name and ours gets a numbered one.
    """
    root = root.expanduser()
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve(strict=True)
    folder_name = safe_name(f"task-{task_id}", "task")
    folder = real_root / folder_name
    try:
        folder.mkdir(exist_ok=True)
    except FileExistsError as exc:  # a file or a broken symlink stands there
        raise SaveError(f"cannot create {folder}: something else is in the way") from exc
    if folder.is_symlink() or folder.resolve(strict=True).parent != real_root:
        raise SaveError(f"refusing to save into {folder}: it is a link that leads elsewhere")
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        target = safe_name(name, fallback)
        stem, dot, suffix = target.rpartition(".")
        if not dot:
            stem, suffix = target, ""
        for attempt in range(1, 100):
            candidate = target if attempt == 1 else f"{stem}-{attempt}{dot}{suffix}"
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
            except FileExistsError:
                if _same_regular_file(dir_fd, candidate, data):
                    return folder / candidate
                continue
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    continue
                raise SaveError(f"cannot write {folder / candidate}: {exc.strerror}") from exc
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return folder / candidate
        raise SaveError(f"too many files named like {target} in {folder}")
    finally:
        os.close(dir_fd)


def read_saved(root: Path, task_id: str, name: str, *, max_bytes: int = 256 * 1024 * 1024) -> bytes:
    """A file saved for a task (save_output's folder), read without following a link out of it."""
    folder = root.expanduser().resolve() / safe_name(f"task-{task_id}", "task")
    if name != safe_name(name, "") or not name:
        raise SaveError(f"{name[:80]!r} is not the name of a saved file")
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SaveError(f"nothing is saved for task {task_id[:40]}") from exc
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=dir_fd)
    except OSError as exc:
        raise SaveError(f"task {task_id[:40]} has no saved file {name}") from exc
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SaveError(f"{name} is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SaveError(f"{name} is over {max_bytes >> 20} MiB")
    return data


def _same_regular_file(dir_fd: int, name: str, data: bytes) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return False  # a symlink (ELOOP) or gone: not ours
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return False
        return handle.read(len(data) + 1) == data
