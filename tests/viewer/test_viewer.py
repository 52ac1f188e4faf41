"""The 360° viewer (an MCP App), in a real headless Chromium.

A harness page of our own plays the host (tests/browser/harness.html): the view runs in a sandboxed
iframe under the spec's default CSP, gets the handshake and the tool result, and its resources/read
and tools/call go through a bridge to a real wiro-mcp server over the SDK client. Assertions are on
screenshot pixels, with a test panorama whose directions have known colours (the sandbox's compass).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.browser import bridge
from tests.browser.chromium import Page, chromium
from tests.helpers import connect
from wiro_mcp.sandbox import Sandbox, SandboxConfig
from wiro_mcp.sandbox.pictures import COMPASS
from wiro_mcp.viewer import VIEWER_URI

pytestmark = pytest.mark.anyio

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
HARNESS = Path(__file__).resolve().parents[1] / "browser" / "harness.html"
README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "viewer.png"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WIDTH, HEIGHT = 800, 450
# The view's canvas fills the frame above its 28 px caption.
CENTRE = (WIDTH / 2, (HEIGHT - 28) / 2)
COMPASS_PROMPT = "[sandbox:compass] a test pattern"


@asynccontextmanager
async def hosted(
    client: Client, arguments: dict[str, Any], result: Any, *, official: bool = False, **query: Any
) -> AsyncIterator[str]:
    """Serve the host page, the view document and the /rpc bridge on loopback; yields the page's URL. The
    host is our harness, or with `official` the ext-apps AppBridge (tests/browser/bridge.py)."""
    extra = [Route("/bundle.js", lambda request: FileResponse(bridge.bundle()))] if official else []
    page = bridge.PAGE if official else HARNESS
    view = (await client.read_resource(VIEWER_URI)).contents[0].text  # type: ignore[union-attr]
    call = {"arguments": arguments, "result": result.model_dump(mode="json", by_alias=True, exclude_none=True)}

    async def rpc(request: Request) -> Response:
        body = await request.json()
        params = body.get("params") or {}
        try:
            if body["method"] == "resources/read":
                answer: Any = await client.read_resource(params["uri"])
            else:
                answer = await client.call_tool(params["name"], params.get("arguments") or {})
        except Exception as exc:
            return JSONResponse({"error": {"code": -32603, "message": str(exc)}})
        return JSONResponse({"result": answer.model_dump(mode="json", by_alias=True, exclude_none=True)})

    app = Starlette(
        routes=[
            Route("/", lambda request: FileResponse(page)),
            *extra,
            Route("/view", lambda request: HTMLResponse(view)),
            Route("/call", lambda request: JSONResponse(call)),
            Route("/rpc", rpc, methods=["POST"]),
        ]
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, log_level="warning"))
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(server.serve, sockets=[listener]))
        while not server.started:
            await anyio.sleep(0.01)
        options = "".join(f"&{k}={v}" for k, v in query.items())
        yield f"http://127.0.0.1:{port}/?width={WIDTH}&height={HEIGHT}{options}"
        server.should_exit = True
    listener.close()


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def colour_at(shot: Image.Image, x: float, y: float) -> str:
    """Which compass direction the pixel shows ("?" if none)."""
    pixel = shot.getpixel((int(x), int(y)))
    assert isinstance(pixel, tuple)
    return next((name for name, colour in COMPASS.items() if near(pixel, colour)), f"? {pixel}")


async def frames(page: Page) -> list[dict[str, Any]]:
    logs = await page.evaluate("JSON.stringify(window.host ? window.host.logs : [])")
    return [entry for entry in json.loads(logs) if isinstance(entry, dict) and entry.get("event") == "frame"]


async def wait_frame(page: Page, source: str) -> dict[str, Any]:
    with anyio.fail_after(60):
        while True:
            found = [f for f in await frames(page) if f["source"] == source]
            if found:
                await anyio.sleep(0.2)  # the drawing happens on the next animation frame
                return found[0]
            await anyio.sleep(0.05)


async def compass(client: Client, **arguments: Any) -> tuple[dict[str, Any], Any]:
    arguments = {"prompt": COMPASS_PROMPT, "width": 2048, "height": 1024, **arguments}
    return arguments, await client.call_tool("generate_panorama", arguments)


async def test_the_viewer_shows_a_generated_panorama_and_responds_to_drag_and_zoom(box: Sandbox) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        assert not result.is_error
        async with hosted(client, arguments, result) as url, chromium(url, width=WIDTH, height=HEIGHT) as page:
            preview = await wait_frame(page, "preview")
            shot = await page.screenshot()
            assert colour_at(shot, *CENTRE) == "front", "yaw 0 looks at the centre column"
            assert colour_at(shot, WIDTH * 0.02, CENTRE[1]) == "front", "at 90° the front fills the width"
            # Grab and drag to the left by one canvas width (two half drags): the view turns 90° right.
            for _ in range(2):
                await page.drag((WIDTH * 0.75, CENTRE[1]), (WIDTH * 0.25, CENTRE[1]))
            await anyio.sleep(0.2)
            turned = await page.screenshot()
            assert colour_at(turned, *CENTRE) == "right"
            # Zoom out to the widest (110°): the front comes into view at the left edge.
            await page.wheel(CENTRE, 600)
            await anyio.sleep(0.2)
            assert colour_at(await page.screenshot(), WIDTH * 0.02, CENTRE[1]) == "front"
            # Zoom in to the narrowest (30°): only the right face is left.
            await page.wheel(CENTRE, -2000)
            await anyio.sleep(0.2)
            narrow = await page.screenshot()
            assert colour_at(narrow, WIDTH * 0.02, CENTRE[1]) == "right"
            # Look up with the arrow key, 5° a press, well past 90: pitch stops there and the view is all sky.
            for _ in range(25):
                await page.key("ArrowUp", 38)
            await anyio.sleep(0.2)
            up = await page.screenshot()
            assert colour_at(up, *CENTRE) == colour_at(up, WIDTH * 0.1, HEIGHT * 0.1) == "up"
            full = await wait_frame(page, "full")
            sizes = json.loads(await page.evaluate("JSON.stringify(window.host.sizes)"))
    assert (preview["width"], preview["texture"]) == (1024, 1024), "the small picture carried in the result"
    assert (full["width"], full["texture"]) == (2048, 2048), "swapped for full resolution via resources/read"
    assert sizes and sizes[-1]["width"] == WIDTH, "the view tells the host its size"


async def test_a_picture_wider_than_the_gpu_takes_is_drawn_smaller(box: Sandbox) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        async with (
            hosted(client, arguments, result, max_texture=1024) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            full = await wait_frame(page, "full")
            shot = await page.screenshot()
    assert (full["width"], full["texture"]) == (2048, 1024)
    assert colour_at(shot, *CENTRE) == "front"


async def test_without_webgl_the_panorama_is_shown_flat(box: Sandbox) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        async with (
            hosted(client, arguments, result) as url,
            chromium(url, width=WIDTH, height=HEIGHT, extra_flags=("--disable-webgl", "--disable-3d-apis")) as page,
        ):
            frame = await wait_frame(page, "preview")
            shot = await page.screenshot()
    assert frame["texture"] == 0
    # The whole equirectangular picture, letterboxed: sky across the top, floor across the bottom.
    top = (HEIGHT - 28 - WIDTH / 2) / 2 + 10
    assert colour_at(shot, WIDTH * 0.05, top) == colour_at(shot, WIDTH * 0.95, top) == "up"
    assert colour_at(shot, WIDTH / 2, (HEIGHT - 28) / 2) == "front"


async def test_a_running_task_is_followed_until_it_can_be_shown() -> None:
    with Sandbox(SandboxConfig(queue_seconds=0.3, run_seconds=1.5, grain=False)) as slow:
        async with connect(slow, extensions=[APPS]) as client:
            arguments, result = await compass(client, wait_seconds=0)
            assert result.structured_content["state"] in ("queued", "running")
            async with hosted(client, arguments, result) as url, chromium(url, width=WIDTH, height=HEIGHT) as page:
                full = await wait_frame(page, "full")
                shot = await page.screenshot()
                logs = json.loads(await page.evaluate("JSON.stringify(window.host.logs)"))
    said = [entry["text"] for entry in logs if entry.get("event") == "status"]
    assert any("is queued" in text or "is running" in text for text in said), said
    assert full["texture"] == 2048 and colour_at(shot, *CENTRE) == "front"


async def test_a_failed_task_shows_the_error(box: Sandbox) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments = {"prompt": "[sandbox:fail] a cave", "width": 1024, "height": 512}
        result = await client.call_tool("generate_panorama", arguments)
        assert result.is_error
        async with hosted(client, arguments, result) as url, chromium(url, width=WIDTH, height=HEIGHT) as page:
            errors = "window.host.logs.filter((entry) => entry.event === 'status' && entry.error)"
            said = await page.wait_for(f"{errors}.length && JSON.stringify({errors})")
    assert "failed" in said and "out of memory" in said


async def test_fullscreen_goes_through_the_hosts_display_mode(box: Sandbox) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client, width=1024, height=512)
        async with hosted(client, arguments, result) as url, chromium(url, width=WIDTH, height=HEIGHT) as page:
            await wait_frame(page, "preview")
            button = "document.getElementById('full')"
            x, y, w, h = await page.in_frame(f"(r => [r.x, r.y, r.width, r.height])({button}.getBoundingClientRect())")
            await page.click((x + w / 2, y + h / 2))
            modes = await page.wait_for("window.host.displayModes.length && window.host.displayModes")
            with anyio.fail_after(10):
                while await page.in_frame(f"{button}.textContent") != "Exit fullscreen":
                    await anyio.sleep(0.05)
    assert modes == ["fullscreen"], "the view asked the host, which switched it"


async def test_a_screenshot_of_the_viewer(box: Sandbox, tmp_path: Path) -> None:
    """The README's picture of the viewer, taken here (WIRO_MCP_UPDATE_SCREENSHOTS=1 writes docs/viewer.png)."""
    with Sandbox(SandboxConfig(queue_seconds=0.05, run_seconds=0.2)) as photo:
        async with connect(photo, extensions=[APPS]) as client:
            prompt = "a quiet alpine lake at sunrise, pine forest all around"
            arguments = {"prompt": prompt, "width": 2048, "height": 1024}
            result = await client.call_tool("generate_panorama", arguments)
            async with hosted(client, arguments, result) as url, chromium(url, width=WIDTH, height=HEIGHT) as page:
                await wait_frame(page, "full")
                await page.drag((WIDTH * 0.6, CENTRE[1]), (WIDTH * 0.4, CENTRE[1] + 40))
                await anyio.sleep(0.3)
                shot = await page.screenshot()
    path = tmp_path / "viewer.png"
    shot.save(path)
    assert shot.size == (WIDTH, HEIGHT)
    assert len(shot.resize((40, 20)).getcolors(800) or []) > 50, "a picture, not a blank frame"
    if os.environ.get("WIRO_MCP_UPDATE_SCREENSHOTS") == "1":
        README_SHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, README_SHOT)


async def test_the_demo_page_works_on_its_own_in_a_browser(box: Sandbox, tmp_path: Path) -> None:
    # examples/generate_panorama.py writes the server's viewer with the panorama embedded next to the PNG.
    spec = importlib.util.spec_from_file_location("example", EXAMPLES / "generate_panorama.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    async with connect(box) as client:
        data, png = await example.generate(client, COMPASS_PROMPT, tmp_path, progress=example.print_progress)
        page_path = await example.save_viewer_page(client, data, png)
    page_text = page_path.read_text()
    assert page_text.count("window.WIRO_PANORAMA = ") == 1 and "data:image/jpeg;base64," in page_text
    async with chromium(page_path.as_uri(), width=WIDTH, height=HEIGHT) as page:
        drawn = "document.getElementById('status').textContent === '' && !document.getElementById('view').hidden"
        await page.wait_for(drawn)
        await anyio.sleep(0.3)
        shot = await page.screenshot()
    assert colour_at(shot, *CENTRE) == "front"
    assert colour_at(shot, WIDTH * 0.02, CENTRE[1]) == "front"


# -- hosts without MCP Apps -----------------------------------------------------------------------


async def test_the_viewer_is_declared_for_the_tools_that_show_panoramas(box: Sandbox) -> None:
    async with connect(box, extensions=[APPS]) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        read = await client.read_resource(VIEWER_URI)
        extensions = client.server_capabilities.extensions or {}
    for name in ("generate_panorama", "get_task"):
        assert tools[name].meta == {"ui": {"resourceUri": VIEWER_URI}, "ui/resourceUri": VIEWER_URI}
    for name in ("generate_image", "kill_task", "cancel_task"):
        assert not (tools[name].meta or {}).get("ui")
    [document] = read.contents
    assert document.mime_type == APP_MIME_TYPE
    assert document.meta == {"ui": {"csp": {}, "prefersBorder": False}}, "the spec's default CSP: no network"
    text = document.text  # type: ignore[union-attr]
    assert "http://" not in text and "https://" not in text, "self-contained: nothing fetched from anywhere"
    assert len(text.encode()) < 25_000
    assert EXTENSION_ID in extensions


async def test_a_host_without_apps_gets_exactly_the_plain_result(box: Sandbox) -> None:
    arguments = {"prompt": "a cove", "width": 1024, "height": 512, "seed": 3}
    async with connect(box) as plain_client:
        plain = await plain_client.call_tool("generate_panorama", arguments)
    async with connect(box, extensions=[APPS]) as apps_client:
        rich = await apps_client.call_tool("generate_panorama", {**arguments, "allow_duplicate": True})

    def shape(result: Any) -> tuple[Any, ...]:
        data = dict(result.structured_content)
        # The estimate varies too: the second run's learns from what Wiro billed the first.
        for varying in (
            *("task_id", "task_token", "outputs", "elapsed_seconds", "cost_usd"),
            *("estimated_cost_usd", "estimate_basis"),
        ):
            data.pop(varying)
        return ([block.type for block in result.content], data, result.is_error)

    assert shape(plain) == shape(rich), "the same content and structured content either way"
    assert "wiro-mcp/viewer" not in (plain.meta or {})
    viewer = rich.meta["wiro-mcp/viewer"]  # type: ignore[index]
    assert viewer["rendition"] == f"wiro://tasks/{rich.structured_content['task_id']}/viewer/0.png"
    # The agent's preview of a panorama is a sheet of views; the viewer starts from a small flat picture.
    assert viewer["thumbnail"].startswith("data:image/jpeg;base64,")
    assert len(viewer["thumbnail"]) < 170_000 and len(rich.model_dump_json(by_alias=True)) < 1_000_000
    assert not any(isinstance(v, str) and len(v) > 2000 for v in rich.structured_content.values())
