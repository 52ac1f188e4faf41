"""The 360° viewer as an MCP App: the ui:// resource (served as text/html;profile=mcp-app through the
SDK's Apps extension), bound to the tools whose results it shows."""

from __future__ import annotations

from mcp.server.apps import Apps, ResourceCsp

from ..viewer import VIEWER_URI, viewer_html
from .tools import Registration


def viewer_app(tools: list[Registration]) -> Apps:
    """An Apps extension serving the viewer and carrying `tools` (both `_meta.ui.resourceUri` and the
    older flat `ui/resourceUri` that some hosts still read)."""
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
    for tool in tools:
        apps.tool(resource_uri=VIEWER_URI, meta={"ui/resourceUri": VIEWER_URI}, **tool.options)(tool.fn)
    return apps
