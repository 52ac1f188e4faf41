"""What the Tasks specifications ask of the streamable HTTP transport that the SDK leaves to us, as one ASGI
layer in front of it:

- 2026-07-28 (the Tasks extension, "Streamable HTTP: Routing Headers"): a request naming a task
  (`tasks/get`, `tasks/update`, `tasks/cancel`) carries `Mcp-Name: <params.taskId>`; one whose header is
  missing or names another task is refused with HTTP 400 and JSON-RPC -32020, as the SDK refuses a
  `tools/call` whose `Mcp-Name` is not its tool (it checks only the core methods);
- both generations (2025-11-25 "servers SHOULD NOT upgrade to an SSE stream in response to a
  tasks/get request"): a task poll is answered as one JSON body. The SDK answers every request as an
  event stream when the server streams (tools/call's progress needs it), so a poll's stream is read
  whole here and its one JSON-RPC message sent as `application/json`.

Only small POST bodies are looked at (a task request is a few hundred bytes); anything else passes
through untouched, as it came.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS, MCP_NAME_HEADER, decode_header_value
from mcp_types import HEADER_MISMATCH, PROTOCOL_VERSION_META_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .http_answers import send_json

NAMING_A_TASK = frozenset({"tasks/get", "tasks/update", "tasks/cancel"})
POLLS = frozenset({"tasks/get", "tasks/list", "tasks/cancel"})  # quick answers that stream nothing
PEEK_BYTES = 64 * 1024  # a body past this is not a task request: it is not parsed
ANSWER_BYTES = 8 * 1024 * 1024  # a poll's stream read whole to this, else passed on as it is


class TaskRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        read, whole = await _peek(receive)
        replay = _replaying(read, receive)
        request = _request_of(read) if whole else None
        if request is None or request.get("method") not in POLLS | NAMING_A_TASK:
            await self.app(scope, replay, send)
            return
        refusal = _name_refusal(request, scope)
        if refusal is not None:
            await send_json(send, ERROR_CODE_HTTP_STATUS.get(HEADER_MISMATCH, 400), refusal)
            return
        if request.get("method") in POLLS:
            send = _as_json(send)
        await self.app(scope, replay, send)


async def _peek(receive: Receive) -> tuple[list[Message], bool]:
    """The request's first messages, up to PEEK_BYTES of body, and whether that is the whole body."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, False
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, True
        if size > PEEK_BYTES:
            return messages, False


def _replaying(read: list[Message], receive: Receive) -> Receive:
    """`receive` again from its start: the messages already read, then whatever comes after them."""
    pending = list(read)

    async def again() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return again


def _request_of(messages: list[Message]) -> dict[str, Any] | None:
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return request if isinstance(request, dict) else None


def _name_refusal(request: dict[str, Any], scope: Scope) -> dict[str, Any] | None:
    """The JSON-RPC error for a 2026-07-28 request naming a task whose Mcp-Name header does not name it."""
    params = request.get("params")
    params = params if isinstance(params, dict) else {}
    meta = params.get("_meta")
    modern = isinstance(meta, dict) and PROTOCOL_VERSION_META_KEY in meta
    if not modern or request.get("method") not in NAMING_A_TASK:
        return None
    named = [value.decode("latin-1") for key, value in scope.get("headers", []) if key == MCP_NAME_HEADER.encode()]
    task_id = params.get("taskId")
    if len(named) == 1 and isinstance(task_id, str) and decode_header_value(named[0]) == task_id:
        return None
    said = "missing" if not named else "given more than once" if len(named) > 1 else "not params.taskId"
    return {
        "jsonrpc": "2.0",
        "id": request.get("id"),
        "error": {"code": HEADER_MISMATCH, "message": f"Mcp-Name header is {said}: it must be the task's id"},
    }


def _as_json(send: Send) -> Send:
    """`send` for a poll: an event-stream answer is read whole and sent as its one JSON-RPC message."""
    start: Message | None = None
    body = bytearray()

    async def sending(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
            if not kind.startswith(b"text/event-stream"):
                await send(message)
                return
            start = message
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        body.extend(message.get("body", b""))
        if message.get("more_body", False) and len(body) <= ANSWER_BYTES:
            return
        answer = _answer_in(bytes(body))
        if answer is None:  # not one message after all: the stream as it came
            await send(start)
            await send(
                {"type": "http.response.body", "body": bytes(body), "more_body": message.get("more_body", False)}
            )
            start = None
            return
        kept = [
            (k, v)
            for k, v in start.get("headers", [])
            if k not in (b"content-type", b"content-length", b"cache-control")
        ]
        payload = json.dumps(answer, separators=(",", ":")).encode()
        headers = [*kept, (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        start = None

    return sending


def _answer_in(stream: bytes) -> dict[str, Any] | None:
    """The one JSON-RPC response (a result or an error) in an event stream, or None."""
    answers = []
    for event in stream.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].lstrip() for line in event.split("\n") if line.startswith("data:"))
        if not data.strip():
            continue  # a priming event, a comment
        try:
            message = json.loads(data)
        except ValueError:
            return None
        if isinstance(message, dict) and ("result" in message or "error" in message):
            answers.append(message)
    return answers[0] if len(answers) == 1 else None
