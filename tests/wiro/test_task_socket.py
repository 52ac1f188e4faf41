"""Push through Wiro's WebSocket: results the moment they exist, one socket for every task,
reconnects, and polling whenever the socket is down or silent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from tests.helpers import connect
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox, SandboxConfig
from wiro_mcp.tracking.progress import Update
from wiro_mcp.tracking.registry import Followers
from wiro_mcp.tracking.schedule import PollPolicy
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.refs import TaskRef
from wiro_mcp.wiro.task_socket import SocketEvent, TaskSocket, parse_message

pytestmark = pytest.mark.anyio
SRPO = "tencent/hunyuan-flux-srpo"


@pytest.fixture
def box() -> Any:
    with Sandbox(SandboxConfig(queue_seconds=0.2, run_seconds=1.2, grain=False)) as sandbox:
        yield sandbox


@asynccontextmanager
async def following(
    sandbox: Sandbox, policy: PollPolicy | None = None, **socket_options: Any
) -> AsyncIterator[tuple[WiroClient, Followers, TaskSocket]]:
    socket = TaskSocket(sandbox.socket_url, **socket_options)
    async with (
        WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url) as client,
        anyio.create_task_group() as group,
        Followers(client, socket=socket, policy=policy).running() as followers,
    ):
        group.start_soon(socket.serve)
        yield client, followers, socket
        group.cancel_scope.cancel()


async def run_and_wait(
    client: WiroClient, followers: Followers, prompt: str = "x", timeout: float = 20
) -> tuple[Any, list[Update]]:
    run = await client.run(SRPO, {"prompt": prompt})
    updates: list[Update] = []

    async def on_update(update: Update) -> None:
        updates.append(update)

    waited = await followers.wait(TaskRef(task_id=run.task_id), timeout, on_update=on_update, token=run.socket_token)
    return waited.task, updates


def test_parse_message() -> None:
    progress = (
        '{"type":"task_output","id":"1","tasktoken":"t","message":{"type":"progressGenerate",'
        '"percentage":"60","stepCurrent":"6","stepTotal":"10"},"result":true}'
    )
    assert parse_message(progress) == ("t", SocketEvent("task_output", percentage=60.0, step=6, total=10))
    assert parse_message('{"type":"task_start","tasktoken":"t","message":"x"}') == ("t", SocketEvent("task_start"))
    # stderr lines are not failures: only a nudge to read the task again.
    assert parse_message('{"type":"task_error","tasktoken":"t","message":"warn"}') == ("t", SocketEvent(""))
    assert parse_message("not json") is None
    assert parse_message('{"type":"task_start"}') is None
    assert parse_message("[1, 2]") is None


async def test_push_reads_the_task_once_and_reports_real_progress(box: Sandbox) -> None:
    async with following(box) as (client, followers, socket):
        task, updates = await run_and_wait(client, followers)
        assert socket.connects == 1
    assert task.state.value == "succeeded" and task.outputs
    assert box.count("Task/Detail") == 1, "the socket said when; one read fetched the final record"
    fractions = [u.fraction for u in updates]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    steps = [u for u in updates if "step" in u.message]
    assert len(steps) >= 3, [u.message for u in updates]
    assert any(0.2 < u.fraction < 0.85 for u in steps), "the percentage moves the bar through denoising"
    seen = {u.status for u in updates}
    assert seen >= {"task_start", "task_output", "task_postprocess_end"}
    assert seen & {"task_queue", "task_accept", "task_preprocess_start", "task_preprocess_end"}


async def test_one_socket_serves_every_task(box: Sandbox) -> None:
    async with following(box) as (client, followers, _):
        results: list[Any] = []

        async def one(i: int) -> None:
            results.append((await run_and_wait(client, followers, prompt=f"p{i}"))[0])

        async with anyio.create_task_group() as group:
            for i in range(10):
                group.start_soon(one, i)
    assert [t.state.value for t in results] == ["succeeded"] * 10
    assert box.sockets.connections == 1
    assert box.count("Task/Detail") <= 20


async def test_reconnects_after_the_socket_drops(box: Sandbox) -> None:
    async with following(box) as (client, followers, socket):
        async with anyio.create_task_group() as group:
            outcome: list[Any] = []

            async def wait() -> None:
                outcome.append(await run_and_wait(client, followers))

            group.start_soon(wait)
            with anyio.fail_after(10):  # dropped once the socket is up, well before the 1.4 s task ends
                while box.sockets.connections < 1:
                    await anyio.sleep(0.01)
            box.sockets.drop()
        assert socket.connects == 2
    task, updates = outcome[0]
    assert task.state.value == "succeeded"
    assert box.sockets.connections == 2
    assert updates[-1].status == "task_postprocess_end"


async def test_falls_back_to_polling_when_the_socket_is_refused(box: Sandbox) -> None:
    box.sockets.mode = "refuse"
    async with following(box) as (client, followers, socket):
        task, _ = await run_and_wait(client, followers)
        assert socket.connects == 0
    assert task.state.value == "succeeded"
    assert box.count("Task/Detail") >= 3, "polling did the work"


async def test_falls_back_to_polling_when_the_socket_goes_silent(box: Sandbox) -> None:
    box.sockets.mode = "silent"
    async with following(box, silence=0.3) as (client, followers, socket):
        with anyio.fail_after(10):
            task, _ = await run_and_wait(client, followers)
        assert socket.connects == 1
    assert task.state.value == "succeeded"
    assert box.count("Task/Detail") >= 3


async def test_the_safety_poll_finishes_a_task_whose_messages_were_lost(box: Sandbox) -> None:
    box.sockets.mode = "silent"
    # The socket counts as healthy for a long time, so only the safety poll can see the end.
    async with following(box, PollPolicy(safety=0.5), silence=60) as (client, followers, _):
        with anyio.fail_after(10):
            task, _ = await run_and_wait(client, followers)
    assert task.state.value == "succeeded"
    assert 2 <= box.count("Task/Detail") <= 6


async def test_push_through_the_server_with_fractional_progress(box: Sandbox) -> None:
    reported: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append((progress, message))

    async with connect(box) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "preview": False}, progress_callback=on_progress
        )
    assert result.structured_content["state"] == "succeeded"
    assert box.sockets.connections == 1
    assert box.count("Task/Detail") == 1
    assert any("step" in (m or "") and 0.15 < v < 0.9 for v, m in reported)


async def test_push_can_be_turned_off(box: Sandbox) -> None:
    async with connect(box, WIRO_MCP_PUSH="0") as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "preview": False})
    assert result.structured_content["state"] == "succeeded"
    assert box.sockets.connections == 0
    assert box.count("Task/Detail") >= 2


async def test_two_waiters_on_one_task_both_hear_the_end(box: Sandbox) -> None:
    # Identical calls share a task, and get_task may wait beside a generate call: one waiter giving
    # up early must not deafen the other, which hears the end from the socket, not a safety poll.
    async with following(box) as (client, followers, _):
        run = await client.run(SRPO, {"prompt": "shared"})
        ref = TaskRef(task_id=run.task_id)
        states: dict[str, str] = {}

        async def wait(name: str, timeout: float) -> None:
            waited = await followers.wait(ref, timeout, token=run.socket_token)
            assert waited.task is not None
            states[name] = waited.task.state.value

        async with anyio.create_task_group() as group:
            group.start_soon(wait, "early", 0.3)
            group.start_soon(wait, "patient", 20)
    assert states["early"] in ("queued", "running") and states["patient"] == "succeeded"
    assert box.count("Task/Detail") <= 3, "the end came from the socket (one read), not from polling"


async def test_an_end_that_lists_hundreds_of_outputs_comes_by_push(box: Sandbox) -> None:
    # 600 outputs with long names: the end's message is well past the WebSocket library's 64 KiB default.
    many = [{"name": "output-{i}-" + "n" * 120 + ".txt", "contenttype": "text/plain", "count": 600}]
    box.inject("outputs", "Run", value=json.dumps(many))
    async with following(box) as (client, followers, socket):
        task, _ = await run_and_wait(client, followers)
        assert socket.connects == 1, "one connection carried the whole task"
    assert task.state.value == "succeeded" and len(task.outputs) == 600


async def test_a_connection_that_breaks_at_once_backs_off_instead_of_spinning(box: Sandbox) -> None:
    from wiro_mcp.wiro.task_socket import MESSAGE_MAX_BYTES

    # An end message past the bound closes the connection each time it is sent (after every reconnect).
    size = MESSAGE_MAX_BYTES // 4000 + 1
    box.inject("outputs", "Run", value=json.dumps([{"name": "o-{i}-" + "n" * 3900, "count": size}]))
    async with following(box, max_backoff=10.0) as (client, _, socket):
        run = await client.run(SRPO, {"prompt": "x"})
        watcher = socket.watch(run.socket_token)
        began = anyio.current_time()
        with anyio.fail_after(60):  # a wait on the fifth connect, not a fixed sleep
            while socket.connects < 5:
                await anyio.sleep(0.02)
        took = anyio.current_time() - began
        socket.unwatch(watcher)
        # Four waits between five connects: 0.25 + 0.5 + 1 + 2 s at least (spinning made 16 in 4 s).
        assert took >= 3.7, f"5 connects in {took:.2f} s: it spun instead of backing off"
