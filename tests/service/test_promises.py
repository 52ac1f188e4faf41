"""The promises that must hold whatever Wiro does or however our guesses about it turn out:
an agent can always stop a task, wait_seconds is a hard limit, a client that goes away does not
destroy paid work, identical calls pay once, and errors say what an agent can act on.

The sandbox's queued/running boundary is its own setting, never the client's guess, and every stop
path runs against both readings of Wiro's docs."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPDeprecationWarning

from tests.helpers import connect, text
from wiro_mcp import budgets
from wiro_mcp.sandbox import ManualClock, Sandbox, SandboxConfig
from wiro_mcp.sandbox.api import LIFECYCLE
from wiro_mcp.wiro.protocol import QUEUED_STATUSES

pytestmark = pytest.mark.anyio

# Cancel accepted only in task_queue (the strict reading), or up to task_assign (the client's guess).
BOUNDARIES = ["task_queue", "task_preprocess_end"]


@pytest.fixture(params=BOUNDARIES)
def boundary(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    config = SandboxConfig(
        queue_seconds=4, run_seconds=10, clock=ManualClock(), queued_until=request.param, grain=False
    )
    with Sandbox(config) as box:
        yield box


def stops(box: Sandbox) -> list[str]:
    return [r.endpoint for r in box.state.requests if r.endpoint in ("Task/Cancel", "Task/Kill")]


def expected(box: Sandbox, status: str, tool: str | None = None) -> tuple[list[str], str]:
    """What stopping a task in `status` must send and say: the tool's own request goes first (with no
    tool, a person pressing stop, our guess picks), the sandbox's own boundary decides which it accepts."""
    if tool is None:
        first = "Task/Cancel" if status in QUEUED_STATUSES else "Task/Kill"
    else:
        first = "Task/Cancel" if tool == "cancel_task" else "Task/Kill"
    theirs_queued = LIFECYCLE.index(status) <= LIFECYCLE.index(box.config.queued_until)
    accepted = "Task/Cancel" if theirs_queued else "Task/Kill"
    sent = [first] if first == accepted else [first, accepted]
    if accepted == "Task/Cancel":
        said = "so Task/Kill was refused; Task/Cancel removed it" if len(sent) == 2 else "removed from the queue"
    else:
        said = "so Task/Cancel was refused; it was stopped with Task/Kill" if len(sent) == 2 else "stopped while"
    return sent, said


# -- 1. an agent can always stop a task ---------------------------------------------------------


@pytest.mark.parametrize("tool", ["kill_task", "cancel_task"])
@pytest.mark.parametrize("status", ["task_queue", "task_accept", "task_preprocess_end", "task_start"])
async def test_either_stop_tool_stops_a_task_in_any_state(boundary: Sandbox, tool: str, status: str) -> None:
    async with connect(boundary) as client:
        started = await client.call_tool("generate_image", {"prompt": "stop me", "wait_seconds": 0})
        task_id = started.structured_content["task_id"]
        boundary.advance_to(task_id, status)
        stopped = await client.call_tool(tool, {"task_id": task_id})
    sent, said = expected(boundary, status, tool)
    assert not stopped.is_error, text(stopped)
    assert stopped.structured_content["state"] == "cancelled"
    first_line = text(stopped).splitlines()[0]
    assert first_line.startswith(f"Task {task_id} ") and said in first_line, "one line says what happened"
    assert "was cancelled" not in text(stopped) and "Wiro's status: task_cancel" in first_line
    assert stops(boundary) == sent


async def test_a_task_that_already_ended_is_an_error_that_says_so(boundary: Sandbox) -> None:
    async with connect(boundary) as client:
        started = await client.call_tool("generate_image", {"prompt": "done", "wait_seconds": 0})
        task_id = started.structured_content["task_id"]
        boundary.advance_to(task_id, "task_postprocess_end")
        stopped = await client.call_tool("kill_task", {"task_token": started.structured_content["task_token"]})
    assert stopped.is_error and f"Task {task_id} has already ended (succeeded)" in text(stopped)
    assert stops(boundary) == []


async def test_two_refusals_are_an_error_quoting_both_answers(boundary: Sandbox) -> None:
    async with connect(boundary) as client:
        started = await client.call_tool("generate_image", {"prompt": "stuck", "wait_seconds": 0})
        task_id = started.structured_content["task_id"]
        boundary.inject("refused", "Task/Cancel")
        boundary.inject("refused", "Task/Kill")
        stopped = await client.call_tool("cancel_task", {"task_id": task_id})
    assert stopped.is_error
    assert f"Wiro refused to stop task {task_id} (task_queue)" in text(stopped)
    assert "Task/Cancel answered 'The task cannot be stopped now'" in text(stopped)
    assert "Task/Kill answered 'The task cannot be stopped now'" in text(stopped)


@pytest.mark.parametrize("status", ["task_queue", "task_accept", "task_start"])
async def test_pressing_stop_stops_the_task_at_either_boundary(boundary: Sandbox, status: str) -> None:
    # A handshake client that abandons its call sends notifications/cancelled: the person pressed stop.
    async with connect(boundary, mode="legacy") as client:
        started = await client.call_tool("generate_image", {"prompt": "long", "wait_seconds": 0})
        task_id = started.structured_content["task_id"]
        boundary.advance_to(task_id, status)
        with anyio.move_on_after(0.5):
            await client.call_tool("get_task", {"task_id": task_id, "wait_seconds": 30})
        with anyio.fail_after(10):
            while boundary.state.get(task_id=task_id).status(boundary.state.clock()) != "task_cancel":  # type: ignore[union-attr]
                await anyio.sleep(0.02)
    assert stops(boundary) == expected(boundary, status)[0]


async def test_keep_on_cancel_leaves_the_task_running(held: Sandbox) -> None:
    async with connect(held, mode="legacy", WIRO_MCP_KEEP_ON_CANCEL="1") as client:
        started = await client.call_tool("generate_image", {"prompt": "keep", "wait_seconds": 0})
        with anyio.move_on_after(0.5):
            await client.call_tool("get_task", {"task_id": started.structured_content["task_id"], "wait_seconds": 30})
        await client.call_tool("get_task", {"task_id": started.structured_content["task_id"]})
    assert stops(held) == []


# -- 2. wait_seconds is a hard limit --------------------------------------------------------------


async def timed(client: Any, tool: str, arguments: dict[str, Any]) -> tuple[float, Any]:
    began = time.monotonic()
    result = await client.call_tool(tool, arguments)
    return time.monotonic() - began, result


async def test_a_hanging_task_detail_cannot_hold_a_generate_call_past_its_budget(held: Sandbox) -> None:
    held.inject("slow", "Task/Detail", times=100, delay=60)
    async with connect(held) as client:
        took, result = await timed(client, "generate_image", {"prompt": "x", "wait_seconds": 2})
    assert took < 2 + 1.5, f"{took:.1f} s for a 2 s budget"
    # Started, not readable yet: never a failure to start, and the task is named with what to call next.
    assert not result.is_error
    data = result.structured_content
    assert (data["status"], data["state"]) == ("unknown", "queued")
    assert data["next_action"]["arguments"]["task_id"] == data["task_id"] == "1001"
    assert "was started, but Wiro did not answer a status read within the wait" in text(result)
    assert held.count("Run/") == 1


async def test_a_stale_status_comes_back_with_its_age(held: Sandbox) -> None:
    async with connect(held) as client:
        started = await client.call_tool("generate_image", {"prompt": "x", "wait_seconds": 0})
        held.inject("slow", "Task/Detail", times=100, delay=60)
        took, result = await timed(
            client, "get_task", {"task_id": started.structured_content["task_id"], "wait_seconds": 3}
        )
    assert took < 3 + 1.5
    assert not result.is_error and result.structured_content["state"] == "queued"
    assert "s old; Wiro did not answer the last read in time" in text(result)


async def test_get_task_that_can_read_nothing_is_a_bounded_error_naming_the_task(held: Sandbox) -> None:
    held.inject("slow", "Task/Detail", times=100, delay=60)
    async with connect(held) as client:
        took, result = await timed(client, "get_task", {"task_id": "1001", "wait_seconds": 1})
    assert took < 1 + 1.5
    assert result.is_error and "Reading task 1001 failed" in text(result) and "not lost" in text(result)


async def test_a_plain_get_task_waits_for_a_slow_answer_up_to_the_read_budget(
    held: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connect(held) as client:
        task_id = (await client.call_tool("generate_image", {"prompt": "x", "wait_seconds": 0})).structured_content[
            "task_id"
        ]
    held.inject("slow", "Task/Detail", times=1, delay=1.5)
    async with connect(held) as fresh:  # a server that has never read the task
        took, read = await timed(fresh, "get_task", {"task_id": task_id, "preview": False})
    assert not read.is_error and read.structured_content["state"] == "queued", text(read)
    assert took >= 1.5, "one slow Task/Detail is waited for, not reported as a failure"
    monkeypatch.setattr(budgets, "READ_BUDGET", 1.0)
    held.inject("slow", "Task/Detail", times=100, delay=60)
    async with connect(held) as fresh:
        took, read = await timed(fresh, "get_task", {"task_id": task_id})
    assert took < 1 + 1.5 and read.is_error and "not lost" in text(read)


async def test_stop_tools_and_resources_are_bounded_too(held: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budgets, "STOP_BUDGET", 1.0)
    monkeypatch.setattr(budgets, "READ_BUDGET", 1.0)
    held.inject("slow", "Task/Detail", times=100, delay=60)
    async with connect(held) as client:
        took, stopped = await timed(client, "kill_task", {"task_id": "1001"})
        began = time.monotonic()
        with pytest.raises(Exception, match="did not answer"):
            await client.read_resource("wiro://tasks/1001")
        read_took = time.monotonic() - began
    assert took < 1 + 1.5 and stopped.is_error and "Stopping task 1001 failed" in text(stopped)
    assert read_took < 1 + 1.5


# -- 4. one Run for identical calls, however many arrive ------------------------------------------


async def identical_calls(box: Sandbox, count: int) -> list[Any]:
    results: list[Any] = []
    async with connect(box, WIRO_MCP_PUSH="0") as client:

        async def call() -> None:
            results.append(await client.call_tool("generate_image", {"prompt": "same", "preview": False}))

        async with anyio.create_task_group() as group:
            for _ in range(count):
                group.start_soon(call)
    return results


async def test_fifty_identical_calls_start_one_task_and_share_its_reads() -> None:
    # Tasks that end in moments: before the fix, late joiners found the task finished and ran again.
    fast = SandboxConfig(queue_seconds=0.02, run_seconds=0.05, grain=False)
    with Sandbox(fast) as alone:
        await identical_calls(alone, 1)
    with Sandbox(fast) as crowd:
        results = await identical_calls(crowd, 50)
    assert crowd.count("Run/") == 1
    assert {r.structured_content["task_id"] for r in results} == {"1001"}
    assert all(r.structured_content["state"] == "succeeded" for r in results)
    assert sum(r.structured_content["reused"] for r in results) == 49
    assert crowd.count("Task/Detail") <= alone.count("Task/Detail") + 1


async def test_joiners_get_the_task_that_finished_while_they_joined(held: Sandbox) -> None:
    results: list[Any] = []
    async with connect(held) as client:

        async def call() -> None:
            results.append(await client.call_tool("generate_image", {"prompt": "joined", "wait_seconds": 20}))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(call)
            with anyio.fail_after(10):
                while held.count("Run/") == 0:
                    await anyio.sleep(0.01)
            await anyio.sleep(0.2)
            held.advance_to("1001", "task_postprocess_end")
    assert held.count("Run/") == 1
    assert [r.structured_content["state"] for r in results] == ["succeeded"] * 10


# -- 6. errors an agent can read ------------------------------------------------------------------


async def test_credentials_in_the_base_url_never_reach_a_result() -> None:
    with Sandbox() as box:
        env = {"WIRO_API_BASE_URL": box.base_url.replace("http://", "http://alice:hunter2@")}
    async with connect(box, WIRO_MCP_PUSH="0", **env) as client:
        result = await client.call_tool("generate_image", {"prompt": "x"})
    assert result.is_error and "hunter2" not in text(result) and "***@127.0.0.1" in text(result)


async def test_an_unreadable_run_answer_says_the_task_may_exist(sandbox: Sandbox) -> None:
    sandbox.inject("broken_json", "Run")  # a proxy's broken answer: this Run started nothing on the sandbox
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "preview": False})
        again = await client.call_tool("generate_image", {"prompt": "x", "preview": False})
    assert result.is_error and "may have started on Wiro, but its answer was lost" in text(result)
    assert "an identical call looks for it in Wiro's task list first" in text(result)
    assert "try again in a moment" not in text(result) and "failed" not in text(result)
    assert not again.is_error and sandbox.count("Run") == 2, "Wiro's list showed no such task: the next call ran"
    assert sandbox.count("Task/List") == 2, "asked once right after the lost answer, once by the identical call"


async def test_no_deprecation_noise_while_tasks_run(sandbox: Sandbox) -> None:
    noted: list[Any] = []

    async def note(params: Any) -> None:
        noted.append(params)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A handshake client: the server sends it a log message when the task starts (a deprecated API).
        async with connect(sandbox, mode="legacy", logging_callback=note) as client:
            await client.call_tool("generate_image", {"prompt": "quiet", "preview": False})
    assert any("started task" in str(m.data) for m in noted), "the log message was sent"
    assert not [w for w in caught if issubclass(w.category, MCPDeprecationWarning)]
