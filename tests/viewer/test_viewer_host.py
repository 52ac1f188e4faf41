"""The viewer as real hosts hold it: a fixed frame with scrollbars that take room, a host that does not
serve the server's resources, and the Download and Export buttons (ui/download-file, ui/open-link, and
export_panorama through the host's tools/call)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.browser.chromium import Page, chromium
from tests.helpers import connect

from .test_viewer import APPS, HEIGHT, WIDTH, compass, hosted, wait_frame

pytestmark = pytest.mark.anyio


async def host_state(page: Page, name: str) -> Any:
    return json.loads(await page.evaluate(f"JSON.stringify(window.host.{name})"))


async def wait_host(page: Page, name: str) -> list[Any]:
    with anyio.fail_after(30):
        while not (found := await host_state(page, name)):
            await anyio.sleep(0.05)
    return list(found)


async def decided_not_to_read(page: Page) -> list[Any]:
    """The host's log once the viewer has logged that it will not ask for the full-size picture (the
    point after which a resources/read would have been sent): a wait on that event, not a fixed sleep."""
    with anyio.fail_after(30):
        while True:
            logs = await host_state(page, "logs")
            if any(isinstance(e, dict) and e.get("event") == "full-resolution unavailable" for e in logs):
                return list(logs)
            await anyio.sleep(0.05)


async def test_a_fixed_frame_shows_no_scrollbar_and_the_canvas_its_full_width(box: Any) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        async with (
            hosted(client, arguments, result) as url,
            chromium(url, width=WIDTH, height=HEIGHT, scrollbars=True) as page,
        ):
            await wait_frame(page, "preview")
            measured = await page.in_frame(
                "JSON.stringify({height: document.documentElement.scrollHeight, inner: innerWidth,"
                " client: document.documentElement.clientWidth, canvas: document.getElementById('view').clientWidth})"
            )
    sizes = json.loads(measured)
    assert sizes["height"] == HEIGHT, "stage and caption fill the frame exactly"
    assert sizes["client"] == sizes["inner"] == WIDTH, "no vertical scrollbar takes room"
    assert sizes["canvas"] == WIDTH


async def test_a_host_without_server_resources_is_not_asked_to_read_one(box: Any) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        caps = json.dumps({"serverTools": {}})
        async with (
            hosted(client, arguments, result, caps=caps) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            logs = await decided_not_to_read(page)
            requests = await host_state(page, "requests")
    assert "resources/read" not in requests
    assert any(isinstance(e, dict) and "does not read the server's resources" in str(e.get("error")) for e in logs)


@pytest.mark.parametrize("how", ["downloadFile", "openLinks"])
async def test_download_asks_the_host_to_save_the_panorama(box: Any, how: str) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        output = result.structured_content["outputs"][0]
        caps = json.dumps({"serverTools": {}, "serverResources": {}, how: {}})
        async with (
            hosted(client, arguments, result, caps=caps) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            assert await page.in_frame("document.getElementById('download').hidden") is False
            await page.in_frame("document.getElementById('download').click()")
            asked = await wait_host(page, "downloads" if how == "downloadFile" else "links")
    if how == "downloadFile":
        [link] = asked[0]["contents"]
        assert link == {"type": "resource_link", "uri": output["url"], "name": "0.png", "mimeType": "image/png"}
    else:
        assert asked == [{"url": output["url"]}]


async def test_export_calls_export_panorama_through_the_host_and_offers_the_files(box: Any, tmp_path: Path) -> None:
    async with connect(box, extensions=[APPS], WIRO_MCP_OUTPUT_DIR=str(tmp_path)) as client:
        arguments, result = await compass(client)
        caps = json.dumps({"serverTools": {}, "serverResources": {}, "downloadFile": {}})
        async with (
            hosted(client, arguments, result, caps=caps) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            await page.in_frame("document.getElementById('export').click()")
            [offered] = await wait_host(page, "downloads")
            said = await page.in_frame("document.getElementById('status').textContent")
    names = [link["name"] for link in offered["contents"]]
    assert names == [f"skybox512_{face}.png" for face in ("px", "nx", "py", "ny", "pz", "nz")]
    assert all(link["uri"].startswith("wiro://tasks/") for link in offered["contents"])
    assert said.startswith("Exported 6 files")
    assert len(list(tmp_path.rglob("skybox512_*.png"))) == 6


async def test_without_tools_or_downloads_the_buttons_stay_hidden(box: Any) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        async with (
            hosted(client, arguments, result, caps=json.dumps({"serverResources": {}})) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            hidden = await page.in_frame(
                "[document.getElementById('download').hidden, document.getElementById('export').hidden]"
            )
    assert hidden == [True, True]
