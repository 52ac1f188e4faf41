"""deliver(): hostile output names from Wiro never escape WIRO_MCP_OUTPUT_DIR, a failed download
loses nothing but the file, downloads are bounded (how far, how many at once, what is kept), notes stay
short; and the adapter turns the outcome into the tool result."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp_types import ImageContent, ResourceLink, TextContent
from PIL import Image

from wiro_mcp.adapter.rendering import tool_result
from wiro_mcp.media.delivery import NAMED, TEXT_READ, Delivery, DeliveryPlan
from wiro_mcp.media.egress import OutputPolicy
from wiro_mcp.media.fetch import AT_ONCE, Fetcher
from wiro_mcp.media.panoramas import panorama_cache
from wiro_mcp.results import SHOWN_OUTPUTS, OutputInfo, TaskResult

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
    outcome = await delivery(transport).deliver(given, DeliveryPlan("views", FAR, output_dir=out))
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
    outcome = await delivery(transport).deliver(result("0.png"), DeliveryPlan("views", FAR, output_dir=tmp_path))
    call = tool_result(outcome)
    assert not call.is_error
    assert call.structured_content["outputs"][0]["url"] == "https://cdn.test/0"
    notes = [b.text for b in call.content if isinstance(b, TextContent)]
    assert any("could not be fetched or saved" in n and "HTTP 403" in n for n in notes)
    assert not any(isinstance(b, ImageContent) for b in call.content)


async def test_a_deadline_already_past_skips_downloads_and_says_so(tmp_path: Path) -> None:
    import anyio

    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=png()))
    outcome = await delivery(transport).deliver(result("0.png"), DeliveryPlan("views", anyio.current_time()))
    assert outcome.previews == [] and "no time was left" in outcome.notes[0]


def test_a_failed_task_is_a_tool_error_and_an_unfinished_one_is_not() -> None:
    from wiro_mcp.media.outcome import Outcome
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


async def test_the_fetcher_reads_no_further_than_asked() -> None:
    """A text shown but not saved is read only as far as a result could show it, however long it is."""
    sent: list[int] = []

    class Endless(httpx2.AsyncByteStream):
        async def __aiter__(self) -> Any:
            for _ in range(1024):  # 64 MiB, if anyone read it all
                sent.append(65536)
                yield b"w" * 65536

    fetcher = Fetcher(
        OutputPolicy("https://api.test/v1", ["cdn.test"]),
        transport=httpx2.MockTransport(lambda request: httpx2.Response(200, stream=Endless())),
    )
    head = await fetcher.first_bytes("https://cdn.test/long.txt", limit=TEXT_READ + 1, timeout=FAR)
    assert len(head) == TEXT_READ + 1 and sum(sent) <= TEXT_READ + 65536


async def test_downloads_run_a_few_at_once_and_only_shown_outputs_are_kept(tmp_path: Path) -> None:
    """Thirty outputs to save: at most AT_ONCE downloads in flight, and only the twenty shown ones kept in
    memory for the next read (saving the others again downloads them again)."""
    body, flying, peak, asked = png(), [0], [0], []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        flying[0] += 1
        peak[0] = max(peak[0], flying[0])
        asked.append(request.url.path)
        await anyio.sleep(0.01)
        flying[0] -= 1
        return httpx2.Response(200, content=body)

    given = result(*(f"{i}.png" for i in range(30)))
    deliver = delivery(httpx2.MockTransport(handler)).deliver
    first = await deliver(given, DeliveryPlan("none", FAR, output_dir=tmp_path))
    assert len(first.saved) == 30 and len(asked) == 30
    assert 1 <= peak[0] <= AT_ONCE
    await deliver(given, DeliveryPlan("none", FAR, output_dir=tmp_path))
    assert len(asked) == 30 + 30 - SHOWN_OUTPUTS, "the shown outputs came from memory"


async def test_many_failures_are_one_short_note(tmp_path: Path) -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(403, text="expired"))
    many = result(*(f"{i}.png" for i in range(100)))
    outcome = await delivery(transport).deliver(many, DeliveryPlan("views", FAR, output_dir=tmp_path))
    [note] = outcome.notes
    assert note.count("HTTP 403") == NAMED and note.endswith("; and 95 more")
    call = tool_result(outcome)
    assert len(call.content) == 2 + SHOWN_OUTPUTS, "the summary, the note, a link per shown output"
    assert call.structured_content["outputs_left_out"] == 50


async def test_a_save_that_fails_keeps_a_refused_outputs_refusal(tmp_path: Path) -> None:
    """An output whose bytes lie, which cannot be saved either: both said, the result kept."""
    blocked = tmp_path / "file"
    blocked.write_text("a file where the output folder should be")
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, text="<html><script>x()</script>"))
    outcome = await delivery(transport).deliver(result("0.png"), DeliveryPlan("views", FAR, output_dir=blocked))
    call = tool_result(outcome)
    assert not call.is_error and call.structured_content["state"] == "succeeded"
    [output] = call.structured_content["outputs"]
    assert output["refused"] == "declared image/png but its bytes are HTML: not shown, not saved as an image"
    assert "url" not in output and "path" not in output
    said = [b.text for b in call.content if isinstance(b, TextContent)]
    assert "Not handed out: 0.png: declared image/png but its bytes are HTML" in said[1]
    assert "saving 0.png:" in said[1] and not any(isinstance(b, ResourceLink) for b in call.content)
