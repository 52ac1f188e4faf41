"""export_panorama: each engine's faces show the directions it expects (the compass panorama, and a
panorama whose every column is its quadrant's colour for the up and down faces' rotation), every file
written inside the output folder and served back, and every refusal writing nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcp_types import BlobResourceContents, ImageContent, ResourceLink
from PIL import Image

from wiro_mcp.media import exports, png, skybox
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.sandbox.pictures import COMPASS, compass_png

from ..helpers import connect, text

pytestmark = pytest.mark.anyio


def nearest(pixel: Any) -> str:
    return min(COMPASS, key=lambda name: sum((int(a) - b) ** 2 for a, b in zip(pixel, COMPASS[name], strict=True)))


def quadrants(width: int = 1024) -> Any:
    """Every column the colour of its quadrant (front around yaw 0, right around 90, …), top to bottom."""
    yaw = (np.arange(width) + 0.5) / width * 360 - 180
    names = np.select([abs(yaw) < 45, (yaw >= 45) & (yaw < 135), abs(yaw) >= 135], ["front", "right", "back"], "left")
    row = np.array([COMPASS[str(n)] for n in names], dtype=np.uint8)
    return np.repeat(row[None, :, :], width // 2, axis=0)


def at(face: Any, s: float, t: float) -> str:
    size = face.shape[0]
    return nearest(face[min(size - 1, int(t * size)), min(size - 1, int(s * size))])


# (face, which engine's frame) → what its centre shows.
CENTRES = {
    "left_handed": {"px": "right", "nx": "left", "py": "up", "ny": "down", "pz": "front", "nz": "back"},
    "godot": {"px": "right", "nx": "left", "py": "up", "ny": "down", "pz": "back", "nz": "front"},
}


@pytest.mark.parametrize("frame", ["left_handed", "godot"])
def test_each_face_shows_the_direction_its_engine_expects(frame: Any) -> None:
    pixels = np.asarray(Image.open(io.BytesIO(compass_png(1024, 512))).convert("RGB"))
    made = skybox.faces(pixels, 64, frame)
    assert {name: at(made[name], 0.5, 0.5) for name in skybox.FACES} == CENTRES[frame]


def test_the_up_and_down_faces_are_turned_as_the_cube_map_rules_say() -> None:
    # OpenGL's table: the +Y face's bottom edge points to +Z, the -Y face's top edge to +Z; in the
    # left-handed frame +Z is the front, in Godot's the back. Right is +X in both.
    made = skybox.faces(quadrants(), 64, "left_handed")
    assert [at(made["py"], *st) for st in ((0.5, 0.97), (0.5, 0.03), (0.97, 0.5), (0.03, 0.5))] == [
        "front",
        "back",
        "right",
        "left",
    ]
    assert [at(made["ny"], *st) for st in ((0.5, 0.03), (0.5, 0.97), (0.97, 0.5))] == ["front", "back", "right"]
    godot = skybox.faces(quadrants(), 64, "godot")
    assert [at(godot["py"], *st) for st in ((0.5, 0.97), (0.5, 0.03), (0.97, 0.5))] == ["back", "front", "right"]
    # A side face's right edge turns toward the next direction clockwise.
    assert at(made["pz"], 0.97, 0.5) == "front" and at(made["px"], 0.5, 0.5) == "right"


def test_the_cross_and_the_godot_sheet_place_the_faces() -> None:
    pixels = np.asarray(Image.open(io.BytesIO(compass_png(1024, 512))).convert("RGB"))
    cross = skybox.cross(skybox.faces(pixels, 32))
    assert cross.shape == (96, 128, 3)
    middle = [nearest(cross[48, 16 + 32 * column]) for column in range(4)]
    assert middle == ["left", "front", "right", "back"]
    assert nearest(cross[16, 48]) == "up" and nearest(cross[80, 48]) == "down"
    assert tuple(cross[16, 16]) == (0, 0, 0), "no face there"
    sheet = skybox.godot_sheet(skybox.faces(pixels, 32, "godot"))
    assert [nearest(sheet[16 + 32 * r, 16 + 32 * c]) for r in range(2) for c in range(3)] == [
        "right",
        "left",
        "up",
        "down",
        "back",
        "front",
    ]


async def compass_task(client: Any) -> str:
    made = await client.call_tool(
        "generate_panorama", {"prompt": "[sandbox:compass] a test", "width": 2048, "height": 1024}
    )
    assert not made.is_error
    return str(made.structured_content["task_id"])


async def test_a_cubemap_export_writes_six_faces_and_serves_them(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(out)) as client:
        task_id = await compass_task(client)
        runs = sandbox.count("Run")
        exported = await client.call_tool("export_panorama", {"task_id": task_id})
        assert not exported.is_error, text(exported)
        files = exported.structured_content["files"]
        served = await client.read_resource(files[4]["uri"])
    assert [f["name"] for f in files] == [f"skybox512_{name}.png" for name in skybox.FACES]
    assert exported.structured_content["face_size"] == 512, "width/4 of a 2048×1024 panorama"
    for file in files:
        path = Path(file["path"])
        assert path.parent == out.resolve() / f"task-{task_id}" and path.stat().st_size == file["size"]
        assert Image.open(path).size == (512, 512)
    front = Image.open(files[4]["path"]).convert("RGB")
    assert nearest(front.getpixel((256, 256))) == "front"
    [contents] = served.contents
    assert contents.mime_type == "image/png" and isinstance(contents, BlobResourceContents) and contents.blob
    links = [b for b in exported.content if isinstance(b, ResourceLink)]
    assert [link.mime_type for link in links] == ["image/png"] * 6
    [sheet] = [b for b in exported.content if isinstance(b, ImageContent)]
    assert len(sheet.data) * 3 // 4 < 100_000, "the contact sheet is a small preview"
    assert sandbox.count("Run") == runs, "an export bills nothing"


@pytest.mark.parametrize(
    ("fmt", "names"),
    [
        ("cross", ["skybox256_cross.png"]),
        ("godot", ["godot256_3x2.png", *(f"godot256_{n}.png" for n in skybox.FACES)]),
        ("equirect", ["panorama.png", "panorama.jpg"]),
        ("html", ["panorama.html"]),
    ],
)
async def test_every_format_writes_its_files(sandbox: Sandbox, tmp_path: Path, fmt: str, names: list[str]) -> None:
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(tmp_path)) as client:
        task_id = await compass_task(client)
        exported = await client.call_tool("export_panorama", {"task_id": task_id, "format": fmt, "face_size": 256})
    assert not exported.is_error, text(exported)
    files = exported.structured_content["files"]
    assert [f["name"] for f in files] == names
    if fmt == "html":
        page = Path(files[0]["path"]).read_text()
        assert page.startswith("<!doctype html>") and "data:image/jpeg;base64," in page
        assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page, "nothing fetched"
    if fmt == "equirect":
        assert Image.open(files[0]["path"]).size == (2048, 1024)


async def test_without_an_output_folder_exports_go_to_the_state_folder_and_are_served(
    sandbox: Sandbox, state_dir: Path
) -> None:
    """Was: "this server has no output folder … Nothing was written" in the default setup (no config sets
    WIRO_MCP_OUTPUT_DIR), from the viewer's Export button too."""
    async with connect(sandbox) as client:
        task_id = await compass_task(client)
        made = await client.call_tool("export_panorama", {"task_id": task_id, "format": "cubemap", "face_size": 64})
        [first, *_] = made.structured_content["files"]
        served = await client.read_resource(first["uri"])
    assert not made.is_error, text(made)
    assert Path(first["path"]).is_relative_to(state_dir / "exports") and Path(first["path"]).is_file()
    assert str(Path(first["path"]).parent) in text(made), "the result says where the files are"
    assert served.contents and served.contents[0].mime_type == "image/png"


async def test_every_refusal_says_what_to_pass_and_writes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(out)) as client:
        image = await client.call_tool("generate_image", {"prompt": "a cat", "width": 512, "height": 512})
        not_panorama = await client.call_tool("export_panorama", {"task_id": image.structured_content["task_id"]})
        task_id = await compass_task(client)
        bad_format = await client.call_tool("export_panorama", {"task_id": task_id, "format": "dds"})
        too_big = await client.call_tool("export_panorama", {"task_id": task_id, "face_size": 4096})
        missing = await client.call_tool("export_panorama", {"task_id": "99999"})
    assert not_panorama.is_error and "not a 360° panorama, so it cannot be exported as a skybox" in text(not_panorama)
    assert bad_format.is_error and "cubemap" in text(bad_format) and "html" in text(bad_format)
    assert too_big.is_error and "face_size" in text(too_big) and "2048" in text(too_big)
    assert missing.is_error
    written = [p for p in out.rglob("*") if p.is_file() and "skybox" in p.name]
    assert written == []


async def test_an_export_fits_its_tool_list_budget(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        [tool] = [t for t in (await client.list_tools()).tools if t.name == "export_panorama"]
    read = {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
    assert len(json.dumps(read, separators=(",", ":"), ensure_ascii=False).encode()) <= 800


def test_a_full_size_cubemap_export_makes_six_faces_and_a_sheet() -> None:
    # How fast lives in make bench; this is the full-size path, with the files' own bytes checked.
    pixels = np.asarray(Image.open(io.BytesIO(compass_png(2048, 1024))).convert("RGB"))
    files, sheet = exports.export(pixels, "cubemap", 512, "t")
    assert [f.name for f in files] == [f"skybox-{name}.png" for name in skybox.FACES]
    assert all(Image.open(io.BytesIO(f.data)).size == (512, 512) for f in files)
    assert sheet.size == (384, 256)


def decoded(data: bytes) -> Any:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_files_made_band_by_band_hold_the_faces_the_cross_and_the_sheet_pixel_for_pixel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pixels = np.asarray(Image.open(io.BytesIO(compass_png(1024, 512))).convert("RGB"))
    whole, godot = skybox.faces(pixels, 96), skybox.faces(pixels, 96, "godot")  # each face in one band
    monkeypatch.setattr(skybox, "BAND_PIXELS", 96 * 7)  # 7 rows a band: 14 bands, the last one short
    made = {f.name: decoded(f.data) for f in exports.files(pixels, "godot", 96, "t")}
    assert np.array_equal(made.pop("godot-3x2.png"), skybox.godot_sheet(godot))
    assert all(np.array_equal(made[f"godot-{name}.png"], godot[name]) for name in skybox.FACES)
    [cross] = exports.files(pixels, "cross", 96, "t")
    assert np.array_equal(decoded(cross.data), skybox.cross(whole))
    cubemap = {f.name: decoded(f.data) for f in exports.files(pixels, "cubemap", 96, "t")}
    assert all(np.array_equal(cubemap[f"skybox-{name}.png"], whole[name]) for name in skybox.FACES)


def test_a_png_is_written_band_by_band_and_rows_that_do_not_fit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(png, "FILTER_SAMPLES", 3 * 50 * 3)  # filtered 3 rows at a time
    picture = np.random.default_rng(7).integers(0, 256, (37, 50, 3), dtype=np.uint8)
    writer = png.PngWriter(50, 37)
    writer.add(picture[:10])
    writer.add(picture[10:])
    assert np.array_equal(decoded(writer.finish()), picture)
    assert np.array_equal(decoded(png.encode(picture[:, ::-1])), picture[:, ::-1])
    with pytest.raises(ValueError, match="do not continue a 50×37 RGB picture"):
        png.PngWriter(50, 37).add(picture[:, :49])
    short = png.PngWriter(50, 37)
    short.add(picture[:5])
    with pytest.raises(ValueError, match="5 of 37 rows were added"):
        short.finish()


async def test_the_html_page_shows_the_prompt_as_text_and_embeds_the_picture_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    prompt = "[sandbox:compass] {picture} {title} </title><script>alert(1)</script> \u202egpj.exe"
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(tmp_path)) as client:
        made = await client.call_tool("generate_panorama", {"prompt": prompt, "width": 2048, "height": 1024})
        assert not made.is_error, text(made)
        exported = await client.call_tool(
            "export_panorama", {"task_id": made.structured_content["task_id"], "format": "html"}
        )
    page = Path(exported.structured_content["files"][0]["path"]).read_text()
    picture = page.split("data:image/jpeg;base64,")[1].split('"')[0]
    assert len(picture) > 10_000 and page.count(picture) == 1, "the picture is in the page once"
    title = page.split("<title>")[1].split("</title>")[0]
    assert "{picture} {title} &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; \\u202egpj.exe" in title
    assert page.count("</title>") == 1 and page.count("<script>") == 1 and "\u202e" not in page
    caption = page.split('<span id="title">')[1].split("</span>")[0]
    assert "{picture} {title} &lt;/title&gt;" in caption, "the caption shows it the same way"
