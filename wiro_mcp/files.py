"""Output files: bounded downloads, image type sniffing, and saving without ever leaving the folder.

Nothing here knows MCP.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2

from .errors import DownloadError, SaveError
from .safe_text import redact_url

DOWNLOAD_MAX_BYTES = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30.0

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


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str


async def download(
    http: httpx2.AsyncClient,
    url: str,
    *,
    max_bytes: int = DOWNLOAD_MAX_BYTES,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> Downloaded:
    """Fetch an output with a size cap, a time limit for the whole transfer, and a check that it
    really is an image."""
    shown = redact_url(url)
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"refusing to download {shown!r}: not an http(s) URL")
    if timeout <= 0:
        raise DownloadError(f"no time was left to download {shown}")
    try:
        with anyio.fail_after(timeout):
            async with http.stream(
                "GET", url, timeout=httpx2.Timeout(timeout, connect=min(10.0, timeout)), follow_redirects=True
            ) as response:
                if response.status_code != 200:
                    raise DownloadError(f"downloading {shown} answered HTTP {response.status_code}")
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise DownloadError(f"{shown} is {declared} bytes, over the {max_bytes}-byte limit")
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise DownloadError(f"{shown} is over the {max_bytes}-byte limit")
                    chunks.append(chunk)
                header_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except (httpx2.TimeoutException, TimeoutError) as exc:
        raise DownloadError(f"downloading {shown} took longer than {timeout:.0f} s") from exc
    except httpx2.TransportError as exc:
        raise DownloadError(f"downloading {shown} failed: {type(exc).__name__}") from exc
    data = b"".join(chunks)
    sniffed = sniff_image_type(data)
    if sniffed is None:
        raise DownloadError(f"{shown} is not an image (served as {header_type or 'no content type'})")
    return Downloaded(data=data, content_type=sniffed)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str) -> str:
    """A file name from an untrusted one: last path component only, no leading dots, plain characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = _UNSAFE.sub("_", base).lstrip(".")[:120]
    return base if base and base not in (".", "..") else fallback


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


def _same_regular_file(dir_fd: int, name: str, data: bytes) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return False  # a symlink (ELOOP) or gone: not ours
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return False
        return handle.read(len(data) + 1) == data
