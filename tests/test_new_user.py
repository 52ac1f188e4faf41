"""Every text true on first use (issue 31): what a new user, or the agent working for them, reads on a
fresh clone against the sandbox. Each test quotes the text that was wrong; all go through MCP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from mcp_types import TextContent, TextResourceContents

from wiro_mcp.sandbox import Sandbox

from .helpers import connect

pytestmark = pytest.mark.anyio

PANORAMA = {"prompt": "a misty harbour at dawn", "width": 512, "height": 256, "steps": 4}


def texts(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


# -- 1. "$0.00" -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("simulated", [True, False])
async def test_a_running_tasks_text_says_the_estimate_not_a_cost_of_nothing(held: Sandbox, simulated: bool) -> None:
    """Was: "(sandbox: nothing billed, the money is simulated; a real run would cost about $0.00)" beside
    `estimated_cost_usd: 0.0351` (Wiro's "0" while running read as the bill)."""
    from mcp import Client

    from wiro_mcp.adapter.server import create_server
    from wiro_mcp.money.estimate import usd_text

    from .helpers import settings_for

    settings = settings_for(held).model_copy(update={"sandbox": simulated})  # as `wiro-mcp --sandbox` sets it
    async with Client(create_server(settings)) as client:
        started = await client.call_tool("generate_panorama", {**PANORAMA, "wait_seconds": 0})
        held.advance_to("1001", "task_start")
        running = await client.call_tool("get_task", {"task_id": "1001"})
    for result in (started, running):
        data = result.structured_content
        assert data["state"] in ("queued", "running") and "cost_usd" not in data
        said, estimate = texts(result), usd_text(data["estimated_cost_usd"])
        assert "$0.00" not in said
        if simulated:
            assert f"(sandbox: nothing billed, the money is simulated; a real run would cost about {estimate})" in said
        else:
            assert f"estimated cost about {estimate}" in said


# -- 5. numbers ---------------------------------------------------------------------------------------------


async def test_numbers_are_rounded_where_people_and_models_read_them(sandbox: Sandbox) -> None:
    """Was: progress 0.16499999999999998, costs 0.00235589524, wait_seconds=45.0, min 1.0."""
    heard: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append(progress)

    async with connect(sandbox) as client:
        ran = await client.call_tool("generate_panorama", PANORAMA, progress_callback=on_progress)
        listed = await client.call_tool("list_tasks", {})
        read = await client.read_resource("wiro://models")
        queued = await client.call_tool("generate_panorama", {**PANORAMA, "prompt": "another", "wait_seconds": 0})
    assert heard and all(value == round(value, 2) for value in heard), heard
    cost = ran.structured_content.get("cost_usd")
    assert cost is not None and len(f"{cost:.12f}".rstrip("0").split(".")[1].lstrip("0")) <= 4, cost
    [line] = [t for t in listed.structured_content["tasks"] if t["task_id"] == ran.structured_content["task_id"]]
    assert line["estimated_cost_usd"] == ran.structured_content["estimated_cost_usd"]
    assert queued.structured_content["next_action"]["arguments"]["wait_seconds"] == 45
    assert "wait_seconds=45 " in texts(queued)
    [contents] = read.contents
    assert isinstance(contents, TextResourceContents)
    assert not re.search(r"\d\.0[,}\n ]", contents.text), "whole numbers read as whole numbers"
    models = json.loads(contents.text)
    tiers = [tier for model in models for tier in model["pricing"]["tiers"]]
    assert tiers and all(tier["price"].startswith("$") and "e-" not in tier["price"] for tier in tiers)


# -- 4. one call, one estimate ------------------------------------------------------------------------------


async def test_each_question_says_its_estimate_and_why_it_changed(sandbox: Sandbox) -> None:
    """Was: "This panorama costs about $0.0351" first, then "about $0.0002" for the same call after one
    run, with nothing to say why. The question, the decline and the result of one call name one figure,
    and every question says what the figure is made of."""
    from mcp_types import ElicitResult

    asked: list[str] = []
    answers = iter(["accept", "decline"])

    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        action = next(answers)
        return ElicitResult(action=action, content={"run": True} if action == "accept" else None)

    async with connect(
        sandbox, mode="legacy", WIRO_MCP_CONFIRM_ABOVE_USD="0.0000001", elicitation_callback=elicit
    ) as c:
        ran = await c.call_tool("generate_panorama", PANORAMA)
        declined = await c.call_tool("generate_panorama", {**PANORAMA, "prompt": "the same harbour at dusk"})
    first, second = asked
    estimate = ran.structured_content["estimated_cost_usd"]
    assert f"costs about ${estimate:g} (Wiro's typical cost per run; a smaller call counts as a typical" in first
    figure = re.search(r"costs about (\$[0-9.]+)", second)
    assert figure is not None and f"(about {figure.group(1)})" in texts(declined), "the decline names the question's"
    assert "a like run has been billed, so a smaller call no longer counts as a typical one" in second


# -- 6. search_models -----------------------------------------------------------------------------------------


async def test_search_shows_the_models_that_match_best_first_and_says_what_to_try(sandbox: Sandbox) -> None:
    """Was: "text to video" answered all 8 models (speech, chat, 3D, images), and "zzzzqqq" answered
    "0 of 0 model(s):" with nothing after it."""
    async with connect(sandbox) as client:
        video = await client.call_tool("search_models", {"query": "text to video"})
        fox = await client.call_tool("search_models", {"query": "make me a short video of a fox"})
        nothing = await client.call_tool("search_models", {"query": "zzzzqqq"})
        catalog = await client.call_tool("search_models", {})
    models = [row["model"] for row in video.structured_content["models"]]
    assert models[0] == "lumen/text-to-video" and "vox/text-to-speech" not in models and "sage/chat" not in models
    assert video.structured_content["total"] == len(models)
    assert "lumen/text-to-video" in [row["model"] for row in fox.structured_content["models"]]
    assert nothing.structured_content["models"] == [] and nothing.structured_content["total"] == 0
    said = texts(nothing)
    assert said.startswith('No Wiro model matches "zzzzqqq".') and "category='text-to-video'" in said
    assert len(catalog.structured_content["models"]) >= 8, "no query: the catalog, in Wiro's order"


# -- 7. waits past the host's limit ---------------------------------------------------------------------------


async def test_a_wait_past_what_hosts_allow_is_cut_and_says_so(held: Sandbox) -> None:
    """Was: generate_image with wait_seconds 120 blocked 70.7 s, past the ~60 s a host allows (a host
    cutting the call may cancel it, stopping the run). Here the limit is 1.5 s for speed."""
    import anyio

    async with connect(held, WIRO_MCP_MAX_WAIT_SECONDS="1.5", WIRO_MCP_WAIT_SECONDS="1") as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        began = anyio.current_time()
        started = await client.call_tool("generate_image", {"prompt": "a lighthouse", "wait_seconds": 120})
        took = anyio.current_time() - began
        read = await client.call_tool("get_task", {"task_id": "1001", "wait_seconds": 120})
    assert not started.is_error and started.structured_content["state"] in ("queued", "running")
    assert took < 1.5 + 1.5, f"{took:.1f} s"
    for result in (started, read):
        assert (
            "wait_seconds 120 was cut to 1.5 (WIRO_MCP_MAX_WAIT_SECONDS): hosts cut a tool call at about 60 s"
            in texts(result)
        )
    assert held.count("Task/Kill") + held.count("Task/Cancel") == 0
    for name in ("generate_image", "generate_panorama", "run_model", "get_task"):
        assert listed[name].input_schema["properties"]["wait_seconds"]["maximum"] == 1.5, "the schema says the limit"


def test_a_default_wait_over_the_longest_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from wiro_mcp.config import Settings

    with pytest.raises(ValidationError) as caught:
        Settings.from_env({"WIRO_MCP_WAIT_SECONDS": "90"})
    assert "WIRO_MCP_WAIT_SECONDS (90) is over WIRO_MCP_MAX_WAIT_SECONDS (50)" in str(caught.value)
    assert Settings.from_env({"WIRO_MCP_WAIT_SECONDS": "90", "WIRO_MCP_MAX_WAIT_SECONDS": "120"}).wait_seconds == 90


# -- 8. how runs are billed -----------------------------------------------------------------------------------


async def test_the_instructions_say_each_model_is_billed_at_its_own_price(sandbox: Sandbox) -> None:
    """Was: "every run is billed per GPU second", while estimates name per-output or per-pixel prices."""
    async with connect(sandbox, mode="legacy") as client:
        said = client.instructions or ""
    assert "per GPU second" not in said and "billed at that model's own price" in said


# -- 9. wording -----------------------------------------------------------------------------------------------


async def test_a_filtered_empty_listing_and_task_messages_read_as_one_voice(held: Sandbox) -> None:
    """Was: "No tasks found. Wiro's task list: answered (4 tasks)." under a state filter, "answered (1
    tasks)", and statuses "Wiro: task 1001 is queued" beside "Wiro: Task 1001: generating…"."""
    from tests.adapter.test_tasks import LEGACY, call, task_of, tasks_client

    from .helpers import raw_request

    async with tasks_client(held, LEGACY) as client:
        task = task_of(await call(client, LEGACY, {"prompt": "a kite", "width": 512, "height": 512}), LEGACY)
        held.advance_to("1001", "task_start")
        got = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
        failed = await client.call_tool("list_tasks", {"state": "failed"})
        one = await client.call_tool("list_tasks", {})
    assert task["statusMessage"].startswith("Task 1001: queued (") and got["statusMessage"].startswith("Task 1001: ")
    said = texts(failed)
    assert said.startswith("No tasks with state failed, in the journal (") and "without the filter" in said
    assert "answered with 1 task)" in texts(one) and "1 recent task, newest first" in texts(one)


# -- 12. get_task's schema ------------------------------------------------------------------------------------


async def test_get_task_says_in_its_schema_that_one_of_id_and_token_is_needed(sandbox: Sandbox) -> None:
    """Was: only its text said that exactly one of task_id and task_token is needed."""
    async with connect(sandbox) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        neither = await client.call_tool("get_task", {})
        both = await client.call_tool("kill_task", {"task_id": "1001", "task_token": "t"})
    for name in ("get_task", "kill_task"):
        assert tools[name].input_schema["anyOf"] == [{"required": ["task_id"]}, {"required": ["task_token"]}]
    assert "cancel_task" in tools and "anyOf" not in tools["cancel_task"].input_schema, "task_id alone: required"
    for result in (neither, both):
        assert result.is_error and "Give exactly one of task_id and task_token." in texts(result)
