"""MCP Tasks in both generations, in-process: a generate call held as a task, polled to the plain
call's result, cancelled, answered, outliving the server, and every error path (unknown id, foreign
owner, cancel after the end, expired ttl, a refused spend, a decline, a hanging Wiro)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import ClientExtension, NotificationBinding, advertise
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitResult, TaskStatusNotificationParams

from tests.helpers import HttpServer, http_session, raw_request, server_env, settings_for
from wiro_mcp.adapter.server import create_server
from wiro_mcp.adapter.task_wire import TASKS
from wiro_mcp.journal.records import JournalError
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

MODERN, LEGACY = "2026-07-28", "legacy"
IMAGE = {"prompt": "a lighthouse", "preview": False}


@asynccontextmanager
async def tasks_client(box: Sandbox, mode: str, *, declare: bool = True, **options: Any) -> AsyncIterator[Client]:
    """A client that speaks Tasks: on 2026-07-28 it lists the extension in its capabilities (unless
    `declare` is false); on 2025-11-25 it asks for a task per call (`call()` below)."""
    env = {k: v for k, v in options.items() if k.startswith("WIRO_")}
    rest = {k: v for k, v in options.items() if not k.startswith("WIRO_")}
    extensions = [*rest.pop("extensions", []), *([advertise(TASKS, {})] if mode == MODERN and declare else [])]
    server = create_server(settings_for(box, **env))
    async with Client(server, mode=mode, extensions=extensions, **rest) as client:
        yield client


async def call(client: Client, mode: str, arguments: dict[str, Any], ttl: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": "generate_image", "arguments": arguments}
    if mode == LEGACY:
        params["task"] = {} if ttl is None else {"ttl": ttl}
    return await raw_request(client, "tools/call", params)


def task_of(created: dict[str, Any], mode: str) -> dict[str, Any]:
    """The task in a CreateTaskResult (2025-11-25 nests it; 2026-07-28 inlines it)."""
    return created["task"] if mode == LEGACY else created


async def until_ended(client: Client, task_id: str, seconds: float = 15) -> dict[str, Any]:
    with anyio.fail_after(seconds):
        while True:
            got = await raw_request(client, "tasks/get", {"taskId": task_id})
            if got["status"] not in ("working", "input_required"):
                return got
            await anyio.sleep(0.05)


async def final_result(client: Client, mode: str, task_id: str) -> dict[str, Any]:
    if mode == LEGACY:
        return await raw_request(client, "tasks/result", {"taskId": task_id})
    result: dict[str, Any] = (await until_ended(client, task_id))["result"]
    return result


async def rejected(client: Client, method: str, params: dict[str, Any]) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await raw_request(client, method, params)
    return caught.value


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_a_generate_call_becomes_a_task_that_ends_with_the_plain_calls_result(
    sandbox: Sandbox, mode: str
) -> None:
    async with tasks_client(sandbox, mode) as client:
        began = time.monotonic()
        created = await call(client, mode, IMAGE)
        handed = time.monotonic() - began
        task = task_of(created, mode)
        assert task["status"] == "working" and task["statusMessage"].startswith("Task 1001: ")
        if mode == MODERN:
            assert created["resultType"] == "task" and task["ttlMs"] == 24 * 3600 * 1000
        else:
            assert created["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task["taskId"]}
        assert len(task["taskId"]) >= 24  # unguessable
        result = await final_result(client, mode, task["taskId"])
    async with tasks_client(sandbox, mode, declare=False) as plain_client:
        plain = (await plain_client.call_tool("generate_image", {**IMAGE, "prompt": "another"})).model_dump(
            by_alias=True, mode="json", exclude_none=True
        )
    assert handed < 10, f"{handed:.1f} s to the task handle"
    assert sandbox.count("Run") == 2, "one Run for the task, one for the plain call"
    assert result["structuredContent"]["state"] == "succeeded"
    assert result["structuredContent"]["task_id"] == "1001"
    # The same shape as the plain call: the same content kinds and the same structured fields.
    assert [block["type"] for block in result["content"]] == [block["type"] for block in plain["content"]]
    assert set(result["structuredContent"]) == set(plain["structuredContent"])
    assert result.get("isError", False) is False


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_a_client_that_asks_for_no_task_gets_the_plain_call(sandbox: Sandbox, mode: str) -> None:
    async with tasks_client(sandbox, mode, declare=False) as client:
        answer = await raw_request(client, "tools/call", {"name": "generate_image", "arguments": IMAGE})
    assert "task" not in answer and answer.get("resultType", "complete") == "complete"
    assert answer["structuredContent"]["state"] == "succeeded"


async def test_the_handshake_generation_is_advertised_and_each_task_tool_marked(sandbox: Sandbox) -> None:
    async with tasks_client(sandbox, LEGACY) as client:
        listed = await raw_request(client, "tools/list", {})
        capabilities = client.server_capabilities
    marked = {tool["name"]: tool.get("execution") for tool in listed["tools"]}
    assert marked["generate_image"] == marked["generate_panorama"] == {"taskSupport": "optional"}
    assert marked["get_task"] is None and marked["kill_task"] is None
    assert capabilities is not None and capabilities.tasks is not None
    assert capabilities.tasks.requests is not None and capabilities.tasks.requests.tools is not None


async def test_the_2026_generation_is_advertised_as_an_extension(sandbox: Sandbox) -> None:
    async with tasks_client(sandbox, MODERN) as client:
        discovered = await raw_request(client, "server/discover", {})
        listed = await raw_request(client, "tools/list", {})
    assert TASKS in discovered["capabilities"]["extensions"]
    assert all("execution" not in tool for tool in listed["tools"])  # not a 2026-07-28 field


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_an_unknown_id_is_invalid_params_and_says_only_that(sandbox: Sandbox, mode: str) -> None:
    async with tasks_client(sandbox, mode) as client:
        error = await rejected(client, "tasks/get", {"taskId": "not-a-task"})
        cancel = await rejected(client, "tasks/cancel", {"taskId": "not-a-task"})
    assert error.error.code == cancel.error.code == -32602
    assert error.error.message == "Failed to retrieve task: Task not found"


async def test_a_2026_client_that_does_not_declare_the_extension_is_told_what_is_missing(sandbox: Sandbox) -> None:
    async with tasks_client(sandbox, MODERN, declare=False) as client:
        error = await rejected(client, "tasks/get", {"taskId": "whatever"})
    assert error.error.code == -32021
    assert error.error.data == {"requiredCapabilities": {"extensions": {TASKS: {}}}}


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_cancel_stops_the_wiro_task_and_ends_cancelled_once_wiro_confirms(held: Sandbox, mode: str) -> None:
    async with tasks_client(held, mode) as client:
        task = task_of(await call(client, mode, IMAGE), mode)
        held.advance_to("1001", "task_start")
        answer = await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]})
        ended = await until_ended(client, task["taskId"])
        if mode == LEGACY:
            again = await rejected(client, "tasks/cancel", {"taskId": task["taskId"]})
            assert again.error.code == -32602
            assert "has already ended (cancelled); nothing was stopped" in again.error.message
        else:
            again_ack = await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]})
            assert "has already ended (cancelled)" in again_ack["_meta"]["wiro-mcp/note"]
    stops = [r.endpoint for r in held.state.requests if r.endpoint in ("Task/Kill", "Task/Cancel")]
    assert stops == ["Task/Kill"], "one stop, the one a running task needs"
    assert ended["status"] == "cancelled"
    if mode == LEGACY:
        assert answer["status"] == "cancelled"
    else:
        assert answer.get("resultType") == "complete" and "wiro-mcp/note" not in answer.get("_meta", {})


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_a_cancel_after_the_end_changes_nothing_and_says_so(sandbox: Sandbox, mode: str) -> None:
    async with tasks_client(sandbox, mode) as client:
        task = task_of(await call(client, mode, IMAGE), mode)
        ended = await until_ended(client, task["taskId"])
        if mode == LEGACY:  # 2025-11-25: a cancel of a task in a terminal status is invalid params
            said = (await rejected(client, "tasks/cancel", {"taskId": task["taskId"]})).error.message
        else:  # 2026-07-28: cancelling is cooperative; the acknowledgement says nothing changed
            said = (await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]}))["_meta"]["wiro-mcp/note"]
        after = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
    assert ended["status"] == after["status"] == "completed"
    assert "Task 1001 has already ended (completed); nothing was stopped" in said
    assert sandbox.count("Task/Kill") == sandbox.count("Task/Cancel") == 0


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_a_refused_call_asked_as_a_task_is_a_task_ended_with_the_refusal(sandbox: Sandbox, mode: str) -> None:
    """A host that asked for a task gets one (ext-tasks cannot decode a plain result there), ended at once
    with the refusal as its result: 2026-07-28 `completed` (an isError result), 2025-11-25 `failed`."""
    async with tasks_client(sandbox, mode, WIRO_MCP_MAX_RUN_USD="0.000001") as client:
        created = await call(client, mode, IMAGE)
        wrong = await call(client, mode, {**IMAGE, "steps": 0})
        task, bad = task_of(created, mode), task_of(wrong, mode)
        got = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
        result = await final_result(client, mode, task["taskId"])
        invalid = await final_result(client, mode, bad["taskId"])
    assert (created.get("resultType") == "task") if mode == MODERN else ("task" in created)
    assert task["status"] == got["status"] == ("completed" if mode == MODERN else "failed")
    assert result["isError"] is True and "Not started" in result["content"][0]["text"]
    if mode == LEGACY:
        assert "Not started" in got["statusMessage"], "a failed task says why"
    assert invalid["isError"] is True and "steps" in invalid["content"][0]["text"]
    assert sandbox.count("Run") == 0


def answering(action: str, asked: list[str]) -> Any:
    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action=action, content={"run": True} if action == "accept" else None)

    return elicit


CONFIRM: dict[str, Any] = {"WIRO_MCP_CONFIRM_ABOVE_USD": "0.005"}
TWO = {**IMAGE, "samples": 2}  # $0.009 at the sandbox's tier, over the threshold


@pytest.mark.parametrize(("action", "runs"), [("accept", 1), ("decline", 0)])
async def test_on_2026_the_persons_yes_is_asked_inside_the_task(sandbox: Sandbox, action: str, runs: int) -> None:
    asked: list[str] = []
    async with tasks_client(sandbox, MODERN, elicitation_callback=answering(action, asked), **CONFIRM) as client:
        task = await call(client, MODERN, TWO)
        assert task["status"] == "input_required" and sandbox.count("Run") == 0
        assert "This image run costs about $0.009" in task["statusMessage"]
        [(key, request)] = task["inputRequests"].items()
        assert request["method"] == "elicitation/create"
        ignored = await raw_request(client, "tasks/update", {"taskId": task["taskId"], "inputResponses": {"x": {}}})
        still = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
        answer = {"action": action, "content": {"run": True}} if action == "accept" else {"action": action}
        await raw_request(client, "tasks/update", {"taskId": task["taskId"], "inputResponses": {key: answer}})
        ended = await until_ended(client, task["taskId"])
    assert ignored.get("resultType") == "complete" and still["status"] == "input_required"
    assert asked == [], "the question went through the task, not a second elicitation"
    assert sandbox.count("Run") == runs
    assert ended["status"] == "completed"
    if action == "accept":
        assert ended["result"]["structuredContent"]["state"] == "succeeded"
    else:
        assert ended["result"]["isError"] is True
        assert "Not started: the person declined this image run" in ended["result"]["content"][0]["text"]


async def test_on_2025_the_persons_yes_is_asked_before_the_task_and_a_decline_ends_it_failed(sandbox: Sandbox) -> None:
    asked: list[str] = []
    async with tasks_client(sandbox, LEGACY, elicitation_callback=answering("decline", asked), **CONFIRM) as client:
        answer = await call(client, LEGACY, TWO)
        result = await raw_request(client, "tasks/result", {"taskId": answer["task"]["taskId"]})
    assert len(asked) == 1 and answer["task"]["status"] == "failed"
    assert result["isError"] is True and "declined" in result["content"][0]["text"]
    assert sandbox.count("Run") == 0


async def test_a_task_waiting_for_an_answer_can_be_cancelled_without_a_run(sandbox: Sandbox) -> None:
    async with tasks_client(sandbox, MODERN, elicitation_callback=answering("accept", []), **CONFIRM) as client:
        task = await call(client, MODERN, TWO)
        await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]})
        got = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
    assert got["status"] == "cancelled" and sandbox.count("Run") == 0


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_tasks_get_answers_at_once_while_wiro_hangs(held: Sandbox, mode: str) -> None:
    async with tasks_client(held, mode) as client:
        task = task_of(await call(client, mode, IMAGE), mode)
        held.inject("slow", "Task/Detail", times=100, delay=60)
        held.advance_to("1001", "task_start")
        began = time.monotonic()
        got = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
        took = time.monotonic() - began
    assert got["status"] == "working" and took < 1.0, f"{took:.2f} s"


async def test_the_poll_interval_follows_what_wiro_is_doing(held: Sandbox) -> None:
    async with tasks_client(held, MODERN) as client:
        task = await call(client, MODERN, IMAGE)
        held.advance_to("1001", "task_start")
        with anyio.fail_after(10):
            while (got := await raw_request(client, "tasks/get", {"taskId": task["taskId"]}))["pollIntervalMs"] > 1000:
                await anyio.sleep(0.05)
    assert task["pollIntervalMs"] == 2000, "queued: nothing to see for a while"
    assert got["pollIntervalMs"] == 1000 and got["status"] == "working"


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_a_task_outlives_the_server_that_created_it(sandbox: Sandbox, mode: str) -> None:
    async with tasks_client(sandbox, mode) as client:
        task = task_of(await call(client, mode, IMAGE), mode)
    async with tasks_client(sandbox, mode) as client:  # a new server, the same journal
        result = await final_result(client, mode, task["taskId"])
    assert result["structuredContent"]["task_id"] == "1001"
    assert result["structuredContent"]["state"] == "succeeded"
    assert sandbox.count("Run") == 1


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_after_its_ttl_a_task_is_forgotten(sandbox: Sandbox, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with tasks_client(sandbox, mode) as client:
        task = task_of(await call(client, mode, IMAGE, ttl=60_000), mode)
        if mode == LEGACY:
            assert task["ttl"] == 60_000
        later = time.time() + 2 * 24 * 3600
        monkeypatch.setattr("wiro_mcp.service.handles.time.time", lambda: later)
        error = await rejected(client, "tasks/get", {"taskId": task["taskId"]})
    assert error.error.code == -32602 and error.error.message == "Failed to retrieve task: Task has expired"


class StatusNotes(ClientExtension):
    """Hears notifications/tasks/status (the SDK's client knows no 2025-11-25 task notifications)."""

    identifier = "com.example/task-status"

    def __init__(self) -> None:
        self.heard: list[dict[str, Any]] = []

    def notifications(self) -> Sequence[NotificationBinding[Any]]:
        async def hear(params: Any) -> None:
            self.heard.append(params.model_dump(by_alias=True, mode="json"))

        return (
            NotificationBinding(
                method="notifications/tasks/status", params_type=TaskStatusNotificationParams, handler=hear
            ),
        )


async def test_a_legacy_client_hears_each_status_change_and_the_end(held: Sandbox) -> None:
    notes = StatusNotes()
    async with tasks_client(held, LEGACY, extensions=[notes]) as client:
        task = task_of(await call(client, LEGACY, IMAGE), LEGACY)
        held.advance_to("1001", "task_start")
        with anyio.fail_after(5):
            while not any("task_start" in note.get("statusMessage", "") for note in notes.heard):
                await anyio.sleep(0.05)
        held.advance_to("1001", "task_postprocess_end")
        await raw_request(client, "tasks/result", {"taskId": task["taskId"]})
        with anyio.fail_after(5):
            while not notes.heard or notes.heard[-1]["status"] != "completed":
                await anyio.sleep(0.05)
    assert {note["taskId"] for note in notes.heard} == {task["taskId"]}
    assert notes.heard[-1]["status"] == "completed"


async def test_tasks_list_shows_the_callers_tasks(sandbox: Sandbox) -> None:
    async with tasks_client(sandbox, LEGACY) as client:
        first = task_of(await call(client, LEGACY, IMAGE), LEGACY)
        second = task_of(await call(client, LEGACY, {**IMAGE, "prompt": "a harbour"}), LEGACY)
        listed = await raw_request(client, "tasks/list", {})
    assert {t["taskId"] for t in listed["tasks"]} == {first["taskId"], second["taskId"]}


async def test_when_the_journal_cannot_keep_the_task_the_plain_result_comes_back(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full(self: Any, handle: Any) -> None:
        raise JournalError("journal.sqlite3", "database or disk is full")

    monkeypatch.setattr("wiro_mcp.journal.access.Journal.keep_handle", full)
    async with tasks_client(sandbox, MODERN) as client:
        answer = await call(client, MODERN, IMAGE)
    # Started, so never a failure to start: the plain result names the task to collect.
    assert "taskId" not in answer and answer["structuredContent"]["task_id"] == "1001"
    assert answer.get("isError", False) is False and sandbox.count("Run") == 1


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_over_http_a_task_is_its_bearers_and_nobody_elses(sandbox: Sandbox, mode: str) -> None:
    env = server_env(sandbox, WIRO_MCP_HTTP_TOKEN="token-of-the-team")
    extensions = [advertise(TASKS, {})] if mode == MODERN else None
    with HttpServer(env) as server:
        async with http_session(server.url, "token-of-the-team", mode=mode, extensions=extensions) as client:
            task = task_of(await call(client, mode, IMAGE), mode)
            result = await final_result(client, mode, task["taskId"])
    # The same journal, another identity (this machine's stdio client): not found, and not stopped.
    async with tasks_client(sandbox, mode) as stranger:
        error = await rejected(stranger, "tasks/get", {"taskId": task["taskId"]})
        cancel = await rejected(stranger, "tasks/cancel", {"taskId": task["taskId"]})
    assert result["structuredContent"]["state"] == "succeeded"
    assert error.error.code == cancel.error.code == -32602 and error.error.message.endswith("Task not found")
    assert sandbox.count("Task/Kill") == sandbox.count("Task/Cancel") == 0


@pytest.mark.parametrize("ending", ["decline", "cancel"])
async def test_a_task_that_ended_without_a_run_stays_ended_after_a_restart(sandbox: Sandbox, ending: str) -> None:
    async with tasks_client(sandbox, MODERN, elicitation_callback=answering("accept", []), **CONFIRM) as client:
        task = await call(client, MODERN, TWO)
        if ending == "decline":
            [key] = task["inputRequests"]
            answer = {key: {"action": "decline"}}
            await raw_request(client, "tasks/update", {"taskId": task["taskId"], "inputResponses": answer})
        else:
            await raw_request(client, "tasks/cancel", {"taskId": task["taskId"]})
    async with tasks_client(sandbox, MODERN) as client:  # a new server, the same journal
        got = await raw_request(client, "tasks/get", {"taskId": task["taskId"]})
    assert sandbox.count("Run") == 0
    if ending == "decline":
        assert got["status"] == "completed" and got["result"]["isError"] is True
        assert "the person declined" in got["result"]["content"][0]["text"]
    else:
        assert got["status"] == "cancelled"


async def test_a_task_wiro_does_not_know_ends_with_the_error_get_task_would_give(sandbox: Sandbox) -> None:
    from wiro_mcp.journal.handle_rows import HandleRow
    from wiro_mcp.service.core import Service
    from wiro_mcp.wiro.client import WiroClient

    settings = settings_for(sandbox)
    row = HandleRow("lost-one", "local", "9999", None, "generate_image", {"preview": "none"}, None, None, 0.0, None)
    async with WiroClient.from_settings(settings) as wiro:
        generation = Service(settings, wiro)
        async with generation.running():
            await generation.journal.keep_handle(replace(row, created=time.time()))
            with anyio.fail_after(15):
                ended = await generation.handles.finished("local", "lost-one")
    assert ended.status == "completed" and ended.outcome is None
    assert ended.refusal is not None and "9999" in ended.refusal


async def test_the_handle_comes_back_while_wiro_still_queues_the_task(held: Sandbox) -> None:
    """The tool starts the run and returns: the held sandbox never moves the task on by itself."""
    async with tasks_client(held, MODERN) as client:
        with anyio.fail_after(10):  # a plain call would wait its 45 s
            task = await call(client, MODERN, IMAGE)
    assert task["status"] == "working" and task["statusMessage"].startswith("Task 1001: queued (")
    queued = held.state.get(task_id="1001")
    assert queued is not None and queued.status(held.state.clock()) == "task_queue"


@pytest.mark.parametrize("mode", [MODERN, LEGACY])
async def test_a_task_wiro_failed_ends_as_each_generation_says(sandbox: Sandbox, mode: str) -> None:
    """2025-11-25: a tool result with isError makes the task `failed`; 2026-07-28: `completed`, its result
    the error ("failed MUST NOT be used for non-JSON-RPC errors")."""
    async with tasks_client(sandbox, mode) as client:
        task = task_of(await call(client, mode, {**IMAGE, "prompt": "[sandbox:fail] a cat"}), mode)
        ended = await until_ended(client, task["taskId"])
        result = await final_result(client, mode, task["taskId"])
    assert ended["status"] == ("completed" if mode == MODERN else "failed")
    assert result["isError"] is True and result["structuredContent"]["state"] == "failed"
    assert "out of memory" in result["content"][0]["text"]


async def test_a_second_question_comes_with_keys_never_shown_before(sandbox: Sandbox) -> None:
    """Two runs wait for a yes; the first one's run changes the day's spend, so the second is asked again
    (with the new figure): under a new key, with the new question as its message."""
    async with tasks_client(sandbox, MODERN, elicitation_callback=answering("accept", []), **CONFIRM) as client:
        first = await call(client, MODERN, TWO)
        second = await call(client, MODERN, {**TWO, "prompt": "another lighthouse"})
        yes = {"action": "accept", "content": {"run": True}}
        [key1] = first["inputRequests"]
        await raw_request(client, "tasks/update", {"taskId": first["taskId"], "inputResponses": {key1: yes}})
        await until_ended(client, first["taskId"])
        [key2] = second["inputRequests"]
        await raw_request(client, "tasks/update", {"taskId": second["taskId"], "inputResponses": {key2: yes}})
        again = await raw_request(client, "tasks/get", {"taskId": second["taskId"]})
        assert again["status"] == "input_required", "the question changed, so it is asked again"
        [key3] = again["inputRequests"]
        assert key3 != key2 and key3.endswith("#2")
        assert "$0.009 spent in the last 24 h" in again["statusMessage"]
        stale = {"taskId": second["taskId"], "inputResponses": {key2: yes}}
        assert (await raw_request(client, "tasks/update", stale)).get("resultType") == "complete"
        assert (await raw_request(client, "tasks/get", {"taskId": second["taskId"]}))["status"] == "input_required"
        await raw_request(client, "tasks/update", {"taskId": second["taskId"], "inputResponses": {key3: yes}})
        ended = await until_ended(client, second["taskId"])
    assert ended["status"] == "completed" and ended["result"]["structuredContent"]["state"] == "succeeded"
    assert sandbox.count("Run") == 2


async def test_a_journal_that_fails_after_the_answers_run_loses_nothing(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wiro_mcp.journal.access import Journal

    kept = Journal.keep_handle

    async def keep(self: Any, handle: Any) -> None:
        if handle.task_id is not None:  # the write after the Run
            raise JournalError("journal.sqlite3", "database or disk is full")
        await kept(self, handle)

    monkeypatch.setattr(Journal, "keep_handle", keep)
    async with tasks_client(sandbox, MODERN, elicitation_callback=answering("accept", []), **CONFIRM) as client:
        task = await call(client, MODERN, TWO)
        [key] = task["inputRequests"]
        answer = {key: {"action": "accept", "content": {"run": True}}}
        ack = await raw_request(client, "tasks/update", {"taskId": task["taskId"], "inputResponses": answer})
        ended = await until_ended(client, task["taskId"])
    assert ack.get("resultType") == "complete", "never a failure once the Run has gone"
    assert ended["status"] == "completed" and ended["result"]["structuredContent"]["state"] == "succeeded"
    assert sandbox.count("Run") == 1


async def test_a_fault_while_following_a_task_is_retried_and_the_server_lives(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wiro_mcp.service.core import Service

    real = Service.get
    faults = [RuntimeError("a bug of ours")]

    async def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        if faults and kwargs.get("on_update") is not None:  # only the handle's follow
            raise faults.pop()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(Service, "get", flaky)
    async with tasks_client(sandbox, MODERN) as client:
        task = await call(client, MODERN, IMAGE)
        ended = await until_ended(client, task["taskId"])
        listed = await client.list_tools()
    assert faults == [] and ended["status"] == "completed" and listed.tools


async def test_tasks_list_pages_and_shows_only_the_callers_tasks(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wiro_mcp.service.handles.PAGE", 1)
    env = server_env(sandbox, WIRO_MCP_HTTP_TOKEN="someone-elses-token")
    with HttpServer(env) as server:
        async with http_session(server.url, "someone-elses-token", mode="legacy") as other:
            theirs = task_of(await call(other, LEGACY, {**IMAGE, "prompt": "theirs"}), LEGACY)
    async with tasks_client(sandbox, LEGACY) as client:
        first = task_of(await call(client, LEGACY, IMAGE), LEGACY)
        second = task_of(await call(client, LEGACY, {**IMAGE, "prompt": "a harbour"}), LEGACY)
        page = await raw_request(client, "tasks/list", {})
        rest = await raw_request(client, "tasks/list", {"cursor": page["nextCursor"]})
        bad = await rejected(client, "tasks/list", {"cursor": "not-ours"})
    assert [t["taskId"] for t in page["tasks"]] == [second["taskId"]]
    assert [t["taskId"] for t in rest["tasks"]] == [first["taskId"]] and "nextCursor" not in rest
    assert theirs["taskId"] not in {t["taskId"] for t in page["tasks"] + rest["tasks"]}
    assert bad.error.code == -32602


async def test_a_journal_that_lives_in_memory_makes_no_tasks(sandbox: Sandbox, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    async with tasks_client(sandbox, LEGACY, WIRO_MCP_STATE_DIR=str(not_a_folder)) as client:
        answer = await call(client, LEGACY, IMAGE)
    assert "task" not in answer and answer["structuredContent"]["task_id"] == "1001"


async def test_an_answer_given_through_another_server_is_seen_by_this_one(sandbox: Sandbox) -> None:
    options: dict[str, Any] = {"elicitation_callback": answering("accept", []), **CONFIRM}
    async with tasks_client(sandbox, MODERN, **options) as here, tasks_client(sandbox, MODERN, **options) as there:
        task = await call(here, MODERN, TWO)
        [key] = task["inputRequests"]
        answer = {key: {"action": "accept", "content": {"run": True}}}
        await raw_request(there, "tasks/update", {"taskId": task["taskId"], "inputResponses": answer})
        seen_here = await raw_request(here, "tasks/get", {"taskId": task["taskId"]})
        again = await raw_request(here, "tasks/update", {"taskId": task["taskId"], "inputResponses": answer})
        ended = await until_ended(here, task["taskId"])
    assert seen_here["status"] in ("working", "completed") and again.get("resultType") == "complete"
    assert ended["status"] == "completed" and sandbox.count("Run") == 1
