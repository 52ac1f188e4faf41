"""The Tasks extension of 2026-07-28 (`io.modelcontextprotocol/tasks`) driven by its official client,
@modelcontextprotocol/ext-tasks, over the official TypeScript client and streamable HTTP
(tests/clients/ext_tasks_modern_client.mjs): a generate call started as a task, polled with tasks/get to
its inline result, cancelled with tasks/cancel, a person's yes or no given with tasks/update, and a call
the server refuses. Every test reads the client's own log of what it sent (`wire`) and checks that
ext-tasks named the task in `Mcp-Name` on every tasks/get, tasks/update and tasks/cancel, as the
extension's routing headers require."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from release.node_tools import NodeTools, node_tools
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.sandbox.lifecycle import ENDED

from .helpers import HttpServer, server_env
from .test_tasks_clients import handles

CLIENT = Path(__file__).resolve().parent / "clients" / "ext_tasks_modern_client.mjs"
TOKEN = "token-for-ext-tasks-on-2026"
TASKS = "io.modelcontextprotocol/tasks"
CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
NAMING_A_TASK = ("tasks/get", "tasks/update", "tasks/cancel")
IMAGE = {"prompt": "a lighthouse at dawn"}
CONFIRM = {"WIRO_MCP_CONFIRM_ABOVE_USD": "0.005"}
TWO = {"prompt": "a lighthouse", "preview": False, "samples": 2}  # $0.009 at the sandbox's tier, over CONFIRM
YES: dict[str, Any] = {"action": "accept", "content": {"run": True}}
NO: dict[str, Any] = {"action": "decline"}

# With the other Node clients on one worker (test_tasks_clients.py): never several Node processes at once.
pytestmark = pytest.mark.xdist_group("node-clients")


@pytest.fixture(scope="module")
def tools() -> NodeTools:
    return node_tools()


@dataclass(frozen=True)
class Run:
    """What the client printed last (`answer`), and every request it sent raw with its answer (`wire`)."""

    answer: dict[str, Any]
    wire: list[dict[str, Any]]

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [exchange for exchange in self.wire if exchange["method"] == method]

    def index(self, exchange: dict[str, Any]) -> int:
        return next(at for at, candidate in enumerate(self.wire) if candidate is exchange)

    def __str__(self) -> str:
        return abridged(self.wire)


def abridged(wire: list[dict[str, Any]]) -> str:
    """The exchange, one line per request and one per answer, for a failure's message."""
    lines = []
    for exchange in wire:
        params = {k: v for k, v in exchange["params"].items() if k in ("name", "arguments", "taskId", "inputResponses")}
        lines.append(f"> {exchange['method']} {json.dumps(params)} [Mcp-Name: {exchange['sent']['mcpName']}]")
        answer = exchange.get("result") or exchange.get("error") or {"failed": exchange.get("failed")}
        shown = {k: v for k, v in answer.items() if k not in ("_meta", "createdAt", "lastUpdatedAt", "result")}
        if isinstance(answer.get("result"), dict):
            inline = answer["result"]
            kinds = [block["type"] for block in inline["content"]]
            shown["result"] = {"isError": inline.get("isError", False), "content": kinds}
        lines.append(f"< {exchange.get('status')} {json.dumps(shown)[:400]}")
    return "\n".join(lines)


def ext_tasks(
    tools: NodeTools,
    url: str,
    command: str,
    tmp: Path,
    *,
    arguments: dict[str, Any],
    answer: dict[str, Any] | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
) -> Run:
    """The client's `command` against the server at `url`; each step it reports goes to `on_step` before
    the client is told to go on."""
    target = tmp / f"target-{command}.json"
    target.write_text(json.dumps({"url": url, "token": TOKEN, "arguments": arguments, "answer": answer}))
    args = [tools.node, str(tools.script(CLIENT)), command, str(target)]
    errors = tmp / f"ext-tasks-{command}.stderr"
    printed: list[dict[str, Any]] = []
    with (
        errors.open("w") as stderr,
        subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=tools.env()
        ) as node,
    ):
        assert node.stdin is not None and node.stdout is not None
        watchdog = threading.Timer(120, node.kill)
        watchdog.start()
        try:
            for line in node.stdout:
                message: dict[str, Any] = json.loads(line)
                if "step" not in message:
                    printed.append(message)
                    continue
                if on_step is not None:
                    on_step(message)
                node.stdin.write("go\n")
                node.stdin.flush()
            code = node.wait()
        finally:
            watchdog.cancel()
    last = printed[-1] if printed else {}
    exchange = abridged(last.get("wire", []))
    assert code == 0 and printed, f"ext-tasks failed ({code}): {last.get('thrown')}\n{exchange}\n{errors.read_text()}"
    return Run(answer={k: v for k, v in last.items() if k != "wire"}, wire=last["wire"])


def assert_routed(run: Run) -> None:
    """ext-tasks named the task in Mcp-Name on each request about it (the extension's routing header)."""
    about_tasks = [exchange for exchange in run.wire if exchange["method"] in NAMING_A_TASK]
    assert about_tasks, f"no tasks/* request was sent:\n{run}"
    for exchange in about_tasks:
        assert exchange["handed"].get("Mcp-Name") == exchange["params"]["taskId"], f"{exchange['method']}:\n{run}"


def created_task(run: Run) -> dict[str, Any]:
    """The answer to the one tools/call: the CreateTaskResult, on 2026-07-28 the task inline."""
    [call] = run.sent("tools/call")
    assert "result" in call, f"tools/call was not answered with a result:\n{run}"
    assert TASKS in call["params"]["_meta"][CAPABILITIES]["extensions"], "ext-tasks declares the extension per request"
    created: dict[str, Any] = call["result"]
    took = {k: run.answer.get(k) for k in ("kind", "status", "thrown") if k in run.answer}
    assert created["resultType"] == "task", f"not a CreateTaskResult (ext-tasks made of it: {took}):\n{run}"
    assert run.answer["kind"] == "task" and run.answer["taskId"] == created["taskId"]
    return created


def http(box: Sandbox, **env: str) -> HttpServer:
    return HttpServer(server_env(box, WIRO_MCP_HTTP_TOKEN=TOKEN, **env))


def test_ext_tasks_on_2026_gets_a_generate_call_as_a_task(
    tools: NodeTools, held: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    with http(held) as server:
        run = ext_tasks(tools, server.url, "start", tmp_path, arguments=IMAGE)
    assert run.answer["era"] == "modern" and run.answer["protocolVersion"] == "2026-07-28"
    assert run.answer["generation"]["inputResponses"] is True, "ext-tasks took the server for a 2026-07-28 one"
    created = created_task(run)
    assert created["status"] == "working" and created["statusMessage"].startswith("Task 1001: ")
    assert isinstance(created["ttlMs"], int) and isinstance(created["pollIntervalMs"], int)
    reference = {"endpointId": "wiro-mcp-under-test", "generation": "v2", "taskId": created["taskId"]}
    assert run.answer["reference"] == {**reference, "originalOperation": "tools/call"}
    assert [exchange["method"] for exchange in run.wire] == ["tools/call"], "the client left the task running"
    assert handles(state_dir) == [(created["taskId"], "1001")]
    task = held.state.get(task_id="1001")
    assert task is not None and task.status(held.state.clock()) not in ENDED
    assert held.count("Run") == 1


def test_ext_tasks_on_2026_polls_a_task_to_its_inline_result_with_the_preview(
    tools: NodeTools, sandbox: Sandbox, tmp_path: Path, state_dir: Path
) -> None:
    with http(sandbox) as server:
        run = ext_tasks(tools, server.url, "call", tmp_path, arguments=IMAGE)
    created = created_task(run)
    assert_routed(run)
    assert created["status"] == "working"
    polls = run.sent("tasks/get")
    assert polls and all(poll["result"]["resultType"] == "complete" for poll in polls), str(run)
    ended = polls[-1]["result"]
    assert ended["status"] == "completed" and ended["taskId"] == created["taskId"], str(run)
    inline = ended["result"]
    assert inline["structuredContent"]["state"] == "succeeded" and inline.get("isError") is not True
    assert any(block["type"] == "image" for block in inline["content"]), "the preview is in the task's result"
    assert run.answer["status"] == "completed"
    assert run.answer["result"]["structuredContent"] == inline["structuredContent"], "ext-tasks settled on it"
    assert any(block["type"] == "image" for block in run.answer["result"]["content"])
    assert handles(state_dir) == [(created["taskId"], "1001")]
    assert sandbox.count("Run") == 1


def test_ext_tasks_on_2026_cancels_a_running_task_and_the_sandbox_sees_the_stop(
    tools: NodeTools, held: Sandbox, tmp_path: Path
) -> None:
    def running(step: dict[str, Any]) -> None:
        held.advance_to("1001", "task_start")  # Wiro runs it: only Task/Kill stops it now

    with http(held) as server:
        run = ext_tasks(tools, server.url, "cancel", tmp_path, arguments=IMAGE, on_step=running)
    created = created_task(run)
    assert_routed(run)
    assert created["status"] == "working"
    [cancel] = run.sent("tasks/cancel")
    ack = cancel.get("result")
    assert ack is not None and ack["resultType"] == "complete", f"tasks/cancel was not acknowledged:\n{run}"
    assert set(ack) <= {"resultType", "_meta"}, "an empty acknowledgement"
    assert run.answer["status"] == "cancelled", "ext-tasks ends its execution on the acknowledgement"
    later = [poll["result"]["status"] for poll in run.sent("tasks/get") if run.index(poll) > run.index(cancel)]
    assert later and later[-1] == "cancelled" and run.answer["observed"] == "cancelled", str(run)
    assert held.count("Task/Kill") >= 1
    task = held.state.get(task_id="1001")
    assert task is not None and task.status(held.state.clock()) == "task_cancel"
    assert held.count("Run") == 1


def answered(run: Run, answer: dict[str, Any]) -> dict[str, Any]:
    """The task came input_required, tasks/get showed the question, ext-tasks asked its input handler and
    sent `answer` with tasks/update, and the task ended after it. Returns the final tasks/get answer."""
    created = created_task(run)
    assert_routed(run)
    assert created["status"] == "input_required" and "costs about $0.009" in created["statusMessage"], str(run)
    polls = run.sent("tasks/get")
    asking = [poll for poll in polls if poll["result"]["status"] == "input_required"]
    assert asking, f"no tasks/get showed the question:\n{run}"
    [(key, request)] = asking[0]["result"]["inputRequests"].items()
    assert request["method"] == "elicitation/create"
    assert "run" in request["params"]["requestedSchema"]["properties"]
    [asked] = run.answer["asked"]
    assert asked["inputId"] == key and asked["delivery"] == "task-update" and asked["taskId"] == created["taskId"]
    assert asked["request"]["kind"] == "elicitation"
    [update] = run.sent("tasks/update")
    assert update["params"]["inputResponses"] == {key: answer}
    assert update.get("result", {}).get("resultType") == "complete", f"tasks/update was not acknowledged:\n{run}"
    assert run.index(asking[0]) < run.index(update) < run.index(polls[-1])
    ended: dict[str, Any] = polls[-1]["result"]
    assert ended["status"] == "completed" and run.answer["status"] == "completed", str(run)
    return ended


def test_ext_tasks_on_2026_answers_the_persons_yes_with_tasks_update_and_the_task_runs(
    tools: NodeTools, sandbox: Sandbox, tmp_path: Path
) -> None:
    with http(sandbox, **CONFIRM) as server:
        run = ext_tasks(tools, server.url, "answer", tmp_path, arguments=TWO, answer=YES)
    ended = answered(run, YES)
    assert ended["result"]["structuredContent"]["state"] == "succeeded"
    assert run.answer["result"]["structuredContent"]["task_id"] == "1001"
    assert sandbox.count("Run") == 1


def test_ext_tasks_on_2026_a_declined_run_ends_the_task_with_the_refusal_and_no_run(
    tools: NodeTools, sandbox: Sandbox, tmp_path: Path
) -> None:
    with http(sandbox, **CONFIRM) as server:
        run = ext_tasks(tools, server.url, "answer", tmp_path, arguments=TWO, answer=NO)
    ended = answered(run, NO)
    assert ended["result"]["isError"] is True
    said = run.answer["result"]["content"][0]["text"]
    assert run.answer["result"]["isError"] is True and "the person declined this image run" in said
    assert sandbox.count("Run") == 0


@pytest.mark.parametrize(
    ("arguments", "env", "said"),
    [
        ({**IMAGE, "preview": False, "steps": 0}, {}, "steps"),
        ({**IMAGE, "preview": False}, {"WIRO_MCP_MAX_RUN_USD": "0.000001"}, "more than WIRO_MCP_MAX_RUN_USD"),
    ],
    ids=["invalid-arguments", "over-the-run-limit"],
)
def test_ext_tasks_on_2026_takes_a_refused_call_as_a_task_ended_with_the_refusal_or_an_error(
    tools: NodeTools, sandbox: Sandbox, tmp_path: Path, arguments: dict[str, Any], env: dict[str, str], said: str
) -> None:
    """What ext-tasks receives for a call refused outright is one it takes cleanly: a task that ends with
    the refusal as an error result, or a JSON-RPC error (never a shape it cannot decode)."""
    with http(sandbox, **env) as server:
        run = ext_tasks(tools, server.url, "call", tmp_path, arguments=arguments)
    if "thrown" in run.answer:  # refused as a JSON-RPC error
        assert run.answer["thrown"]["name"] == "JsonRpcResponseError", f"{run.answer['thrown']}\n{run}"
        [call] = run.sent("tools/call")
        assert "error" in call and said in call["error"]["message"]
    else:
        created_task(run)
        assert_routed(run)
        assert run.answer["status"] == "completed", str(run)
        result = run.answer["result"]
        assert result["isError"] is True and said in result["content"][0]["text"]
    assert sandbox.count("Run") == 0
