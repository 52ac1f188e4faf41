"""A finished task becomes what the agent and the person receive, within a time limit.

For a succeeded task: download each output once (bounded), save it under WIRO_MCP_OUTPUT_DIR when
that is set, and make a preview image the agent can see. Outputs that are not pictures (video, audio,
3D) are downloaded only to be saved; a short text output (an LLM's answer) is read and put inline, a
long one is left as a resource to read. A panorama is also decoded (and kept for
view_panorama, so reading it again costs no download), checked for a seam, and previewed as a sheet
of perspective views. A download or
save problem never loses the result: it becomes a note, and the URLs stay. No MCP here.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import anyio
import anyio.to_thread

from .. import budgets
from ..errors import OutputFileError
from ..results import OutputInfo, PreviewKind, TaskResult
from ..text import shown
from .caches import BoundedCache
from .fetch import DOWNLOAD_MAX_BYTES, Fetcher
from .files import Downloaded, is_text, save_output
from .panoramas import study
from .previews import Preview, make_preview, preview_budgets

if TYPE_CHECKING:
    from .projection import Pixels

# What preview an agent gets: for a panorama the sheet of views (or the flat picture); for an image,
# either means the image.
SHEET_NOTE = (
    "The preview is a sheet of true perspective views: FRONT, RIGHT, BACK, LEFT (yaw 0, 90, 180, -90) "
    "on top, then UP, DOWN and the whole panorama; view_panorama looks in any direction."
)

log = logging.getLogger(__name__)

# A text output of at most this many characters is put in the result itself; a text output is read
# whole only up to TEXT_MAX_BYTES (a longer one is read as the resource, on request).
INLINE_TEXT = 4000
TEXT_MAX_BYTES = 2 * 1024 * 1024


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


@dataclass(frozen=True)
class Wanted:
    """What a call wants delivered of a finished task."""

    preview: PreviewKind
    deadline: float
    output_dir: Path | None = None
    panorama: bool = False  # the outputs are panoramas: always studied (seam, shape), previewed as views
    viewer: bool = False  # a 360° viewer shows it: a small flat thumbnail too


class Delivery:
    """A finished task's downloads, saved files and previews, through one fetcher and one panorama cache
    (what view_panorama and the viewer read later, without downloading again)."""

    def __init__(self, fetcher: Fetcher, panoramas: BoundedCache[tuple[str, str], Pixels]) -> None:
        self._fetcher = fetcher
        self._panoramas = panoramas

    async def deliver(self, result: TaskResult, wanted: Wanted) -> Outcome:
        """The outcome of a succeeded task, with a new result (paths, types, previews filled in); a task
        in any other state comes back as it is."""
        if result.state != "succeeded" or not result.outputs:
            return Outcome(result)
        texts = any(is_text(o.content_type) for o in result.outputs)
        if wanted.preview == "none" and wanted.output_dir is None and not wanted.panorama and not texts:
            return Outcome(result)
        problems: list[str] = []
        files = await self._download(result, wanted, problems)
        outputs = [
            output.model_copy(update={"content_type": file.content_type}) if file is not None else output
            for output, file in zip(result.outputs, files, strict=True)
        ]
        saved: list[SavedFile] = []
        if wanted.output_dir is not None:
            outputs = await self._save(result.task_id, outputs, files, wanted.output_dir, saved, problems)
        outcome = Outcome(result, saved=saved)
        outputs = await self._look(result.task_id, outputs, files, wanted, outcome, problems)
        if wanted.panorama and wanted.preview == "views" and outcome.previews:
            outcome.notes.append(SHEET_NOTE)
        if problems:
            outcome.notes.append(
                "Some files could not be fetched or saved (the URLs above still work): " + "; ".join(problems)
            )
        outcome.result = result.model_copy(update={"outputs": outputs})
        return outcome

    def _decoded(self, task_id: str, name: str, wanted: Wanted) -> Pixels | None:
        return self._panoramas.get((task_id, name)) if wanted.panorama else None

    async def _download(self, result: TaskResult, wanted: Wanted, problems: list[str]) -> list[Downloaded | None]:
        """Each output's bytes, fetched at once, unless nothing needs them (no saving, already decoded)."""
        files: list[Downloaded | None] = [None] * len(result.outputs)

        async def fetch_one(index: int) -> None:
            output = result.outputs[index]
            picture, text = output.content_type.startswith("image/"), is_text(output.content_type)
            decoded = self._decoded(result.task_id, output.name, wanted)
            looked_at = picture and (wanted.preview != "none" or wanted.panorama) and decoded is None
            if wanted.output_dir is None and not looked_at and not text:
                return
            try:
                left = min(budgets.DOWNLOAD_TIMEOUT, wanted.deadline - anyio.current_time())
                if picture:
                    files[index] = await self._fetcher.download(output.url, timeout=left)
                else:
                    declared = output.content_type
                    most = TEXT_MAX_BYTES if text else DOWNLOAD_MAX_BYTES  # text is read whole to be shown
                    files[index] = await self._fetcher.download_file(
                        output.url, declared=declared, timeout=left, max_bytes=most
                    )
            except OutputFileError as exc:
                problems.append(f"{shown(output.name)}: {exc.message}")

        async with anyio.create_task_group() as group:
            for index in range(len(result.outputs)):
                group.start_soon(fetch_one, index)
        return files

    async def _save(
        self,
        task_id: str,
        outputs: list[OutputInfo],
        files: list[Downloaded | None],
        folder: Path,
        saved: list[SavedFile],
        problems: list[str],
    ) -> list[OutputInfo]:
        kept: list[OutputInfo] = []
        for index, (output, file) in enumerate(zip(outputs, files, strict=True)):
            if file is None:
                kept.append(output)
                continue
            try:
                path = await anyio.to_thread.run_sync(
                    save_output, folder, task_id, output.name, file.data, f"output-{index}{_extension(file)}"
                )
            except (OutputFileError, OSError) as exc:
                problems.append(f"saving {shown(output.name)}: {exc}")
                kept.append(output)
                continue
            saved.append(SavedFile(output.name, path, file.content_type, len(file.data)))
            kept.append(output.model_copy(update={"path": str(path)}))
        return kept

    async def _look(
        self,
        task_id: str,
        outputs: list[OutputInfo],
        files: list[Downloaded | None],
        wanted: Wanted,
        outcome: Outcome,
        problems: list[str],
    ) -> list[OutputInfo]:
        """Previews (a panorama also studied and decoded once, for the cache), into `outcome`."""
        budget = preview_budgets(len(outputs))
        looked: list[OutputInfo] = []
        for output, file in zip(outputs, files, strict=True):
            if file is not None and is_text(file.content_type):
                looked.append(self._read_text(task_id, output, file, outcome))
                continue
            if file is not None and not file.content_type.startswith("image/"):
                looked.append(output)  # a video, a sound, a 3D model: its link, its type and size
                continue
            kept = self._decoded(task_id, output.name, wanted)
            source: bytes | Pixels | None = kept if kept is not None else (file.data if file is not None else None)
            if source is None or not (wanted.panorama or wanted.preview != "none"):
                looked.append(output)
                continue
            update: dict[str, object] = {}
            try:
                if wanted.panorama:
                    studying = functools.partial(
                        study, source, preview=wanted.preview, budget=budget, viewer=wanted.viewer
                    )
                    pixels, studied = await anyio.to_thread.run_sync(studying)
                    self._panoramas.put((task_id, output.name), pixels)
                    update["panorama"] = studied.info
                    shot = studied.preview
                    outcome.thumbnail = outcome.thumbnail or studied.thumbnail
                else:
                    assert isinstance(source, bytes)
                    shot = await anyio.to_thread.run_sync(make_preview, source, budget)
            except OutputFileError as exc:  # too large to decode: said as it is
                problems.append(f"preview of {shown(output.name)}: {exc.message}")
                looked.append(output)
                continue
            except Exception as exc:  # a corrupt image must not lose the result
                log.warning("preview of %s failed: %r", output.name, exc)
                problems.append(f"preview of {shown(output.name)}: {type(exc).__name__}")
                looked.append(output)
                continue
            if shot is not None:
                update["preview"] = f"{shot.width}x{shot.height} JPEG, {len(shot.data)} bytes"
                outcome.previews.append(shot)
            looked.append(output.model_copy(update=update))
        return looked

    def _read_text(self, task_id: str, output: OutputInfo, file: Downloaded, outcome: Outcome) -> OutputInfo:
        """A text output inline when short; a long one is said to be a resource (never put in context)."""
        said = file.data.decode("utf-8", errors="replace")
        update: dict[str, object] = {"content_type": file.content_type, "size": len(file.data)}
        if len(said) <= INLINE_TEXT:
            update["text"] = said
        else:
            where = f"wiro://tasks/{task_id}/outputs/{quote(output.name, safe='')}"
            outcome.notes.append(
                f"{shown(output.name)} is {len(said):,} characters of text, too long to show here: read the "
                f"resource {where} (or its URL) for all of it."
            )
        return output.model_copy(update=update)


def _extension(file: Downloaded) -> str:
    return mimetypes.guess_extension(file.content_type.split(";")[0].strip()) or ""
