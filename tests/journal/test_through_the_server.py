"""The journal through the server: a restart forgets nothing, two server processes on one machine start
one task for one identical call, list_tasks finds old tasks, and a journal that cannot be written
costs one log line and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.helpers import connect, server_env, stdio_session, text
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox, SandboxConfig
from wiro_mcp.wiro.client import WiroClient

pytestmark = pytest.mark.anyio

PANORAMA = {"prompt": "a fjord at dusk", "wait_seconds": 0, "preview": False}


async def test_after_a_restart_the_server_still_knows_its_tasks(held: Sandbox) -> None:
    async with connect(held) as before:
        started = (await before.call_tool("generate_panorama", PANORAMA)).structured_content
    task_id = started["task_id"]
    async with connect(held) as after:  # a new server, the same state folder
        read = await after.call_tool("get_task", {"task_id": task_id})
        by_token = await after.call_tool("get_task", {"task_token": started["task_token"]})
        again = await after.call_tool("generate_panorama", PANORAMA)
        listed = await after.call_tool("list_tasks", {})
    assert read.structured_content["model"] == "tencent/hunyuanworld-text-to-panorama"
    assert read.structured_content["prompt"] == "a fjord at dusk"
    assert read.structured_content["estimated_cost_usd"] == started["estimated_cost_usd"]
    assert by_token.structured_content["task_id"] == task_id
    assert again.structured_content["task_id"] == task_id and again.structured_content["reused"]
    assert held.count("Run") == 1, "the identical call after the restart joined the task in flight"
    [line] = listed.structured_content["tasks"]
    assert line["task_id"] == task_id and line["source"] == "both" and line["prompt"] == "a fjord at dusk"
    assert f"- {task_id} tencent/hunyuanworld-text-to-panorama queued" in text(listed)


async def test_a_task_that_ended_while_no_server_watched_is_not_joined(held: Sandbox) -> None:
    async with connect(held) as before:
        task_id = (await before.call_tool("generate_panorama", PANORAMA)).structured_content["task_id"]
    held.advance_to(task_id, "task_postprocess_end")
    async with connect(held) as after:
        again = await after.call_tool("generate_panorama", PANORAMA)
    assert again.structured_content["task_id"] != task_id and not again.structured_content["reused"]


async def test_two_server_processes_start_one_task_for_one_identical_call(held: Sandbox) -> None:
    env = server_env(held)
    results: list[Any] = []

    async def call(session: Any) -> None:
        results.append(await session.call("generate_image", {"prompt": "twins", "wait_seconds": 0, "preview": False}))

    async with stdio_session(env) as one, stdio_session(env) as two, anyio.create_task_group() as group:
        group.start_soon(call, one)
        group.start_soon(call, two)
    assert held.count("Run") == 1
    ids = {r.structured_content["task_id"] for r in results}
    assert len(ids) == 1 and sorted(r.structured_content["reused"] for r in results) == [False, True]
    assert {r.structured_content["estimated_cost_usd"] for r in results} == {0.0045}, "the joiner knows it too"


async def test_list_tasks_merges_the_journal_with_wiros_list(held: Sandbox) -> None:
    async with connect(held) as client:
        mine = (
            await client.call_tool("generate_image", {"prompt": "a red kite", "wait_seconds": 0})
        ).structured_content
        held.advance_to(mine["task_id"], "task_postprocess_end")  # it ends; the two below start after
        pano = (await client.call_tool("generate_panorama", PANORAMA)).structured_content
        # A task this machine never started (another app on the same Wiro account).
        async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=held.base_url) as direct:
            other = await direct.run("tencent/hunyuan-flux-srpo", {"prompt": "from elsewhere", "samples": 1})
        everything = await client.call_tool("list_tasks", {})
        images = await client.call_tool("list_tasks", {"model": "tencent/hunyuan-flux-srpo"})
        done = await client.call_tool("list_tasks", {"state": "succeeded"})
        one = await client.call_tool("list_tasks", {"limit": 1})
        bad = await client.call_tool("list_tasks", {"model": "not a model"})
    lines = everything.structured_content["tasks"]
    assert [line["task_id"] for line in lines] == [other.task_id, pano["task_id"], mine["task_id"]]
    foreign = lines[0]
    assert foreign["source"] == "wiro" and foreign["prompt"] == "from elsewhere"
    assert foreign["model"] == "tencent/hunyuan-flux-srpo", "learnt from the journal's task with the same modelid"
    assert lines[2]["state"] == "succeeded" and lines[2]["cost_usd"] == pytest.approx(0.0045), "Wiro's state is newer"
    assert [line["task_id"] for line in images.structured_content["tasks"]] == [other.task_id, mine["task_id"]]
    assert [line["task_id"] for line in done.structured_content["tasks"]] == [mine["task_id"]]
    assert len(one.structured_content["tasks"]) == 1
    assert bad.is_error and "model" in text(bad)
    async with connect(held) as later:  # the journal learnt the state Wiro's list showed
        journal_only = await later.call_tool("get_task", {"task_id": mine["task_id"]})
    assert journal_only.structured_content["state"] == "succeeded"


async def test_without_wiros_task_list_the_journal_alone_answers(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(queue_seconds=0.1, run_seconds=0.3, grain=False, task_list=False)) as box:
        async with connect(box) as client:
            await client.call_tool("generate_image", {"prompt": "a lone kite", "preview": False})
            listed = await client.call_tool("list_tasks", {})
    assert not listed.is_error
    assert [line["source"] for line in listed.structured_content["tasks"]] == ["journal"]
    assert listed.structured_content["wiro"].startswith("not available")
    assert "the journal alone answers" in text(listed)


async def test_a_journal_that_cannot_be_written_costs_one_log_line(sandbox: Sandbox, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    env = server_env(sandbox, WIRO_MCP_STATE_DIR=str(blocked / "state"))
    async with stdio_session(env) as session:
        for prompt in ("one", "two"):
            result = await session.call("generate_image", {"prompt": prompt, "preview": False})
            assert not result.is_error, text(result)
        listed = await session.call("list_tasks", {})
        stderr = session.stderr
    assert len(listed.structured_content["tasks"]) == 2, "remembered in memory"
    assert stderr.count("task journal") == 1, stderr
    assert "in memory until this server stops" in stderr


async def test_a_started_task_is_recorded_even_if_its_call_is_cut_short(held: Sandbox, state_dir: Path) -> None:
    from wiro_mcp.journal.store import JournalStore

    async with connect(held) as client:
        with anyio.move_on_after(0.5):
            await client.call_tool("generate_panorama", {**PANORAMA, "wait_seconds": 30})
    [entry] = JournalStore.open(state_dir, api=held.base_url).recent(5)
    assert entry.task_id is not None and entry.model == "tencent/hunyuanworld-text-to-panorama"
    assert entry.state == "queued" and held.state.get(task_id=entry.task_id) is not None
