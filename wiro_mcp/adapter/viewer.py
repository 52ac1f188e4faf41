"""The 360° viewer as an MCP App: the ui:// resource (served as text/html;profile=mcp-app through the
SDK's Apps extension), and the `_meta` that binds a tool's results to it."""

from __future__ import annotations

from typing import Any

from mcp.server.apps import Apps, ResourceCsp

from ..viewer import VIEWER_URI, viewer_html

# What Apps.tool(resource_uri=VIEWER_URI) stamps on a tool, and the older flat key some hosts still read.
# The tools carrying it are built with the others (adapter/tools.py built_tools), so that they share the
# task result's output schema instead of each deriving it again through Apps.tool.
VIEWER_META: dict[str, Any] = {"ui": {"resourceUri": VIEWER_URI}, "ui/resourceUri": VIEWER_URI}


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
