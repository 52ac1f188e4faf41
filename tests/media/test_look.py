"""view_panorama through an MCP client: a view in any direction of a finished panorama, with no second
download, and errors that say what to pass instead."""

from __future__ import annotations

import base64
import io
from typing import Any

import anyio
import pytest
from mcp_types import ImageContent
from PIL import Image

from tests.helpers import connect, text
from tests.media.test_projection import direction
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio


def picture(result: Any) -> Image.Image:
    [block] = [b for b in result.content if isinstance(b, ImageContent)]
    assert block.mime_type == "image/jpeg"
    return Image.open(io.BytesIO(base64.b64decode(block.data))).convert("RGB")


def facing(image: Image.Image) -> str:
    """The compass direction at the centre of a view."""
    pixel = image.getpixel((image.width // 2, image.height // 2))
    assert isinstance(pixel, tuple)
    return direction(pixel)


async def compass(client: Any) -> str:
    arguments = {"prompt": "[sandbox:compass] a test", "width": 2048, "height": 1024}
    result = await client.call_tool("generate_panorama", arguments)
    assert not result.is_error
    return str(result.structured_content["task_id"])


async def test_looking_around_shows_each_direction_without_downloading_again(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        task_id = await compass(client)
        downloads = sandbox.count("files/")
        seen = {}
        for yaw, pitch in ((0, 0), (90, 0), (180, 0), (-180, 0), (-90, 0), (0, 90), (0, -90)):
            result = await client.call_tool("view_panorama", {"task_id": task_id, "yaw": yaw, "pitch": pitch})
            assert not result.is_error, text(result)
            seen[(yaw, pitch)] = facing(picture(result))
        assert sandbox.count("files/") == downloads, "the panorama is decoded once and kept"
        result = await client.call_tool("view_panorama", {"task_id": int(task_id), "yaw": 270, "fov": 30, "size": 256})
    assert seen == {
        (0, 0): "front",
        (90, 0): "right",
        (180, 0): "back",
        (-180, 0): "back",
        (-90, 0): "left",
        (0, 90): "up",
        (0, -90): "down",
    }
    assert picture(result).size == (256, 256) and facing(picture(result)) == "left"
    assert result.structured_content == {
        "task_id": task_id,
        "output": "0.png",
        "yaw": -90.0,
        "pitch": 0.0,
        "fov": 30.0,
        "width": 256,
        "height": 256,
    }
    assert "a 30° perspective view at yaw -90°, pitch 0° (256×256)" in text(result)


async def test_a_fresh_server_downloads_the_panorama_once_for_many_views(sandbox: Sandbox) -> None:
    async with connect(sandbox) as first:
        task_id = await compass(first)
    before = sandbox.count("files/")
    answers: list[Any] = []

    async def look(client: Any, yaw: int) -> None:
        answers.append(await client.call_tool("view_panorama", {"task_id": task_id, "yaw": yaw}))

    async with connect(sandbox) as client:
        async with anyio.create_task_group() as group:  # an agent asking for several views at once
            for yaw in (0, 45, 90, 180, -90):
                group.start_soon(look, client, yaw)
        await look(client, 30)
    assert [a.is_error for a in answers] == [False] * 6
    assert sandbox.count("files/") == before + 1


async def test_reading_a_finished_panorama_again_costs_no_download(sandbox: Sandbox, tmp_path: Any) -> None:
    async with connect(sandbox) as client:
        task_id = await compass(client)
        before = sandbox.count("files/")
        again = [
            await client.call_tool("get_task", {"task_id": task_id, "preview": kind}) for kind in (True, "flat", False)
        ]
        assert sandbox.count("files/") == before, "the decoded panorama is reused for the seam check and previews"
    assert [len([b for b in r.content if isinstance(b, ImageContent)]) for r in again] == [1, 1, 0]
    assert all(r.structured_content["outputs"][0]["panorama"]["seam"] == "seamless" for r in again)
    # A file to save takes the bytes: those kept from the first delivery, so nothing is fetched again.
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(tmp_path)) as client:
        task_id = await compass(client)
        before = sandbox.count("files/")
        saved = await client.call_tool("get_task", {"task_id": task_id, "preview": False})
    assert sandbox.count("files/") == before and saved.structured_content["outputs"][0]["path"]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"yaw": 0, "pitch": 120}, "- pitch: Input should be less than or equal to 90"),
        ({"fov": 5}, "- fov: Input should be greater than or equal to 10"),
        ({"fov": 200}, "- fov: Input should be less than or equal to 120"),
        ({"size": 4000}, "- size: Input should be less than or equal to 1568"),
        ({"name": "1.png"}, "has no output '1.png': pass name as one of 0.png"),
    ],
)
async def test_bad_angles_and_names_say_what_to_pass(sandbox: Sandbox, arguments: dict[str, Any], says: str) -> None:
    async with connect(sandbox) as client:
        task_id = await compass(client)
        result = await client.call_tool("view_panorama", {"task_id": task_id, **arguments})
    assert result.is_error and says in text(result)


async def test_only_a_succeeded_panorama_can_be_looked_at(held: Sandbox, sandbox: Sandbox) -> None:
    async with connect(held) as client:
        started = await client.call_tool("generate_panorama", {"prompt": "later", "wait_seconds": 0})
        waiting = await client.call_tool("view_panorama", {"task_id": started.structured_content["task_id"]})
    async with connect(sandbox) as client:
        image = await client.call_tool("generate_image", {"prompt": "a cat", "preview": False})
        not_a_panorama = await client.call_tool("view_panorama", {"task_id": image.structured_content["task_id"]})
        failed = await client.call_tool(
            "generate_panorama", {"prompt": "[sandbox:fail] x", "width": 512, "height": 256}
        )
        broken = await client.call_tool("view_panorama", {"task_id": failed.structured_content["task_id"]})
        missing = await client.call_tool("view_panorama", {"task_id": "999999"})
    assert waiting.is_error and "is queued, not succeeded: call get_task with wait_seconds first" in text(waiting)
    assert not_a_panorama.is_error and "not a 360° panorama" in text(not_a_panorama)
    assert broken.is_error and "is failed, not succeeded: there is nothing to look at" in text(broken)
    assert missing.is_error and "No task 999999 exists for this Wiro account" in text(missing)


async def test_one_download_per_panorama_whatever_reads_it(sandbox: Sandbox) -> None:
    """Delivery, the viewer's rendition, the output resource and views all use the one download."""
    from mcp_types import BlobResourceContents

    async with connect(sandbox) as client:
        task_id = await compass(client)
        reads = sandbox.count("Task/Detail")
        rendition = (await client.read_resource(f"wiro://tasks/{task_id}/viewer/0.png")).contents
        assert sandbox.count("Task/Detail") == reads, "the viewer's rendition comes from the decoded panorama"
        file = (await client.read_resource(f"wiro://tasks/{task_id}/outputs/0.png")).contents
        await client.call_tool("view_panorama", {"task_id": task_id, "yaw": 90})
    assert sandbox.count("files/") == 1, "one download of the panorama in this process"
    assert isinstance(rendition[0], BlobResourceContents) and isinstance(file[0], BlobResourceContents)
