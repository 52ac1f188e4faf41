"""export_panorama: skybox files from a finished panorama (service/exporting.py), as resource links,
the file list and a contact sheet of the faces. Bills nothing."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ImageContent, ResourceLink, TextContent, ToolAnnotations
from pydantic import BeforeValidator, Field

from ..results import PanoramaExport
from ..wiro.refs import number_as_text
from .calls import state_of
from .state import ServerState

# Writes files on this machine, reaches nothing but the task's own picture, bills nothing.
EXPORTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
EXPORT_TEXT = (
    "A finished panorama as skybox files (bills nothing): cube faces, Unity cross, Godot, PNG/JPEG, HTML page. "
    "Files go to WIRO_MCP_OUTPUT_DIR, else the state folder's exports/; the result gives their paths."
)


async def export_panorama(
    ctx: Context[ServerState, Any],
    task_id: Annotated[str, BeforeValidator(number_as_text), Field(description="a finished panorama's task")],
    format: Annotated[
        Literal["cubemap", "cross", "godot", "equirect", "html"],
        Field(description="cubemap: three.js/Babylon faces; cross: Unity; godot; equirect; html: a viewer page"),
    ] = "cubemap",
    face_size: Annotated[int | None, Field(ge=64, le=2048, description="pixels (default width/4)")] = None,
    name: Annotated[str | None, Field(description="which output (default the first)")] = None,
) -> Annotated[CallToolResult, PanoramaExport]:
    service = await state_of(ctx).service()
    exported = await service.exporter.export(task_id, format, face_size, name)
    export = exported.export
    listed = ", ".join(f"{f.name} ({f.size:,} bytes)" for f in export.files)
    where = f" in {export.files[0].path.rsplit('/', 1)[0]}" if export.files else ""
    said = f"Task {export.task_id}'s {export.output} as {export.format}{where}: {listed}. Use: {export.use}."
    content: list[Any] = [TextContent(text=said)]
    for file in export.files:
        content.append(ResourceLink(uri=file.uri, name=file.name, mime_type=file.content_type, size=file.size))
    shot = exported.sheet
    content.append(ImageContent(data=base64.b64encode(shot.data).decode(), mime_type=shot.mime_type))
    return CallToolResult(content=content, structured_content=export.model_dump(mode="json", exclude_none=True))
