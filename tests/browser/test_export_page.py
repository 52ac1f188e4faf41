"""The page export_panorama writes (format "html"), opened in headless Chromium the way a person opens
it from disk: the view fills the window above a caption bar that holds the title, and the controls
are the viewer's (Reset looks ahead again; Fullscreen where the browser allows it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.chromium import chromium
from wiro_mcp.media import exports
from wiro_mcp.media.projection import pixels_of
from wiro_mcp.sandbox.pictures import compass_png

pytestmark = pytest.mark.anyio

WIDTH, HEIGHT = 800, 450


async def test_the_export_page_fills_the_window_and_reset_looks_ahead_again(tmp_path: Path) -> None:
    page_path = tmp_path / "panorama.html"
    title = "a lake <b>at</b> dawn"
    page_path.write_text(exports.html_page(pixels_of(compass_png(1024, 512)), title), encoding="utf-8")
    async with chromium(page_path.as_uri(), width=WIDTH, height=HEIGHT) as page:
        await page.wait_for("document.readyState === 'complete' && document.getElementById('view').width > 0")
        layout = await page.evaluate(
            "(() => { const box = (id) => document.getElementById(id).getBoundingClientRect();"
            " const v = box('view'), c = box('caption');"
            " return [v.top, v.height, c.top, c.bottom, document.documentElement.scrollHeight]; })()"
        )
        assert layout == [0, HEIGHT - 28, HEIGHT - 28, HEIGHT, HEIGHT], "no caption over the picture, no blank"
        shown = await page.evaluate(
            "[document.getElementById('title').textContent, document.getElementById('title').childElementCount,"
            " [...document.querySelectorAll('#controls button')].map((b) => b.id)]"
        )
        assert shown == [title, 0, ["reset", "full"]]
        # Turn and zoom, then Reset: ahead again at 90°.
        await page.drag((WIDTH / 2, 200), (WIDTH / 2 - 200, 150))
        await page.wheel((WIDTH / 2, 200), 200)
        turned = await page.evaluate("[look.yaw, look.pitch, look.fov]")
        assert turned[0] > 10 and turned[2] > 90, turned
        reset = await page.evaluate(
            "(() => { const r = document.getElementById('reset').getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        await page.click((reset[0], reset[1]))
        assert await page.wait_for("look.yaw === 0 && look.pitch === 0 && look.fov === 90 && [look.yaw]")
        await page.drag((WIDTH / 2, 200), (WIDTH / 2 + 100, 200))
        await page.key("0", 48)
        assert await page.evaluate("[look.yaw, look.pitch, look.fov]") == [0, 0, 90], "the 0 key resets too"
