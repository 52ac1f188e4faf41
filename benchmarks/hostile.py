"""What Wiro's answers cost the server however they are written (issue 29): deriving a model's spec and
typed tool from a Tool/Detail of n inputs, and how long tools/list waits while the largest answer a
stand-in Wiro can send is read, derived and described."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from wiro_mcp.sandbox import Sandbox, SandboxConfig

HERE = Path(__file__).resolve().parent
CALL = {
    "wait_seconds": {"type": "number", "minimum": 0, "maximum": 3600, "description": "Seconds to wait (default 45)."},
    "preview": {"anyOf": [{"type": "boolean"}, {"const": "flat", "type": "string"}], "default": True},
    "allow_duplicate": {"type": "boolean", "default": False, "description": "A new task even if one runs."},
}


def entry(inputs: int, groups: int = 1, *, lean_after: int | None = None) -> dict[str, Any]:
    """A Tool/Detail entry of `inputs` items of every type, each with Wiro-length words and 20 options
    (past `lean_after`, an id and a type alone)."""
    kinds = ["text", "select", "number", "range", "fileinput", "textarea", "multifileinput"]
    items = [
        {
            "id": f"input{n}",
            "type": kinds[n % len(kinds)],
            "label": "A label of some words",
            "description": "What this input does, in a sentence or two of Wiro's words. " * 4,
            "required": n == 0,
            "options": [{"label": f"Option {k}", "value": f"v{k}"} for k in range(20)],
            "min": "1",
            "max": "100",
            "step": "1",
            "default": "5",
        }
        for n in range(inputs if lean_after is None else min(inputs, lean_after))
    ]
    items += [{"id": f"m{n}"} for n in range(len(items), inputs)]
    return {
        "slugowner": "acme",
        "slugproject": "thing",
        "title": "A model",
        "description": "What it does. " * 100,
        "categories": ["video"],
        "parameters": [{"title": f"group {g}", "items": items[g::groups]} for g in range(groups)],
    }


def derivation_ms(inputs: int, runs: int) -> tuple[float, int]:
    """(median ms from Tool/Detail's entry to a spec and a typed tool, the tool's bytes) for `inputs` items."""
    from wiro_mcp.catalog.derive import spec_from_wiro
    from wiro_mcp.catalog.typed import TypedTool, typed_tool
    from wiro_mcp.wiro.tool_info import ToolInfo

    raw = entry(inputs)
    times, size = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        spec = spec_from_wiro("acme/thing", ToolInfo.model_validate(raw).model_dump())
        tool = typed_tool(spec, "run_acme_thing", CALL)
        times.append(time.perf_counter() - began)
        size = tool.size if isinstance(tool, TypedTool) else 0
    return statistics.median(times) * 1e3, size


async def tools_list_while_reading(reads: int = 3) -> tuple[float, float, int]:
    """A configured model whose Tool/Detail is 50 groups × 200 items, as large as a catalog answer is read
    (just under 512 KiB), read afresh `reads` times at once (its spec's day made 0): the longest a tools/list
    waited meanwhile (ms), the slowest describe_model (s), and the model's typed tool's bytes. The server
    has served one call first (its start, imports and TLS, is paid once and in a worker thread)."""
    sys.path.insert(0, str(HERE.parent))
    from tests.helpers import connect
    from wiro_mcp import budgets

    named = {"slugowner": "sage", "slugproject": "chat"}
    body = json.dumps({"result": True, "errors": [], "tool": [entry(10_000, groups=50, lean_after=100) | named]})
    assert len(body) < 512 * 1024, len(body)
    waits: list[float] = []
    took: list[float] = []
    size = 0
    ttl, budgets.MODEL_SPEC_TTL = budgets.MODEL_SPEC_TTL, 0.0
    try:
        with tempfile.TemporaryDirectory() as state, Sandbox(SandboxConfig(grain=False)) as box:
            box.inject("raw_body", "Tool/Detail", value=body, times=1 + 2 * reads)
            async with connect(box, WIRO_MCP_MODELS="sage/chat", WIRO_MCP_STATE_DIR=state) as client:
                await client.call_tool("describe_model", {"model": "sage/chat"})  # the service started
                left = reads

                async def describe() -> None:
                    nonlocal left
                    began = anyio.current_time()
                    await client.call_tool("describe_model", {"model": "sage/chat"})
                    took.append(anyio.current_time() - began)
                    left -= 1

                async with anyio.create_task_group() as group:
                    for _ in range(reads):
                        group.start_soon(describe)
                    while left:
                        began = time.perf_counter()
                        await client.list_tools()
                        waits.append(time.perf_counter() - began)
                        await anyio.sleep(0.002)
                tools = (await client.list_tools()).tools
    finally:
        budgets.MODEL_SPEC_TTL = ttl
    for tool in tools:
        if tool.name == "run_sage_chat":
            read = {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
            size = len(json.dumps(read, separators=(",", ":"), ensure_ascii=False).encode())
    return max(waits) * 1e3, max(took), size
