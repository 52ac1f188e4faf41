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


def test_nothing_outside_sdk_gaps_reaches_the_sdks_private_or_deprecated_parts() -> None:
    """Was: a shared output schema in tools.py, a replayed Context in tasks.py, the initialize answer
    edited in typed_models.py, each a reach into the SDK that an upgrade could move unnoticed."""
    import ast
    from pathlib import Path

    package = Path(sdk_gaps.__file__).resolve().parents[1]
    reaches: list[str] = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "sdk_gaps.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(package)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")) and node.attr != "_replace":
                    reaches.append(f"{where} {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mcp"):
                named = {alias.name for alias in node.names}
                if "func_metadata" in node.module or "MCPDeprecationWarning" in named:
                    reaches.append(f"{where} from {node.module} import {', '.join(sorted(named))}")
            if isinstance(node, ast.Call) and any(k.arg == "request_context" for k in node.keywords):
                reaches.append(f"{where} {ast.unparse(node.func)}(request_context=…)")
    assert reaches == []
