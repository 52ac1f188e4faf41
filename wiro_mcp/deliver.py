"""Turning a finished task into what the agent and the person receive.

For a succeeded task: download each output once (bounded), save it under WIRO_MCP_OUTPUT_DIR when
that is set, and attach a preview image the agent can see. A download or save problem never
loses the result: it becomes a line in the summary, and the URLs stay.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import anyio
import anyio.to_thread
import httpx2
from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from .errors import WiroError
from .media import Downloaded, download, make_preview, preview_budgets, save_output
from .results import TaskResult, to_call_result

log = logging.getLogger(__name__)


async def deliver(
    result: TaskResult,
    http: httpx2.AsyncClient,
    *,
    preview: bool,
    output_dir: Path | None,
    note: str | None = None,
) -> CallToolResult:
    extra: list[ContentBlock] = []
    problems: list[str] = []
    if result.state == "succeeded" and result.outputs and (preview or output_dir is not None):
        files: list[Downloaded | None] = [None] * len(result.outputs)

        async def fetch(index: int) -> None:
            try:
                files[index] = await download(http, result.outputs[index].url)
            except WiroError as exc:
                problems.append(f"{result.outputs[index].name}: {exc.message}")

        async with anyio.create_task_group() as group:
            for index in range(len(result.outputs)):
                group.start_soon(fetch, index)

        if output_dir is not None:
            for index, (output, file) in enumerate(zip(result.outputs, files, strict=True)):
                if file is None:
                    continue
                try:
                    path = await anyio.to_thread.run_sync(
                        save_output, output_dir, result.task_id, output.name, file.data, f"output-{index}.png"
                    )
                except (WiroError, OSError) as exc:
                    problems.append(f"saving {output.name}: {exc}")
                    continue
                output.path = str(path)
                extra.append(
                    ResourceLink(
                        uri=path.as_uri(),
                        name=path.name,
                        title=f"Task {result.task_id}: {output.name} (saved)",
                        mime_type=file.content_type,
                        size=len(file.data),
                    )
                )
        if preview:
            budget = preview_budgets(len(result.outputs))
            for output, file in zip(result.outputs, files, strict=True):
                if file is None:
                    continue
                try:
                    shot = await anyio.to_thread.run_sync(make_preview, file.data, budget)
                except Exception as exc:  # a corrupt image must not lose the result
                    log.warning("preview of %s failed: %r", output.url, exc)
                    problems.append(f"preview of {output.name}: {type(exc).__name__}")
                    continue
                output.preview = f"{shot.width}x{shot.height} JPEG, {len(shot.data)} bytes"
                extra.append(ImageContent(data=base64.b64encode(shot.data).decode(), mime_type=shot.mime_type))
    notes = [note] if note else []
    if problems:
        notes.append("Some files could not be fetched or saved (the URLs above still work): " + "; ".join(problems))
    call = to_call_result(result, extra)
    if notes:
        call.content.insert(1, TextContent(text="\n".join(notes)))
    return call
