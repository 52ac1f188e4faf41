"""Generate a 360° panorama through wiro-mcp with the MCP Python SDK's Client, and save it.

    python examples/generate_panorama.py "a misty fjord at dawn"                # embedded sandbox
    WIRO_API_KEY=... WIRO_API_SECRET=... python examples/generate_panorama.py --live "a misty fjord at dawn"
    python examples/generate_panorama.py --url http://127.0.0.1:8000/mcp --token T "a misty fjord"

The file is read back through the server's output resource, so no other HTTP client is needed.
If the panorama takes longer than the call's wait budget, the script follows `next_action`
(get_task with wait_seconds) until it is done, exactly as an agent should. Next to the PNG it
writes a page to look around in, in any browser: the server's own 360° viewer (its ui:// resource)
with the panorama embedded.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import BlobResourceContents, TextResourceContents

VIEWER = "ui://wiro/panorama-v1.html"

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


async def print_progress(value: float, total: float | None, message: str | None) -> None:
    print(f"  {value / (total or 1):4.0%}  {message or ''}", flush=True)


async def generate(
    client: Client, prompt: str, out_dir: Path, *, width: int = 2048, height: int = 1024, progress: Progress
) -> tuple[dict[str, Any], Path]:
    """Run generate_panorama to the end and save the PNG; returns the task result and the path."""
    arguments = {"prompt": prompt, "width": width, "height": height, "preview": False}
    result = await client.call_tool("generate_panorama", arguments, progress_callback=progress)
    data = result.structured_content or {}
    while not result.is_error and data.get("next_action"):
        action = data["next_action"]
        result = await client.call_tool(action["tool"], action["arguments"], progress_callback=progress)
        data = result.structured_content or {}
    if result.is_error or data.get("state") != "succeeded":
        texts = " ".join(getattr(block, "text", "") for block in result.content)
        raise RuntimeError(f"the panorama did not succeed: {texts}")
    output = data["outputs"][0]
    read = await client.read_resource(f"wiro://tasks/{data['task_id']}/outputs/{output['name']}")
    blob = read.contents[0]
    assert isinstance(blob, BlobResourceContents)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = free_path(out_dir, f"panorama-task-{data['task_id']}", ".png")
    path.write_bytes(base64.b64decode(blob.blob))
    return data, path


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    """folder/stem.suffix, or stem-2, stem-3, … when taken: an earlier run's files are never overwritten
    (every sandbox starts counting tasks at 1001)."""
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists() or path.with_suffix(".html").exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


async def save_viewer_page(client: Client, data: dict[str, Any], png: Path) -> Path:
    """The server's 360° viewer with the panorama embedded (as a JPEG of at most ~1 MB), beside the PNG."""
    document = (await client.read_resource(VIEWER)).contents[0]
    picture = (
        await client.read_resource(f"wiro://tasks/{data['task_id']}/viewer/{data['outputs'][0]['name']}")
    ).contents[0]
    assert isinstance(document, TextResourceContents) and isinstance(picture, BlobResourceContents)
    embedded = {
        "image": f"data:image/jpeg;base64,{picture.blob}",
        "task_id": data["task_id"],
        "prompt": data.get("prompt", ""),
    }
    # The viewer reads window.WIRO_PANORAMA when it has no host to talk to; "<\\/" keeps the script whole.
    embedded_json = json.dumps(embedded).replace("</", "<\\/")
    script = f"<script>window.WIRO_PANORAMA = {embedded_json};</script>"
    page = png.with_suffix(".html")
    page.write_text(document.text.replace("<head>", f"<head>\n{script}", 1), encoding="utf-8")
    return page


def connect(args: argparse.Namespace) -> Client:
    if args.url:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        return Client(streamable_http_client(args.url, http_client=httpx2.AsyncClient(headers=headers)))
    sandbox = ["--sandbox", "--run-seconds", str(args.run_seconds)]
    server_args = ["-m", "wiro_mcp"] if args.live else ["-m", "wiro_mcp", *sandbox]
    env = {k: v for k, v in os.environ.items() if k.startswith("WIRO_")} if args.live else {}
    return Client(stdio_client(StdioServerParameters(command=sys.executable, args=server_args, env=env)))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prompt")
    parser.add_argument("--live", action="store_true", help="use WIRO_API_KEY/SECRET against api.wiro.ai")
    parser.add_argument("--url", help="an HTTP wiro-mcp endpoint instead of spawning one")
    parser.add_argument("--token", help="bearer token for --url")
    parser.add_argument("--out", type=Path, default=Path("panoramas"))
    parser.add_argument("--run-seconds", type=float, default=2.5, help="sandbox only: how long its task runs")
    args = parser.parse_args()
    async with connect(args) as client:
        data, path = await generate(client, args.prompt, args.out, progress=print_progress)
        page = await save_viewer_page(client, data, path)
    cost = data.get("cost_usd", 0)
    billed = f"sandbox, nothing billed (Wiro would charge ${cost:.4f})" if data.get("sandbox") else f"cost ${cost:.4f}"
    print(f"task {data['task_id']}: {data['state']}, {billed}")
    print(f"look around in a browser: {page}")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
