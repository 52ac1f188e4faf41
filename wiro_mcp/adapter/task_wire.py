"""The Tasks protocol's words, for adapter/tasks.py: the two generations' names and shapes, who a
task belongs to, whether a call asks to be a task, and the 2025-11-25 middleware (what the SDK's
extension API cannot reach on those connections)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolRequestParams, CallToolResult, InputRequiredResult, TextContent
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict, Field

from ..people import handle_owner
from .identity import bearer_of, caller_of

if TYPE_CHECKING:
    from ..service.handle_watch import View


TASKS = "io.modelcontextprotocol/tasks"
LEGACY = "2025-11-25"  # the one handshake version with Tasks in the core protocol
RELATED = "io.modelcontextprotocol/related-task"
# Carries a 2025-11-25 task from the interceptor to legacy_tasks() below, which turns the placeholder
# CallToolResult into the CreateTaskResult (the SDK shapes tools/call results as CallToolResult there).
CREATED = "wiro-mcp/created-task"
NOTE = "wiro-mcp/note"  # what a 2026-07-28 acknowledgement changed, when it changed nothing
STATUS_MESSAGE = 500  # the longest statusMessage a task shows (the whole refusal is its result)

# Set while a tools/call runs to become a task: the generate tool starts its run and returns at once.
starting_task: ContextVar[bool] = ContextVar("starting_task", default=False)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")
    task_id: str = Field(alias="taskId", min_length=1, max_length=200)


class UpdateParams(TaskParams):
    input_responses: dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


class ListParams(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")
    cursor: str | None = None


def owner_of(ctx: ServerRequestContext[Any, Any]) -> str:
    """Who a task belongs to: the person of a tokens file; else over HTTP the bearer token the request
    authenticated with (as a hash), over stdio the one client of this server."""
    over_http = getattr(ctx.request, "headers", None) is not None
    return handle_owner(caller_of(ctx.request, ctx.lifespan_context), bearer_of(ctx.request), over_http=over_http)


def tells_requestors_apart(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this server can tell who a request comes from: over stdio (one client), or over HTTP with a
    token, a tokens file's people or each request's own Wiro key. Without that, every HTTP client is the
    same owner, so a listing would show anyone's tasks (tasks.list is then not offered: the spec's SHOULD)."""
    if getattr(ctx.request, "headers", None) is None:
        return True
    settings = ctx.lifespan_context.settings
    return settings.http_token is not None or settings.people_apart or settings.credentials == "request"


def declared(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client lists the 2026-07-28 Tasks extension."""
    capabilities = ctx.session.client_capabilities
    return capabilities is not None and TASKS in (capabilities.extensions or {})


def wants_task(ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams) -> bool:
    if ctx.protocol_version == LEGACY:
        return params.task is not None
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and declared(ctx)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def task_fields(view: View, version: str) -> dict[str, Any]:
    """A task as each generation shows it. A call whose result is an error (the Wiro task failed, or the
    call started nothing) is `failed` on 2025-11-25 ("this includes cases where the tool call result has
    isError set to true") and `completed` on 2026-07-28 ("failed MUST NOT be used for non-JSON-RPC errors")."""
    status = "failed" if version == LEGACY and view.failed else view.status
    fields: dict[str, Any] = {
        "taskId": view.row.id,
        "status": status,
        "statusMessage": view.refusal[:STATUS_MESSAGE] if status == "failed" and view.refusal else view.message,
        "createdAt": _iso(view.row.created),
        "lastUpdatedAt": _iso(view.updated),
    }
    if version == LEGACY:
        return fields | {"ttl": view.ttl_ms, "pollInterval": view.poll_ms}
    return fields | {"ttlMs": view.ttl_ms, "pollIntervalMs": view.poll_ms}


def created_result(view: View, version: str, placeholder: str) -> CallToolResult | dict[str, Any]:
    """The CreateTaskResult: on 2025-11-25 a placeholder legacy_tasks() below turns into one (the SDK shapes
    tools/call results as CallToolResult there)."""
    if version == LEGACY:
        return CallToolResult(
            content=[TextContent(type="text", text=placeholder)],
            _meta={CREATED: {"task": task_fields(view, LEGACY)}},
        )
    return {"resultType": "task", **task_fields(view, version)}


def status_notifier(session: Any) -> Callable[[View], Awaitable[None]]:
    """notifications/tasks/status to the client that created the task, on the session it came by."""

    async def tell(view: View) -> None:
        from mcp_types import TaskStatusNotification

        # No related-task _meta: "the task ID is already present in the notification parameters".
        params = task_fields(view, LEGACY)
        await session.send_notification(TaskStatusNotification.model_validate({"params": params}))

    return tell


@asynccontextmanager
async def guarding() -> AsyncIterator[None]:
    """An unknown, foreign or expired task id as the protocol's error (-32602), saying only that."""
    from ..service.handle_watch import UnknownHandle

    try:
        yield
    except UnknownHandle as exc:
        raise MCPError(code=INVALID_PARAMS, message=f"Failed to retrieve task: {exc}") from None


def questions(result: InputRequiredResult, round_: int = 1) -> dict[str, Any]:
    """What a call waiting for an answer asked, as the host is to see it, and what its replay needs: the
    state, and each shown key's own key (a key is never shown twice: a second round's keys are new)."""
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    asked = dumped.get("inputRequests") or {}
    shown = {f"{key}#{round_}": request for key, request in asked.items()}
    return {
        "inputRequests": shown,
        "keys": {f"{key}#{round_}": key for key in asked},
        "requestState": dumped.get("requestState"),
        "round": round_,
    }


def cursor_offset(cursor: str | None) -> int:
    """tasks/list's cursor (the offset we handed out); anything else is invalid params."""
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise MCPError(code=INVALID_PARAMS, message="Invalid cursor")
    return int(cursor)


def answers_for(pending: dict[str, Any], responses: dict[str, Any]) -> dict[str, Any]:
    """The responses to the questions shown now, under the keys the call asked them by; others ignored."""
    keys = pending.get("keys") or {}
    return {keys[shown]: answer for shown, answer in responses.items() if shown in keys and isinstance(answer, dict)}


def question_of(pending: dict[str, Any]) -> str:
    """The first question's text, for the task's status message."""
    for request in (pending.get("inputRequests") or {}).values():
        message = ((request or {}).get("params") or {}).get("message") if isinstance(request, dict) else None
        if isinstance(message, str) and message:
            return message[:300]
    return "Run it?"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def legacy_tasks(task_tools: Collection[str]) -> ServerMiddleware[Any]:
    """What the SDK's extension API cannot reach on 2025-11-25 connections, as a middleware (the SDK's
    own advice for wire-level changes): the `tasks` server capability, each task tool's
    `execution.taskSupport`, and the CreateTaskResult in place of the interceptor's placeholder."""
    names = task_tools  # a live set: a configured model's tool may join it later

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if not isinstance(result, dict):
            return result
        if ctx.method == "initialize" and result.get("protocolVersion") == LEGACY:
            capabilities = result.setdefault("capabilities", {})
            tasks: dict[str, Any] = {"cancel": {}, "requests": {"tools": {"call": {}}}}
            capabilities["tasks"] = {"list": {}, **tasks} if tells_requestors_apart(ctx) else tasks
        elif ctx.method == "tools/list" and ctx.protocol_version == LEGACY:
            for tool in result.get("tools", []):
                if tool.get("name") in names:
                    tool["execution"] = {"taskSupport": "optional"}
        elif ctx.method == "tools/call" and ctx.protocol_version == LEGACY:
            created = (result.get("_meta") or {}).get(CREATED)
            if created is not None:
                return {**created, "_meta": {RELATED: {"taskId": created["task"]["taskId"]}}}
        return result

    return middleware
