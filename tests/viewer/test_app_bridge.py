"""The viewer under the official MCP Apps host library: AppBridge and PostMessageTransport from
@modelcontextprotocol/ext-apps (its /app-bridge entry, bundled from npm), connected to a real wiro-mcp
server through its callbacks. Handshake, tool input and result, resources/read, display modes,
download and tool calls, with scrollbars shown as in real hosts.

Our own harness (tests/browser/harness.html) stays for what this library does not let a test do:
pretending the GPU takes smaller textures (?max_texture), which needs a script in the view's document
before the view's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.browser.chromium import chromium
from tests.helpers import connect

from .test_viewer import APPS, CENTRE, HEIGHT, WIDTH, colour_at, compass, hosted, wait_frame
from .test_viewer_host import decided_not_to_read, host_state, wait_host

pytestmark = pytest.mark.anyio

ALL: dict[str, dict[str, str]] = {"serverTools": {}, "serverResources": {}, "downloadFile": {}, "logging": {}}


async def test_the_official_host_library_shows_the_panorama_full_size(box: Any) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        async with (
            hosted(client, arguments, result, official=True, caps=json.dumps(ALL)) as url,
            chromium(url, width=WIDTH, height=HEIGHT, scrollbars=True) as page,
        ):
            preview = await wait_frame(page, "preview")
            full = await wait_frame(page, "full")
            shot = await page.screenshot()
            requests = await host_state(page, "requests")
            sizes = await host_state(page, "sizes")
            measured = json.loads(
                await page.in_frame(
                    "JSON.stringify({height: document.documentElement.scrollHeight,"
                    " canvas: document.getElementById('view').clientWidth})"
                )
            )
    assert (preview["width"], full["width"]) == (1024, 2048), "the result's picture, then resources/read's"
    assert "resources/read" in requests
    assert colour_at(shot, *CENTRE) == "front"
    assert sizes and sizes[-1]["width"] == WIDTH
    assert measured == {"height": HEIGHT, "canvas": WIDTH}, "no scrollbar in the fixed frame"


async def test_display_modes_go_through_the_host(box: Any) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        async with (
            hosted(client, arguments, result, official=True, caps=json.dumps(ALL)) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            await page.in_frame("document.getElementById('full').click()")
            modes = await wait_host(page, "displayModes")
            with anyio.fail_after(10):
                while await page.in_frame("document.getElementById('full').textContent") != "Exit fullscreen":
                    await anyio.sleep(0.05)
    assert modes == ["fullscreen"]


async def test_download_and_export_through_the_host(box: Any, tmp_path: Path) -> None:
    async with connect(box, extensions=[APPS], WIRO_MCP_OUTPUT_DIR=str(tmp_path)) as client:
        arguments, result = await compass(client)
        async with (
            hosted(client, arguments, result, official=True, caps=json.dumps(ALL)) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            await page.in_frame("document.getElementById('download').click()")
            [saved] = await wait_host(page, "downloads")
            await page.in_frame("document.getElementById('export').click()")
            with anyio.fail_after(30):
                while len(downloads := await host_state(page, "downloads")) < 2:
                    await anyio.sleep(0.05)
            requests = await host_state(page, "requests")
    assert saved["contents"][0]["uri"] == result.structured_content["outputs"][0]["url"]
    assert [link["name"] for link in downloads[1]["contents"]][:1] == ["skybox512_px.png"]
    assert "tools/call" in requests and len(list(tmp_path.rglob("skybox512_*.png"))) == 6


async def test_without_server_resources_the_library_host_is_not_asked_to_read(box: Any) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        caps = json.dumps({"serverTools": {}})
        async with (
            hosted(client, arguments, result, official=True, caps=caps) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            await decided_not_to_read(page)
            requests = await host_state(page, "requests")
    assert "resources/read" not in requests
