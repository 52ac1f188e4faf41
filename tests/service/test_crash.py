"""A server killed with SIGKILL while its Runs are out: Wiro started the tasks, the journal kept the claims
without task ids. After the restart the identical calls find those tasks in Wiro's task list and join
them, instead of paying for them again; when Wiro's list cannot say, they are refused, naming the doubt
and `allow_duplicate`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.helpers import HttpProcess, connect, http_session, server_env, text
from wiro_mcp import budgets
from wiro_mcp.journal.store import JournalStore
from wiro_mcp.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

RUNS = 6


def call(n: int, **extra: Any) -> dict[str, Any]:
    return {"prompt": f"a lighthouse, take {n}", "wait_seconds": 0, "preview": False, **extra}


async def kill_with_runs_out(box: Sandbox) -> None:
    """A real server process gets RUNS generate calls; once Wiro has all the Runs (their answers held
    back), the process is killed with SIGKILL."""
    box.inject("slow", "Run", delay=60, times=RUNS)
    with HttpProcess(server_env(box)) as server:
        # The server dies under the client: its calls, and the closing of its session, may fail.
        with contextlib.suppress(Exception):
            async with http_session(server.url) as client, anyio.create_task_group() as group:

                async def generate(n: int) -> None:
                    with contextlib.suppress(Exception):
                        await client.call_tool("generate_panorama", call(n))

                for n in range(RUNS):
                    group.start_soon(generate, n)
                with anyio.fail_after(30):
                    while len(box.state.tasks()) < RUNS:
                        await anyio.sleep(0.05)
                server.process.kill()
                group.cancel_scope.cancel()
        assert len(box.state.tasks()) == RUNS, "Wiro had every Run when the server was killed"


async def test_after_a_sigkill_the_identical_calls_join_the_tasks_wiro_started(state_dir: Path) -> None:
    with Sandbox(SandboxConfig(queue_seconds=0.1, run_seconds=120, grain=False)) as box:
        await kill_with_runs_out(box)
        left = JournalStore.open(state_dir, api=box.base_url).doubtful()
        assert len(left) == RUNS and all(entry.task_id is None for entry in left), f"the claims, in doubt: {left}"
        async with connect(box) as client:
            results = [await client.call_tool("generate_panorama", call(n)) for n in range(RUNS)]
            listed = await client.call_tool("list_tasks", {})
        started = {task.id for task in box.state.tasks()}
    assert box.count("Run") == RUNS, f"no second Run for any of the identical calls: {[text(r) for r in results]}"
    assert all(not r.is_error and r.structured_content["reused"] for r in results), [text(r) for r in results]
    assert {r.structured_content["task_id"] for r in results} == started
    assert {line["model"] for line in listed.structured_content["tasks"]} == {"tencent/hunyuanworld-text-to-panorama"}
    assert not JournalStore.open(state_dir, api=box.base_url).doubtful()


async def test_after_a_sigkill_without_wiros_task_list_the_identical_call_is_refused_naming_the_doubt() -> None:
    with Sandbox(SandboxConfig(queue_seconds=0.1, run_seconds=120, grain=False, task_list=False)) as box:
        await kill_with_runs_out(box)
        async with connect(box) as client:
            refused = await client.call_tool("generate_panorama", call(0))
            anyway = await client.call_tool("generate_panorama", call(0, allow_duplicate=True))
    message = text(refused)
    assert refused.is_error and box.count("Run") == RUNS + 1
    assert "its task id never came back" in message and "Wiro may be running and billing it" in message
    assert "Wiro's task list could not be read" in message and "allow_duplicate=true" in message
    assert not anyway.is_error and not anyway.structured_content["reused"]


async def test_a_call_cancelled_while_its_run_is_out_leaves_a_claim_the_identical_call_settles(held: Sandbox) -> None:
    held.inject("slow", "Run", delay=2.0)
    async with connect(held) as client:
        with anyio.move_on_after(0.5):  # the host gives up while Wiro has the Run
            await client.call_tool("generate_image", {"prompt": "cut short", "wait_seconds": 0})
        with anyio.fail_after(10):
            while not held.state.tasks():
                await anyio.sleep(0.02)
        again = await client.call_tool("generate_image", {"prompt": "cut short", "wait_seconds": 0})
    [task] = held.state.tasks()
    assert not again.is_error and again.structured_content["task_id"] == task.id
    assert again.structured_content["reused"] and held.count("Run") == 1


async def test_a_run_whose_answer_times_out_is_found_in_wiros_list_not_reported_as_a_failure(
    held: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budgets, "RUN_FLOOR", 0.5)  # the Run's own deadline, instead of 10 s
    held.inject("slow", "Run", delay=3.0)
    async with connect(held) as client:
        result = await client.call_tool("generate_image", {"prompt": "late answer", "wait_seconds": 0})
    [task] = held.state.tasks()
    assert not result.is_error, text(result)
    assert result.structured_content["task_id"] == task.id and held.count("Run") == 1
    assert "Wiro's answer to the Run was lost" in text(result) and "task list shows the task it started" in text(result)
