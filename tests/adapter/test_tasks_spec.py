"""MCP Tasks as the normative texts say, one rule a test, on the wire (issue 30): 2025-11-25's core Tasks
(basic/utilities/tasks.mdx) and 2026-07-28's Tasks extension (ext-tasks specification/draft/tasks.md).
Each docstring quotes the rule; the sandbox plays a Wiro that applies a stop at once, later, or never."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from wiro_mcp.sandbox import ManualClock, Sandbox, SandboxConfig

from ..helpers import HttpServer, connect, raw_request, server_env
from .test_tasks import IMAGE, LEGACY, MODERN, StatusNotes, call, task_of, tasks_client, until_ended

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def stopping(after: float) -> AsyncIterator[Sandbox]:
    """A sandbox whose tasks run long and whose stops take effect `after` seconds after Wiro takes them."""
    with Sandbox(SandboxConfig(queue_seconds=0.1, run_seconds=60, grain=False, stop_after=after)) as box:
        yield box


async def started(box: Sandbox, task_id: str) -> None:
    """Until the sandbox's task has started running (Task/Kill's side of its queue)."""
    from wiro_mcp.wiro.protocol import QUEUED_STATUSES

    with anyio.fail_after(10):
        while (task := box.state.get(task_id=task_id)) is None or task.status(box.state.clock()) in QUEUED_STATUSES:
            await anyio.sleep(0.05)


async def running(client: Any, mode: str, box: Sandbox) -> dict[str, Any]:
    """A generate task, once its Wiro task runs."""
    task = task_of(await call(client, mode, IMAGE), mode)
    await started(box, "1001")
    return task


# -- 1. cancel -------------------------------------------------------------------------------------------


async def test_2025_cancel_answers_cancelled_once_wiro_applies_a_stop_it_took_later() -> None:
    """2025-11-25: "receivers ... MUST transition the task to cancelled before sending the response".
    → tasks/cancel {taskId}  ← {status: "cancelled", ...} (Wiro applied the stop 1 s after taking it)."""
    async with stopping(1.0) as box, tasks_client(box, LEGACY) as client:
        task = await running(client, LEGACY, box)
        cancelled = await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]})
        again = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
    assert cancelled["status"] == "cancelled" == again["status"], cancelled
    assert box.count("Task/Kill") + box.count("Task/Cancel") >= 1


async def test_2025_cancel_that_wiro_never_applies_is_an_error_never_a_working_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never "a non-cancelled task as if it were the cancel's result": a stop Wiro took and did not apply
    within the budget is an error that says so.  → tasks/cancel  ← error -32603 "The stop is asked, not
    yet confirmed: Wiro accepted the stop of task 1001 but has not applied it within 0.5 s ..."."""
    from wiro_mcp import budgets

    monkeypatch.setattr(budgets, "CANCEL_CONFIRM", 0.5)
    async with stopping(float("inf")) as box, tasks_client(box, LEGACY) as client:
        task = await running(client, LEGACY, box)
        with pytest.raises(MCPError) as caught:
            await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]})
        still = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
    assert caught.value.error.code == -32603
    assert "The stop is asked, not yet confirmed" in caught.value.error.message
    assert "may still run, and be billed" in caught.value.error.message
    assert still["status"] == "working"


async def test_2026_cancel_is_an_acknowledgement_and_the_task_is_cancelled_when_wiro_applies_it() -> None:
    """2026-07-28: "the server MUST acknowledge the request with an empty result ... eventually
    consistent".  → tasks/cancel  ← {}   → tasks/get ... ← {status: "cancelled"}."""
    async with stopping(0.5) as box, tasks_client(box, MODERN) as client:
        task = await running(client, MODERN, box)
        ack = await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]})
        ended = await until_ended(client, task["taskId"])
    assert {k: v for k, v in ack.items() if k != "_meta"} in ({}, {"resultType": "complete"})
    assert ended["status"] == "cancelled"


async def test_kill_task_says_a_stop_wiro_took_but_has_not_applied_yet() -> None:
    async with stopping(float("inf")) as box, connect(box) as client:
        begun = await client.call_tool("generate_image", {**IMAGE, "wait_seconds": 0})
        task_id = begun.structured_content["task_id"]
        await started(box, task_id)
        killed = await client.call_tool("kill_task", {"task_id": task_id})
    said = killed.content[0].text  # type: ignore[union-attr]
    assert f"Wiro accepted the stop of task {task_id} (Task/Kill) but it still reads running" in said


# -- 4. task on a tool without taskSupport ------------------------------------------------------------


async def test_2025_a_task_on_a_tool_without_task_support_is_method_not_found(sandbox: Sandbox) -> None:
    """2025-11-25: "If execution.taskSupport is not present ... Servers SHOULD return a -32601 (Method not
    found) error".  → tools/call {name: "list_tasks", task: {}}  ← error -32601."""
    async with tasks_client(sandbox, LEGACY) as client:
        with pytest.raises(MCPError) as caught:
            await raw_request(client, "tools/call", {"name": "list_tasks", "arguments": {}, "task": {}})
        plain = await raw_request(client, "tools/call", {"name": "list_tasks", "arguments": {}})
    assert caught.value.error.code == -32601 and "does not run as a task" in caught.value.error.message
    assert "isError" not in plain or plain["isError"] is False


# -- 5. notifications/tasks/status -----------------------------------------------------------------------


async def test_2025_status_notifications_carry_no_related_task_meta(sandbox: Sandbox) -> None:
    """2025-11-25: "the notifications/tasks/status notification SHOULD NOT include the
    io.modelcontextprotocol/related-task metadata" (the task id is in its params).
    ← notifications/tasks/status {taskId, status: "completed", ...} (no _meta)."""
    notes = StatusNotes()
    async with tasks_client(sandbox, LEGACY, extensions=[notes]) as client:
        task = task_of(await call(client, LEGACY, IMAGE), LEGACY)
        await raw_request(client, "tasks/result", {"taskId": task["taskId"]})
        with anyio.fail_after(5):
            while not notes.heard or notes.heard[-1]["status"] != "completed":
                await anyio.sleep(0.05)
    assert all(note["taskId"] == task["taskId"] for note in notes.heard)
    assert all("io.modelcontextprotocol/related-task" not in (note.get("_meta") or {}) for note in notes.heard)


# -- 6, 7, 8. over HTTP ----------------------------------------------------------------------------------

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
V2025, V2026 = "2025-11-25", "2026-07-28"  # the wire's versions (LEGACY and MODERN are the client's modes)
TASKS_EXTENSION: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}}


def answer_of(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message of an answer, whether a JSON body or an event stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message: dict[str, Any] = json.loads(line[5:])
                if "result" in message or "error" in message:
                    return message
        raise AssertionError(f"no answer in the stream: {response.text!r}")
    found: dict[str, Any] = response.json()
    return found


class Legacy:
    """A 2025-11-25 session over HTTP, spoken by hand."""

    def __init__(self, http: httpx2.AsyncClient, url: str, token: str | None = None) -> None:
        self.http, self.url, self.ids = http, url, 0
        self.headers = {**HEADERS, **({"authorization": f"Bearer {token}"} if token else {})}

    async def open(self) -> dict[str, Any]:
        init = {"protocolVersion": V2025, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
        response = await self.post("initialize", init)
        self.headers |= {"mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": V2025}
        await self.http.post(
            self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=self.headers
        )
        return answer_of(response)

    async def post(self, method: str, params: dict[str, Any]) -> httpx2.Response:
        self.ids += 1
        body = {"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params}
        return await self.http.post(self.url, json=body, headers=self.headers)


def modern(method: str, params: dict[str, Any], ident: int = 1) -> dict[str, Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": TASKS_EXTENSION,
    }
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": {**params, "_meta": meta}}


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    named = {"mcp-name": name} if name is not None else {}
    return {**HEADERS, "mcp-protocol-version": V2026, "mcp-method": method, **named}


async def test_2025_tasks_get_over_http_is_answered_as_json_not_a_stream(sandbox: Sandbox) -> None:
    """2025-11-25: "servers SHOULD NOT upgrade to an SSE stream in response to a tasks/get request".
    → POST tasks/get  ← 200 application/json {result: {taskId, status: "working", ...}}."""
    with HttpServer(server_env(sandbox, WIRO_MCP_HTTP_TOKEN="t0ken")) as server:
        async with httpx2.AsyncClient(timeout=20) as http:
            session = Legacy(http, server.url, "t0ken")
            await session.open()
            created = answer_of(
                await session.post("tools/call", {"name": "generate_image", "arguments": IMAGE, "task": {}})
            )
            task_id = created["result"]["task"]["taskId"]
            got = await session.post("tasks/get", {"taskId": task_id})
            listed = await session.post("tasks/list", {})
    assert got.headers["content-type"].startswith("application/json"), got.headers
    assert got.json()["result"]["taskId"] == task_id
    assert listed.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("token", [None, "t0ken"])
async def test_2025_tasks_list_is_offered_only_where_requestors_can_be_told_apart(
    sandbox: Sandbox, token: str | None
) -> None:
    """2025-11-25: "receivers that cannot identify requestors SHOULD NOT declare the tasks.list
    capability". Without a token, every HTTP client is one owner: no tasks.list, and tasks/list is
    -32601, so no session lists another's tasks."""
    env = server_env(sandbox, **({"WIRO_MCP_HTTP_TOKEN": token} if token else {}))
    with HttpServer(env) as server:
        async with httpx2.AsyncClient(timeout=20) as http:
            one, other = Legacy(http, server.url, token), Legacy(http, server.url, token)
            opened = await one.open()
            await other.open()
            answer_of(await one.post("tools/call", {"name": "generate_image", "arguments": IMAGE, "task": {}}))
            listed = answer_of(await other.post("tasks/list", {}))
    declared = opened["result"]["capabilities"]["tasks"]
    if token is None:
        assert "list" not in declared and declared["cancel"] == {} and declared["requests"]
        assert listed["error"]["code"] == -32601 and "cannot tell its HTTP clients apart" in listed["error"]["message"]
    else:
        assert "list" in declared and len(listed["result"]["tasks"]) == 1, "one owner: the token's"


async def test_2026_a_request_naming_a_task_needs_its_mcp_name_header(sandbox: Sandbox) -> None:
    """2026-07-28 Tasks extension: "the client MUST set the Mcp-Name header to the value of
    params.taskId". → POST tasks/get {taskId: A} with Mcp-Name: B (or none) ← 400 {error: -32020}."""
    with HttpServer(server_env(sandbox)) as server:
        async with httpx2.AsyncClient(timeout=20) as http:
            call_body = modern("tools/call", {"name": "generate_image", "arguments": IMAGE})
            created = answer_of(
                await http.post(server.url, json=call_body, headers=modern_headers("tools/call", "generate_image"))
            )
            task_id = created["result"]["taskId"]
            body = modern("tasks/get", {"taskId": task_id})
            right = await http.post(server.url, json=body, headers=modern_headers("tasks/get", task_id))
            wrong = await http.post(server.url, json=body, headers=modern_headers("tasks/get", "another-task"))
            missing = await http.post(server.url, json=body, headers=modern_headers("tasks/get"))
            cancel = modern("tasks/cancel", {"taskId": task_id})
            wrong_cancel = await http.post(server.url, json=cancel, headers=modern_headers("tasks/cancel", "x"))
    assert right.status_code == 200 and answer_of(right)["result"]["taskId"] == task_id
    for refused in (wrong, missing, wrong_cancel):
        assert refused.status_code == 400 and refused.json()["error"]["code"] == -32020, refused.text
    assert "not params.taskId" in wrong.json()["error"]["message"]
    assert "missing" in missing.json()["error"]["message"]
    assert sandbox.count("Task/Kill") + sandbox.count("Task/Cancel") == 0, "the refused cancel stopped nothing"


# -- 9. terminal states stay terminal ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_a_task_that_ended_stays_ended_after_a_restart(mode: str) -> None:
    """Both: "Tasks with a completed, failed, or cancelled status are in a terminal state and MUST NOT
    transition to any other status". A new server process on the same journal answers the task as it
    ended, at once, with its result (it answered working, "Reading task 1001 from Wiro…")."""
    clock = ManualClock()
    with Sandbox(SandboxConfig(queue_seconds=1, run_seconds=1, grain=False, clock=clock)) as box:
        async with tasks_client(box, mode) as client:
            task = task_of(await call(client, mode, IMAGE), mode)
            box.advance_to("1001", "task_postprocess_end")
            first = await until_ended(client, task["taskId"])
        box.inject("slow", "Task/Detail", times=100, delay=30)  # the new server must not need Wiro
        async with tasks_client(box, mode) as client:
            with anyio.fail_after(5):
                again = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
    assert first["status"] == again["status"] == "completed"
    if mode == MODERN:
        assert again["result"]["structuredContent"]["state"] == "succeeded"
        assert "not kept once a task has ended" in json.dumps(again["result"])
