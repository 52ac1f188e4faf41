"""Who is told of the 360° viewer: tools/list carries the viewer's `_meta` only for a client that
declared the MCP Apps extension (the spec's SHOULD), on both generations, from two listings each made
once."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer
from mcp_types import Tool

from tests.helpers import connect, settings_for
from wiro_mcp.adapter.server import create_server
from wiro_mcp.adapter.viewer import VIEWER_META, without_viewer
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

MODERN, LEGACY = "auto", "legacy"  # "auto": 2026-07-28, through server/discover
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
VIEWER_TOOLS = {"generate_panorama", "get_task"}


def metas(tools: list[Tool]) -> dict[str, Any]:
    return {tool.name: tool.meta for tool in tools}


@pytest.mark.parametrize("mode", [LEGACY, MODERN])
async def test_the_viewer_is_listed_only_to_a_client_that_declared_mcp_apps(sandbox: Sandbox, mode: str) -> None:
    async with connect(sandbox, mode=mode, extensions=[APPS]) as apps:
        rich = (await apps.list_tools()).tools
    async with connect(sandbox, mode=mode) as plain:
        bare = (await plain.list_tools()).tools
    # The extension without the Apps MIME type is no MCP Apps support (mcp.server.apps client_supports_apps).
    async with connect(sandbox, mode=mode, extensions=[advertise(EXTENSION_ID, {"mimeTypes": []})]) as other:
        unmatched = (await other.list_tools()).tools
    assert {name for name, meta in metas(rich).items() if meta} == VIEWER_TOOLS
    assert all(metas(rich)[name] == VIEWER_META for name in VIEWER_TOOLS)
    assert metas(bare) == metas(unmatched) == dict.fromkeys(metas(rich)), "no _meta at all for the others"
    # Otherwise the same tools: names, order, schemas, hints, execution.
    assert [tool.model_copy(update={"meta": None}) for tool in rich] == bare


async def test_each_listing_is_made_once_per_server(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    sdk_listing = MCPServer.list_tools

    async def counted(self: MCPServer[Any]) -> Any:
        made.append(1)
        return await sdk_listing(self)

    monkeypatch.setattr(MCPServer, "list_tools", counted)
    server = create_server(settings_for(sandbox))
    seen: list[dict[str, Any]] = []
    for mode in (LEGACY, MODERN, LEGACY, MODERN):
        for extensions in ([APPS], []):
            async with Client(server, mode=mode, extensions=extensions) as client:
                seen.append(metas((await client.list_tools()).tools))
                seen.append(metas((await client.list_tools()).tools))
    assert len(made) == 1, "the SDK's listing is read once; both of ours are made from it, once"
    with_viewer, plain = seen[0], seen[2]
    assert all(listed == (with_viewer if n % 4 < 2 else plain) for n, listed in enumerate(seen))
    assert with_viewer != plain


def test_a_client_without_apps_keeps_every_other_meta_key() -> None:
    schema: dict[str, Any] = {"type": "object"}
    viewer = Tool(name="a", input_schema=schema, _meta={**VIEWER_META, "wiro-mcp/else": 1})
    only = Tool(name="b", input_schema=schema, _meta=dict(VIEWER_META))
    none = Tool(name="c", input_schema=schema)
    a, b, c = without_viewer([viewer, only, none])
    assert (a.meta, b.meta, c.meta) == ({"wiro-mcp/else": 1}, None, None)
    assert c is none and viewer.meta == {**VIEWER_META, "wiro-mcp/else": 1}, "a new listing, the old one kept"
