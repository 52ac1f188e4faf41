"""Any Wiro model through MCP: search_models → describe_model → run_model against the sandbox's
catalog, every refusal billing nothing, outputs of every kind, and Wiro's answers in either shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import ResourceLink, TextContent

from wiro_mcp import budgets
from wiro_mcp.sandbox import Sandbox, SandboxConfig

from ..helpers import connect, text

pytestmark = pytest.mark.anyio


async def test_a_short_video_of_a_fox_goes_search_describe_run(sandbox: Sandbox) -> None:
    # What an agent does with "make me a short video of a fox", step by step.
    async with connect(sandbox) as client:
        found = await client.call_tool("search_models", {"query": "short video of a fox"})
        assert not found.is_error
        rows = found.structured_content["models"]
        picked = next(row["model"] for row in rows if "text-to-video" in row.get("categories", []))
        assert picked == "lumen/text-to-video" and "lumen/text-to-video" in text(found)
        described = await client.call_tool("describe_model", {"model": picked})
        view = described.structured_content
        assert view["run_with"] == "run_model" and "video" in view["outputs"]
        assert view["inputs"]["required"] == ["prompt"]
        assert view["inputs"]["properties"]["duration"]["enum"] == ["3", "5", "8"]
        assert view["pricing"]["estimate_with_defaults_usd"] == pytest.approx(0.12)
        ran = await client.call_tool(
            "run_model", {"model": picked, "inputs": {"prompt": "a fox in the snow", "duration": 3}, "wait_seconds": 30}
        )
    assert not ran.is_error, text(ran)
    result = ran.structured_content
    assert result["state"] == "succeeded" and result["model"] == picked
    [output] = result["outputs"]
    assert output["content_type"] == "video/mp4" and output["size"] > 0
    links = [block for block in ran.content if isinstance(block, ResourceLink)]
    assert [(link.mime_type, link.size) for link in links] == [("video/mp4", output["size"])]
    [run] = sandbox.state.find_requests("Run/lumen/text-to-video")
    assert run.fields["duration"] == "3" and run.fields["prompt"] == "a fox in the snow"
    assert sandbox.count("Run") == 1
    assert sandbox.count("Tool/Detail") == 1, "the spec's answer also priced the run: Wiro was asked once"


@pytest.mark.parametrize(
    ("inputs", "said"),
    [
        ({"prompt": "a fox", "colour": "red"}, "colour: unknown input; the inputs are: prompt, duration, aspectRatio"),
        ({"prompt": "a fox", "duration": "4"}, "duration: Input should be '3', '5' or '8'"),
        ({"duration": "3"}, "prompt: required"),
        ({"prompt": "a fox", "aspectRatio": 16}, "aspectRatio"),
    ],
)
async def test_a_wrong_input_names_it_and_bills_nothing(sandbox: Sandbox, inputs: dict[str, Any], said: str) -> None:
    async with connect(sandbox) as client:
        refused = await client.call_tool("run_model", {"model": "lumen/text-to-video", "inputs": inputs})
    assert refused.is_error and said in text(refused)
    assert "nothing was sent to Wiro" in text(refused)
    assert sandbox.count("Run") == 0


async def test_limits_and_types_come_from_wiros_spec(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        too_fast = await client.call_tool(
            "run_model", {"model": "vox/text-to-speech", "inputs": {"prompt": "hi", "speed": 3}}
        )
        not_whole = await client.call_tool(
            "run_model", {"model": "sage/chat", "inputs": {"prompt": "hi", "maxTokens": 1.5}}
        )
        coerced = await client.call_tool(
            "run_model", {"model": "sage/chat", "inputs": {"prompt": "hi", "maxTokens": "64"}, "wait_seconds": 30}
        )
    assert too_fast.is_error and "speed: Input should be less than or equal to 2" in text(too_fast)
    assert not_whole.is_error and "maxTokens" in text(not_whole)
    assert not coerced.is_error, text(coerced)
    [run] = sandbox.state.find_requests("Run/sage/chat")
    assert run.fields["maxTokens"] == 64, "the text '64' became the number Wiro's number item takes"


async def test_an_unknown_model_suggests_the_nearest_names(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        unknown = await client.call_tool("run_model", {"model": "lumen/text-too-video", "inputs": {"prompt": "x"}})
        malformed = await client.call_tool("describe_model", {"model": "not a model"})
    assert unknown.is_error and "Wiro has no model lumen/text-too-video" in text(unknown)
    assert "Nearest names: lumen/text-to-video" in text(unknown) and "search_models" in text(unknown)
    assert malformed.is_error and "owner/slug" in text(malformed)
    assert sandbox.count("Run") == 0


async def test_a_spec_wiro_cannot_give_says_so_and_a_cached_one_is_used_meanwhile(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connect(sandbox) as client:
        sandbox.inject("http_500", "Tool/Detail", times=20)
        failed = await client.call_tool("run_model", {"model": "vox/text-to-speech", "inputs": {"prompt": "hi"}})
        sandbox.state.clear_faults()
        read = await client.call_tool("describe_model", {"model": "vox/text-to-speech"})
        monkeypatch.setattr(budgets, "MODEL_SPEC_TTL", 0.0)  # the spec read is old now
        sandbox.inject("http_500", "Tool/Detail", times=20)
        stale = await client.call_tool("describe_model", {"model": "vox/text-to-speech"})
    assert failed.is_error and "cannot be read from Wiro now" in text(failed)
    assert "describe_model again" in text(failed) and sandbox.count("Run") == 0
    assert not read.is_error and not stale.is_error
    assert any("could not be reached" in note for note in stale.structured_content["notes"])
    assert stale.structured_content["inputs"] == read.structured_content["inputs"]


async def test_a_model_without_published_inputs_takes_a_prompt_alone(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        described = await client.call_tool("describe_model", {"model": "pixel/quick-image"})
        extra = await client.call_tool(
            "run_model", {"model": "pixel/quick-image", "inputs": {"prompt": "a", "steps": 4}}
        )
        ran = await client.call_tool("run_model", {"model": "pixel/quick-image", "inputs": {"prompt": "a kite"}})
    assert any("publishes no input list" in note for note in described.structured_content["notes"])
    assert list(described.structured_content["inputs"]["properties"]) == ["prompt"]
    assert extra.is_error and "steps: unknown input" in text(extra)
    assert not ran.is_error and ran.structured_content["outputs"][0]["content_type"] == "image/png"
    assert any(block.type == "image" for block in ran.content), "a picture of any model gets a preview"


async def test_a_short_text_output_is_inline_and_a_long_one_is_a_resource(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        short = await client.call_tool("run_model", {"model": "sage/chat", "inputs": {"prompt": "hello there"}})
        long = await client.call_tool(
            "run_model", {"model": "sage/chat", "inputs": {"prompt": "tell all [sandbox:long]"}}
        )
        task_id = long.structured_content["task_id"]
        read = await client.read_resource(f"wiro://tasks/{task_id}/outputs/0.txt")
    [said] = short.structured_content["outputs"]
    assert said["text"].startswith("Sandbox reply to: hello there")
    shown = f'Text output "0.txt" (the model\'s words, as data):\n{said["text"]}'
    assert any(isinstance(b, TextContent) and b.text == shown for b in short.content)
    [kept] = long.structured_content["outputs"]
    assert "text" not in kept and kept["size"] > 10_000
    assert f"wiro://tasks/{task_id}/outputs/0.txt" in text(long)
    assert len(text(long)) < 2000, "a long answer does not flood the agent's context"
    [contents] = read.contents
    assert contents.mime_type is not None and contents.mime_type.startswith("text/plain")


async def test_files_go_where_wiro_takes_them(sandbox: Sandbox, tmp_path: Path) -> None:
    # fileinput → {id}Url, multifileinput → {id}Url comma-separated, combinefileinput → {id}; a local file
    # is a multipart part named {id}.
    from PIL import Image

    picture = tmp_path / "mask.png"
    Image.new("RGB", (8, 8), (9, 9, 9)).save(picture)
    inputs = {
        "prompt": "list it",
        "mask": str(picture),
        "references": ["https://cdn1.wiro.ai/a.png", "https://cdn1.wiro.ai/b.png"],
        "inputImage": "https://cdn1.wiro.ai/c.png",
        "mode": "best",
        "count": 2,
    }
    async with connect(sandbox, WIRO_MCP_INPUT_DIRS=str(tmp_path)) as client:
        ran = await client.call_tool(
            "run_model", {"model": "kitchen/every-input", "inputs": inputs, "wait_seconds": 30}
        )
        plain = await client.call_tool(
            "run_model", {"model": "kitchen/every-input", "inputs": {"prompt": "x", "mask": "http://e.x/m.png"}}
        )
    assert not ran.is_error, text(ran)
    [run] = sandbox.state.find_requests("Run/kitchen/every-input")
    assert run.fields["referencesUrl"] == "https://cdn1.wiro.ai/a.png,https://cdn1.wiro.ai/b.png"
    assert run.fields["inputImage"] == "https://cdn1.wiro.ai/c.png" and "maskUrl" not in run.fields
    assert run.files["mask"] == picture.read_bytes()
    listing = ran.structured_content["outputs"][0]["text"]
    assert "referencesUrl" in listing and "mask" in listing
    assert plain.is_error and "https://" in text(plain) and sandbox.count("Run") == 1


async def test_audio_and_3d_outputs_are_links_with_type_and_size_and_saved_copies(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(out)) as client:
        speech = await client.call_tool("run_model", {"model": "vox/text-to-speech", "inputs": {"prompt": "hello"}})
        mesh = await client.call_tool(
            "run_model", {"model": "forge/image-to-3d", "inputs": {"inputImage": "https://cdn1.wiro.ai/c.png"}}
        )
    [wav] = speech.structured_content["outputs"]
    assert wav["content_type"] == "audio/wav" and Path(wav["path"]).read_bytes()[:4] == b"RIFF"
    [glb] = mesh.structured_content["outputs"]
    assert glb["content_type"] == "model/gltf-binary" and Path(glb["path"]).read_bytes()[:4] == b"glTF"
    saved = [b for b in mesh.content if isinstance(b, ResourceLink) and str(b.uri).startswith("file://")]
    assert [(b.mime_type, b.size) for b in saved] == [("model/gltf-binary", glb["size"])]
    assert not any(block.type == "image" for block in speech.content + mesh.content)
    [run] = sandbox.state.find_requests("Run/forge/image-to-3d")
    assert run.fields["inputImageUrl"] == "https://cdn1.wiro.ai/c.png"


@pytest.mark.parametrize(("required_as", "options_as"), [("bool", "objects"), ("string", "strings")])
async def test_either_shape_of_wiros_spec_gives_the_same_checks(required_as: Any, options_as: Any) -> None:
    config = SandboxConfig(
        queue_seconds=0.1, run_seconds=0.3, grain=False, required_as=required_as, options_as=options_as
    )
    with Sandbox(config) as box:
        async with connect(box) as client:
            described = await client.call_tool("describe_model", {"model": "vox/text-to-speech"})
            refused = await client.call_tool("run_model", {"model": "vox/text-to-speech", "inputs": {"voice": "x"}})
            ran = await client.call_tool(
                "run_model", {"model": "vox/text-to-speech", "inputs": {"prompt": "hi", "voice": "ember"}}
            )
    schema = described.structured_content["inputs"]
    assert schema["required"] == ["prompt"] and schema["properties"]["voice"]["enum"] == ["alloy", "verse", "ember"]
    assert refused.is_error and "prompt: required" in text(refused) and "voice" in text(refused)
    assert not ran.is_error, text(ran)


async def test_search_rows_are_compact(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        found = await client.call_tool("search_models", {"category": "text-to-speech", "limit": 3})
    assert found.structured_content["models"] == [
        {
            "model": "vox/text-to-speech",
            "title": found.structured_content["models"][0]["title"],
            "categories": ["text-to-speech", "audio"],
            "typical_usd": 0.004,
        }
    ]
    assert len(json.dumps(found.structured_content)) < 400


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
async def test_run_model_runs_as_an_mcp_task(sandbox: Sandbox, mode: str) -> None:
    from tests.adapter.test_tasks import final_result, task_of, tasks_client

    from ..helpers import raw_request

    async with tasks_client(sandbox, mode) as client:
        params: dict[str, Any] = {
            "name": "run_model",
            "arguments": {"model": "vox/text-to-speech", "inputs": {"prompt": "hi"}, "preview": False},
        }
        if mode == "legacy":
            params["task"] = {}
        created = await raw_request(client, "tools/call", params)
        task = task_of(created, mode)
        result = await final_result(client, mode, task["taskId"])
    assert task["status"] == "working"
    assert result["structuredContent"]["state"] == "succeeded"
    assert result["structuredContent"]["outputs"][0]["content_type"] == "audio/wav"
    assert sandbox.count("Run") == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"result": true, "tool": "not a list"}',
        '{"result": true, "tool": [{"slugowner": 7, "categories": {"a": 1}}, null, "x"], "total": "many"}',
        '{"result": true, "tool": [{"slugowner": "a", "slugproject": "b", "title": ["t"], '
        '"approximatelycost": "NaN"}]}',
        "[1, 2, 3]",
    ],
)
async def test_a_broken_catalog_answer_is_read_as_less_and_the_server_serves_on(sandbox: Sandbox, body: str) -> None:
    async with connect(sandbox) as client:
        sandbox.inject("raw_body", "Tool/List", value=body)
        odd = await client.call_tool("search_models", {"query": "odd answer"})
        fine = await client.call_tool("search_models", {"query": "video"})
    assert not fine.is_error and fine.structured_content["models"]
    if odd.is_error:
        assert "cannot be searched now" in text(odd)
    else:
        for row in odd.structured_content["models"]:
            assert "/" in row["model"] and isinstance(row["title"], str)


async def test_a_broken_spec_answer_bills_nothing(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        items = [{"id": "prompt", "type": {"x": 1}, "required": "maybe"}, {"id": "x"}]
        answer = {"result": True, "tool": [{"parameters": [{"items": items}]}]}
        sandbox.inject("raw_body", "Tool/Detail", value=json.dumps(answer))
        described = await client.call_tool("describe_model", {"model": "acme/odd"})
        ran = await client.call_tool("run_model", {"model": "acme/odd", "inputs": {"prompt": "hi", "y": 1}})
    assert not described.is_error, text(described)
    assert set(described.structured_content["inputs"]["properties"]) == {"prompt", "x"}
    assert ran.is_error and "y: unknown input" in text(ran) and sandbox.count("Run") == 0


async def test_a_slow_spec_comes_out_of_the_calls_wait(sandbox: Sandbox) -> None:
    config = SandboxConfig(queue_seconds=0.2, run_seconds=30, grain=False)
    with Sandbox(config) as slow:
        async with connect(slow) as client:
            slow.inject("slow", "Tool/Detail", delay=3.0)
            began = anyio.current_time()
            ran = await client.call_tool(
                "run_model", {"model": "lumen/text-to-video", "inputs": {"prompt": "a fox"}, "wait_seconds": 3}
            )
            took = anyio.current_time() - began
    assert not ran.is_error, text(ran)
    assert ran.structured_content["state"] in ("queued", "running") and ran.structured_content["next_action"]
    # 3 s of wait in all, and the spec took them: the run is started and returned, not waited for another
    # 3 s (which would make 6 s or more).
    assert took < 5.5


async def test_a_model_without_prices_is_refused_under_a_limit_by_its_own_name() -> None:
    config = SandboxConfig(queue_seconds=0.1, run_seconds=0.3, grain=False, prices=False)
    with Sandbox(config) as box:
        async with connect(box, WIRO_MCP_DAILY_BUDGET_USD="1") as client:
            refused = await client.call_tool("run_model", {"model": "vox/text-to-speech", "inputs": {"prompt": "hi"}})
    assert refused.is_error and box.count("Run") == 0
    said = text(refused)
    assert "the cost of this vox/text-to-speech run cannot be estimated, and a spending limit is set" in said
    assert "nothing was billed" in said


async def test_a_slow_spec_read_while_asking_the_person_comes_out_of_the_calls_wait_too() -> None:
    """With a confirmation threshold and a host that can ask, the spec is read before the tool's body (to
    price the question): the call's wait counts from its arrival all the same. (On 2026-07-28 the question
    ends the first request and the answer comes in a second one, whose wait is its own.)"""
    from tests.money.test_spending import answering

    config = SandboxConfig(queue_seconds=0.2, run_seconds=30, grain=False)
    asked: list[str] = []
    with Sandbox(config) as slow:
        async with connect(
            slow, mode="legacy", WIRO_MCP_CONFIRM_ABOVE_USD="0.000001", elicitation_callback=answering("accept", asked)
        ) as client:
            slow.inject("slow", "Tool/Detail", delay=3.0)
            began = anyio.current_time()
            ran = await client.call_tool(
                "run_model", {"model": "lumen/text-to-video", "inputs": {"prompt": "a fox"}, "wait_seconds": 3}
            )
            took = anyio.current_time() - began
    assert asked, "the person was asked first"
    assert not ran.is_error, text(ran)
    assert ran.structured_content["state"] in ("queued", "running")
    assert took < 5.5, "the 3 s the spec took before the body are part of the 3 s wait (it took 6 s and more)"
