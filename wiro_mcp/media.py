"""Output files: bounded downloads, image type sniffing, previews an agent can see, safe saving.

Nothing here knows MCP. Pillow is imported inside the functions that need it, so a server that
never makes a preview never pays for it, and all image work runs in worker threads.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2

from .errors import WiroConnectionError, WiroError, WiroTimeoutError

if TYPE_CHECKING:
    from PIL import Image as PILImage

# A preview's long side: what vision models use without downscaling again.
PREVIEW_MAX_SIDE = 1568
# Raw bytes for all previews of one result: base64 adds a third, so ~700 KB on the wire,
# well under the 1 MB that some hosts allow for a whole tool result.
PREVIEW_TOTAL_BUDGET = 520_000
PREVIEW_MAX_BYTES = 400_000
DOWNLOAD_MAX_BYTES = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)

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


class DownloadError(WiroError):
    """An output could not be fetched within the limits."""


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    content_type: str


async def download(
    http: httpx2.AsyncClient,
    url: str,
    *,
    max_bytes: int = DOWNLOAD_MAX_BYTES,
    timeout: httpx2.Timeout = DOWNLOAD_TIMEOUT,
) -> Downloaded:
    """Fetch an output with a size cap, a timeout and a check that it really is an image."""
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"refusing to download {url!r}: not an http(s) URL")
    try:
        async with http.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code != 200:
                raise DownloadError(f"downloading {url} answered HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise DownloadError(f"{url} is {declared} bytes, over the {max_bytes}-byte limit")
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise DownloadError(f"{url} is over the {max_bytes}-byte limit")
                chunks.append(chunk)
            header_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except httpx2.TimeoutException as exc:
        raise WiroTimeoutError(f"downloading {url} timed out") from exc
    except httpx2.TransportError as exc:
        raise WiroConnectionError(f"downloading {url} failed: {type(exc).__name__}") from exc
    data = b"".join(chunks)
    sniffed = sniff_image_type(data)
    if sniffed is None:
        raise DownloadError(f"{url} is not an image (served as {header_type or 'no content type'})")
    return Downloaded(data=data, content_type=sniffed)


@dataclass(frozen=True)
class Preview:
    data: bytes
    mime_type: str
    width: int
    height: int


def make_preview(data: bytes, budget: int, max_side: int = PREVIEW_MAX_SIDE) -> Preview:
    """A JPEG with the long side at most `max_side` and at most `budget` bytes, aspect ratio kept.

    Quality steps down first; if even the lowest quality is too big, the image shrinks and
    the search starts again. Runs in a worker thread (CPU-bound).
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as source:
        source.load()
        image = _flatten(source)
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    while True:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        for quality in (85, 75, 65, 55, 45):
            buffer = io.BytesIO()
            resized.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
            if buffer.tell() <= budget:
                return Preview(buffer.getvalue(), "image/jpeg", size[0], size[1])
        if max(size) <= 64:
            return Preview(buffer.getvalue(), "image/jpeg", size[0], size[1])
        scale *= 0.75


def _flatten(image: PILImage.Image) -> PILImage.Image:
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def preview_budgets(count: int) -> int:
    """Bytes each of `count` previews may take so that all of them fit one result."""
    return min(PREVIEW_MAX_BYTES, PREVIEW_TOTAL_BUDGET // max(1, count))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str) -> str:
    """A file name from an untrusted one: last path component only, no leading dots, plain characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = _UNSAFE.sub("_", base).lstrip(".")[:120]
    return base if base and base not in (".", "..") else fallback


class SaveError(WiroError):
    """An output could not be written safely."""


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
