"""Who is told of the 360° viewer: tools/list carries the viewer's `_meta` only for a client that
declared the MCP Apps extension (the spec's SHOULD), on both generations, from two listings each made
once; and docs/tools.md's table of what each generation is told, checked against a running server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer
from mcp_types import Tool

from tests.helpers import connect, settings_for
from wiro_mcp.adapter.server import create_server
from wiro_mcp.adapter.task_wire import TASKS
from wiro_mcp.adapter.viewer import VIEWER_META, without_viewer
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

MODERN, LEGACY = "auto", "legacy"  # "auto": 2026-07-28, through server/discover
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
VIEWER_TOOLS = {"generate_panorama", "get_task"}
TOOLS_MD = Path(__file__).resolve().parents[2] / "docs" / "tools.md"


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


# -- docs/tools.md: what each protocol generation is told ------------------------------------------------


def told_table() -> dict[str, tuple[str, str]]:
    """docs/tools.md's table: its first cell -> (the 2025-11-25 cell, the 2026-07-28 cell)."""
    text = TOOLS_MD.read_text()
    section = text[text.index("## What each protocol generation is told") :]
    rows = section.split("\n\n", 3)[2].splitlines()[2:]  # the table, below its header and rule
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    return {first: (legacy, modern) for first, legacy, modern in cells}


def literal(value: Any) -> str:
    return f"`{json.dumps(value, separators=(',', ':'), sort_keys=True)}`"


async def told(box: Sandbox, mode: str, **env: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[Tool]]:
    """The capabilities a generation is told, its tools as an Apps client lists them, and as another does."""
    async with connect(box, mode=mode, extensions=[APPS], **env) as apps:
        assert apps.server_capabilities is not None
        capabilities = apps.server_capabilities.model_dump(by_alias=True, exclude_none=True)
        rich = [tool.model_dump(by_alias=True, exclude_none=True) for tool in (await apps.list_tools()).tools]
    async with connect(box, mode=mode, **env) as plain:
        bare = (await plain.list_tools()).tools
    return capabilities, rich, bare


async def test_docs_say_what_each_generation_is_told(sandbox: Sandbox) -> None:
    table = told_table()
    for column, mode in enumerate((LEGACY, MODERN)):
        capabilities, rich, bare = await told(sandbox, mode)
        configured, _, _ = await told(sandbox, mode, WIRO_MCP_MODELS="vox/text-to-speech")
        cell = {first: cells[column] for first, cells in table.items()}
        extensions = capabilities.get("extensions", {})
        if mode == LEGACY:
            assert literal(capabilities["tasks"]) in cell["MCP Tasks"] and not extensions
            assert "not declared" in cell["the MCP Apps extension"]
            tasked = {tool["name"] for tool in rich if tool.get("execution") == {"taskSupport": "optional"}}
            assert tasked == {"generate_panorama", "generate_image", "run_model"}
            assert literal("optional") in cell["`execution.taskSupport`"]
            assert all(name in cell["`execution.taskSupport`"] for name in tasked)
            said = cell["`tools.listChanged`"]
            assert said.startswith(literal(capabilities["tools"]["listChanged"]))
            assert f"{literal(configured['tools']['listChanged'])} with `WIRO_MCP_MODELS`" in said
        else:
            assert "tasks" not in capabilities and f"`{TASKS}`" in cell["MCP Tasks"]
            assert f"`{EXTENSION_ID}`" in cell["the MCP Apps extension"] and {TASKS, EXTENSION_ID} <= set(extensions)
            assert not any("execution" in tool for tool in rich) and "none" in cell["`execution.taskSupport`"]
            said = cell["`tools.listChanged`"]
            assert said.startswith(literal(capabilities["tools"]["listChanged"]))
            assert configured["tools"]["listChanged"] is capabilities["tools"]["listChanged"]
        assert cell["`resources.subscribe`"].startswith(literal(capabilities["resources"]["subscribe"]))
        listed = {capabilities["resources"]["listChanged"], capabilities["prompts"]["listChanged"]}
        assert len(listed) == 1 and cell["`resources.listChanged`, `prompts.listChanged`"].startswith(literal(*listed))
        viewer_meta = {tool["name"]: tool.get("_meta") for tool in rich if tool.get("_meta")}
        assert set(viewer_meta) == VIEWER_TOOLS and all(meta == VIEWER_META for meta in viewer_meta.values())
        meta_cell = table["the viewer's `_meta` on generate_panorama and get_task"][0]  # said once, for both
        assert literal(VIEWER_META) in meta_cell and re.search(r"to any other, no `_meta`", meta_cell)
        assert not any(tool.meta for tool in bare)
