"""When the journal cannot count, money does not move: a read-only folder, a full disk and a journal
locked past its wait refuse runs while a limit is set (naming the folder and the cause), keep reads
working, and without a limit let runs go ahead from memory. A task Wiro started is never turned into an
error by a journal that fails after Wiro answered."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp_types import TextResourceContents

from tests.filesystems import read_only_folder, tiny_folder
from tests.helpers import connect, text
from wiro_mcp import budgets
from wiro_mcp.journal.store import FILE_NAME, JournalStore
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox
from wiro_mcp.wiro.client import WiroClient

pytestmark = pytest.mark.anyio

IMAGE = {"prompt": "a kite", "preview": False}
BUDGET = {"WIRO_MCP_DAILY_BUDGET_USD": "1"}


async def spending(client: Any) -> Any:
    [contents] = (await client.read_resource("wiro://spending")).contents
    assert isinstance(contents, TextResourceContents)
    return json.loads(contents.text)


async def started_elsewhere(box: Sandbox, model: str = "tencent/hunyuanworld-text-to-panorama") -> str:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=box.base_url) as direct:
        return (await direct.run(model, {"prompt": "from another app", "width": 256, "height": 128})).task_id


async def test_a_read_only_state_folder_refuses_runs_under_a_limit_and_reads_still_work(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with read_only_folder(tmp_path / "ro") as folder:
        task_id = await started_elsewhere(sandbox)
        async with connect(sandbox, WIRO_MCP_STATE_DIR=str(folder), **BUDGET) as client:
            refused = await client.call_tool("generate_image", IMAGE)
            capped = await client.call_tool("generate_image", {**IMAGE, "prompt": "b"})
            read = await client.call_tool("get_task", {"task_id": task_id, "wait_seconds": 10, "preview": False})
            looked = await client.call_tool("view_panorama", {"task_id": task_id, "size": 256})
            listed = await client.call_tool("list_tasks", {})
            view = await spending(client)
    assert refused.is_error and sandbox.count("Run") == 1, "only the other app's run reached Wiro"
    message = text(refused)
    assert str(folder / FILE_NAME) in message and "Read-only file system" in message
    assert "WIRO_MCP_DAILY_BUDGET_USD" in message and "Nothing was sent to Wiro" in message
    assert "get_task, list_tasks, view_panorama" in message and len(message) < 500
    assert capped.is_error
    assert not read.is_error and read.structured_content["state"] == "succeeded"
    assert not looked.is_error
    assert [line["task_id"] for line in listed.structured_content["tasks"]] == [task_id]
    assert view["journal"]["writable"] is False and "Read-only file system" in view["journal"]["problem"]


async def test_a_read_only_state_folder_without_limits_works_from_memory_and_says_so(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with read_only_folder(tmp_path / "ro") as folder, caplog.at_level(logging.WARNING, logger="wiro_mcp"):
        async with connect(sandbox, WIRO_MCP_STATE_DIR=str(folder)) as client:
            results = [await client.call_tool("generate_image", {**IMAGE, "prompt": p}) for p in ("one", "two")]
            view = await spending(client)
    assert not any(r.is_error for r in results) and sandbox.count("Run") == 2
    assert view["journal"]["writable"] is False
    assert view["journal"]["meaning"].endswith("remembered in memory until this server stops.")
    assert len([r for r in caplog.records if "task journal" in r.getMessage()]) == 1, "said once"


@pytest.mark.parametrize("limited", [True, False])
async def test_a_full_disk(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, limited: bool
) -> None:
    monkeypatch.setattr(budgets, "RETRY_WRITES", 0.2)
    limits = BUDGET if limited else {}
    with tiny_folder(tmp_path / "tiny") as disk, caplog.at_level(logging.WARNING, logger="wiro_mcp"):
        folder = disk.folder
        async with connect(sandbox, WIRO_MCP_STATE_DIR=str(folder), **limits) as client:
            first = await client.call_tool("generate_image", {**IMAGE, "prompt": "before"})
            disk.fill()
            results = [await client.call_tool("generate_image", {**IMAGE, "prompt": f"full {n}"}) for n in range(4)]
            read = await client.call_tool("get_task", {"task_id": first.structured_content["task_id"]})
            disk.free()
            with anyio.fail_after(10):  # the starts kept in memory reach the journal once there is room
                while not limited and len(JournalStore.open(folder, api=sandbox.base_url).recent(10)) < 5:
                    await anyio.sleep(0.1)
    assert not first.is_error and not read.is_error
    if limited:
        assert all(r.is_error for r in results) and sandbox.count("Run") == 1
        message = text(results[0])
        assert "database or disk is full" in message and str(folder / FILE_NAME) in message
        assert "Nothing was sent to Wiro" in message
    else:  # the report's case: 0 of 4 calls worked, each "Error executing tool"
        assert not any(r.is_error for r in results) and sandbox.count("Run") == 5
        assert all("database or disk is full" in text(r) and "keeps it in memory" in text(r) for r in results)
        assert len([r for r in caplog.records if "cannot be written" in r.getMessage()]) == 1, "said once"


async def test_a_journal_locked_past_its_wait_while_a_run_is_out_keeps_the_started_task(
    held: Sandbox, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budgets, "LOCK_WAIT", 0.3)
    monkeypatch.setattr(budgets, "RETRY_WRITES", 0.2)
    held.inject("slow", "Run", delay=1.0)  # a task that stays queued (a ManualClock) and a Run that answers late
    JournalStore.open(state_dir, api=held.base_url).close()
    holder = sqlite3.connect(state_dir / FILE_NAME, isolation_level=None)
    async with connect(held, **BUDGET) as client:
        async with anyio.create_task_group() as group:
            results: list[Any] = []

            async def call() -> None:
                results.append(await client.call_tool("generate_image", {**IMAGE, "wait_seconds": 0}))

            group.start_soon(call)
            with anyio.fail_after(10):
                while held.count("Run") == 0:  # the claim is written, the Run is out: lock the journal
                    await anyio.sleep(0.02)
            holder.execute("BEGIN IMMEDIATE")
        [first] = results
        again = await client.call_tool("generate_image", {**IMAGE, "wait_seconds": 0})
        holder.execute("ROLLBACK")
        holder.close()
        task_id = first.structured_content["task_id"]
        with anyio.fail_after(10):
            while (JournalStore.open(state_dir, api=held.base_url).find(task_id=task_id)) is None:
                await anyio.sleep(0.1)
    assert not first.is_error, text(first)
    assert "database is locked" in text(first) and "writes it to the journal as soon as it can" in text(first)
    assert not again.is_error and again.structured_content["task_id"] == task_id and again.structured_content["reused"]
    assert "another wiro-mcp process" not in text(again).lower() and held.count("Run") == 1


async def test_a_journal_locked_past_its_wait_under_a_limit_refuses_at_once(
    sandbox: Sandbox, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budgets, "LOCK_WAIT", 0.3)
    JournalStore.open(state_dir, api=sandbox.base_url).close()
    holder = sqlite3.connect(state_dir / FILE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        async with connect(sandbox, **BUDGET) as client:
            refused = await client.call_tool("generate_image", IMAGE)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert refused.is_error and sandbox.count("Run") == 0
    assert "database is locked" in text(refused) and "Another program holds the journal" in text(refused)
