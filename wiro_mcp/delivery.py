"""A finished task becomes what the agent and the person receive, within a time limit.

For a succeeded task: download each output once (bounded), save it under WIRO_MCP_OUTPUT_DIR when
that is set, and make a preview image the agent can see. A download or save problem never loses
the result: it becomes a note, and the URLs stay. No MCP here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.to_thread
import httpx2

from .errors import OutputFileError
from .files import DOWNLOAD_TIMEOUT, Downloaded, download, save_output
from .previews import Preview, make_preview, preview_budgets
from .results import TaskResult

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


async def deliver(
    result: TaskResult,
    http: httpx2.AsyncClient,
    *,
    preview: bool,
    output_dir: Path | None,
    deadline: float,
) -> Outcome:
    """Downloads, saved files and previews for a succeeded task; nothing for any other."""
    delivery = Outcome(result)
    if result.state != "succeeded" or not result.outputs or not (preview or output_dir is not None):
        return delivery
    problems: list[str] = []
    files: list[Downloaded | None] = [None] * len(result.outputs)

    async def fetch_one(index: int) -> None:
        output = result.outputs[index]
        try:
            left = min(DOWNLOAD_TIMEOUT, deadline - anyio.current_time())
            files[index] = await download(http, output.url, timeout=left)
        except OutputFileError as exc:
            problems.append(f"{output.name}: {exc.message}")

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
                problems.append(f"saving {output.name}: {exc}")
                continue
            output.path = str(path)
            delivery.saved.append(SavedFile(output.name, path, file.content_type, len(file.data)))
    if preview:
        budget = preview_budgets(len(result.outputs))
        for output, file in zip(result.outputs, files, strict=True):
            if file is None:
                continue
            try:
                shot = await anyio.to_thread.run_sync(make_preview, file.data, budget)
            except Exception as exc:  # a corrupt image must not lose the result
                log.warning("preview of %s failed: %r", output.name, exc)
                problems.append(f"preview of {output.name}: {type(exc).__name__}")
                continue
            output.preview = f"{shot.width}x{shot.height} JPEG, {len(shot.data)} bytes"
            delivery.previews.append(shot)
    if problems:
        delivery.notes.append(
            "Some files could not be fetched or saved (the URLs above still work): " + "; ".join(problems)
        )
    return delivery
