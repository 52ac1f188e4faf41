"""wiro://tasks/{id}/exports/{name} serves only the files export_panorama wrote, as it wrote them: not a
file planted in the task's folder (a hard link to a file elsewhere, a symlink), not one of ours replaced,
rewritten or given a second name, not the manifest itself; and exporting again writes a fresh copy."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import BlobResourceContents

from wiro_mcp.sandbox import Sandbox

from ..helpers import connect
from .test_exports import compass_task

pytestmark = pytest.mark.anyio
CHANGED = "was changed, replaced or linked to since export_panorama wrote it, so it is not served"
AGAIN = "; export_panorama writes the files this resource serves (again)."


async def refusal(client: Any, uri: str) -> str:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    return str(caught.value)


async def served(client: Any, uri: str) -> bytes:
    [contents] = (await client.read_resource(uri)).contents
    assert isinstance(contents, BlobResourceContents)
    return base64.b64decode(contents.blob)


async def test_only_the_files_export_panorama_wrote_are_served_unchanged(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    secret = tmp_path / "secret.txt"  # outside the output folder: what a planted link would leak
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(out)) as client:
        task_id = await compass_task(client)
        exported = await client.call_tool("export_panorama", {"task_id": task_id, "face_size": 64})
        px, nx, py, ny, pz, nz = exported.structured_content["files"]
        folder = Path(px["path"]).parent
        base = f"wiro://tasks/{task_id}/exports"

        os.link(secret, folder / "passwd.png")
        planted = await refusal(client, f"{base}/passwd.png")
        (folder / "sky.png").symlink_to(secret)
        symlink = await refusal(client, f"{base}/sky.png")
        manifest = await refusal(client, f"{base}/.exports.json")

        Path(px["path"]).unlink()
        os.link(secret, px["path"])  # one of ours swapped for a hard link to another file
        swapped = await refusal(client, px["uri"])
        os.link(nx["path"], tmp_path / "copy.png")  # one of ours given a second name
        linked = await refusal(client, nx["uri"])
        other = tmp_path / "other.png"
        other.write_bytes(Path(py["path"]).read_bytes()[::-1])
        os.replace(other, py["path"])  # one of ours replaced by another file
        replaced = await refusal(client, py["uri"])
        before = os.stat(ny["path"])
        with open(ny["path"], "r+b") as handle:  # rewritten in place, same size, its time put back
            handle.seek(100)
            handle.write(b"\x00" * 8)
        os.utime(ny["path"], ns=(before.st_atime_ns, before.st_mtime_ns))
        rewritten = await refusal(client, ny["uri"])
        Path(pz["path"]).unlink()
        Path(pz["path"]).symlink_to(secret)
        symlinked = await refusal(client, pz["uri"])

        untouched = await served(client, nz["uri"])
        again = await client.call_tool("export_panorama", {"task_id": task_id, "face_size": 64})
        fresh = again.structured_content["files"][2]
        fresh_bytes = await served(client, fresh["uri"])

    assert f"passwd.png is not a file export_panorama wrote for this task{AGAIN}" in planted
    assert "sky.png is not a file export_panorama wrote for this task" in symlink
    assert ".exports.json is not the name of a file export_panorama writes" in manifest
    for name, said in ((px, swapped), (nx, linked), (py, replaced), (ny, rewritten), (pz, symlinked)):
        assert f"{name['name']} {CHANGED}{AGAIN}" in said, said
    assert "root:x" not in planted + symlink + swapped + symlinked
    assert untouched == Path(nz["path"]).read_bytes()
    assert re.fullmatch(r"skybox64_py-\d\.png", fresh["name"]), "the replaced file keeps its name; ours a new one"
    assert fresh_bytes == Path(fresh["path"]).read_bytes() and fresh_bytes[:4] == b"\x89PNG"


async def test_a_folder_without_exports_serves_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(tmp_path)) as client:
        task_id = await compass_task(client)
        said = await refusal(client, f"wiro://tasks/{task_id}/exports/skybox512_px.png")
    assert f"skybox512_px.png is not a file export_panorama wrote for this task{AGAIN}" in said


async def test_an_exported_file_that_was_deleted_is_said_to_be_gone(sandbox: Sandbox, tmp_path: Path) -> None:
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(tmp_path)) as client:
        task_id = await compass_task(client)
        exported = await client.call_tool("export_panorama", {"task_id": task_id, "format": "cross", "face_size": 64})
        [cross] = exported.structured_content["files"]
        Path(cross["path"]).unlink()
        said = await refusal(client, cross["uri"])
    assert f"skybox64_cross.png is gone from the task's folder{AGAIN}" in said
