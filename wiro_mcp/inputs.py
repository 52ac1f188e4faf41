"""Local input images: what may be uploaded, and the checks that come before anything is sent.

A URL is passed on to Wiro as it is. A local path is uploaded only if, after resolving every
symlink, it lies inside a folder of WIRO_MCP_INPUT_DIRS or a root the MCP client declared; it
must be a regular file under the size cap whose bytes (not its name) say it is an image.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from .client import FileUpload
from .media import sniff_image_type

INPUT_MAX_BYTES = 20 * 1024 * 1024


class InputRefused(ValueError):
    """A local input that may not or cannot be uploaded; the message says why and what to do."""


def is_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def path_from(value: str) -> Path:
    """A local path from an argument: a plain path, ~/…, or a file:// URI."""
    if value.startswith("file://"):
        parsed = urlparse(value)
        return Path(unquote(parsed.path))
    return Path(value).expanduser()


def roots_from_uris(uris: Sequence[str]) -> list[Path]:
    """MCP roots are file:// URIs; anything else is not a local folder."""
    return [path_from(uri) for uri in uris if uri.startswith("file://")]


def load_local_image(
    value: str, allowed: Sequence[Path], *, max_bytes: int = INPUT_MAX_BYTES, argument: str = "input_image"
) -> FileUpload:
    """Check a local path against the allowed folders and read it as an upload, or refuse."""
    if not allowed:
        raise InputRefused(
            f"{argument} {value!r} is a local path, and this server may not read local files: pass an "
            "https:// URL instead, or have the server's operator set WIRO_MCP_INPUT_DIRS to the folders "
            "it may upload from (MCP client roots are accepted too)."
        )
    path = path_from(value)
    if not path.is_absolute():
        raise InputRefused(f"{argument} {value!r} must be an absolute path (or an https:// URL).")
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InputRefused(f"{argument} {value!r} does not exist.") from None
    folders = []
    for folder in allowed:
        try:
            folders.append(folder.expanduser().resolve(strict=True))
        except (OSError, RuntimeError):
            continue
    if not any(real == f or real.is_relative_to(f) for f in folders):
        shown = ", ".join(str(f) for f in folders) or "(none of them exist)"
        raise InputRefused(
            f"{argument} {value!r} is outside the folders this server may upload from"
            f"{' once its links are resolved' if real != path else ''}: {shown}."
        )
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise InputRefused(f"{argument} {value!r} cannot be read: {exc.strerror}.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputRefused(f"{argument} {value!r} is not a regular file.")
        if info.st_size > max_bytes:
            raise InputRefused(
                f"{argument} {value!r} is {info.st_size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit."
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputRefused(f"{argument} {value!r} is over the {max_bytes / 2**20:.0f} MiB limit.")
    mime = sniff_image_type(data)
    if mime is None:
        raise InputRefused(f"{argument} {value!r} is not an image (PNG, JPEG, WebP, GIF or BMP), whatever its name.")
    return FileUpload(filename=real.name, content=data, content_type=mime)
