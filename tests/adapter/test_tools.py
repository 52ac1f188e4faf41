"""Every tool through a real MCP client connected in-process; the server talks to the sandbox over
loopback. Every result field, progress, errors, argument checks, and the resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import ResourceLink

from tests.contract import CALL_ARGUMENTS, IMAGE_ARGUMENTS, MODEL_TOOLS, PANORAMA_ARGUMENTS, TOOLS, VIEW_ARGUMENTS
from tests.helpers import connect, text
from wiro_mcp.adapter.server import create_server
from wiro_mcp.config import Settings
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

RESULT_FIELDS = {
    "task_id",
    "task_token",
    "model",
    "status",
    "state",
    "outputs",
    "elapsed_seconds",
    "cost_usd",
    "estimated_cost_usd",
    "next_action",
}


async def test_tools_are_listed_with_contract_arguments_and_annotations(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        args = {name: set(t.input_schema["properties"]) for name, t in tools.items()}
        assert args["generate_panorama"] == {*PANORAMA_ARGUMENTS, *CALL_ARGUMENTS}
        assert args["generate_image"] == {*IMAGE_ARGUMENTS, *CALL_ARGUMENTS}
        assert args["get_task"] == {"task_id", "task_token", "wait_seconds", "preview"}
        assert args["kill_task"] == {"task_id", "task_token"}
        assert args["cancel_task"] == {"task_id"}
        assert args["view_panorama"] == set(VIEW_ARGUMENTS)
        assert args["list_tasks"] == {"model", "state", "limit"}
        for name, arguments in MODEL_TOOLS.items():
            assert args[name] >= set(arguments)
        assert args["run_model"] == {"model", "inputs", *CALL_ARGUMENTS}
        assert "consent" not in args["generate_panorama"], "the person's yes is asked, never passed by the agent"
        for tool in tools.values():
            a = tool.annotations
            assert a is not None and tool.title
            assert None not in (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
            # Every tool reaches Wiro, but view_panorama: it looks only at its task's own picture.
            assert a.open_world_hint is (tool.name not in ("view_panorama", "export_panorama"))
            assert tool.output_schema is not None
            if tool.name not in ("view_panorama", "list_tasks", "search_models", "describe_model", "export_panorama"):
                assert set(tool.output_schema["properties"]) >= RESULT_FIELDS
        assert tools["get_task"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools["kill_task"].annotations.destructive_hint is True  # type: ignore[union-attr]
        assert tools["cancel_task"].annotations.destructive_hint is True  # type: ignore[union-attr]
        assert tools["view_panorama"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools["list_tasks"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools["generate_panorama"].annotations.read_only_hint is False  # type: ignore[union-attr]
        assert "get_task" in (client.instructions or "")


async def test_generate_panorama_returns_every_field_and_reports_progress(sandbox: Sandbox) -> None:
    reported: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append((progress, total, message))

    async with connect(sandbox) as client:
        result = await client.call_tool(
            "generate_panorama",
            {"prompt": "a reef", "width": 1024, "height": 512, "seed": 42},
            progress_callback=on_progress,
        )
    assert not result.is_error, text(result)
    data = result.structured_content
    assert data is not None and set(data) >= RESULT_FIELDS - {"next_action"}
    assert data["model"] == "tencent/hunyuanworld-text-to-panorama"
    assert (data["status"], data["state"]) == ("task_postprocess_end", "succeeded")
    assert data["task_token"] and "next_action" not in data, "fields that do not apply are left out, not null"
    assert data["elapsed_seconds"] > 0 and data["cost_usd"] > 0
    [output] = data["outputs"]
    assert output["name"] == "0.png" and output["content_type"] == "image/png" and output["size"] > 0
    links = [b for b in result.content if isinstance(b, ResourceLink)]
    assert [str(link.uri) for link in links] == [output["url"]]
    assert f"Task {data['task_id']}" in text(result) and "succeeded" in text(result)
    # What reached Wiro: Wiro's own ids, defaults filled, seed as a string.
    [run] = sandbox.state.find_requests("Run/")
    assert run.fields == {
        "prompt": "a reef",
        "negativePrompt": "",
        "steps": 40,
        "scale": 30.0,
        "blendExtend": 6,
        "cfgScale": 0.0,
        "seed": "42",
        "width": 1024,
        "height": 512,
    }
    assert len(reported) >= 3
    values = [p[0] for p in reported]
    assert values == sorted(values) and values[-1] == 1.0
    assert all(total == 1.0 for _, total, _ in reported)
    assert any("task_postprocess_end" in (m or "") for *_, m in reported)
    assert any("task_output" in (m or "") or "task_start" in (m or "") for *_, m in reported)


async def test_generate_image_with_samples_links_every_output(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "a fox", "samples": 3, "width": 512, "height": 512}
        )
    data = result.structured_content
    assert data is not None and data["state"] == "succeeded"
    assert [o["name"] for o in data["outputs"]] == ["0.png", "1.png", "2.png"]
    assert len([b for b in result.content if isinstance(b, ResourceLink)]) == 3


async def test_wait_budget_returns_a_running_task_that_get_task_finishes(held: Sandbox) -> None:
    async with connect(held) as client:
        first = await client.call_tool("generate_image", {"prompt": "a heron", "wait_seconds": 0})
        assert not first.is_error, "an unfinished task is not an error"
        data = first.structured_content
        assert data is not None and data["state"] == "queued"
        action = data["next_action"]
        assert action["tool"] == "get_task" and action["arguments"]["task_id"] == data["task_id"]
        assert "get_task" in text(first) and "Do not start the same generation again" in text(first)
        held.advance_to(data["task_id"], "task_start")
        running = await client.call_tool("get_task", {"task_id": data["task_id"]})
        assert running.structured_content["state"] == "running"
        held.advance_to(data["task_id"], "task_postprocess_end")
        done = await client.call_tool("get_task", {"task_id": data["task_id"], "wait_seconds": 20})
        assert done.structured_content is not None
        assert done.structured_content["state"] == "succeeded"
        assert done.structured_content["model"] == "tencent/hunyuan-flux-srpo"
        by_token = await client.call_tool("get_task", {"task_token": data["task_token"]})
        assert by_token.structured_content["task_id"] == data["task_id"]
    assert held.count("Run/") == 1


async def test_failed_tasks_are_tool_errors_with_wiros_reason(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        failed = await client.call_tool("generate_image", {"prompt": "[sandbox:fail] a cat"})
        sandbox.inject("task_error", "Run")
        errored = await client.call_tool("generate_panorama", {"prompt": "a dog", "width": 512, "height": 256})
    assert failed.is_error
    assert "out of memory" in text(failed) and "failed" in text(failed)
    assert failed.structured_content["state"] == "failed"
    assert failed.structured_content["error"].startswith("RuntimeError: CUDA out of memory")
    assert errored.is_error and "task_error" in text(errored) and "Worker lost" in text(errored)


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("insufficient_balance", "Insufficient balance (Wiro code 97). Add credit"),
        ("concurrency_limit", "Concurrent task limit reached (Wiro code 96). Too many tasks"),
        ("bad_credentials", "Check WIRO_API_KEY and WIRO_API_SECRET"),
        ("http_429", "rate limiting"),
        ("http_500", "Internal server error"),
        ("html", "text/html instead of JSON"),
    ],
)
async def test_wiro_errors_are_tool_errors_with_message_and_hint(sandbox: Sandbox, fault: str, says: str) -> None:
    sandbox.inject(fault, "Run", times=5, retry_after=0)  # type: ignore[arg-type]
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "x"})
    assert result.is_error
    assert says in text(result)
    assert sandbox.count("Run/") == 1, "a run is never retried"


async def test_unknown_task_is_a_tool_error(sandbox: Sandbox) -> None:
    from mcp.shared.exceptions import MCPError

    async with connect(sandbox) as client:
        read = await client.call_tool("get_task", {"task_id": "424242"})
        killed = await client.call_tool("kill_task", {"task_id": "424242"})
        cancelled = await client.call_tool("cancel_task", {"task_id": 424242})
        with pytest.raises(MCPError, match="No task 424242 exists for this Wiro account"):
            await client.read_resource("wiro://tasks/424242")
    assert read.is_error and "No task 424242 exists for this Wiro account" in text(read)
    assert "list_tasks shows the recent tasks" in text(read)
    assert killed.is_error and "Stopping task 424242 failed: No task 424242 exists" in text(killed)
    assert cancelled.is_error and "Stopping task 424242 failed: No task 424242 exists" in text(cancelled)


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        (
            "generate_panorama",
            {"prompt": "x", "steps": 501},
            "- steps: Input should be less than or equal to 500",
        ),
        ("generate_panorama", {"prompt": "x", "width": 2048, "height": 960}, "must be exactly 2 × height"),
        (
            "generate_panorama",
            {"prompt": "x", "width": 1000, "height": 1000},
            "- arguments: width 1000 is not a multiple of 16; height 1000 is not a multiple of 16; width must be "
            "exactly 2 × height for a 360°×180° panorama (got 1000×1000). Try width=2016, height=1008.",
        ),
        ("generate_panorama", {}, "- prompt: required"),
        ("generate_panorama", {"prompt": "x", "negativePrompt": "y"}, "negative_prompt"),
        ("generate_image", {"prompt": "x", "samples": 0}, "- samples:"),
        ("generate_image", {"prompt": "x", "input_image": "/etc/passwd"}, "input_image"),
        ("get_task", {}, "exactly one of task_id and task_token"),
        ("get_task", {"task_id": "1", "task_token": "t"}, "exactly one of task_id and task_token"),
        ("kill_task", {}, "exactly one of task_id and task_token"),
        ("get_task", {"task_id": "1", "wait_seconds": -1}, "wait_seconds"),
        ("get_task", {"task_id": "1", "wait": 5}, "- wait: unknown argument; the arguments are: task_id, task_token"),
        ("generate_image", {"prompt": "x", "steps": True}, "- steps: must be a number, not true or false"),
        ("generate_image", {"prompt": "  "}, "- prompt: must not be empty or only spaces"),
        ("generate_image", {"prompt": "x", "steps": "x" * 100_000}, "(100000 characters)"),
        ("cancel_task", {}, "- task_id: required"),
    ],
)
async def test_bad_arguments_are_rejected_before_anything_is_sent(
    sandbox: Sandbox, tool: str, arguments: dict[str, Any], says: str
) -> None:
    async with connect(sandbox) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert says in text(result)
    assert len(text(result)) < 2000, "a huge value is not echoed back whole"
    assert sandbox.count("") == 0


async def test_without_credentials_tools_are_listed_and_calls_name_the_variable(
    sandbox: Sandbox, state_dir: Path
) -> None:
    settings = Settings(WIRO_API_BASE_URL=sandbox.base_url, WIRO_MCP_STATE_DIR=state_dir)
    async with Client(create_server(settings)) as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        result = await client.call_tool("generate_panorama", {"prompt": "x"})
        status = await client.call_tool("get_task", {"task_id": "1"})
    assert result.is_error and "WIRO_API_KEY" in text(result)
    assert status.is_error and "WIRO_API_KEY" in text(status)
    assert sandbox.count("") == 0


async def test_resources_models_and_task(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        listed = await client.list_resources()
        assert "wiro://models" in [str(r.uri) for r in listed.resources]
        templates = await client.list_resource_templates()
        assert "wiro://tasks/{task_id}" in [t.uri_template for t in templates.resource_templates]
        models = json.loads((await client.read_resource("wiro://models")).contents[0].text)  # type: ignore[union-attr]
        assert {m["tool"] for m in models} == {"generate_panorama", "generate_image"}
        panorama = next(m for m in models if m["tool"] == "generate_panorama")
        width = next(i for i in panorama["inputs"] if i["argument"] == "width")
        assert width["default"] == 1920 and width["wiro_id"] == "width"
        done = (await client.call_tool("generate_image", {"prompt": "x"})).structured_content
        assert done is not None
        task = json.loads((await client.read_resource(f"wiro://tasks/{done['task_id']}")).contents[0].text)  # type: ignore[union-attr]
        assert task["task_id"] == done["task_id"] and task["state"] == "succeeded"


async def test_what_a_model_reads_of_tools_list_fits_seven_kilobytes(sandbox: Sandbox) -> None:
    # Names, descriptions and input schemas: what a host puts in the model's context for every call.
    async with connect(sandbox) as client:
        tools = (await client.list_tools()).tools
    # export_panorama has a budget of its own (800 bytes: tests/media/test_exports.py).
    read = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema}
        for t in tools
        if t.name != "export_panorama"
    ]
    size = len(json.dumps(read, separators=(",", ":"), ensure_ascii=False).encode())
    assert size <= 7 * 1024, f"{size} bytes: trim descriptions before adding to them"
