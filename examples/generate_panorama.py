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
import re
import shutil
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TextIO

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import BlobResourceContents, TextResourceContents

VIEWER = "ui://wiro/panorama-v1.html"


class Progress(Protocol):
    """What the SDK's Client calls with each progress notification."""

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None: ...


async def print_progress(progress: float, total: float | None, message: str | None) -> None:
    """Every update on a line of its own, for a caller that keeps them all (ProgressLine shows fewer)."""
    print(f"  {progress / (total or 1):4.0%}  {message or ''}", flush=True)


class ProgressLine:
    """Progress for a person: in a terminal one line redrawn in place (a task sends ~50 updates, which
    would otherwise scroll everything else away); in a pipe or a CI log, a line only per milestone.
    Use it as a context manager, so the line is ended (or the last update logged) when the task is."""

    def __init__(self, stream: TextIO, *, terminal: bool, width: int = 80) -> None:
        self._stream = stream
        self.terminal = terminal
        # A line longer than the terminal wraps, and a carriage return only goes back to its last row.
        self._width = max(20, width)
        self._drawn = False
        self._logged: tuple[int, str] | None = None
        self._pending = ""

    @classmethod
    def on(cls, stream: TextIO) -> ProgressLine:
        """A printer for `stream` as it is: redrawing only where a terminal can (not TERM=dumb)."""
        terminal = stream.isatty() and os.environ.get("TERM") != "dumb"
        return cls(stream, terminal=terminal, width=shutil.get_terminal_size().columns)

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        fraction = min(1.0, max(0.0, progress / total)) if total else None
        text = progress_text(fraction, one_line(message or ""))
        if self.terminal:
            self._stream.write(f"\r{text[: self._width - 1]}\x1b[K")
            self._stream.flush()
            self._drawn = True
            return
        mark = milestone(fraction, message or "")
        if mark == self._logged:
            self._pending = text
            return
        self._logged, self._pending = mark, ""
        self._write_line(text)

    def finish(self) -> None:
        """End the redrawn line; in a log, print the last update if it was held back."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False
        if self._pending:
            self._write_line(self._pending)
            self._pending = ""

    def _write_line(self, text: str) -> None:
        self._stream.write(f"{text}\n")
        self._stream.flush()

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.finish()


def progress_text(fraction: float | None, message: str) -> str:
    """A 30-character bar and the percentage when the total is known, then the server's message."""
    if fraction is None:
        return f"  {message}"
    done = int(fraction * 30)
    return f"  [{'#' * done}{'.' * (30 - done)}] {fraction:4.0%}  {message}"


def milestone(fraction: float | None, message: str) -> tuple[int, str]:
    """What a log line is worth printing for: a new tenth of the way, or a new status. Counters in the
    message ("step 6/40") do not count as new, or every denoising step would print a line."""
    tenth = int(fraction * 10) if fraction is not None else -1
    return tenth, re.sub(r"\d+", "#", message)


def one_line(text: str) -> str:
    """`text` on one line with nothing the terminal would act on: line breaks and controls escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


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
    # The viewer reads window.WIRO_PANORAMA when it has no host to talk to.
    script = f"<script>window.WIRO_PANORAMA = {script_json(embedded)};</script>"
    page = png.with_suffix(".html")
    page.write_text(document.text.replace("<head>", f"<head>\n{script}", 1), encoding="utf-8")
    return page


# What could end or change a <script> element holding JSON: "</script>" ends it, "<!--<script>" makes
# the parser take the rest of the page as script, and before ES2019 U+2028/U+2029 ended a JS string.
# JSON only has them inside strings, where these escapes mean the same characters.
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(value: Any) -> str:
    """`value` as JSON that can go inside a <script> whatever its strings hold (a prompt is anyone's text):
    none of the characters that could end or change the element is left as itself."""
    return json.dumps(value, allow_nan=False).translate(_SCRIPT_ESCAPES)


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


def explained(exc: BaseException, args: argparse.Namespace) -> str:
    """What went wrong, in a line: the innermost error of the task groups the client runs in."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    said = str(exc) or type(exc).__name__
    if "401" in said or "Unauthorized" in said:
        return f"{said}. Pass the server's token with --token." if args.url else said
    return said


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prompt")
    parser.add_argument("--live", action="store_true", help="use WIRO_API_KEY/SECRET against api.wiro.ai")
    parser.add_argument("--url", help="an HTTP wiro-mcp endpoint instead of spawning one")
    parser.add_argument("--token", help="bearer token for --url")
    parser.add_argument("--out", type=Path, default=Path("panoramas"))
    parser.add_argument("--run-seconds", type=float, default=2.5, help="sandbox only: how long its task runs")
    args = parser.parse_args()
    try:
        async with connect(args) as client:
            with ProgressLine.on(sys.stdout) as progress:
                data, path = await generate(client, args.prompt, args.out, progress=progress)
            page = await save_viewer_page(client, data, path)
    except Exception as exc:  # one line a person can act on, not a page of task-group tracebacks
        print(f"error: {explained(exc, args)}", file=sys.stderr)
        return 2
    cost = data.get("cost_usd", 0)
    billed = f"sandbox, nothing billed (Wiro would charge ${cost:.4f})" if data.get("sandbox") else f"cost ${cost:.4f}"
    print(f"task {data['task_id']}: {data['state']}, {billed}")
    print(f"look around in a browser: {page}")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
