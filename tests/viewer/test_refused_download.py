"""The viewer's Download button hands the host only a URL the server handed out: never one the server
refused (it comes without its url, marked `refused`), never anything but http(s)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.chromium import chromium
from tests.helpers import connect
from wiro_mcp.sandbox import Sandbox

from .test_viewer import APPS, HEIGHT, WIDTH, compass, hosted, wait_frame
from .test_viewer_host import host_state

pytestmark = pytest.mark.anyio


def with_output(result: Any, **changes: Any) -> Any:
    """The result as a server would send it for an output whose URL was refused (or is not http)."""
    data = json.loads(json.dumps(result.structured_content))
    output = data["outputs"][0]
    for key, value in changes.items():
        if value is None:
            output.pop(key, None)
        else:
            output[key] = value
    return result.model_copy(update={"structured_content": data})


@pytest.mark.parametrize(
    "changes",
    [
        {"url": None, "refused": "its URL was refused, so it could not be fetched or saved: this file: URL …"},
        {"url": "file:///etc/passwd"},
        {"url": "javascript:alert(1)"},
    ],
)
async def test_download_never_offers_a_url_the_server_did_not_hand_out(box: Sandbox, changes: dict[str, Any]) -> None:
    async with connect(box, extensions=[APPS]) as client:
        arguments, result = await compass(client)
        caps = json.dumps({"serverTools": {}, "serverResources": {}, "downloadFile": {}, "openLinks": {}})
        async with (
            hosted(client, arguments, with_output(result, **changes), caps=caps) as url,
            chromium(url, width=WIDTH, height=HEIGHT) as page,
        ):
            await wait_frame(page, "preview")
            hidden = await page.in_frame("document.getElementById('download').hidden")
            await page.in_frame("document.getElementById('download').click()")  # a script may click it anyway
            said = await page.in_frame("document.getElementById('status').textContent")
            downloads, links = await host_state(page, "downloads"), await host_state(page, "links")
    assert hidden is True
    assert said == "This output's URL was not handed out, so it cannot be saved from here."
    assert downloads == [] and links == []
