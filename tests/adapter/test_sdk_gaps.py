"""What adapter/sdk_gaps.py leans on in the SDK, checked against the SDK installed: an upgrade that
changes one fails here, by name, before it fails somewhere less clear."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from wiro_mcp.adapter import sdk_gaps
from wiro_mcp.adapter.tools import built_tools
from wiro_mcp.results import TaskResult
from wiro_mcp.sandbox import Sandbox

from ..helpers import connect

pytestmark = pytest.mark.anyio


def test_the_task_tools_share_one_output_schema_object() -> None:
    """share_output_schema: FuncMetadata's fields are read live, so one schema serves every task tool."""
    shared = [t for t in built_tools() if t.fn_metadata.output_model is TaskResult]
    assert len(shared) >= 5
    assert len({id(t.output_schema) for t in shared}) == 1
    assert shared[0].output_schema and "task_id" in shared[0].output_schema["properties"]


async def test_the_sdk_still_prefixes_a_deliberate_tool_error() -> None:
    """sdk_words_removed: the prefix the SDK puts before a ToolError's own words."""
    server: MCPServer[Any] = MCPServer("probe")

    @server.tool()
    def refuses() -> str:
        raise ToolError("our words")

    with pytest.raises(ToolError) as caught:
        await server.call_tool("refuses", {})
    assert str(caught.value) == "Error executing tool refuses: our words"
    assert sdk_gaps.sdk_words_removed(str(caught.value), "refuses") == "our words"


async def test_the_initialize_answer_says_the_tool_list_may_change(sandbox: Sandbox) -> None:
    """say_tools_change: MCPServer does not say it by itself for tools added after start."""
    async with connect(sandbox, mode="legacy") as plain:
        said_plain = plain.server_capabilities.tools.list_changed  # type: ignore[union-attr]
    async with connect(sandbox, mode="legacy", WIRO_MCP_MODELS="vox/text-to-speech") as client:
        said = client.server_capabilities.tools.list_changed  # type: ignore[union-attr]
    assert said is True and said_plain is not True


def test_a_replayed_calls_context_is_the_sdks_own() -> None:
    """replay_context: a Context built from a request context, a server and params, as MCPServer builds it."""
    from mcp.server.mcpserver import Context

    server: MCPServer[Any] = MCPServer("probe")
    made = sdk_gaps.replay_context(None, server, {"name": "x"})  # type: ignore[arg-type]
    assert isinstance(made, Context)
