"""Reading what tasks made, on demand: one output's bytes, the 360° viewer's rendition, and perspective
views of a panorama. What this process has already downloaded or decoded is used again (one download
per output); otherwise the task is read afresh (through the service's bounded read)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from .. import budgets
from ..errors import CallFailed, WiroMCPError
from ..results import PanoramaView, TaskResult
from ..text import clip, shown
from ..wiro.refs import TaskRef
from .fetch import Fetcher
from .panoramas import Panoramas, render_flat

if TYPE_CHECKING:
    from .projection import Pixels
from .previews import Preview, make_preview

RENDITION_MAX_BYTES = 1_000_000
RENDITION_MAX_SIDE = 4096


class OutputReader:
    def __init__(
        self,
        read: Callable[[str], Awaitable[TaskResult]],
        fetcher: Fetcher,
        check: Callable[[TaskRef], Awaitable[None]],
    ) -> None:
        self._read = read
        self._check = check  # the caller may see the task (a read checks it too)
        self._fetcher = fetcher
        self.panoramas = Panoramas(fetcher)

    async def file(self, task_id: str, name: str) -> bytes:
        """The bytes of one output of a succeeded task, by name or by its index in `outputs`."""
        result = await self._read(task_id)
        match = result.output(name)
        if match is None:
            names = ", ".join(shown(o.name, 60) for o in result.outputs[:10]) or "none"
            raise CallFailed(f"Task {clip(task_id, 40)} ({result.state}) has no output {clip(name)}; outputs: {names}")
        try:
            return (await self._fetcher.download_file(match.url, declared=match.content_type)).data
        except WiroMCPError as exc:
            raise CallFailed(f"Reading {name} of task {task_id} failed: {exc}") from exc

    async def rendition(self, task_id: str, name: str) -> bytes:
        """One output as a JPEG for viewers: full resolution up to 4096 px wide, at most ~1 MB. A panorama
        this process has decoded is rendered from memory: no read of the task, no download."""
        pixels = self.panoramas.cache.get((task_id, name))
        if pixels is not None:
            await self._check(TaskRef(task_id=task_id))
            shot = await anyio.to_thread.run_sync(render_flat, pixels, RENDITION_MAX_BYTES, RENDITION_MAX_SIDE)
            return shot.data
        data = await self.file(task_id, name)
        shot = await anyio.to_thread.run_sync(make_preview, data, RENDITION_MAX_BYTES, RENDITION_MAX_SIDE)
        return shot.data

    async def check(self, ref: TaskRef) -> None:
        """Whether the caller may see the task (CallFailed "not found" when not)."""
        await self._check(ref)

    async def panorama(self, task_id: str, name: str | None, *, doing: str) -> tuple[TaskResult, str, Pixels]:
        """A succeeded task's 2:1 panorama, decoded (once): (its result, the output's name, the pixels)."""
        result = await self._read(task_id)
        output, pixels = await self.panoramas.panorama(result, name, timeout=budgets.LOOK_TIMEOUT, doing=doing)
        return result, output.name, pixels

    async def look(
        self, task_id: str, *, output: str | None = None, yaw: float, pitch: float, fov: float, size: int
    ) -> tuple[PanoramaView, Preview]:
        """A perspective view of a succeeded panorama (downloaded once, then from the cache)."""
        result = await self._read(task_id)
        return await self.panoramas.look(
            result, output, yaw=yaw, pitch=pitch, fov=fov, size=size, timeout=budgets.LOOK_TIMEOUT
        )
