"""deliver(): hostile output names from Wiro never escape WIRO_MCP_OUTPUT_DIR, a failed download
loses nothing but the file; and the adapter turns the outcome into the tool result."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx2
import pytest
from mcp_types import ImageContent, ResourceLink, TextContent
from PIL import Image

from wiro_mcp.adapter.rendering import tool_result
from wiro_mcp.media.delivery import Delivery, Wanted
from wiro_mcp.media.egress import OutputPolicy
from wiro_mcp.media.fetch import Fetcher
from wiro_mcp.media.panoramas import panorama_cache
from wiro_mcp.results import OutputInfo, TaskResult

pytestmark = pytest.mark.anyio

FAR = float("inf")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 16), (0, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def delivery(transport: httpx2.MockTransport) -> Delivery:
    """Downloads from the test's CDN (cdn.test, added as a person would add a host)."""
    return Delivery(Fetcher(OutputPolicy("https://api.test/v1", ["cdn.test"]), transport=transport), panorama_cache())


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
    given = result("../../x.png", "/etc/y.png", "..")
    outcome = await delivery(transport).deliver(given, Wanted("views", FAR, output_dir=out))
    assert all(o.path is None for o in given.outputs), "a new result: the one given is left as it was"
    call = tool_result(outcome)
    assert precious.read_bytes() == b"keep me"
    saved = [Path(o["path"]) for o in call.structured_content["outputs"]]
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
    outcome = await delivery(transport).deliver(result("0.png"), Wanted("views", FAR, output_dir=tmp_path))
    call = tool_result(outcome)
    assert not call.is_error
    assert call.structured_content["outputs"][0]["url"] == "https://cdn.test/0"
    notes = [b.text for b in call.content if isinstance(b, TextContent)]
    assert any("could not be fetched or saved" in n and "HTTP 403" in n for n in notes)
    assert not any(isinstance(b, ImageContent) for b in call.content)


async def test_a_deadline_already_past_skips_downloads_and_says_so(tmp_path: Path) -> None:
    import anyio

    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=png()))
    outcome = await delivery(transport).deliver(result("0.png"), Wanted("views", anyio.current_time()))
    assert outcome.previews == [] and "no time was left" in outcome.notes[0]


def test_a_failed_task_is_a_tool_error_and_an_unfinished_one_is_not() -> None:
    from wiro_mcp.media.delivery import Outcome
    from wiro_mcp.service.reports import task_result
    from wiro_mcp.wiro.answers import Task

    def made(**fields: str) -> TaskResult:
        return task_result(Task.model_validate(fields), model=None, wait_hint=45)

    failed = made(id="1", status="task_postprocess_end", pexit="1", debugerror="CUDA out of memory")
    running = made(id="2", status="task_start")
    assert tool_result(Outcome(failed)).is_error is True
    assert tool_result(Outcome(running)).is_error is False
    noted = tool_result(Outcome(running, notes=["first", "second"]))
    assert [b.text for b in noted.content if isinstance(b, TextContent)][1] == "first\nsecond"
