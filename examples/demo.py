"""`make demo`: the main job end to end, with no account and no network.

An MCP client starts wiro-mcp over stdio against its embedded sandbox, lists the tools,
generates a panorama while showing progress, and saves the PNG under demo-output/.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from generate_panorama import generate, save_viewer_page
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

OUT = Path(__file__).resolve().parent.parent / "demo-output"
PROMPT = "a quiet alpine lake at sunrise, pine forest all around, snowy peaks, mist on the water"


async def progress_bar(value: float, total: float | None, message: str | None) -> None:
    fraction = value / (total or 1)
    done = int(fraction * 30)
    print(f"  [{'#' * done}{'.' * (30 - done)}] {fraction:4.0%}  {message or ''}", flush=True)


async def main() -> int:
    OUT.mkdir(exist_ok=True)
    server = StdioServerParameters(command=sys.executable, args=["-m", "wiro_mcp", "--sandbox"])
    started = time.perf_counter()
    # The server's own log goes to a file so the progress lines stay readable.
    with (OUT / "server.log").open("w") as server_log:
        async with Client(stdio_client(server, errlog=server_log)) as client:
            tools = await client.list_tools()
            print(f"Connected to wiro-mcp in {time.perf_counter() - started:.2f} s. Tools:")
            for tool in tools.tools:
                print(f"  - {tool.name}: {tool.title}")
            print(f"\nGenerating a 2048x1024 panorama: {PROMPT!r}")
            data, path = await generate(client, PROMPT, OUT, progress=progress_bar)
            page = await save_viewer_page(client, data, path)
    print(
        f"\nTask {data['task_id']} {data['state']} in {data['elapsed_seconds']:.1f} s "
        f"(sandbox cost ${data['cost_usd']:.4f})."
    )
    print(f"Saved {path.stat().st_size / 1e6:.1f} MB to {path}")
    print(f"Look around in it: open {page} in a browser (drag to look, scroll to zoom)")
    print(f"Whole demo: {time.perf_counter() - started:.1f} s (server log: {OUT / 'server.log'})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
