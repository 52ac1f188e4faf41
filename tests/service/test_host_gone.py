"""A host that goes away does not destroy paid work. Only an explicit cancellation of the call
(notifications/cancelled: the person pressed stop) stops the task; a closed stdin, a dropped HTTP
stream or a server shutdown leaves it running, to be collected later with get_task.

These need real processes and real transports, so they spawn wiro-mcp."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

import anyio
import httpx2
import pytest

from tests.helpers import HttpServer, http_session, server_env
from wiro_mcp.sandbox import Sandbox, SandboxConfig
from wiro_mcp.sandbox.lifecycle import ENDED, QUEUE_STATUSES

STOP_ENDPOINTS = ("Task/Kill", "Task/Cancel")
GONE = "ended without a stop request"


@pytest.fixture
def long_task() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(queue_seconds=0.1, run_seconds=120, grain=False)) as box:
        yield box


def stops(box: Sandbox) -> int:
    return sum(box.count(endpoint) for endpoint in STOP_ENDPOINTS)


def status(box: Sandbox) -> str:
    task = box.state.get(task_id="1001")
    assert task is not None, "the task was started"
    return task.status(box.state.clock())


def still_running(box: Sandbox) -> bool:
    return status(box) not in ENDED


def running(box: Sandbox) -> bool:
    """Started, and past the queue (a worker has it)."""
    return box.state.get(task_id="1001") is not None and status(box) not in (*QUEUE_STATUSES, *ENDED)


def until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


HANDSHAKE = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "host", "version": "0"}},
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]
CALL = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "tools/call",
    "params": {"name": "generate_image", "arguments": {"prompt": "paid work", "wait_seconds": 60}},
}


def spawn_stdio(box: Sandbox) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "wiro_mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", **server_env(box)},
    )
    assert process.stdin is not None and process.stdout is not None
    for message in [*HANDSHAKE, CALL]:
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    until(lambda: running(box))
    return process


def stderr_of(process: subprocess.Popen[str]) -> str:
    stream: IO[str] | None = process.stderr
    return stream.read() if stream else ""


def test_a_host_that_closes_stdin_leaves_the_task_running(long_task: Sandbox) -> None:
    process = spawn_stdio(long_task)
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=20)
    log = stderr_of(process)
    assert GONE in log and "collect it with get_task" in log
    assert stops(long_task) == 0
    assert still_running(long_task), "the task keeps running on Wiro"


def test_pressing_stop_over_stdio_stops_the_task(long_task: Sandbox) -> None:
    process = spawn_stdio(long_task)
    assert process.stdin is not None
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "stop"}}
    process.stdin.write(json.dumps(cancel) + "\n")
    process.stdin.flush()
    until(lambda: stops(long_task) > 0)
    until(lambda: status(long_task) == "task_cancel")
    process.stdin.close()
    process.wait(timeout=20)
    assert "the client cancelled its call; task 1001 killed while running" in stderr_of(process)
    assert stops(long_task) == 1


def test_a_server_shutdown_leaves_the_task_running(long_task: Sandbox) -> None:
    process = spawn_stdio(long_task)
    process.terminate()
    process.wait(timeout=20)
    assert stops(long_task) == 0
    assert still_running(long_task)


MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def test_a_dropped_http_stream_leaves_the_task_running(long_task: Sandbox) -> None:
    short = {**CALL, "params": {"name": "generate_image", "arguments": {"prompt": "paid work", "wait_seconds": 2}}}
    with HttpServer(server_env(long_task)) as server:
        with httpx2.Client(timeout=30) as http:
            opened = http.post(server.url, json=HANDSHAKE[0], headers=MCP_HEADERS)
            session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
            http.post(server.url, json=HANDSHAKE[1], headers={**MCP_HEADERS, **session})
            with http.stream("POST", server.url, json=short, headers={**MCP_HEADERS, **session}):
                until(lambda: running(long_task))
            # Leaving the block closed the connection mid-call: the stream dropped, no cancellation was sent.
            dropped = time.monotonic()
        # On the handshake transport the call outlives its stream and ends at its budget (2 s + grace).
        time.sleep(max(0.0, dropped + 2 + 1.5 - time.monotonic()))
        assert stops(long_task) == 0
    assert still_running(long_task)


def test_a_closed_stream_on_the_stateless_protocol_is_not_a_stop_request(long_task: Sandbox) -> None:
    # On 2026-07-28 a client abandons a call by closing its stream, which a server cannot tell from a
    # dropped connection: the task keeps running (kill_task stops it on purpose).
    async def call_and_abandon(url: str) -> None:
        async with http_session(url, mode="auto") as client:
            with anyio.move_on_after(1.5):
                await client.call_tool("generate_image", {"prompt": "paid work", "wait_seconds": 60})

    with HttpServer(server_env(long_task)) as server:
        anyio.run(call_and_abandon, server.url)
        until(lambda: GONE in server.log, 30)
        assert stops(long_task) == 0
    assert still_running(long_task)


def test_pressing_stop_over_http_stops_the_task(long_task: Sandbox) -> None:
    async def press_stop(url: str) -> None:
        # The host stays connected after its user presses stop (abandoning a call sends
        # notifications/cancelled); only then does the server see that the person asked to stop.
        async with http_session(url, mode="legacy") as client:
            with anyio.move_on_after(1.5):
                await client.call_tool("generate_image", {"prompt": "paid work", "wait_seconds": 60})
            with anyio.fail_after(20):
                while long_task.state.get(task_id="1001") is None or status(long_task) != "task_cancel":
                    await anyio.sleep(0.02)

    with HttpServer(server_env(long_task)) as server:
        anyio.run(press_stop, server.url)
        until(lambda: "the client cancelled its call; task 1001 killed while running" in server.log)
    assert stops(long_task) == 1


def test_a_cancel_past_the_hosts_time_limit_is_its_time_out_not_a_stop(
    long_task: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host that cuts a call at its limit (~60 s) sends a cancel: it must not stop the paid run. (With the
    limit shortened to 1 s here, the same cancel a second after it is the host's, not the person's.)"""
    from wiro_mcp import budgets

    monkeypatch.setattr(budgets, "HOST_CALL_LIMIT", 1.0)

    async def cut_by_the_host(url: str) -> None:
        async with http_session(url, mode="legacy") as client:
            with anyio.move_on_after(2.5):
                await client.call_tool("generate_image", {"prompt": "paid work", "wait_seconds": 60})

    with HttpServer(server_env(long_task, WIRO_MCP_MAX_WAIT_SECONDS="100")) as server:
        anyio.run(cut_by_the_host, server.url)
        until(lambda: "the host's time limit cut it" in server.log, 30)
        assert stops(long_task) == 0
    assert still_running(long_task)
