"""`make demo`: the main job end to end, with no account and no network.

An MCP client starts wiro-mcp over stdio against its embedded sandbox, lists the tools,
generates a panorama while showing progress, and saves the PNG under demo-output/.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

OUT = Path(__file__).resolve().parent.parent / "demo-output"
PROMPT = "a quiet alpine lake at sunrise, pine forest all around, snowy peaks, mist on the water"


def bar(fraction: float, width: int = 30) -> str:
    done = int(fraction * width)
    return "[" + "#" * done + "." * (width - done) + f"] {fraction:4.0%}"


async def demo(client: Client, started: float) -> int:
    tools = await client.list_tools()
    print(f"Connected to wiro-mcp in {time.perf_counter() - started:.2f} s. Tools:")
    for tool in tools.tools:
        print(f"  - {tool.name}: {tool.title}")

    print(f"\nGenerating a 2048x1024 panorama: {PROMPT!r}")

    async def progress(value: float, total: float | None, message: str | None) -> None:
        print(f"  {bar(value / (total or 1))}  {message or ''}", flush=True)

    result = await client.call_tool(
        "generate_panorama",
        {"prompt": PROMPT, "width": 2048, "height": 1024},
        progress_callback=progress,
    )
    data = result.structured_content or {}
    if result.is_error or data.get("state") != "succeeded":
        print("\nThe panorama did not finish:", data or result.content)
        return 1
    output = data["outputs"][0]
    async with httpx2.AsyncClient() as http:
        response = await http.get(output["url"])
        response.raise_for_status()
    path = OUT / f"panorama-task-{data['task_id']}.png"
    path.write_bytes(response.content)
    print(
        f"\nTask {data['task_id']} {data['state']} in {data['elapsed_seconds']:.1f} s "
        f"(sandbox cost ${data['cost_usd']:.4f})."
    )
    print(f"Saved {len(response.content) / 1e6:.1f} MB to {path}")
    return 0


async def main() -> int:
    OUT.mkdir(exist_ok=True)
    server = StdioServerParameters(command=sys.executable, args=["-m", "wiro_mcp", "--sandbox"])
    started = time.perf_counter()
    # The server's own log goes to a file so the progress lines stay readable.
    with (OUT / "server.log").open("w") as server_log:
        async with Client(stdio_client(server, errlog=server_log)) as client:
            code = await demo(client, started)
    print(f"Whole demo: {time.perf_counter() - started:.1f} s (server log: {OUT / 'server.log'})")
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
