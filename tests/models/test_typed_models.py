"""WIRO_MCP_MODELS: a typed tool per configured model, built from Wiro's Tool/Detail after start (never
inside tools/list), announced with notifications/tools/list_changed, kept on disk for the next start,
and small enough for every agent to carry."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp_types import ToolListChangedNotification

from wiro_mcp.sandbox import Sandbox
from wiro_mcp.sandbox.catalog import CATALOG

from ..helpers import connect, text

pytestmark = pytest.mark.anyio

CONFIGURED = "lumen/text-to-video,vox/text-to-speech"


def visible(tool: Any) -> int:
    """What a model reads of one tool: name, description, input schema."""
    read = {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
    return len(json.dumps(read, separators=(",", ":"), ensure_ascii=False).encode())


def tools_changed() -> tuple[anyio.Event, Callable[[Any], Awaitable[None]]]:
    """An event set when the server says its tool list changed, and the client's message handler that sets it."""
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    return changed, on_message


async def listed_after_change(client: Any, changed: anyio.Event, names: set[str]) -> set[str]:
    with anyio.fail_after(10):
        await changed.wait()
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert names <= tools
    return tools


async def test_a_configured_model_arrives_as_a_typed_tool_after_list_changed(sandbox: Sandbox) -> None:
    changed, on_message = tools_changed()
    async with connect(sandbox, mode="legacy", WIRO_MCP_MODELS=CONFIGURED, message_handler=on_message) as client:
        assert client.server_capabilities.tools.list_changed is True  # type: ignore[union-attr]
        first = {tool.name for tool in (await client.list_tools()).tools}
        assert "run_lumen_text_to_video" not in first, "tools/list did not wait on Wiro"
        await listed_after_change(client, changed, {"run_lumen_text_to_video", "run_vox_text_to_speech"})
        ran = await client.call_tool("run_lumen_text_to_video", {"prompt": "a fox", "aspectRatio": "9:16"})
        wrong = await client.call_tool("run_lumen_text_to_video", {"prompt": "a fox", "duration": "4"})
    assert not ran.is_error, text(ran)
    assert ran.structured_content["outputs"][0]["content_type"] == "video/mp4"
    [run] = sandbox.state.find_requests("Run/lumen/text-to-video")
    assert run.fields["aspectRatio"] == "9:16", "a typed tool's arguments are Wiro's own ids"
    assert wrong.is_error and "duration" in text(wrong) and sandbox.count("Run") == 1


async def test_the_next_start_lists_them_at_once_from_the_disk(sandbox: Sandbox) -> None:
    async with connect(sandbox, mode="legacy", WIRO_MCP_MODELS=CONFIGURED) as client:
        await client.call_tool("describe_model", {"model": "lumen/text-to-video"})
        await client.call_tool("describe_model", {"model": "vox/text-to-speech"})
    asked = sandbox.count("Tool/Detail")
    async with connect(sandbox, WIRO_MCP_MODELS=CONFIGURED) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"run_lumen_text_to_video", "run_vox_text_to_speech"} <= tools
    assert sandbox.count("Tool/Detail") == asked, "listed from the cache, without asking Wiro"


async def test_a_model_wiro_does_not_have_is_left_out_and_the_rest_serve(sandbox: Sandbox) -> None:
    changed, on_message = tools_changed()
    models = "nobody/nothing,vox/text-to-speech"
    async with connect(sandbox, mode="legacy", WIRO_MCP_MODELS=models, message_handler=on_message) as client:
        await client.list_tools()
        tools = await listed_after_change(client, changed, {"run_vox_text_to_speech"})
    assert not any("nobody" in name for name in tools)


async def test_each_configured_model_adds_at_most_1_2_kilobytes(sandbox: Sandbox) -> None:
    changed, on_message = tools_changed()
    models = ",".join(model for model in CATALOG)
    async with connect(sandbox, mode="legacy", WIRO_MCP_MODELS=models, message_handler=on_message) as client:
        await client.list_tools()
        with anyio.fail_after(10):
            await changed.wait()  # every configured model is read at once, and announced once
        tools = [tool for tool in (await client.list_tools()).tools if tool.name.startswith("run_")]
    typed = {tool.name: visible(tool) for tool in tools if tool.name != "run_model"}
    assert len(typed) == len(CATALOG)
    assert max(typed.values()) <= 1200, typed


async def test_a_configured_model_runs_as_an_mcp_task(sandbox: Sandbox) -> None:
    from tests.adapter.test_tasks import final_result

    from ..helpers import raw_request

    changed, on_message = tools_changed()
    async with connect(
        sandbox, mode="legacy", WIRO_MCP_MODELS="vox/text-to-speech", message_handler=on_message
    ) as client:
        await client.list_tools()
        with anyio.fail_after(10):
            await changed.wait()
        listed = await raw_request(client, "tools/list", {})
        [typed] = [tool for tool in listed["tools"] if tool["name"] == "run_vox_text_to_speech"]
        params = {"name": "run_vox_text_to_speech", "arguments": {"prompt": "hi", "voice": "verse"}, "task": {}}
        created = await raw_request(client, "tools/call", params)
        result = await final_result(client, "legacy", created["task"]["taskId"])
    assert typed["execution"] == {"taskSupport": "optional"}
    assert result["structuredContent"]["state"] == "succeeded"
    [run] = sandbox.state.find_requests("Run/vox/text-to-speech")
    assert run.fields["voice"] == "verse"
