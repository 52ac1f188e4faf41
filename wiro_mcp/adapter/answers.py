"""Service outcomes become MCP tool results: structured content, a summary, links, previews."""

from __future__ import annotations

import base64

from mcp_types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from ..delivery import Outcome
from ..results import summary


def tool_result(outcome: Outcome) -> CallToolResult:
    """Summary (and notes) first, then one resource_link per output whose uri is the output's URL, a
    file:// link per saved file, and the previews; a failed task is a tool error."""
    result = outcome.result
    content: list[ContentBlock] = [TextContent(text=summary(result))]
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
    for shot in outcome.previews:
        content.append(ImageContent(data=base64.b64encode(shot.data).decode(), mime_type=shot.mime_type))
    return CallToolResult(
        content=content,
        # None fields are left out: the declared schema types them without null, for portability.
        structured_content=result.model_dump(mode="json", exclude_none=True),
        is_error=result.state == "failed",
    )
