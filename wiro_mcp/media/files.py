"""Output files: their types by their bytes, whether the bytes contradict what Wiro declared, names that
neither run nor render, and saving without ever leaving the folder (downloading them is fetch.py's).

Nothing here knows MCP.
"""

from __future__ import annotations

import errno
import mimetypes
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
    """The image MIME type from the bytes themselves (never from a name), or None: one that previews
    decode (PNG, JPEG, GIF, BMP, WebP)."""
    for magic, offset, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# ISO BMFF brands of still pictures (the same box as an MP4's).
_PICTURE_BRANDS = {b"avif": "image/avif", b"avis": "image/avif", b"heic": "image/heic", b"mif1": "image/heif"}


def sniff_type(data: bytes) -> str | None:
    """Any output's MIME type from its bytes: an image, MP4/MOV/WebM video, WAV/MP3/OGG/FLAC audio, a glTF
    binary, PDF, or UTF-8 text; None when the bytes say none of these."""
    image = sniff_image_type(data)
    if image is not None:
        return image
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[4:8] == b"ftyp":
        if data[8:12] in _PICTURE_BRANDS:
            return _PICTURE_BRANDS[data[8:12]]
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data.startswith(b"\x1aE\xdf\xa3"):
        return "video/webm"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    for magic, mime in ((b"OggS", "audio/ogg"), (b"fLaC", "audio/flac"), (b"glTF", "model/gltf-binary")):
        if data.startswith(magic):
            return mime
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" not in data[:4096] and is_utf8(data):
        return "text/plain; charset=utf-8"
    return None


def is_utf8(data: bytes) -> bool:
    """Whether the bytes (their first 64 KiB) are UTF-8; a character cut at the sample's end still is."""
    try:
        data[:65536].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data[:65536]) - 4
    return True


def is_text(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind.startswith("text/") or kind in ("application/json", "application/x-ndjson")


# 3D formats written as text: text bytes are what they should be.
_TEXT_MODELS = frozenset({"model/gltf+json", "model/obj", "model/mtl", "model/ply", "model/stl", "model/vnd.usda"})
# A declared kind's word in a note ("not saved as video").
_KINDS = {"image": "an image", "video": "video", "audio": "audio", "model": "a 3D model", "pdf": "a PDF"}
_WORDS = {**_KINDS, "text": "text"}
_HTML = ("<!doctype", "<html", "<head", "<body", "<script", "<iframe", "<meta")
_XML = ("<?xml", "<svg")


def _kind(content_type: str) -> str:
    mime = content_type.split(";")[0].strip().lower()
    if mime == "application/pdf":
        return "pdf"
    if is_text(mime):
        return "text"
    main = mime.partition("/")[0]
    return main if main in _KINDS else "other"


def declared_kind(content_type: str) -> str:
    """The word for what Wiro declared an output to be ("video", "an image"…), for a note."""
    return _WORDS.get(_kind(content_type), "what it was declared")


def contradiction(declared: str, data: bytes) -> str | None:
    """How an output's bytes contradict the type Wiro declared ("its bytes are HTML"), or None.

    Bytes that are text (a page, a script) never pass for a picture, a video, a sound, a 3D binary or a
    PDF, nor do the bytes of another such kind; a declared picture or PDF must be one. Bytes the sniffer
    does not know (a codec it has no signature for) pass as a video, a sound or a 3D model, but not as
    text. Bytes of a known kind declared as text are what they are (a PNG declared text/html is a PNG),
    never shown as text."""
    kind = _kind(declared)
    found = sniff_type(data)
    if kind == "text" and found is None and not is_utf8(data):  # a NUL in a text is text, shown escaped
        return "its bytes are not text"
    if kind in ("text", "other"):
        return None
    got = _kind(found) if found is not None else None
    if got == kind or {got, kind} == {"video", "audio"}:  # one container holds either
        return None
    if got == "text" and kind == "model" and declared.split(";")[0].strip().lower() in _TEXT_MODELS:
        return None
    if got is None:
        return None if kind in ("video", "audio", "model") else f"its bytes are not {_KINDS[kind]}"
    if got == "text":
        head = data[:4096].decode("utf-8", errors="replace").lower()
        if any(mark in head for mark in _HTML):
            return "its bytes are HTML"
        return "its bytes are XML or SVG" if any(mark in head for mark in _XML) else "its bytes are text"
    assert found is not None
    return f"its bytes are {found}"


# Extensions a file manager, a browser or a shell would run, or render as a page (with its scripts).
_ACTIVE = frozenset(
    {
        *("htm", "html", "xhtml", "xht", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "xslt", "swf"),
        *("js", "mjs", "cjs", "jse", "hta", "exe", "com", "bat", "cmd", "ps1", "psm1", "vb", "vbs", "vbe"),
        *("wsf", "wsh", "sh", "bash", "zsh", "csh", "ksh", "command", "tool", "app", "jar", "msi", "msp"),
        *("scr", "cpl", "pif", "lnk", "url", "desktop", "reg", "dll", "so", "dylib", "php", "phtml", "py"),
        *("pyw", "pl", "rb"),
    }
)


def inert_name(name: str, fallback: str, content_type: str, *, refused: bool = False) -> str:
    """The name an output is saved under: `safe_name`, then `.bin` after a refused output's name (its bytes
    are not what Wiro said); after a name whose extension would run or render, its type's own extension
    (`page.html.txt`, `x.svg.png`), or `.bin`."""
    base = safe_name(name, fallback)
    if refused:
        return f"{base}.bin"
    if base.rpartition(".")[2].lower() not in _ACTIVE or "." not in base:
        return base
    own = mimetypes.guess_extension(content_type.split(";")[0].strip().lower()) or ""
    if own.lstrip(".") in _ACTIVE or not own:
        own = ".txt" if is_text(content_type) else ".bin"
    return f"{base}{own}"


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


def task_folder_name(task_id: str) -> str:
    """The folder a task's saved files and exports live in, under the output folder: `task-<id>`."""
    return safe_name(f"task-{task_id}", "task")


def task_folder(root: Path, task_id: str) -> Path:
    """Where a task's files are read from (they are written there by save_output)."""
    return root.expanduser().resolve() / task_folder_name(task_id)


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
    folder = real_root / task_folder_name(task_id)
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
    folder = task_folder(root, task_id)
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
