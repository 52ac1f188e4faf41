"""Service outcomes become MCP tool results: structured content, a summary, links, previews."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from ..catalog import spec_of
from ..results import PanoramaView
from ..service.reports import money, summary

if TYPE_CHECKING:
    from ..media.delivery import Outcome
    from ..media.previews import Preview

# Where a result tells the 360° viewer what it needs (only hosts that render MCP Apps get it).
VIEWER_META = "wiro-mcp/viewer"


def rendition_uri(task_id: str, name: str) -> str:
    """The resource the viewer reads for full resolution (see adapter/resources.py)."""
    return f"wiro://tasks/{task_id}/viewer/{quote(name, safe='')}"


def tool_result(outcome: Outcome, *, viewer: bool = False, sandbox: bool = False) -> CallToolResult:
    """Summary (and notes) first, then one resource_link per output whose uri is the output's URL, a
    file:// link per saved file, and the previews; a failed task is a tool error. With `viewer` (the
    host renders MCP Apps), a finished panorama's `_meta` also names its full-resolution rendition.
    With `sandbox`, text and structure say that nothing was billed."""
    result = outcome.result.model_copy(update={"sandbox": True}) if sandbox else outcome.result
    said = f"{outcome.headline} Wiro's status: {result.status}{money(result)}." if outcome.headline else summary(result)
    content: list[ContentBlock] = [TextContent(text=said)]
    if outcome.notes:
        content.append(TextContent(text="\n".join(outcome.notes)))
    for output in result.outputs:
        content.append(
            ResourceLink(
                uri=output.url,
                name=output.name,
                title=f"Task {result.task_id}: {output.name}",
                mime_type=output.content_type,
                size=output.size,
            )
        )
    for saved in outcome.saved:
        content.append(
            ResourceLink(
                uri=saved.path.as_uri(),
                name=saved.path.name,
                title=f"Task {result.task_id}: {saved.output} (saved)",
                mime_type=saved.content_type,
                size=saved.size,
            )
        )
    for output in result.outputs:
        if output.text is not None:
            content.append(TextContent(text=f"{output.name}:\n{output.text}"))
    for shot in outcome.previews:
        content.append(ImageContent(data=base64.b64encode(shot.data).decode(), mime_type=shot.mime_type))
    return CallToolResult(
        content=content,
        # None fields are left out: the declared schema types them without null, for portability.
        structured_content=result.model_dump(mode="json", exclude_none=True),
        is_error=result.state == "failed",
        _meta=_viewer_meta(outcome) if viewer else None,
    )


def _viewer_meta(outcome: Outcome) -> dict[str, Any] | None:
    """For the 360° viewer: where the full resolution is, and a small flat picture to show first (the
    agent's preview of a panorama is a sheet of views, not something to wrap round a sphere)."""
    result = outcome.result
    spec = spec_of(result.model)
    if result.state != "succeeded" or not result.outputs or spec is None or not spec.panorama:
        return None
    viewer: dict[str, Any] = {"rendition": rendition_uri(result.task_id, result.outputs[0].name)}
    if outcome.thumbnail is not None:
        viewer["thumbnail"] = _data_url(outcome.thumbnail)
    return {VIEWER_META: viewer}


def _data_url(shot: Preview) -> str:
    return f"data:{shot.mime_type};base64,{base64.b64encode(shot.data).decode()}"


def view_result(view: PanoramaView, shot: Preview) -> CallToolResult:
    """view_panorama's answer: the angles in words, and the view as an image the agent sees."""
    text = (
        f"Task {view.task_id}, {view.output}: a {view.fov:g}° perspective view at yaw {view.yaw:g}°, "
        f"pitch {view.pitch:g}° ({view.width}×{view.height}). Yaw 0 is the panorama's front (its centre), "
        "90 its right, ±180 behind; pitch +90 is straight up."
    )
    return CallToolResult(
        content=[
            TextContent(text=text),
            ImageContent(data=base64.b64encode(shot.data).decode(), mime_type=shot.mime_type),
        ],
        structured_content=view.model_dump(mode="json"),
    )
