"""Outputs end to end through an in-process MCP client: previews, output resources, saved files,
local inputs (folders and client roots), and identical calls sharing one task."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import BlobResourceContents, ImageContent, ResourceLink
from PIL import Image

from tests.helpers import connect, text
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

README_SHEET = Path(__file__).resolve().parents[2] / "docs" / "sheet.jpg"


def previews(result: Any) -> list[Image.Image]:
    shots: list[Image.Image] = []
    for block in result.content:
        if isinstance(block, ImageContent):
            assert block.mime_type == "image/jpeg"
            shots.append(Image.open(io.BytesIO(base64.b64decode(block.data))))
    return shots


async def test_a_panoramas_preview_is_a_sheet_of_views_within_the_budget(photo: Sandbox) -> None:
    """Also the README's picture of a sheet (WIRO_MCP_UPDATE_SCREENSHOTS=1 writes docs/sheet.jpg)."""
    from wiro_mcp.media.sheet import HEIGHT, WIDTH

    async with connect(photo) as client:
        prompt = "a quiet alpine lake at sunrise, pine forest all around"
        result = await client.call_tool("generate_panorama", {"prompt": prompt, "width": 2048, "height": 1024})
        task_id = result.structured_content["task_id"]
        flat = await client.call_tool("get_task", {"task_id": task_id, "preview": "flat"})
        plain = await client.call_tool("get_task", {"task_id": task_id, "preview": False})
    [shot] = previews(result)
    assert shot.size == (WIDTH, HEIGHT) == (1568, 836), "the long side of every preview is 1568 px"
    blob = next(b for b in result.content if isinstance(b, ImageContent)).data
    assert len(base64.b64decode(blob)) <= 400_000
    assert len(result.model_dump_json(by_alias=True)) < 1_000_000
    assert result.structured_content["outputs"][0]["preview"].startswith("1568x836 JPEG")
    assert "sheet of true perspective views: FRONT, RIGHT, BACK, LEFT" in text(result)
    if os.environ.get("WIRO_MCP_UPDATE_SCREENSHOTS") == "1":
        README_SHEET.parent.mkdir(exist_ok=True)
        README_SHEET.write_bytes(base64.b64decode(blob))
    # "flat" keeps the flat 2:1 thumbnail; false gives none; every result still checks the seam.
    [flat_shot] = previews(flat)
    assert flat_shot.size == (1568, 784)
    assert previews(plain) == [] and "preview" not in plain.structured_content["outputs"][0]
    assert any(isinstance(b, ResourceLink) for b in plain.content), "the full-size link stays"
    for answer in (result, flat, plain):
        check = answer.structured_content["outputs"][0]["panorama"]
        assert check["equirectangular"] is True and check["seam"] == "seamless" and check["seam_score"] < 2.5
        assert "Seam: seamless (score" in text(answer)


async def test_four_samples_fit_one_result(photo: Sandbox) -> None:
    async with connect(photo) as client:
        result = await client.call_tool("generate_image", {"prompt": "four cats", "samples": 4})
    shots = previews(result)
    assert [shot.size for shot in shots] == [shots[0].size] * 4
    assert shots[0].size[0] == shots[0].size[1] <= 1024
    assert len(result.model_dump_json(by_alias=True)) < 1_000_000


async def test_output_resource_serves_the_real_bytes(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "a kite", "preview": False})
        data = result.structured_content
        assert data is not None
        uri = f"wiro://tasks/{data['task_id']}/outputs/0.png"
        read = await client.read_resource(uri)
        by_index = await client.read_resource(f"wiro://tasks/{data['task_id']}/outputs/0")
        with pytest.raises(MCPError, match=re.escape("has no output '9.png'; outputs: 0.png")):
            await client.read_resource(f"wiro://tasks/{data['task_id']}/outputs/9.png")
    [blob] = read.contents
    assert isinstance(blob, BlobResourceContents) and blob.mime_type == "image/png"
    task = next(t for t in sandbox.state.tasks() if t.id == data["task_id"])
    assert base64.b64decode(blob.blob) == task.outputs[0].data  # type: ignore[index]
    assert by_index.contents[0].blob == blob.blob  # type: ignore[union-attr]


async def test_an_output_named_with_a_slash_is_still_reachable(sandbox: Sandbox) -> None:
    from urllib.parse import quote

    async with connect(sandbox) as client:
        data = (await client.call_tool("generate_image", {"prompt": "nested", "preview": False})).structured_content
        assert data is not None
        task = next(t for t in sandbox.state.tasks() if t.id == data["task_id"])
        for name in ("renders/final.png", "../up.png", "/abs.png"):
            task.outputs[0].name = name  # type: ignore[index]
            read = await client.read_resource(f"wiro://tasks/{data['task_id']}/outputs/{quote(name, safe='')}")
            assert base64.b64decode(read.contents[0].blob) == task.outputs[0].data, name  # type: ignore[index, union-attr]


async def test_outputs_are_saved_one_folder_per_task(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(out)) as client:
        result = await client.call_tool("generate_image", {"prompt": "two owls", "samples": 2, "preview": False})
    data = result.structured_content
    assert data is not None
    paths = [Path(o["path"]) for o in data["outputs"]]
    assert paths == [out.resolve() / f"task-{data['task_id']}" / name for name in ("0.png", "1.png")]
    task = next(t for t in sandbox.state.tasks() if t.id == data["task_id"])
    assert [p.read_bytes() for p in paths] == [o.data for o in task.outputs]  # type: ignore[union-attr]
    file_links = [str(b.uri) for b in result.content if isinstance(b, ResourceLink) and str(b.uri).startswith("file:")]
    assert file_links == [p.as_uri() for p in paths]


async def test_local_input_image_is_uploaded_byte_for_byte(sandbox: Sandbox, tmp_path: Path) -> None:
    allowed = tmp_path / "pictures"
    allowed.mkdir()
    source = allowed / "me.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format="PNG")
    source.write_bytes(buffer.getvalue())
    async with connect(sandbox, WIRO_MCP_INPUT_DIRS=str(allowed)) as client:
        result = await client.call_tool("generate_image", {"prompt": "as a painting", "input_image": str(source)})
    assert not result.is_error, text(result)
    [run] = sandbox.state.find_requests("Run/")
    assert run.files["inputImage"] == source.read_bytes()
    assert "inputImage" not in run.fields


async def test_input_urls_are_passed_on(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "p", "input_image": "https://example.com/a.png"})
    assert not result.is_error, text(result)
    [run] = sandbox.state.find_requests("Run/")
    assert run.fields["inputImage"] == "https://example.com/a.png" and run.files == {}


async def test_refused_local_inputs_send_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    os.symlink(outside, allowed / "link.png")
    (allowed / "notes.png").write_text("not a picture")
    big = allowed / "big.png"
    with big.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(21 * 2**20)
    os.mkfifo(allowed / "pipe.png")
    cases = {
        str(outside): "outside the folders",
        str(allowed / "link.png"): "once its links are resolved",
        str(allowed / "notes.png"): "not an image",
        str(big): "over the 20 MiB limit",
        str(allowed / "pipe.png"): "not a regular file",
        str(allowed / "cat\x00.png"): "contains a NUL character",
    }
    async with connect(sandbox, WIRO_MCP_INPUT_DIRS=str(allowed)) as client:
        for path, says in cases.items():
            with anyio.fail_after(10):  # a FIFO must not hang the call (or the server)
                result = await client.call_tool("generate_image", {"prompt": "p", "input_image": path})
            assert result.is_error and says in text(result) and "Nothing was sent" in text(result), path
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "p", "input_image": str(outside)})
        assert result.is_error and "WIRO_MCP_INPUT_DIRS" in text(result)
    assert sandbox.count("Run/") == 0


async def test_client_roots_allow_local_inputs(sandbox: Sandbox, tmp_path: Path) -> None:
    from mcp_types import ListRootsResult, Root

    picture = tmp_path / "p.png"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())

    async def roots(_: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=tmp_path.as_uri(), name="work")])

    async with connect(sandbox, mode="legacy", list_roots_callback=roots) as client:
        result = await client.call_tool("generate_image", {"prompt": "p", "input_image": str(picture)})
    assert not result.is_error, text(result)
    assert sandbox.state.find_requests("Run/")[0].files["inputImage"] == picture.read_bytes()


async def test_an_identical_call_returns_the_task_in_flight(held: Sandbox) -> None:
    arguments = {"prompt": "a lighthouse", "wait_seconds": 0}
    async with connect(held) as client:
        first = (await client.call_tool("generate_image", arguments)).structured_content
        second = await client.call_tool("generate_image", arguments)
        assert held.count("Run/") == 1
        data = second.structured_content
        assert data is not None and first is not None
        assert data["task_id"] == first["task_id"] and data["reused"] is True
        assert "instead of starting (and paying for) a second one" in text(second)
        other_seed = await client.call_tool("generate_image", {**arguments, "seed": 5})
        assert other_seed.structured_content["task_id"] != first["task_id"]
        forced = await client.call_tool("generate_image", {**arguments, "allow_duplicate": True})
        assert forced.structured_content["task_id"] != first["task_id"]
        assert held.count("Run/") == 3
        # The forced task is now the identical call in flight: it is what a fourth call joins.
        joined = await client.call_tool("generate_image", arguments)
        assert joined.structured_content["task_id"] == forced.structured_content["task_id"]
        # Once both have ended (and the server has seen them end), the same call starts a new one.
        for task in (first, forced.structured_content):
            held.advance_to(task["task_id"], "task_postprocess_end")
            await client.call_tool("get_task", {"task_id": task["task_id"], "preview": False})
        again = await client.call_tool("generate_image", arguments)
        assert again.structured_content["task_id"] not in {first["task_id"], forced.structured_content["task_id"]}
    assert held.count("Run/") == 4


async def test_a_panorama_whose_url_is_refused_reaches_no_link_and_no_viewer(sandbox: Sandbox) -> None:
    """A refused URL is not a resource_link, not in the structured content, and the 360° viewer is not
    told of a rendition to read or an output to download."""
    import json

    from mcp.client import advertise
    from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

    sandbox.inject("odd_output", "Run", value=json.dumps({"url": "http://169.254.169.254/latest/meta-data/0.png"}))
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    async with connect(sandbox, extensions=[apps]) as client:
        result = await client.call_tool("generate_panorama", {"prompt": "refused", "width": 512, "height": 256})
    assert not result.is_error and result.structured_content["state"] == "succeeded"
    [output] = result.structured_content["outputs"]
    assert "url" not in output and output["refused"].startswith("its URL was refused")
    assert "wiro-mcp/viewer" not in (result.meta or {})
    assert not any(isinstance(b, (ResourceLink, ImageContent)) for b in result.content)
    assert "0.png: its URL was refused, so it could not be fetched or saved: http://169.254.169.254 is not" in text(
        result
    )
    assert sandbox.count("files/") == 0
