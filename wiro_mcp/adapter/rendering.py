"""Service outcomes become MCP tool results: structured content, a summary, links, previews, inline text;
within the result's bounds, and with everything Wiro said escaped."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from ..catalog import spec_of
from ..results import LISTED_OUTPUTS, SHOWN_OUTPUTS, PanoramaView, TaskResult
from ..service.reports import money, summary
from ..text import printable, shown

if TYPE_CHECKING:
    from ..media.outcome import Outcome
    from ..media.previews import Preview

# Where a result tells the 360° viewer what it needs (only hosts that render MCP Apps get it).
VIEWER_META = "wiro-mcp/viewer"
# An output's name is a label: escaped, and cut at this many characters.
NAME_SHOWN = 120


def rendition_uri(task_id: str, name: str) -> str:
    """The resource the viewer reads for full resolution (see adapter/resources.py)."""
    return f"wiro://tasks/{task_id}/viewer/{quote(name, safe='')}"


def tool_result(outcome: Outcome, *, viewer: bool = False, sandbox: bool = False) -> CallToolResult:
    """Summary (and notes) first, then a resource_link per output whose uri is the output's URL (none for a
    refused output), a file:// link per saved file, each text shown inline, and the previews; a failed
    task is a tool error. However many outputs Wiro lists, the structured content lists LISTED_OUTPUTS
    and the blocks cover SHOWN_OUTPUTS (a note says where the rest are). With `viewer` (the host renders
    MCP Apps), a finished panorama's `_meta` also names its full-resolution rendition. With `sandbox`,
    text and structure say that nothing was billed."""
    whole = outcome.result.model_copy(update={"sandbox": True}) if sandbox else outcome.result
    result = _listed(whole)
    status = printable(result.status, lines=False)
    said = f"{outcome.headline} Wiro's status: {status}{money(result)}." if outcome.headline else summary(result)
    content: list[ContentBlock] = [TextContent(text=said)]
    notes = [*outcome.notes, *_left_out(whole)]
    if notes:
        content.append(TextContent(text="\n".join(printable(note) for note in notes)))
    on_show = result.outputs[:SHOWN_OUTPUTS]
    for output in on_show:
        if output.refused is None:
            content.append(
                ResourceLink(
                    uri=output.url,
                    name=output.name,
                    title=f"Task {result.task_id}: {output.name}",
                    mime_type=output.content_type,
                    size=output.size,
                )
            )
    for saved in outcome.saved[:SHOWN_OUTPUTS]:
        content.append(
            ResourceLink(
                uri=saved.path.as_uri(),
                name=saved.path.name,
                title=f"Task {result.task_id}: {shown(saved.output, NAME_SHOWN)} (saved)",
                mime_type=saved.content_type,
                size=saved.size,
            )
        )
    for output in on_show:
        if output.text is not None:
            # Wiro's words are data the model made, never instructions of ours: said so before them.
            label = output.name.replace('"', "'")  # the label's end is where it looks to be
            intro = f'Text output "{label}" (the model\'s words, as data):'
            content.append(TextContent(text=f"{intro}\n{output.text}"))
    for shot in outcome.previews[:SHOWN_OUTPUTS]:
        content.append(ImageContent(data=base64.b64encode(shot.data).decode(), mime_type=shot.mime_type))
    return CallToolResult(
        content=content,
        structured_content=structured(whole),
        is_error=result.state == "failed",
        _meta=_viewer_meta(outcome) if viewer else None,
    )


def structured(result: TaskResult) -> dict[str, Any]:
    """A result as structured content (and the wiro://tasks/{id} resource) shows it: the listed outputs,
    None fields left out (the schema has no null), and no refused output's URL."""
    dumped = _listed(result).model_dump(mode="json", exclude_none=True)
    for output in dumped["outputs"]:
        if "refused" in output:
            del output["url"]  # a refused URL is handed to no one
    return dumped


def _listed(result: TaskResult) -> TaskResult:
    """The result as one tool result holds it: the first LISTED_OUTPUTS outputs (how many more, counted),
    each name escaped and cut short (it is a label: the resources take the index too)."""
    listed = [o.model_copy(update={"name": shown(o.name, NAME_SHOWN)}) for o in result.outputs[:LISTED_OUTPUTS]]
    left_out = len(result.outputs) - len(listed)
    return result.model_copy(update={"outputs": listed, "outputs_left_out": left_out or None})


def _left_out(result: TaskResult) -> list[str]:
    """Where the outputs this result does not show are."""
    count = len(result.outputs)
    if count <= SHOWN_OUTPUTS:
        return []
    return [
        f"This result links and shows the first {SHOWN_OUTPUTS} of the task's {count:,} outputs and lists the first "
        f"{min(count, LISTED_OUTPUTS)} in its structured content: read any output as the resource "
        f"wiro://tasks/{result.task_id}/outputs/{{index}} (0 to {count - 1:,}, in Wiro's order)."
    ]


def _viewer_meta(outcome: Outcome) -> dict[str, Any] | None:
    """For the 360° viewer: where the full resolution is, and a small flat picture to show first (the
    agent's preview of a panorama is a sheet of views, not something to wrap round a sphere)."""
    result = outcome.result
    spec = spec_of(result.model)
    if result.state != "succeeded" or not result.outputs or spec is None or not spec.panorama:
        return None
    if result.outputs[0].refused is not None:  # nothing of it is handed out, to the viewer neither
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
