"""Clients nobody here wrote: the MCP Inspector CLI over stdio and HTTP, and the conformance suite."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from release.node_tools import NodeTools, node_tools
from wiro_mcp.sandbox import Sandbox, SandboxConfig

from .contract import TOOLS
from .helpers import HttpServer, server_env

EXPECTED_FAILURES = Path(__file__).resolve().parent / "conformance" / "expected-failures.yml"

# The scenarios that apply to a server like ours, all of which must pass.
MUST_PASS = {
    "server-initialize",
    "ping",
    "tools-list",
    "logging-set-level",
    "completion-complete",
    "resources-list",
    "prompts-list",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
    "tools-call-simple-text",
    "tools-call-error",
}


@pytest.fixture(scope="module")
def tools() -> NodeTools:
    return node_tools()


@pytest.fixture
def slow_sandbox() -> Any:
    with Sandbox(SandboxConfig(queue_seconds=0.3, run_seconds=30, grain=False)) as box:
        yield box


def inspect(tools: NodeTools, target: list[str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [tools.inspector, "--cli", *target, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=tools.env(),
    )
    assert done.returncode == 0, f"inspector failed ({done.returncode}): {done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def stdio_target(sandbox: Sandbox) -> list[str]:
    env = [part for k, v in server_env(sandbox).items() for part in ("-e", f"{k}={v}")]
    return [sys.executable, "-m", "wiro_mcp", *env]


def generate_and_read(tools: NodeTools, target: list[str]) -> None:
    listed = inspect(tools, target, "--method", "tools/list")
    assert {t["name"] for t in listed["tools"]} == TOOLS
    made = inspect(
        tools,
        target,
        "--method",
        "tools/call",
        "--tool-name",
        "generate_panorama",
        "--tool-arg",
        "prompt=a fjord at dusk",
        "width=1024",
        "height=512",
        "seed=7",
    )
    data = made["structuredContent"]
    assert data["state"] == "succeeded" and made.get("isError") is not True
    assert any(block["type"] == "image" for block in made["content"]), "the preview reaches the Inspector"
    read = inspect(
        tools,
        target,
        "--method",
        "tools/call",
        "--tool-name",
        "get_task",
        "--tool-arg",
        f"task_id={data['task_id']}",
        "preview=false",
    )
    assert read["structuredContent"]["state"] == "succeeded"
    assert read["structuredContent"]["outputs"][0]["url"] == data["outputs"][0]["url"]


def start_and_kill(tools: NodeTools, slow: Sandbox, slow_target: list[str]) -> None:
    started = inspect(
        tools,
        slow_target,
        "--method",
        "tools/call",
        "--tool-name",
        "generate_image",
        "--tool-arg",
        "prompt=a long one",
        "wait_seconds=0",
    )["structuredContent"]
    wait_until_running(slow, started["task_id"])
    killed = inspect(
        tools,
        slow_target,
        "--method",
        "tools/call",
        "--tool-name",
        "kill_task",
        "--tool-arg",
        f"task_id={started['task_id']}",
    )
    assert killed["structuredContent"]["state"] == "cancelled"
    assert slow.count("Task/Kill") == 1


def wait_until_running(sandbox: Sandbox, task_id: str) -> None:
    for _ in range(200):
        task = sandbox.state.get(task_id=task_id)
        if task is not None and task.status(sandbox.state.clock()) in ("task_start", "task_output", "task_assign"):
            return
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never started running")


# Each Inspector call starts its own process (and, over stdio, its own server): the generate and the
# kill halves are separate tests so that they run side by side.
def test_inspector_generates_and_reads_over_stdio(tools: NodeTools, sandbox: Sandbox) -> None:
    generate_and_read(tools, stdio_target(sandbox))


def test_inspector_kills_a_running_task_over_stdio(tools: NodeTools, slow_sandbox: Sandbox) -> None:
    start_and_kill(tools, slow_sandbox, stdio_target(slow_sandbox))


TOKEN = "inspector-token"
AUTH = ["--header", f"Authorization: Bearer {TOKEN}"]


def test_inspector_generates_and_reads_over_http_with_a_token(tools: NodeTools, sandbox: Sandbox) -> None:
    with HttpServer(server_env(sandbox, WIRO_MCP_HTTP_TOKEN=TOKEN)) as server:
        generate_and_read(tools, [server.url, "--transport", "http", *AUTH])
        refused = subprocess.run(
            [
                tools.inspector,
                "--cli",
                server.url,
                "--transport",
                "http",
                "--stored-auth-only",
                "--method",
                "tools/list",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=tools.env(),
        )
    # Our 401 makes the Inspector conclude the server needs authorization.
    assert refused.returncode != 0 and "auth_required" in refused.stdout + refused.stderr


def test_inspector_kills_a_running_task_over_http(tools: NodeTools, slow_sandbox: Sandbox) -> None:
    with HttpServer(server_env(slow_sandbox, WIRO_MCP_HTTP_TOKEN=TOKEN)) as server:
        start_and_kill(tools, slow_sandbox, [server.url, "--transport", "http", *AUTH])


def test_conformance_suite_over_http(tools: NodeTools, sandbox: Sandbox, tmp_path: Path) -> None:
    with HttpServer(server_env(sandbox)) as server:
        done = subprocess.run(
            [
                tools.conformance,
                "server",
                "--url",
                server.url,
                "--expected-failures",
                str(EXPECTED_FAILURES),
                "-o",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=tools.env(),
        )
    summary = done.stdout[done.stdout.find("=== SUMMARY") :]
    # Exit 0 means: every failure is listed in expected-failures.yml and no listed one passes.
    assert done.returncode == 0, f"unexpected conformance results:\n{summary}\n{done.stderr[-2000:]}"
    for scenario in MUST_PASS:
        assert f"✓ {scenario}:" in summary, f"{scenario} did not pass:\n{summary}"
