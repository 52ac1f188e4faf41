"""The cube faces export_panorama writes, loaded the way three.js users load them
(`CubeTextureLoader([px, nx, py, ny, pz, nz])` as a scene's background, three.js from npm) in headless
Chromium: looking along +Z shows the panorama's front, along -X its right, and up the sky; and a
panorama whose every column is its quadrant's colour shows that the up face is turned as three.js
expects (looking up and a little toward +Z, the front)."""

from __future__ import annotations

import functools
import io
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from release.node_tools import TOOLS, node_tools
from tests.browser.chromium import chromium
from tests.media.test_exports import nearest, quadrants
from wiro_mcp.media import exports
from wiro_mcp.sandbox.pictures import compass_png

pytestmark = pytest.mark.anyio

SHOT = Path(__file__).resolve().parents[2] / "docs" / "skybox-threejs.png"
SIZE = 96  # the canvas; faces are 128 px

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {"three": "/three/three.module.js"}}</script>
<style>body{margin:0;background:#000}canvas{display:inline-block;margin:0 4px 0 0}</style></head><body>
<script type="module">
import * as THREE from "three";
const renderer = new THREE.WebGLRenderer({ preserveDrawingBuffer: true });
renderer.setSize(SIZE, SIZE);
const load = (set) => new Promise((resolve, reject) => new THREE.CubeTextureLoader().setPath(`/${set}/`)
  .load(["px", "nx", "py", "ny", "pz", "nz"].map((face) => `${face}.png`), resolve, undefined, reject));
const sets = { compass: await load("compass"), quadrants: await load("quadrants") };
const camera = new THREE.PerspectiveCamera(60, 1, 0.1, 10);
window.look = (set, direction, up) => {
  const scene = new THREE.Scene();
  scene.background = sets[set];
  camera.position.set(0, 0, 0);
  camera.up.set(...up);
  camera.lookAt(...direction);
  renderer.render(scene, camera);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = SIZE;
  canvas.getContext("2d").drawImage(renderer.domElement, 0, 0);
  document.body.appendChild(canvas);  // what was seen, kept for the screenshot
  const gl = renderer.getContext(), pixel = new Uint8Array(4);
  gl.readPixels(SIZE / 2, SIZE / 2, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
  return Array.from(pixel.slice(0, 3));
};
window.ready = true;
</script></body></html>""".replace("SIZE", str(SIZE))


def face_files(pixels: Any) -> dict[str, bytes]:
    files, _ = exports.export(pixels, "cubemap", 128, "test")
    return {f.name.removeprefix("skybox-"): f.data for f in files}


@asynccontextmanager
async def served(three: Path) -> AsyncIterator[str]:
    compass = np.asarray(Image.open(io.BytesIO(compass_png(1024, 512))).convert("RGB"))
    sets = {"compass": face_files(compass), "quadrants": face_files(quadrants())}

    def face(request: Any) -> Response:
        data = sets[request.path_params["set"]].get(request.path_params["name"])
        return Response(data, media_type="image/png") if data else Response(status_code=404)

    app = Starlette(
        routes=[
            Route("/", lambda request: HTMLResponse(PAGE)),
            Route("/three/{name}", lambda request: FileResponse(three / request.path_params["name"])),
            Route("/{set}/{name}", face),
        ]
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, log_level="warning"))
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(server.serve, sockets=[listener]))
        while not server.started:
            await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
        server.should_exit = True
    listener.close()


async def test_three_js_sees_each_direction_where_the_export_put_it() -> None:
    node_tools()  # three.js comes from npm with the other Node tools
    three = TOOLS / "node_modules" / "three" / "build"
    looks = [
        ("compass", (0, 0, 1), (0, 1, 0), "front"),
        ("compass", (-1, 0, 0), (0, 1, 0), "right"),
        ("compass", (1, 0, 0), (0, 1, 0), "left"),
        ("compass", (0, 0, -1), (0, 1, 0), "back"),
        ("compass", (0, 1, 0), (0, 0, -1), "up"),
        ("compass", (0, -1, 0), (0, 0, 1), "down"),
        # The up face's turn: up and a little toward +Z (the front), then toward -X (the right).
        ("quadrants", (0, 1, 0.3), (0, 0, -1), "front"),
        ("quadrants", (-0.3, 1, 0), (0, 0, -1), "right"),
        ("quadrants", (0, -1, 0.3), (0, 0, 1), "front"),
    ]
    async with served(three) as url, chromium(url, width=SIZE * 5 + 40, height=SIZE * 2 + 8) as page:
        await page.wait_for("window.ready === true")
        seen = []
        for which, direction, up, _ in looks:
            pixel = await page.evaluate(f"look({json.dumps(which)}, {list(direction)}, {list(up)})")
            seen.append(nearest(pixel))
        shot = await page.screenshot()
    assert seen == [expected for *_, expected in looks]
    # What three.js drew for each look, in the order above (WIRO_MCP_UPDATE_SCREENSHOTS=1 writes it to docs/).
    if os.environ.get("WIRO_MCP_UPDATE_SCREENSHOTS") == "1":
        shot.save(SHOT)
