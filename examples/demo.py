"""`make demo`: the main job end to end, with no account and no network.

An MCP client starts wiro-mcp over stdio against its embedded sandbox, lists the tools,
generates a panorama while showing progress, saves the PNG under demo-output/ with a page to look
around in, and asks view_panorama for the view behind the viewer, as an agent would.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from pathlib import Path

from generate_panorama import ProgressLine, generate, save_viewer_page
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import ImageContent

# Where the files go: demo-output/ in the project, or the folder given as the first argument.
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "demo-output"
PROMPT = "a quiet alpine lake at sunrise, pine forest all around, snowy peaks, mist on the water"


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
            # In a terminal one progress bar redrawn in place; into a pipe, a line per status or 10 %.
            with ProgressLine.on(sys.stdout) as progress:
                data, path = await generate(client, PROMPT, OUT, progress=progress)
            page = await save_viewer_page(client, data, path)
            behind = await client.call_tool("view_panorama", {"task_id": data["task_id"], "yaw": 180})
            shot = next(block for block in behind.content if isinstance(block, ImageContent))
            back = path.with_name(f"{path.stem}-yaw180.jpg")
            back.write_bytes(base64.b64decode(shot.data))
    print(
        f"\nTask {data['task_id']} {data['state']} in {data['elapsed_seconds']:.1f} s "
        f"(sandbox: nothing billed; Wiro would charge ${data['cost_usd']:.4f})."
    )
    print(f"Saved {path.stat().st_size / 1e6:.1f} MB to {path}")
    check = data["outputs"][0]["panorama"]
    print(f"Seam check: {check['seam']} (score {check['seam_score']}); 2:1 equirectangular: {check['equirectangular']}")
    print(f"Look around in it: open {page} in a browser (drag to look, scroll to zoom)")
    print(f"What an agent sees behind the viewer (view_panorama, yaw 180): {back}")
    print(f"Whole demo: {time.perf_counter() - started:.1f} s (server log: {OUT / 'server.log'})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
