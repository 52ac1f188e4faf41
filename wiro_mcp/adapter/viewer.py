"""The 360° viewer as an MCP App: the ui:// resource (served as text/html;profile=mcp-app through the
SDK's Apps extension), the `_meta` that binds a tool's results to it, and who is told of it: only a
client that declared the Apps extension (the spec: servers SHOULD check the client's capabilities
before listing UI-enabled tools) gets tools/list with the viewer's `_meta`."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp_types import Tool as MCPTool

from ..viewer import VIEWER_URI, viewer_html

# What Apps.tool(resource_uri=VIEWER_URI) stamps on a tool, and the older flat key some hosts still read.
# The tools carrying it are built with the others (adapter/tools.py built_tools), so that they share the
# task result's output schema instead of each deriving it again through Apps.tool.
VIEWER_META: dict[str, Any] = {"ui": {"resourceUri": VIEWER_URI}, "ui/resourceUri": VIEWER_URI}

# Whether the request being served may be shown the viewer's _meta. Outside any request (the docs, the
# bundle's manifest) the full listing.
_apps_client: ContextVar[bool] = ContextVar("wiro_mcp_apps_client", default=True)


def viewer_app() -> Apps:
    """The Apps extension serving the viewer."""
    apps = Apps()
    apps.add_html_resource(
        VIEWER_URI,
        viewer_html(),
        name="panorama-viewer",
        title="360° panorama viewer",
        description="Look around a generated panorama: drag, zoom, fullscreen. No network, no library.",
        # Nothing to fetch from anywhere: the picture arrives in the tool result and by resources/read.
        csp=ResourceCsp(),
        prefers_border=False,
    )
    return apps


def viewer_declared() -> bool:
    """Whether the client of the request being served declared MCP Apps (set by `viewer_listing`)."""
    return _apps_client.get()


def viewer_listing() -> ServerMiddleware[Any]:
    """Every request knows whether its client declared MCP Apps: on 2026-07-28 from the request's own
    capabilities, on 2025-11-25 from the session's handshake (mcp.server.apps `client_supports_apps`:
    the extension with the text/html;profile=mcp-app MIME type)."""

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        entered = _apps_client.set(client_supports_apps(ctx))
        try:
            return await call_next(ctx)
        finally:
            _apps_client.reset(entered)

    return middleware


def without_viewer(tools: Sequence[MCPTool]) -> list[MCPTool]:
    """The listing for a client without MCP Apps: the viewer's keys left out of each tool's `_meta`, any
    other key kept (a `_meta` left empty goes)."""
    plain = []
    for tool in tools:
        meta = {key: value for key, value in (tool.meta or {}).items() if key not in VIEWER_META}
        plain.append(tool.model_copy(update={"meta": meta or None}) if meta != (tool.meta or {}) else tool)
    return plain
