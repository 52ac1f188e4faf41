"""deliver(): hostile output names from Wiro never escape WIRO_MCP_OUTPUT_DIR, and a failed
download loses nothing but the file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx2
import pytest
from mcp_types import ImageContent, ResourceLink, TextContent
from PIL import Image

from wiro_mcp.deliver import deliver
from wiro_mcp.results import OutputInfo, TaskResult

pytestmark = pytest.mark.anyio


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), (0, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def result(*names: str) -> TaskResult:
    return TaskResult(
        task_id="77",
        status="task_postprocess_end",
        state="succeeded",
        outputs=[
            OutputInfo(name=n, url=f"https://cdn.test/{i}", content_type="image/png") for i, n in enumerate(names)
        ],
    )


async def test_hostile_names_are_saved_inside_the_task_folder(tmp_path: Path) -> None:
    body = png()
    out = tmp_path / "out"
    out.mkdir()
    # A symlink planted where the first file would go, pointing at something precious.
    (out / "task-77").mkdir()
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"keep me")
    os.symlink(precious, out / "task-77" / "x.png")
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=body))
    async with httpx2.AsyncClient(transport=transport) as http:
        call = await deliver(result("../../x.png", "/etc/y.png", ".."), http, preview=True, output_dir=out)
    assert precious.read_bytes() == b"keep me"
    saved = [Path(o["path"]) for o in call.structured_content["outputs"]]  # type: ignore[index]
    for path in saved:
        assert path.parent == out.resolve() / "task-77"
        assert path.read_bytes() == body and not path.is_symlink()
    assert [p.name for p in saved] == ["x-2.png", "y.png", "output-2.png"]
    assert {p.resolve() for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()} == {
        precious.resolve(),
        *saved,
    }
    assert len([b for b in call.content if isinstance(b, ImageContent)]) == 3
    assert len([b for b in call.content if isinstance(b, ResourceLink) and str(b.uri).startswith("file:")]) == 3


async def test_a_failed_download_keeps_the_result_and_says_so(tmp_path: Path) -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(403, text="expired"))
    async with httpx2.AsyncClient(transport=transport) as http:
        call = await deliver(result("0.png"), http, preview=True, output_dir=tmp_path)
    assert not call.is_error
    assert call.structured_content["outputs"][0]["url"] == "https://cdn.test/0"  # type: ignore[index]
    notes = [b.text for b in call.content if isinstance(b, TextContent)]
    assert any("could not be fetched or saved" in n and "HTTP 403" in n for n in notes)
    assert not any(isinstance(b, ImageContent) for b in call.content)
