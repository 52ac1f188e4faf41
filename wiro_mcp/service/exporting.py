"""export_panorama: a finished panorama as skybox files (media/exports.py), written into the output
folder under the same confinement as saved outputs and recorded in the task folder's manifest
(media/manifest.py), and read back as resources: only files this server wrote, unchanged. Nothing
reaches Wiro but the read of the task (and one download of its picture, shared with the viewer and
view_panorama); nothing is billed. Every refusal says what to pass instead and writes nothing.

An export at face_size 2048 is seconds of CPU and tens of MB: at most EXPORTS_AT_ONCE are made at once
(one Exporter per service, one service per process), the others wait their turn up to
budgets.EXPORT_WAIT and are then refused as busy, having written nothing. The memory an export frees
goes back to the system (glibc's thresholds fixed, then malloc_trim after each): glibc would keep it for
later, and a server idles for hours.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import anyio.to_thread

from .. import budgets
from ..errors import CallFailed, OutputFileError
from ..media import exports, manifest
from ..media.files import read_saved, save_output, task_folder
from ..media.previews import Preview, fit_jpeg, preview_budgets
from ..media.reading import OutputReader
from ..results import ExportedFile, PanoramaExport
from ..text import clip
from ..wiro.refs import TaskRef

if TYPE_CHECKING:
    from ..media.projection import Pixels

# Exports made at once: two cores' worth; each holds its files' encodings and a band of rows.
EXPORTS_AT_ONCE = 2
BUSY = (
    "The server is busy making other exports (at most {at_once} at once) and this one waited {waited:g} s for its "
    "turn; nothing was written. Call export_panorama again in a minute."
)


@dataclass(frozen=True)
class Exported:
    export: PanoramaExport
    sheet: Preview


class Exporter:
    def __init__(self, outputs: OutputReader, folder: Path) -> None:
        self._outputs = outputs
        self._folder = folder
        self._turns = anyio.Semaphore(EXPORTS_AT_ONCE)

    async def export(self, task_id: str, fmt: str, face_size: int | None, name: str | None) -> Exported:
        if fmt not in exports.FORMATS:
            raise CallFailed(f"format {clip(fmt)} is not one of {', '.join(exports.FORMATS)}; nothing was written.")
        if face_size is not None and not exports.FACE_MIN <= face_size <= exports.FACE_MAX:
            raise CallFailed(
                f"face_size {face_size} is outside {exports.FACE_MIN}-{exports.FACE_MAX}; leave it out for "
                "width/4 (512 for a 2048×1024 panorama). Nothing was written."
            )
        result, output, pixels = await self._outputs.panorama(task_id, name, doing="exported as a skybox")
        size = face_size or max(exports.FACE_MIN, min(exports.FACE_MAX, pixels.shape[1] // 4))
        title = f"Task {result.task_id}: {result.prompt or output}"
        made = functools.partial(self._make, self._folder, result.task_id, pixels, fmt, size, title)
        await self._wait_turn()
        try:
            written, preview = await anyio.to_thread.run_sync(made)
        finally:
            self._turns.release()
        cube = fmt in ("cubemap", "cross", "godot")
        export = PanoramaExport(
            task_id=result.task_id,
            output=output,
            format=fmt,
            face_size=size if cube else None,
            files=written,
            use=exports.USES[fmt],
        )
        return Exported(export, preview)

    async def read(self, task_id: str, name: str) -> bytes:
        """One exported file, for the wiro://tasks/{id}/exports/{name} resource: only one this server wrote
        there, as it wrote it."""
        await self._outputs.check(TaskRef(task_id=task_id))
        try:
            return await anyio.to_thread.run_sync(_read, self._folder, task_id, name)
        except OutputFileError as exc:
            raise CallFailed(f"{exc}; export_panorama writes the files this resource serves (again).") from exc

    async def _wait_turn(self) -> None:
        with anyio.move_on_after(budgets.EXPORT_WAIT) as waiting:
            await self._turns.acquire()
        if waiting.cancelled_caught:
            raise CallFailed(BUSY.format(at_once=EXPORTS_AT_ONCE, waited=budgets.EXPORT_WAIT))

    @staticmethod
    def _make(
        folder: Path, task_id: str, pixels: Pixels, fmt: exports.Format, size: int, title: str
    ) -> tuple[list[ExportedFile], Preview]:
        """Each file written as soon as it is made, then the contact sheet (in a worker thread)."""
        _keep_memory_returnable()
        placed: list[tuple[int, ExportedFile]] = []
        try:
            for file in exports.files(pixels, fmt, size, title):
                placed.append((file.place, _write(folder, task_id, file, _sized(file.name, size, fmt))))
                del file  # its bytes go before the next file is made
            preview = fit_jpeg(exports.contact_sheet(pixels, fmt), preview_budgets(1))
        finally:
            _give_back_memory()
        return [written for _, written in sorted(placed, key=lambda item: item[0])], preview


def _write(folder: Path, task_id: str, file: exports.ExportFile, named: str) -> ExportedFile:
    try:
        path = save_output(folder, task_id, named, file.data, named)
        manifest.record(path.parent, path.name, file.data)
    except (OutputFileError, OSError) as exc:
        raise CallFailed(f"Writing {named} failed: {exc}") from exc
    uri = f"wiro://tasks/{quote(task_id, safe='')}/exports/{quote(path.name, safe='')}"
    return ExportedFile(name=path.name, path=str(path), uri=uri, content_type=file.content_type, size=len(file.data))


def _read(folder: Path, task_id: str, name: str) -> bytes:
    found = manifest.entry(task_folder(folder, task_id), name)
    data = read_saved(folder, task_id, name)
    manifest.check_bytes(found, name, data)
    return data


def _sized(name: str, size: int, fmt: str) -> str:
    """skybox-px.png → skybox512_px.png: exports of several sizes live side by side."""
    if fmt in ("equirect", "html"):
        return name
    stem, _, face = name.removesuffix(".png").partition("-")
    return f"{stem}{size}_{face}.png"


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library if it is glibc; None elsewhere (musl, macOS, Windows), where memory is left to it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


@functools.cache
def _keep_memory_returnable() -> None:
    """Fixed allocation thresholds, set once. Once a large block is freed glibc raises its own: later blocks
    up to 32 MB come from the thread's arena, and up to 64 MB free at an arena's end is kept, which
    malloc_trim leaves alone outside the main thread's arena (six exports at face_size 2048 left the server
    30-60 MB larger, not 3). With these, a block of 1 MB or more is mapped alone and unmapped when freed,
    and an arena keeps at most 8 MB free at its end (less would fault in each band's pages again)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 8 << 20)


def _give_back_memory() -> None:
    """Hand the freed pages of every arena back to the system (malloc_trim), where glibc is the C library."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
