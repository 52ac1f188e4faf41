"""A finished task becomes what the agent and the person receive, within a time limit.

For a succeeded task: download each output once (bounded), save it under WIRO_MCP_OUTPUT_DIR when
that is set, and make a preview image the agent can see. A panorama is also decoded (and kept for
view_panorama, so reading it again costs no download), checked for a seam, and previewed as a sheet
of perspective views. A download or
save problem never loses the result: it becomes a note, and the URLs stay. No MCP here.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import anyio.to_thread

from .. import budgets
from ..errors import OutputFileError
from ..results import TaskResult
from ..text import shown
from .fetch import Fetcher
from .files import Downloaded, save_output
from .panoramas import PanoramaCache, study
from .previews import Preview, make_preview, preview_budgets

if TYPE_CHECKING:
    from .projection import Pixels

# What preview an agent gets: for a panorama the sheet of views (or the flat picture); for an image,
# either means the image.
PreviewKind = Literal["views", "flat", "none"]
SHEET_NOTE = (
    "The preview is a sheet of true perspective views: FRONT, RIGHT, BACK, LEFT (yaw 0, 90, 180, -90) "
    "on top, then UP, DOWN and the whole panorama; view_panorama looks in any direction."
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedFile:
    output: str
    path: Path
    content_type: str
    size: int


@dataclass
class Outcome:
    """What a task tool hands back: the result, previews the agent can see, saved files, and notes
    (each a line of text for the agent: a reused task, a stale status, a file that failed)."""

    result: TaskResult
    previews: list[Preview] = field(default_factory=list)
    saved: list[SavedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A small flat picture of a panorama, for a 360° viewer to show first (never put before the model).
    thumbnail: Preview | None = None
    # What happened, when the call did something the summary does not say (a stop): it replaces the
    # summary's first sentence.
    headline: str | None = None


async def deliver(
    result: TaskResult,
    fetcher: Fetcher,
    *,
    preview: PreviewKind,
    output_dir: Path | None,
    deadline: float,
    panorama: bool = False,
    cache: PanoramaCache | None = None,
    viewer: bool = False,
) -> Outcome:
    """Downloads, saved files and previews for a succeeded task; nothing for any other. `panorama`:
    the outputs are panoramas (always checked); `viewer`: also make a thumbnail for a 360° viewer."""
    delivery = Outcome(result)
    wanted = preview != "none" or output_dir is not None or panorama
    if result.state != "succeeded" or not result.outputs or not wanted:
        return delivery
    problems: list[str] = []
    files: list[Downloaded | None] = [None] * len(result.outputs)

    def decoded(index: int) -> Pixels | None:
        return cache.get((result.task_id, result.outputs[index].name)) if panorama and cache is not None else None

    async def fetch_one(index: int) -> None:
        output = result.outputs[index]
        if output_dir is None and ((preview == "none" and not panorama) or decoded(index) is not None):
            return  # nothing to save, and nothing to look at that is not already decoded
        try:
            left = min(budgets.DOWNLOAD_TIMEOUT, deadline - anyio.current_time())
            files[index] = downloaded = await fetcher.download(output.url, timeout=left)
        except OutputFileError as exc:
            problems.append(f"{shown(output.name)}: {exc.message}")
            return
        output.content_type = downloaded.content_type  # what the bytes are, whatever Wiro declared

    async with anyio.create_task_group() as group:
        for index in range(len(result.outputs)):
            group.start_soon(fetch_one, index)

    if output_dir is not None:
        for index, (output, file) in enumerate(zip(result.outputs, files, strict=True)):
            if file is None:
                continue
            try:
                path = await anyio.to_thread.run_sync(
                    save_output, output_dir, result.task_id, output.name, file.data, f"output-{index}.png"
                )
            except (OutputFileError, OSError) as exc:
                problems.append(f"saving {shown(output.name)}: {exc}")
                continue
            output.path = str(path)
            delivery.saved.append(SavedFile(output.name, path, file.content_type, len(file.data)))
    budget = preview_budgets(len(result.outputs))
    for index, (output, file) in enumerate(zip(result.outputs, files, strict=True)):
        kept = decoded(index)
        source: bytes | Pixels | None = kept if kept is not None else (file.data if file is not None else None)
        if source is None or not (panorama or preview != "none"):
            continue
        try:
            if panorama:
                studying = functools.partial(study, source, preview=preview, budget=budget, viewer=viewer)
                pixels, studied = await anyio.to_thread.run_sync(studying)
                if cache is not None:
                    cache.put((result.task_id, output.name), pixels)
                output.panorama = studied.info
                shot = studied.preview
                delivery.thumbnail = delivery.thumbnail or studied.thumbnail
            else:
                assert isinstance(source, bytes)
                shot = await anyio.to_thread.run_sync(make_preview, source, budget)
        except OutputFileError as exc:  # too large to decode: said as it is
            problems.append(f"preview of {shown(output.name)}: {exc.message}")
            continue
        except Exception as exc:  # a corrupt image must not lose the result
            log.warning("preview of %s failed: %r", output.name, exc)
            problems.append(f"preview of {shown(output.name)}: {type(exc).__name__}")
            continue
        if shot is not None:
            output.preview = f"{shot.width}x{shot.height} JPEG, {len(shot.data)} bytes"
            delivery.previews.append(shot)
    if panorama and preview == "views" and delivery.previews:
        delivery.notes.append(SHEET_NOTE)
    if problems:
        delivery.notes.append(
            "Some files could not be fetched or saved (the URLs above still work): " + "; ".join(problems)
        )
    return delivery
