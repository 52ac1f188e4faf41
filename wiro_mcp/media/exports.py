"""A finished panorama as files a person's own tools take: cube faces for three.js and Babylon.js, Unity's
horizontal cross, Godot's faces and 3×2 sheet, the equirectangular picture as PNG and JPEG, and one
self-contained HTML viewer page. The faces come from skybox.py; what is written, and where, is the
service's (each file goes through files.save_output). A contact sheet of the faces is the preview.

The files come one at a time (`files`), each made from bands of rows (skybox.face_rows, each encoded
by png.py as it is sampled): at face_size 2048 what is held is the file being encoded and a band,
never six faces or a whole sheet (one cubemap at face_size 2048 took the server to 727 MB that way).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..text import shown
from . import png, skybox

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from .projection import Pixels

Format = Literal["cubemap", "cross", "godot", "equirect", "html"]
FORMATS: tuple[Format, ...] = ("cubemap", "cross", "godot", "equirect", "html")
FACE_MIN, FACE_MAX = 64, 2048
# The HTML page carries the panorama as a JPEG at most this wide (a page a person can mail or host).
HTML_WIDTH = 4096
SHEET_FACE = 128  # pixels per face on the contact sheet
TITLE_LIMIT = 120  # characters of the task's words in the HTML page's title

# What each format is for, said in the result.
USES = {
    "cubemap": "three.js CubeTextureLoader([px, nx, py, ny, pz, nz]) or Babylon.js CubeTexture (left-handed: "
    "pz is the panorama's front, px its right)",
    "cross": "Unity: import as a Cubemap (Texture Shape: Cube, Mapping: Auto) from this horizontal cross",
    "godot": "Godot 4: the 3×2 sheet imports as a Cubemap (Import As: Cubemap, Slices: 3×2); its -Z face is the "
    "front; the six faces are there too",
    "equirect": "an equirectangular texture: Godot's PanoramaSkyMaterial, Unity's Skybox/Panoramic, Unreal's HDRI "
    "backdrop",
    "html": "one page with the panorama inside: open it offline or put it on a website",
}
PNG = "image/png"


@dataclass(frozen=True)
class ExportFile:
    name: str
    data: bytes
    content_type: str
    place: int = 0  # where the result lists it (Godot's faces are made before the sheet, which comes first)


def files(pixels: Pixels, fmt: Format, face_size: int, title: str) -> Iterator[ExportFile]:
    """The files of one format, each made only once the one before was taken (runs in a worker thread)."""
    if fmt == "cubemap":
        one_by_one = tuple((name,) for name in skybox.FACES)
        yield from _layout(pixels, one_by_one, face_size, "left_handed", faces="skybox-{}.png")
    elif fmt == "cross":
        yield from _layout(pixels, skybox.CROSS_LAYOUT, face_size, "left_handed", sheet="skybox-cross.png")
    elif fmt == "godot":
        yield from _layout(pixels, skybox.GODOT_LAYOUT, face_size, "godot", sheet="godot-3x2.png", faces="godot-{}.png")
    elif fmt == "equirect":
        yield ExportFile("panorama.png", png.encode(pixels), PNG)
        yield ExportFile("panorama.jpg", _jpeg(pixels, 92), "image/jpeg", 1)
    else:
        yield ExportFile("panorama.html", html_page(pixels, title).encode(), "text/html; charset=utf-8")


def export(pixels: Pixels, fmt: Format, face_size: int, title: str) -> tuple[list[ExportFile], PILImage]:
    """All the files of one format, and the contact sheet (for tests and benchmarks: the server writes
    each file as `files` makes it)."""
    return list(files(pixels, fmt, face_size, title)), contact_sheet(pixels, fmt)


def _layout(
    pixels: Pixels,
    layout: skybox.Layout,
    size: int,
    frame: skybox.Frame,
    *,
    sheet: str | None = None,
    faces: str | None = None,
) -> Iterator[ExportFile]:
    """A layout's faces sampled band by band, row of the layout by row: each band goes to its face's own
    PNG (`faces`, named by the face) and side by side into the sheet's (`sheet`). A face's file is handed
    over when its row of the layout is done, the sheet's at the end."""
    planar = skybox.planar(pixels)
    sheet_png = png.PngWriter(len(layout[0]) * size, len(layout) * size) if sheet else None
    for row in layout:
        named = [name for name in row if name]
        own = {name: png.PngWriter(size, size) for name in named} if faces else {}
        for top, bottom in skybox.bands(size):
            pieces = {name: skybox.face_rows(planar, name, size, frame, top, bottom) for name in named}
            for name, writer in own.items():
                writer.add(pieces[name])
            if sheet_png is not None:
                sheet_png.add(skybox.strip(row, pieces))
        for name, writer in own.items():
            place = skybox.FACES.index(name) + (1 if sheet else 0)
            yield ExportFile((faces or "").format(name), writer.finish(), PNG, place)
    if sheet_png is not None:
        yield ExportFile(sheet or "", sheet_png.finish(), PNG)


def contact_sheet(pixels: Pixels, fmt: Format) -> PILImage:
    """The six faces, small and labelled, in the order the format names them."""
    from PIL import Image, ImageDraw

    frame: skybox.Frame = "godot" if fmt == "godot" else "left_handed"
    order = [name for row in skybox.GODOT_LAYOUT for name in row] if fmt == "godot" else list(skybox.FACES)
    size = SHEET_FACE
    sheet = Image.new("RGB", (3 * size, 2 * size), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    for index, name in enumerate(order):
        x, y = (index % 3) * size, (index // 3) * size
        # Sampled at twice the size and reduced: smooth, where sampling at the size itself would alias.
        sheet.paste(Image.fromarray(skybox.face(pixels, str(name), 2 * size, frame)).reduce(2), (x, y))
        draw.rectangle((x, y, x + 26, y + 14), fill=(0, 0, 0))
        draw.text((x + 3, y + 2), str(name), fill=(255, 255, 255))
    return sheet


def html_page(pixels: Pixels, title: str) -> str:
    """A page that shows the panorama all around (WebGL, drag or arrow keys to look, wheel to zoom), with
    the picture inside it as a data URL: nothing is fetched. The title is the task's words: clipped, its
    controls and bidi characters shown as escapes, HTML-escaped (it appears only as HTML text, never in
    the script), and put in with the picture in one pass, so no placeholder it holds is ever filled."""
    from html import escape

    from PIL import Image

    image = Image.fromarray(pixels)
    if image.width > HTML_WIDTH:
        image = image.resize((HTML_WIDTH, HTML_WIDTH // 2), Image.Resampling.LANCZOS)
    values = {"title": escape(shown(title, TITLE_LIMIT)), "picture": base64.b64encode(_jpeg_image(image, 90)).decode()}
    return _PLACEHOLDER.sub(lambda found: values[found.group(1)], PAGE)


_PLACEHOLDER = re.compile(r"\{(title|picture)\}")


def _jpeg(pixels: Pixels, quality: int) -> bytes:
    from PIL import Image

    return _jpeg_image(Image.fromarray(pixels), quality)


def _jpeg_image(image: PILImage, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title>
<style>html,body{margin:0;height:100%;background:#000;color:#f5f5f5;font:13px/1.4 system-ui,sans-serif;overflow:hidden}
body{display:flex;flex-direction:column}#stage{position:relative;flex:1 1 auto;min-height:0}
canvas{position:absolute;inset:0;display:block;width:100%;height:100%;touch-action:none;cursor:grab;outline:none}
#controls{position:absolute;right:8px;bottom:8px;display:flex;gap:6px}
#controls button{font:inherit;padding:4px 10px;border-radius:8px;border:1px solid rgba(255,255,255,.35);
background:rgba(0,0,0,.55);color:#fff;cursor:pointer}#controls button:focus-visible{outline:2px solid #fff}
#caption{box-sizing:border-box;flex:none;height:28px;display:flex;gap:8px;align-items:center;padding:0 8px;
white-space:nowrap;overflow:hidden;border-top:1px solid #3a3a3a;background:#171717}
#title{font-weight:600;overflow:hidden;text-overflow:ellipsis}#help{color:#a3a3a3}</style>
</head><body><div id="stage"><canvas id="view" tabindex="0" aria-label="360° panorama"></canvas>
<div id="controls"><button id="reset" type="button" title="Look ahead again (0)">Reset</button>
<button id="full" type="button">Fullscreen</button></div></div>
<div id="caption"><span id="title">{title}</span>
<span id="help">drag or use the arrow keys to look around, wheel to zoom</span></div>
<script>
"use strict";
const canvas = document.getElementById("view");
const gl = canvas.getContext("webgl");
const HOME = {yaw: 0, pitch: 0, fov: 90};
const look = {...HOME};
const vertex = "attribute vec2 p;varying vec2 q;void main(){q=p;gl_Position=vec4(p,0.,1.);}";
const fragment = "precision highp float;varying vec2 q;uniform sampler2D pano;uniform vec3 turn;uniform float aspect;" +
  "void main(){float t=tan(radians(turn.z)/2.);vec3 d=normalize(vec3(q.x*t,q.y*t/aspect,1.));" +
  "float cp=cos(turn.y),sp=sin(turn.y),cy=cos(turn.x),sy=sin(turn.x);" +
  "d=vec3(d.x,d.y*cp+d.z*sp,d.z*cp-d.y*sp);d=vec3(d.x*cy+d.z*sy,d.y,d.z*cy-d.x*sy);" +
  "float lon=atan(d.x,d.z),lat=asin(clamp(d.y,-1.,1.));" +
  "gl_FragColor=texture2D(pano,vec2(lon/6.2831853+.5,.5-lat/3.1415927));}";
function shader(kind, source) {
  const made = gl.createShader(kind); gl.shaderSource(made, source); gl.compileShader(made); return made;
}
const program = gl.createProgram();
gl.attachShader(program, shader(gl.VERTEX_SHADER, vertex));
gl.attachShader(program, shader(gl.FRAGMENT_SHADER, fragment));
gl.linkProgram(program); gl.useProgram(program);
gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
gl.enableVertexAttribArray(0); gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
function draw() {
  const w = canvas.clientWidth * devicePixelRatio, h = canvas.clientHeight * devicePixelRatio;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  gl.viewport(0, 0, w, h);
  gl.uniform3f(gl.getUniformLocation(program, "turn"), look.yaw * Math.PI / 180, look.pitch * Math.PI / 180, look.fov);
  gl.uniform1f(gl.getUniformLocation(program, "aspect"), w / h);
  gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
}
const picture = new Image();
picture.onload = () => {
  gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB, gl.RGB, gl.UNSIGNED_BYTE, picture);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  draw();
};
picture.src = "data:image/jpeg;base64,{picture}";
let from = null;
canvas.onpointerdown = (e) => { from = [e.clientX, e.clientY]; canvas.setPointerCapture(e.pointerId); };
canvas.onpointerup = () => { from = null; };
canvas.onpointermove = (e) => {
  if (!from) return;
  const scale = look.fov / canvas.clientWidth;
  look.yaw -= (e.clientX - from[0]) * scale;
  look.pitch = Math.max(-90, Math.min(90, look.pitch + (e.clientY - from[1]) * scale));
  from = [e.clientX, e.clientY]; draw();
};
canvas.onwheel = (e) => {
  look.fov = Math.max(20, Math.min(120, look.fov + e.deltaY * 0.05)); draw(); e.preventDefault();
};
function reset() { Object.assign(look, HOME); draw(); }
document.getElementById("reset").onclick = reset;
const full = document.getElementById("full");
full.hidden = !document.fullscreenEnabled;
full.onclick = () => document.fullscreenElement
  ? document.exitFullscreen() : document.getElementById("stage").requestFullscreen();
document.addEventListener("fullscreenchange", () => {
  full.textContent = document.fullscreenElement ? "Exit fullscreen" : "Fullscreen"; draw();
});
addEventListener("keydown", (e) => {
  if (e.key === "0") { reset(); return; }
  const step = {ArrowLeft: [-5, 0], ArrowRight: [5, 0], ArrowUp: [0, 5], ArrowDown: [0, -5]}[e.key];
  if (step) { look.yaw += step[0]; look.pitch = Math.max(-90, Math.min(90, look.pitch + step[1])); draw(); }
});
addEventListener("resize", draw);
</script></body></html>
"""
