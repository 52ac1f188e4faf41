"""Headless Chromium driven over the DevTools protocol, for the viewer's tests.

Only Debian's `chromium` package can be had on these machines (no browser downloads), so this talks
to it directly: launch it with remote debugging, open the page's WebSocket (httpx2's, the project's
one HTTP stack), and send commands. Screenshots come back as Pillow images.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from httpx2.websockets import AsyncWebSocketClient
from PIL import Image

# What the environment notes say Chromium needs here: no sandbox as root, no background traffic to a
# network that is closed; SwiftShader gives WebGL without a GPU.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # The view's sandboxed frame would otherwise run in a process of its own, out of the page's frame
    # tree, where `Page.in_frame` could not reach it. Its sandbox and CSP are unchanged.
    "--disable-site-isolation-trials",
    "--disable-features=IsolateOrigins,site-per-process",
]


def find_chromium() -> str:
    """The browser's path, or a skip with the reason (a failure under CI, which must have it)."""
    found = os.environ.get("WIRO_MCP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "no Chromium found (apt-get install chromium, or set WIRO_MCP_CHROMIUM): the browser tests need it"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class Page:
    def __init__(self, socket: Any) -> None:
        self._socket = socket
        self._next = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        await self._socket.send_text(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(await self._socket.receive_text())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def in_frame(self, expression: str) -> Any:
        """Evaluate in the page's first child frame (the view), through an isolated world: DevTools may
        look inside a sandboxed frame that the page itself cannot."""
        tree = await self.call("Page.getFrameTree")
        frame = tree["frameTree"]["childFrames"][0]["frame"]["id"]
        world = await self.call("Page.createIsolatedWorld", frameId=frame, worldName="test")
        answer = await self.call(
            "Runtime.evaluate", expression=expression, contextId=world["executionContextId"], returnByValue=True
        )
        return answer["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 30) -> Any:
        """Poll until `expression` is truthy in the page (an exception counts as not yet); its value."""
        with anyio.fail_after(seconds):
            while True:
                try:
                    value = await self.evaluate(expression)
                except RuntimeError:
                    value = None
                if value:
                    return value
                await anyio.sleep(0.05)

    async def key(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code)

    async def screenshot(self) -> Image.Image:
        shot = await self.call("Page.captureScreenshot", format="png")
        return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")

    async def mouse(self, kind: str, at: tuple[float, float], **more: Any) -> None:
        await self.call("Input.dispatchMouseEvent", type=kind, x=at[0], y=at[1], **more)

    async def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
        await self.mouse("mousePressed", start, button="left", clickCount=1)
        for step in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * step / steps
            y = start[1] + (end[1] - start[1]) * step / steps
            await self.mouse("mouseMoved", (x, y), button="left", buttons=1)
        await self.mouse("mouseReleased", end, button="left", clickCount=1)

    async def wheel(self, at: tuple[float, float], delta_y: float) -> None:
        await self.mouse("mouseWheel", at, deltaX=0, deltaY=delta_y)

    async def click(self, at: tuple[float, float]) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            await self.mouse(kind, at, button="left", clickCount=1)


class Browser:
    """One Chromium process with remote debugging; pages are opened in it by `chromium()`."""

    def __init__(self, extra_flags: tuple[str, ...] = (), *, scrollbars: bool = False) -> None:
        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        profile = f"--user-data-dir={self._profile.name}"
        flags = [flag for flag in FLAGS if not (scrollbars and flag == "--hide-scrollbars")]
        self.process = subprocess.Popen(
            [find_chromium(), *flags, *extra_flags, profile, "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            self.endpoint = _devtools_endpoint(self.process)
        except BaseException:
            self.close()
            raise

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        for thread in threading.enumerate():
            if thread.name == f"chromium-{self.process.pid}":
                thread.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self._profile.cleanup()


# Starting Chromium costs about a second of CPU: each test worker starts one and every page of its tests
# opens in it, each in a browser context of its own (no cookies, storage or cache shared between tests).
_shared: Browser | None = None


def shared_browser() -> Browser:
    global _shared
    if _shared is None or not _shared.alive():
        _shared = Browser()
        atexit.register(_shared.close)
    return _shared


@asynccontextmanager
async def chromium(
    url: str, *, width: int, height: int, extra_flags: tuple[str, ...] = (), scrollbars: bool = False
) -> AsyncIterator[Page]:
    """A headless Chromium page showing `url` in a `width` × `height` viewport at scale 1. With
    `extra_flags` or `scrollbars` (shown, taking room, as in real hosts), in a browser of its own;
    otherwise in the worker's shared one."""
    starting = functools.partial(Browser, extra_flags, scrollbars=scrollbars)
    own = await anyio.to_thread.run_sync(starting) if extra_flags or scrollbars else None
    browser = own if own is not None else await anyio.to_thread.run_sync(shared_browser)
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            sockets = AsyncWebSocketClient(http, max_message_size_bytes=64 * 2**20)
            async with sockets.connect(browser.endpoint.replace("ws://", "http://")) as control:
                browser_side = Page(control)
                context = (await browser_side.call("Target.createBrowserContext"))["browserContextId"]
                try:
                    target = await browser_side.call("Target.createTarget", url="about:blank", browserContextId=context)
                    origin = browser.endpoint.replace("ws://", "http://").split("/devtools/")[0]
                    page_url = f"{origin}/devtools/page/{target['targetId']}"
                    async with sockets.connect(page_url) as socket:
                        page = Page(socket)
                        await page.call("Page.enable")
                        await page.call(
                            "Emulation.setDeviceMetricsOverride",
                            width=width,
                            height=height,
                            deviceScaleFactor=1,
                            mobile=False,
                        )
                        await page.call("Page.navigate", url=url)
                        yield page
                finally:
                    # Cleaning up must not hide what went wrong in the test (the browser may be gone).
                    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                        await browser_side.call("Target.disposeBrowserContext", browserContextId=context)
    finally:
        if own is not None:
            own.close()


def _devtools_endpoint(process: subprocess.Popen[str]) -> str:
    stream = process.stderr
    assert stream is not None
    for line in stream:
        if "DevTools listening on" in line:
            # Keep reading what it says afterwards, or a full pipe would stall the browser.
            threading.Thread(target=stream.read, name=f"chromium-{process.pid}", daemon=True).start()
            return line.split("on ", 1)[1].strip()
    raise RuntimeError("Chromium exited before it listened for DevTools")
