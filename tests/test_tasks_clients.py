"""MCP Tasks driven by clients nobody here wrote, over stdio and HTTP: the official Tasks client
(@modelcontextprotocol/ext-tasks over the official TypeScript client) on 2025-11-25, and the MCP
Inspector on 2026-07-28. A task polled to its result with the preview, one cancelled with the stop
the sandbox sees, and one picked up again by a new server process."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from release.node_tools import NodeTools, node_tools
from wiro_mcp.sandbox import Sandbox, SandboxConfig

from .helpers import HttpServer, server_env
from .test_inspector import inspect

CLIENT = Path(__file__).resolve().parent / "clients" / "ext_tasks_client.mjs"
TOKEN = "token-for-the-tasks-clients"


@pytest.fixture(scope="module")
def tools() -> NodeTools:
    return node_tools()


@pytest.fixture
def slow() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(queue_seconds=0.3, run_seconds=30, grain=False)) as box:
        yield box


# The Node clients on one worker, in turn (test_tasks_ext_2026.py too): never several Node processes at once.
pytestmark = pytest.mark.xdist_group("node-clients")


def stdio(box: Sandbox) -> dict[str, Any]:
    return {"command": sys.executable, "args": ["-m", "wiro_mcp"], "env": server_env(box)}


def ext_tasks(tools: NodeTools, command: str, target: dict[str, Any], tmp: Path, **extra: Path) -> dict[str, Any]:
    target_file = tmp / f"target-{command}.json"
    target_file.write_text(json.dumps(target))
    args = [tools.node, str(tools.script(CLIENT)), command, str(target_file), *map(str, extra.values())]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=tools.env())
    assert done.returncode == 0, f"ext-tasks client failed: {done.stdout}\n{done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return answer


def handles(state_dir: Path) -> list[tuple[str, str | None]]:
    """The MCP tasks the servers kept: (id, Wiro task id)."""
    with sqlite3.connect(state_dir / "journal.sqlite3") as db:
        return [tuple(row) for row in db.execute("SELECT id, task_id FROM handles ORDER BY created")]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_ext_tasks_polls_a_task_to_its_result_with_the_preview(
    tools: NodeTools, sandbox: Sandbox, tmp_path: Path, state_dir: Path, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOL_ARGS", json.dumps({"prompt": "a lighthouse at dawn"}))
    if transport == "http":
        with HttpServer(server_env(sandbox, WIRO_MCP_HTTP_TOKEN=TOKEN)) as server:
            answer = ext_tasks(tools, "call", {"url": server.url, "token": TOKEN}, tmp_path)
    else:
        answer = ext_tasks(tools, "call", stdio(sandbox), tmp_path)
    assert answer["kind"] == "task" and answer["status"] == "completed"
    result = answer["result"]
    assert result["structuredContent"]["state"] == "succeeded" and result.get("isError") is not True
    assert any(block["type"] == "image" for block in result["content"]), "the preview reaches the client"
    assert handles(state_dir) == [(answer["taskId"], result["structuredContent"]["task_id"])]
    assert sandbox.count("Run") == 1


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_ext_tasks_cancels_a_task_and_the_sandbox_sees_the_stop(
    tools: NodeTools, slow: Sandbox, tmp_path: Path, transport: str
) -> None:
    if transport == "http":
        with HttpServer(server_env(slow, WIRO_MCP_HTTP_TOKEN=TOKEN)) as server:
            answer = ext_tasks(tools, "cancel", {"url": server.url, "token": TOKEN}, tmp_path)
    else:
        answer = ext_tasks(tools, "cancel", stdio(slow), tmp_path)
    assert answer["kind"] == "task" and answer["status"] == "cancelled"
    # Whichever way Wiro allowed (Task/Cancel while queued, else Task/Kill): the sandbox's task is stopped.
    assert slow.count("Task/Kill") + slow.count("Task/Cancel") >= 1
    task = slow.state.get(task_id="1001")
    assert task is not None and task.status(slow.state.clock()) == "task_cancel"
    assert slow.count("Run") == 1


def test_ext_tasks_picks_a_task_up_again_from_a_new_server_process(
    tools: NodeTools, sandbox: Sandbox, tmp_path: Path
) -> None:
    started = ext_tasks(tools, "start", stdio(sandbox), tmp_path)  # its server process exits with it
    assert started["kind"] == "task"
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps(started["reference"]))
    later = ext_tasks(tools, "resume", stdio(sandbox), tmp_path, reference=reference)
    assert later["status"] == "completed"
    assert later["result"]["structuredContent"]["state"] == "succeeded"
    assert sandbox.count("Run") == 1, "the new server collected the task; nothing ran twice"


def inspector_call(tools: NodeTools, target: list[str]) -> dict[str, Any]:
    """generate_image through the Inspector CLI on 2026-07-28 (its ad-hoc default is 2025-11-25)."""
    arguments = ["--tool-name", "generate_image", "--tool-arg", "prompt=a harbour at night"]
    return inspect(tools, ["--protocol-era", "modern", *target], "--method", "tools/call", *arguments)


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_inspector_on_2026_gets_a_task_and_polls_it_to_the_result(
    tools: NodeTools, sandbox: Sandbox, state_dir: Path, transport: str
) -> None:
    began = time.monotonic()
    if transport == "http":
        with HttpServer(server_env(sandbox, WIRO_MCP_HTTP_TOKEN=TOKEN)) as server:
            answer = inspector_call(tools, [server.url, "--header", f"Authorization: Bearer {TOKEN}"])
    else:
        env = [part for k, v in server_env(sandbox).items() for part in ("-e", f"{k}={v}")]
        answer = inspector_call(tools, [sys.executable, "-m", "wiro_mcp", *env])
    assert time.monotonic() - began < 120
    result = answer
    assert result["structuredContent"]["state"] == "succeeded"
    assert any(block["type"] == "image" for block in result["content"])
    # The Inspector declared the Tasks extension, so the call was answered with a task it then polled.
    assert [task_id for _, task_id in handles(state_dir)] == [result["structuredContent"]["task_id"]]
