"""What a caller or a new user meets first: texts that quote what was sent short and escaped, one
estimate per result, sandbox money marked simulated, failures that say what to do, image-to-image
that keeps the input's shape, one rule for input URLs, and schemas that describe every argument."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp_types import ElicitResult, TextContent, TextResourceContents
from PIL import Image

from wiro_mcp.catalog import load_catalog
from wiro_mcp.media.egress import OutputPolicy
from wiro_mcp.media.fetch import Fetcher
from wiro_mcp.media.shapes import follow_input_shape
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.wiro.client import FileUpload

from .helpers import connect

pytestmark = pytest.mark.anyio

HIDDEN = {chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, 0x202E, 0x2066)}
HOSTILE = "a kite\x1b[31m red\x00 \u202egnp.exe"


def texts(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


async def test_control_and_bidi_characters_from_a_prompt_are_shown_escaped(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        made = await client.call_tool("generate_image", {"prompt": HOSTILE, "preview": False})
        listed = await client.call_tool("list_tasks", {})
    for result in (made, listed):
        assert not (set(texts(result)) & HIDDEN), repr(texts(result))
    assert "\\x1b[31m red\\x00 \\u202egnp.exe" in texts(listed)
    assert made.structured_content["prompt"] == HOSTILE, "the structured content keeps it as it was"


async def test_a_huge_debugerror_keeps_its_first_and_last_lines(sandbox: Sandbox) -> None:
    trace = "\n".join([f"line {n}: {'x' * 80}" for n in range(12_000)])  # ~1 MB
    failed = {"id": "1001", "status": "task_postprocess_end", "pexit": "1", "debugerror": trace}
    sandbox.inject("raw_body", "Task/Detail", times=50, value=json.dumps({"result": True, "tasklist": [failed]}))
    async with connect(sandbox) as client:
        read = await client.call_tool("get_task", {"task_id": "1001", "preview": False})
    said = texts(read)
    assert read.is_error and len(said) < 4_000 and len(read.model_dump_json()) < 8_000
    assert "line 0:" in said and "line 11999:" in said and "characters left out" in said
    assert "Failed runs are not billed" in said


async def test_a_failed_task_says_what_to_do(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        failed = await client.call_tool("generate_image", {"prompt": "a cat [sandbox:fail]", "preview": False})
    assert failed.is_error and "CUDA out of memory" in texts(failed)
    assert "Failed runs are not billed" in texts(failed)
    assert "try fewer steps, a smaller width and height, or fewer samples" in texts(failed)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("get_task", {"task_id": "9" * 200_000}),
        ("kill_task", {"task_token": "t" * 200_000}),
        ("get_task", {"task_id": "1001", "w" * 5_000: 1}),
    ],
)
async def test_what_a_caller_sent_is_quoted_short(sandbox: Sandbox, tool: str, arguments: dict[str, Any]) -> None:
    async with connect(sandbox) as client:
        refused = await client.call_tool(tool, arguments)
    assert refused.is_error and len(texts(refused)) < 500, texts(refused)[:300]
    assert sandbox.count("Task/") == 0, "nothing was sent"


async def test_an_unknown_output_name_is_quoted_short(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        made = await client.call_tool("generate_panorama", {"prompt": "a bay", "width": 256, "height": 128})
        task_id = made.structured_content["task_id"]
        looked = await client.call_tool("view_panorama", {"task_id": task_id, "name": "n" * 5_000})
        with pytest.raises(Exception) as read:
            await client.read_resource(f"wiro://tasks/{task_id}/outputs/{'n' * 5_000}")
    assert looked.is_error and len(texts(looked)) < 400
    assert len(str(read.value)) < 400


async def test_a_sandbox_run_has_one_figure_and_says_the_money_is_simulated(sandbox: Sandbox) -> None:
    from .helpers import settings_for

    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"run": True})

    settings = settings_for(sandbox, WIRO_MCP_CONFIRM_ABOVE_USD="0.001").model_copy(update={"sandbox": True})
    from mcp import Client

    from wiro_mcp.adapter.server import create_server

    async with Client(create_server(settings), elicitation_callback=elicit) as client:
        made = await client.call_tool("generate_image", {"prompt": "a simulated cat", "preview": False})
        listed = await client.call_tool("list_tasks", {})
        [spending] = (await client.read_resource("wiro://spending")).contents
    assert asked and "simulated" in asked[0] and "nothing is billed" in asked[0]
    said = texts(made)
    assert "(sandbox: nothing billed, the money is simulated; a real run would cost about $0.0045)" in said
    assert said.count("$") == 1, "one figure"
    assert "simulated" in texts(listed)
    assert isinstance(spending, TextResourceContents) and "simulated" in json.loads(spending.text)["sandbox"]


async def test_a_finished_result_gives_its_bill_beside_the_estimate_once(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        made = await client.call_tool("generate_image", {"prompt": "a billed cat", "width": 1008, "height": 1008})
    said = texts(made)
    assert "the billed cost comes with the result" not in said and said.count("estimated") == 1
    estimate = made.structured_content["estimated_cost_usd"]
    assert estimate == float(f"{estimate:.4g}"), "four significant digits, no float noise"


async def test_an_http_input_url_is_refused_with_the_rule(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        refused = await client.call_tool("generate_image", {"prompt": "x", "input_image": "http://example.com/cat.png"})
    assert refused.is_error and "must be an https:// URL" in texts(refused) and sandbox.count("Run") == 0


async def test_image_to_image_keeps_the_inputs_shape_unless_told(sandbox: Sandbox, tmp_path: Path) -> None:
    picture = tmp_path / "in.jpg"
    picture.write_bytes(jpeg(640, 480))
    async with connect(sandbox, WIRO_MCP_INPUT_DIRS=str(tmp_path)) as client:
        kept = await client.call_tool("generate_image", {"prompt": "x", "input_image": str(picture), "preview": False})
        told = await client.call_tool(
            "generate_image", {"prompt": "y", "input_image": str(picture), "width": 512, "preview": False}
        )
    first, second = (r.fields for r in sandbox.state.find_requests("Run/"))
    assert (first["width"], first["height"]) == ("1184", "880"), first
    assert "keeps input_image's shape (640×480): 1184×880" in texts(kept)
    assert second["width"] == "512" and "shape" not in texts(told)


async def test_an_input_url_is_sized_from_its_first_bytes_or_said_unread() -> None:
    spec = load_catalog()["generate_image"]
    served = {"https://pics.example/wide.jpg": jpeg(1920, 1080)}

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = served.get(str(request.url))
        return httpx2.Response(200, content=body) if body else httpx2.Response(404)

    fetcher = Fetcher(OutputPolicy("https://api.test/v1", any_https=True), transport=httpx2.MockTransport(handler))
    inputs: dict[str, Any] = {"inputImage": "https://pics.example/wide.jpg", "width": 1024, "height": 1024}
    note = await follow_input_shape(spec, {"prompt": "x"}, inputs, {}, fetcher)
    assert (inputs["width"], inputs["height"]) == (1360, 768) and note and "1920×1080" in note
    missing: dict[str, Any] = {"inputImage": "https://pics.example/gone.jpg", "width": 1024, "height": 1024}
    note = await follow_input_shape(spec, {"prompt": "x"}, missing, {}, fetcher)
    assert note and "could not be read" in note and "HTTP 404" in note and missing["width"] == 1024
    upload = {"inputImage": FileUpload("a.jpg", jpeg(480, 640), "image/jpeg")}
    tall: dict[str, Any] = {"width": 1024, "height": 1024}
    assert await follow_input_shape(spec, {"prompt": "x"}, tall, upload, fetcher)
    assert (tall["width"], tall["height"]) == (880, 1184), "the same size as a wide one, turned"


async def test_every_argument_is_described_and_the_stop_tools_differ(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for tool in tools.values():
        for name, schema in tool.input_schema["properties"].items():
            assert schema.get("description"), f"{tool.name}.{name} has no description"
    assert tools["kill_task"].description != tools["cancel_task"].description
    assert "running" in (tools["kill_task"].description or "") and "queued" in (tools["cancel_task"].description or "")
    # One of the two is needed: the schema says so (anyOf), the description what the token is for.
    assert tools["get_task"].input_schema["properties"]["task_token"]["description"] == "Instead of task_id"
    assert {"required": ["task_token"]} in tools["get_task"].input_schema["anyOf"]
