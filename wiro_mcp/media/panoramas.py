"""Panoramas the server has looked at: downloaded and decoded once, kept in a cache bounded by bytes,
and what is made of them (the seam check, the view sheet, single views, a thumbnail for the viewer).

The CPU work (decoding, projecting, encoding) runs in worker threads; numpy and Pillow are imported
there, on first use, so a server that never looks at a panorama never loads them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from ..catalog import spec_of
from ..errors import CallFailed, LocalError
from ..results import OutputInfo, PanoramaInfo, PanoramaView, TaskResult
from ..text import clip, shown
from .caches import BoundedCache
from .fetch import Fetcher
from .previews import PREVIEW_MAX_BYTES, Preview, fit_jpeg
from .projection import check_seam, decoded_pixels, perspective
from .sheet import view_sheet

if TYPE_CHECKING:
    from .projection import Pixels

CACHE_BYTES = 96 * 2**20  # about fifteen 2048×1024 panoramas
VIEW_SIZE = 768
THUMBNAIL_SIDE = 1024
THUMBNAIL_BYTES = 120_000


def panorama_cache(limit: int | None = None) -> BoundedCache[tuple[str, str], Pixels]:
    """Decoded panoramas by (task id, output name), bounded by their bytes."""
    return BoundedCache(CACHE_BYTES if limit is None else limit, lambda pixels: int(pixels.nbytes))


@dataclass
class PanoramaStudy:
    """What delivery learns from one panorama output."""

    info: PanoramaInfo
    preview: Preview | None
    thumbnail: Preview | None


def study(source: bytes | Pixels, *, preview: str, budget: int, viewer: bool) -> tuple[Pixels, PanoramaStudy]:
    """Decode a panorama (unless it comes decoded); check its seam and shape; make its preview ("views":
    the sheet, "flat": a thumbnail, "none") and, for a 360° viewer, a small flat JPEG to show first.
    CPU-bound."""
    from PIL import Image

    if isinstance(source, bytes):
        pixels, (width, height) = decoded_pixels(source)
    else:
        pixels, (height, width) = source, source.shape[:2]
    seam = check_seam(pixels)
    info = PanoramaInfo(
        width=width, height=height, equirectangular=seam.equirectangular, seam_score=seam.score, seam=seam.verdict
    )
    shot = None
    if preview == "views":
        shot = fit_jpeg(view_sheet(pixels), budget)
    elif preview == "flat":
        shot = fit_jpeg(Image.fromarray(pixels), budget)
    thumbnail = fit_jpeg(Image.fromarray(pixels), THUMBNAIL_BYTES, THUMBNAIL_SIDE) if viewer else None
    return pixels, PanoramaStudy(info, shot, thumbnail)


def render_flat(pixels: Pixels, budget: int, max_side: int) -> Preview:
    """A decoded panorama as a flat JPEG (the viewer's rendition)."""
    from PIL import Image

    return fit_jpeg(Image.fromarray(pixels), budget, max_side)


def render_view(pixels: Pixels, *, yaw: float, pitch: float, fov: float, size: int) -> Preview:
    from PIL import Image

    view = perspective(pixels, yaw=yaw, pitch=pitch, fov=fov, width=size, height=size)
    return fit_jpeg(Image.fromarray(view), PREVIEW_MAX_BYTES)


def wrap_yaw(yaw: float) -> float:
    """Any yaw as the same direction in (-180, 180]."""
    wrapped = math.remainder(yaw, 360.0)
    return 180.0 if wrapped == -180.0 else wrapped + 0.0


class Panoramas:
    def __init__(self, fetcher: Fetcher, cache: BoundedCache[tuple[str, str], Pixels] | None = None) -> None:
        self._fetcher = fetcher
        self.cache = cache if cache is not None else panorama_cache()
        # One download and one decode per panorama however many views ask for it at once.
        self._fetching: dict[tuple[str, str], _Shared] = {}

    async def pixels(self, task_id: str, output: OutputInfo, *, timeout: float) -> Pixels:
        """The decoded panorama: from the cache, or downloaded and decoded once for every caller waiting."""
        key = (task_id, output.name)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        shared = self._fetching.get(key)
        if shared is not None:
            return await shared.result()
        shared = self._fetching[key] = _Shared()
        try:
            data = (await self._fetcher.download(output.url, timeout=timeout)).data
            pixels, _ = await anyio.to_thread.run_sync(decoded_pixels, data)
            self.cache.put(key, pixels)
            shared.done(pixels)
            return pixels
        except BaseException as exc:
            shared.done(exc if isinstance(exc, Exception) else CallFailed("The read was cancelled; call again."))
            raise
        finally:
            self._fetching.pop(key, None)

    async def look(
        self,
        result: TaskResult,
        output_name: str | None,
        *,
        yaw: float,
        pitch: float,
        fov: float,
        size: int,
        timeout: float,
    ) -> tuple[PanoramaView, Preview]:
        """A perspective view of the task's panorama, or a CallFailed that says what to pass instead."""
        task_id = result.task_id
        output, pixels = await self.panorama(result, output_name, timeout=timeout, doing="looked around in")
        yaw = wrap_yaw(yaw)
        render = functools.partial(render_view, pixels, yaw=yaw, pitch=pitch, fov=fov, size=size)
        shot = await anyio.to_thread.run_sync(render)
        view = PanoramaView(
            task_id=task_id, output=output.name, yaw=yaw, pitch=pitch, fov=fov, width=shot.width, height=shot.height
        )
        return view, shot

    async def panorama(
        self, result: TaskResult, output_name: str | None, *, timeout: float, doing: str
    ) -> tuple[OutputInfo, Pixels]:
        """A succeeded task's 2:1 panorama, decoded (once), or a CallFailed saying what to pass instead."""
        task_id = result.task_id
        output = _panorama_output(result, output_name, doing)
        try:
            pixels = await self.pixels(task_id, output, timeout=timeout)
        except LocalError as exc:
            raise CallFailed(f"Reading task {task_id}'s panorama failed: {exc}") from exc
        rows, columns = pixels.shape[:2]
        if columns != 2 * rows:
            raise CallFailed(
                f"Task {task_id}'s {output.name} is {columns}×{rows}, not a 2:1 equirectangular panorama, so it "
                f"cannot be {doing}; its preview in get_task shows it as it is."
            )
        return output, pixels


class _Shared:
    """One download-and-decode that several callers wait for."""

    def __init__(self) -> None:
        self._event = anyio.Event()
        self._value: Pixels | Exception | None = None

    def done(self, value: Pixels | Exception) -> None:
        self._value = value
        self._event.set()

    async def result(self) -> Pixels:
        await self._event.wait()
        if isinstance(self._value, Exception):
            raise self._value
        assert self._value is not None
        return self._value


def _panorama_output(result: TaskResult, name: str | None, doing: str) -> OutputInfo:
    """The output to look at (or export: `doing` says which): a succeeded panorama's, by name when it has
    several."""
    task_id = result.task_id
    spec = spec_of(result.model)
    if result.state != "succeeded":
        waiting = "call get_task with wait_seconds first" if result.next_action else "there is nothing to look at"
        raise CallFailed(f"Task {task_id} is {result.state}, not succeeded: {waiting}.")
    if spec is not None and not spec.panorama:
        raise CallFailed(
            f"Task {task_id} made images with {spec.model} ({spec.tool}), not a 360° panorama, so it cannot be "
            f"{doing}: that takes what generate_panorama (or another panorama model) made. Its previews come "
            "with get_task."
        )
    names = [shown(o.name, 60) for o in result.outputs[:10]]
    chosen = next((o for o in result.outputs if o.name == name), None) if name else None
    if chosen is None and (name is not None or len(result.outputs) != 1):
        asked = f"has no output {clip(name)}" if name else "has several outputs"
        raise CallFailed(f"Task {task_id} {asked}: pass name as one of {', '.join(names) or 'none'}.")
    return chosen or result.outputs[0]
