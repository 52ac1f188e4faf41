"""No answer Wiro sends can crash the server: each malformed shape is, at worst, an "unreadable answer"
error for that one call, and a field that is not essential is read as absent rather than failing the
task. Sent by the sandbox's `raw_body` fault, through real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import connect, text
from wiro_mcp.errors import InvalidResponseError, WiroError
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.refs import TaskRef

pytestmark = pytest.mark.anyio


def task(**fields: Any) -> dict[str, Any]:
    return {"id": "1001", "status": "task_postprocess_end", "pexit": "0", **fields}


def answer(**fields: Any) -> str:
    return json.dumps({"result": True, "errors": [], "tasklist": [task(**fields)]})


DEEP = '{"result": true, "errors": [], "tasklist": [{"id": "1", "parameters": ' + "[" * 50_000 + "]" * 50_000 + "}]}"
DEEP_TOP = "[" * 50_000 + "]" * 50_000
OUTPUT = {"name": "0.png", "url": "https://cdn1.wiro.ai/x/0.png", "contenttype": "image/png", "size": "10"}

# (what arrives, what a reader gets: "error" for an unreadable answer, else a check on the task read)
SHAPES: list[tuple[str, str, Any]] = [
    ("errors as a string", json.dumps({"result": False, "errors": "the sky fell", "tasklist": []}), "refused"),
    ("errors as an object", json.dumps({"result": False, "errors": {"code": 97, "message": "no"}}), "refused"),
    ("errors as a list of strings", json.dumps({"result": False, "errors": ["a", "b"]}), "refused"),
    ("an error code that is not a number", json.dumps({"result": False, "errors": [{"code": "x"}]}), "refused"),
    ("a one-megabyte error message", json.dumps({"result": False, "errors": [{"message": "e" * 10**6}]}), "refused"),
    ("result as a string", json.dumps({"result": "true", "errors": [], "tasklist": [task()]}), "read"),
    ("tasklist as a string", json.dumps({"result": True, "errors": [], "tasklist": "1001"}), "error"),
    ("tasklist as an object", json.dumps({"result": True, "errors": [], "tasklist": task()}), "error"),
    ("a task without an id", json.dumps({"result": True, "errors": [], "tasklist": [{"status": "x"}]}), "error"),
    ("an id that is a list", answer(id=[1, 2]), "error"),
    ("a status that is a number", answer(status=5), "read"),
    ("outputs as a string", answer(outputs="0.png"), "read"),
    ("an output without a url", answer(outputs=[{"name": "0.png"}]), "error"),
    ("outputs with stray texts", answer(outputs=["junk", OUTPUT, 7]), "read"),
    ("an output size that is not a number", answer(outputs=[{**OUTPUT, "size": "big"}]), "read"),
    ("elapsedseconds that is not a number", answer(elapsedseconds="abc"), "read"),
    ("a totalcost that is an object", answer(totalcost={"usd": 1}), "read"),
    ("a pexit that is a list", answer(pexit=["0"]), "read"),
    ("createtime as Infinity", answer(createtime="Infinity"), "read"),
    ("a debugerror that is an object", answer(debugerror={"trace": [1, 2]}), "read"),
    ("parameters as a number", answer(parameters=7), "read"),
    ("parameters nested 50,000 levels deep", DEEP, "error"),
    ("a JSON array nested 50,000 levels deep", DEEP_TOP, "error"),
    ("a JSON array", "[1, 2, 3]", "error"),
    ("a JSON string", '"ok"', "error"),
    ("null", "null", "error"),
    ("an empty body", "", "error"),
    ("bytes that are not UTF-8", '{"result": true, "tasklist": [{"id": "\udcff"}]}', "error"),
    ("NaN where a number goes", answer(elapsedseconds=float("nan")), "read"),
    ("an unknown status", answer(status="task_wobbling"), "read"),
]


@pytest.mark.parametrize(("shape", "body", "expect"), SHAPES, ids=[s[0] for s in SHAPES])
async def test_every_malformed_answer_is_at_worst_an_unreadable_answer(
    sandbox: Sandbox, client: WiroClient, shape: str, body: str, expect: str
) -> None:
    sandbox.inject("raw_body", "Task/Detail", times=10, value=body)
    try:
        read = await client.task_detail(TaskRef(task_id="1001"))
    except InvalidResponseError as exc:
        assert expect == "error", f"{shape}: {exc}"
        assert len(str(exc)) < 600
        return
    except WiroError as exc:  # Wiro said no, in a shape we read
        assert expect == "refused", f"{shape}: {exc!r}"
        assert len(str(exc)) < 600
        return
    assert expect == "read", shape
    assert read.id == "1001"


async def test_the_server_survives_every_malformed_answer_and_keeps_serving(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        started = await client.call_tool("generate_image", {"prompt": "first", "preview": False})
        task_id = started.structured_content["task_id"]
        for shape, body, _ in [s for s in SHAPES if s[2] != "read"]:  # the reads are the table's above
            sandbox.inject("raw_body", "Task/Detail", times=100, value=body)
            read = await client.call_tool("get_task", {"task_id": task_id, "wait_seconds": 0.3, "preview": False})
            sandbox.state.clear_faults()
            assert read.is_error and len(text(read)) < 800, shape
        # A follower that meets them in the background does not take the server down either.
        sandbox.inject("raw_body", "Task/Detail", times=3, value=DEEP)
        after = await client.call_tool("generate_image", {"prompt": "after all that", "preview": False})
    assert not after.is_error and after.structured_content["state"] == "succeeded"


PROGRESS = {"type": "progressGenerate"}


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 50_000 + "]" * 50_000,
        json.dumps(
            {"type": "task_output", "tasktoken": "t", "message": {"type": "progressGenerate", "stepCurrent": "1e999"}}
        ),
        json.dumps(
            {"type": "task_output", "tasktoken": "t", "message": {"type": "progressGenerate", "stepTotal": "NaN"}}
        ),
        json.dumps({"type": ["task_end"], "tasktoken": "t"}),
        "\udcff",
    ],
)
def test_no_socket_message_can_break_the_socket(raw: str) -> None:
    from wiro_mcp.wiro.task_socket import parse_message

    parsed = parse_message(raw)
    assert parsed is None or (parsed[1].step is None and parsed[1].total is None)
