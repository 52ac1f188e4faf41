"""Local input images: what may be uploaded, and the checks that come before anything is sent.

A URL is passed on to Wiro as it is. A local path is uploaded only if, after resolving every
symlink, it lies inside a folder of WIRO_MCP_INPUT_DIRS or a root the MCP client declared; it
must be a regular file under the size cap whose bytes (not its name) say it is an image.

What is read is provably what was checked: the allowed folder is opened, and the resolved path is
then opened one component at a time relative to it with O_NOFOLLOW, so a folder swapped for a
symlink between the check and the open fails instead of leading outside. Opening is
non-blocking and the file's type is checked on the descriptor before a byte is read, so a FIFO
or a device cannot hang the server. Callers run `load_local_image` in a worker thread.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio.to_thread

from ..catalog import ModelSpec
from ..errors import InputRefused
from ..media.files import sniff_image_type
from ..text import clip
from ..wiro.client import FileUpload

# The client's roots, asked only when a local path needs them.
InputFolders = Callable[[], Awaitable[list[Path]]]

INPUT_MAX_BYTES = 20 * 1024 * 1024

# Where the platform lets us open relative to a directory descriptor without following links.
_WALKS = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")


def is_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


HTTPS_ONLY = "must be an https:// URL (Wiro fetches it; plain http:// is refused) or a local path in an allowed folder"


def path_from(value: str) -> Path:
    """A local path from an argument: a plain path, ~/…, or a file:// URI."""
    if value.startswith("file://"):
        parsed = urlparse(value)
        return Path(unquote(parsed.path))
    return Path(value).expanduser()


def roots_from_uris(uris: Sequence[str]) -> list[Path]:
    """MCP roots are file:// URIs; anything else is not a local folder."""
    return [path_from(uri) for uri in uris if uri.startswith("file://")]


async def take_uploads(
    spec: ModelSpec, inputs: dict[str, Any], allowed: list[Path], more_folders: InputFolders | None = None
) -> dict[str, FileUpload]:
    """Move the local paths out of a run's `inputs` into checked uploads (read in a worker thread);
    URLs stay where they are. Raises InputRefused."""
    files: dict[str, FileUpload] = {}
    for item in spec.inputs:
        value = inputs.get(item.wire_id)
        if not item.is_file or not isinstance(value, str):
            continue
        shown = item.arg_name if spec.curated else item.id
        several = value.split(",") if item.type == "multifileinput" else [value]
        for one in several:
            if one.startswith("http://"):
                raise InputRefused(f"{shown} {clip(one)} {HTTPS_ONLY}.")
            if not is_url(one) and len(several) > 1:
                raise InputRefused(f"{shown}: several files go as https:// URLs; {clip(one)} is not one.")
        if is_url(value):
            continue
        folders = allowed + (await more_folders() if more_folders is not None else [])
        load = functools.partial(load_local_image, value, folders, argument=shown)
        files[item.id] = await anyio.to_thread.run_sync(load)  # a real file goes as the part `{id}`
        del inputs[item.wire_id]
    return files


def load_local_image(
    value: str, allowed: Sequence[Path], *, max_bytes: int = INPUT_MAX_BYTES, argument: str = "input_image"
) -> FileUpload:
    """Check a local path against the allowed folders and read it as an upload, or refuse."""
    shown = f"{argument} {clip(value)}"
    if not allowed:
        raise InputRefused(
            f"{shown} is a local path, and this server may not read local files: pass an https:// URL "
            "instead, or have the server's operator set WIRO_MCP_INPUT_DIRS to the folders it may upload "
            "from (MCP client roots are accepted too)."
        )
    if "\x00" in value:
        raise InputRefused(f"{shown} contains a NUL character, which no file name can hold.")
    path = path_from(value)
    if not path.is_absolute():
        raise InputRefused(f"{shown} must be an absolute path (or an https:// URL).")
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InputRefused(f"{shown} does not exist.") from None
    folders = []
    for folder in allowed:
        try:
            folders.append(folder.expanduser().resolve(strict=True))
        except (OSError, RuntimeError):
            continue
    home = next((f for f in folders if real == f or real.is_relative_to(f)), None)
    if home is None:
        listed = ", ".join(str(f) for f in folders) or "(none of them exist)"
        raise InputRefused(
            f"{shown} is outside the folders this server may upload from"
            f"{' once its links are resolved' if real != path else ''}: {listed}."
        )
    fd = _open_inside(home, real.relative_to(home), shown)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputRefused(f"{shown} is not a regular file.")
        if info.st_size > max_bytes:
            raise InputRefused(
                f"{shown} is {info.st_size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit."
            )
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputRefused(f"{shown} is over the {max_bytes / 2**20:.0f} MiB limit.")
    mime = sniff_image_type(data)
    if mime is None:
        raise InputRefused(f"{shown} is not an image (PNG, JPEG, WebP, GIF or BMP), whatever its name.")
    return FileUpload(filename=real.name, content=data, content_type=mime)


def _open_inside(folder: Path, relative: Path, shown: str) -> int:
    """A non-blocking read descriptor for `folder/relative` that cannot have left `folder`."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    changed = f"{shown} changed while it was being opened (a link appeared in its path); nothing was read."
    if not _WALKS:  # pragma: no cover - Windows: open the resolved path, then check it is still that path
        try:
            fd = os.open(folder / relative, flags | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise InputRefused(f"{shown} cannot be read: {exc.strerror}.") from None
        if os.path.realpath(folder / relative) != str(folder / relative):
            os.close(fd)
            raise InputRefused(changed)
        return fd
    parts = relative.parts
    try:
        current = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise InputRefused(f"{shown} cannot be read: {exc.strerror}.") from None
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                step = os.open(part, flags if last else os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=current)
            except OSError as exc:
                # ELOOP (a symlink) or ENOTDIR: the path is no longer the one that was checked.
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise InputRefused(changed) from None
                raise InputRefused(f"{shown} cannot be read: {exc.strerror}.") from None
            os.close(current)
            current = step
        if not parts:
            raise InputRefused(f"{shown} is not a regular file (it is a folder).")
        return current
    except BaseException:
        os.close(current)
        raise
