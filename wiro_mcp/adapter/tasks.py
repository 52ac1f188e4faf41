"""MCP Tasks for the generate tools, in both generations, on the SDK's extension API.

- 2026-07-28, the extension `io.modelcontextprotocol/tasks`: a client that lists it in a request's
  capabilities gets `resultType: "task"` for a generate call, then `tasks/get` (with the result once
  completed), `tasks/update` and `tasks/cancel`.
- 2025-11-25, Tasks in the core protocol: a `tools/call` with `params.task` gets a
  `CreateTaskResult`, then `tasks/get`, `tasks/result` (waits, returns the CallToolResult),
  `tasks/list`, `tasks/cancel`, and `notifications/tasks/status` as Wiro's socket reports changes.

A generate call that becomes a task runs the tool as a plain call does, with no wait: the spending
checks and the one Run come first, so a refused run is the plain tool error and no task. When the
run needs the person's yes: on 2025-11-25 they are asked (elicitation) before the task exists, as
today; on 2026-07-28 the task is created `input_required` with the question, and `tasks/update`
replays the call with the answer (a decline completes the task with the call's error, no Run).

The rules (the handle, its states, who may see it) are the service's (service/handles.py); this
module speaks the protocol. A client that asks for no task gets exactly the plain call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.apps import client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    CallToolRequestParams,
    CallToolResult,
    InputRequiredResult,
    TextContent,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .. import budgets
from ..errors import WiroMCPError
from ..results import TaskResult
from . import sdk_gaps
from .calls import preview_kind
from .rendering import tool_result
from .state import ServerState
from .task_wire import (
    LEGACY,
    NOTE,
    RELATED,
    TASKS,
    ListParams,
    TaskParams,
    UpdateParams,
    answers_for,
    created_result,
    cursor_offset,
    declared,
    guarding,
    owner_of,
    question_of,
    questions,
    starting_task,
    status_notifier,
    task_fields,
    tells_requestors_apart,
    text_of,
    wants_task,
)

if TYPE_CHECKING:
    from ..service.handle_watch import View
    from ..service.handles import Handles

log = logging.getLogger(__name__)


class TasksExtension(Extension):
    identifier = TASKS

    def __init__(self, state: Callable[[], ServerState], task_tools: Collection[str]) -> None:
        self._state = state
        self._tools = task_tools  # a live set: a configured model's tool may join it later
        self._server: MCPServer[Any] | None = None

    def bind(self, server: MCPServer[Any]) -> None:
        """The server whose tools a task's answered call replays through (the SDK hands extensions none)."""
        self._server = server

    def methods(self) -> Sequence[MethodBinding]:
        legacy = frozenset({LEGACY})
        return (
            MethodBinding("tasks/get", TaskParams, self._get),
            MethodBinding("tasks/cancel", TaskParams, self._cancel),
            MethodBinding(
                "tasks/update", UpdateParams, self._update, protocol_versions=frozenset(MODERN_PROTOCOL_VERSIONS)
            ),
            MethodBinding("tasks/result", TaskParams, self._result, protocol_versions=legacy),
            MethodBinding("tasks/list", ListParams, self._list, protocol_versions=legacy),
        )

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if params.name not in self._tools and ctx.protocol_version == LEGACY and params.task is not None:
            raise MCPError(  # the spec's SHOULD for a tool without execution.taskSupport
                code=METHOD_NOT_FOUND,
                message=f"Tool {params.name!r} does not run as a task (it has no execution.taskSupport): "
                "call it without `task`.",
            )
        if params.name not in self._tools or not wants_task(ctx, params):
            return await call_next(ctx)
        mark = starting_task.set(True)
        try:
            result = await call_next(ctx)
        finally:
            starting_task.reset(mark)
        from ..service.handle_watch import ttl_of

        arguments = params.arguments or {}
        shown: dict[str, Any] = {
            "tool": params.name,
            "preview": preview_kind(arguments.get("preview", True)),
            "viewer": client_supports_apps(ctx),
            "ttl_ms": ttl_of(params.task.ttl if params.task is not None else None),
        }
        handles = await self._handles()
        if isinstance(result, InputRequiredResult) and ctx.protocol_version != LEGACY:
            pending = {"name": params.name, "arguments": arguments, **questions(result)}
            try:
                view = await handles.hold_pending(owner_of(ctx), pending, question_of(pending), **shown)
            except WiroMCPError as exc:  # the question is asked the plain way instead
                log.warning("a call waiting for an answer could not be kept as an MCP task: %s", exc)
                return result
            return {"resultType": "task", **self._fields(view, ctx.protocol_version)}
        if not isinstance(result, CallToolResult):
            return result
        if result.is_error or not result.structured_content:  # a refusal, a decline, bad arguments
            return await self._refused(ctx, handles, text_of(result), shown)
        started = TaskResult.model_validate(result.structured_content)
        try:
            listener = status_notifier(ctx.session) if ctx.protocol_version == LEGACY else None
            view = await handles.hold(owner_of(ctx), started, listener=listener, **shown)
        except WiroMCPError as exc:  # the task is started: it is answered as a plain call, never lost
            log.warning("task %s could not be kept as an MCP task: %s", started.task_id, exc)
            return result
        return created_result(view, ctx.protocol_version, f"Task {started.task_id} runs as MCP task {view.row.id}.")

    async def _refused(
        self, ctx: ServerRequestContext[Any, Any], handles: Handles, refusal: str, shown: dict[str, Any]
    ) -> HandlerResult:
        """A call asked to run as a task that started nothing: a task all the same, ended with the refusal
        as its result (2026-07-28: completed, an error result; 2025-11-25: failed), as the host asked for a
        task. A journal that cannot keep it: the refusal as a JSON-RPC error."""
        try:
            view = await handles.hold_refused(owner_of(ctx), refusal, **shown)
        except WiroMCPError as exc:
            raise MCPError(code=INTERNAL_ERROR, message=f"{refusal} (not kept as a task: {exc})") from None
        return created_result(view, ctx.protocol_version, "Not started.")

    # -- the methods --------------------------------------------------------------------------

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        return self._fields(await self._look(ctx, params.task_id), ctx.protocol_version)

    async def _result(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        handles = await self._handles()
        view = await self._guarded(handles.finished(owner_of(ctx), params.task_id))
        result = self._tool_result(view)
        result["_meta"] = {**result.get("_meta", {}), RELATED: {"taskId": view.row.id}}
        return result

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        from ..service.handle_watch import HandleEnded, StopUnconfirmed

        handles = await self._handles()
        self._check_declared(ctx)
        legacy = ctx.protocol_version == LEGACY
        # 2025-11-25: "MUST transition the task to cancelled before sending the response", so the answer
        # waits for Wiro to apply the stop; 2026-07-28's acknowledgement is eventually consistent.
        confirm = budgets.CANCEL_CONFIRM if legacy else 0.0
        try:
            view = await self._guarded(handles.cancel(owner_of(ctx), params.task_id, confirm=confirm))
        except HandleEnded as exc:
            if not legacy:  # 2026-07-28: an acknowledgement, and what it changed
                return {"_meta": {NOTE: f"Nothing to cancel: {exc}"}}
            raise MCPError(code=INVALID_PARAMS, message=f"Cannot cancel: {exc}") from None
        except StopUnconfirmed as exc:
            raise MCPError(code=INTERNAL_ERROR, message=f"The stop is asked, not yet confirmed: {exc}") from None
        except WiroMCPError as exc:  # Wiro could not be asked to stop it: the task is unchanged
            raise MCPError(code=INTERNAL_ERROR, message=f"Could not stop the task: {exc}") from None
        return task_fields(view, LEGACY) if legacy else {}

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateParams) -> dict[str, Any]:
        """The person's answer: the waiting call is replayed with it (at most one replay at a time), and
        starts its run, asks again, or ends the task with its refusal. Answers to questions not asked now
        are ignored, as the extension says."""
        self._check_declared(ctx)
        handles = await self._handles()
        owner = owner_of(ctx)
        async with guarding(), handles.answering(owner, params.task_id) as pending:
            answers = answers_for(pending or {}, params.input_responses)
            if pending is None or not answers:
                return {}
            # Shielded: once the Run may go, a client that gives up must not leave it unrecorded.
            with anyio.CancelScope(shield=True):
                result = await self._replay(ctx, pending, answers)
                if isinstance(result, InputRequiredResult):
                    again = {**pending, **questions(result, int(pending.get("round", 1)) + 1)}
                    await handles.asked(owner, params.task_id, again, question_of(again))
                elif result.is_error or not result.structured_content:
                    await handles.refused(owner, params.task_id, text_of(result))
                else:
                    started = TaskResult.model_validate(result.structured_content)
                    await handles.started(owner, params.task_id, started)
        return {}

    async def _replay(
        self, ctx: ServerRequestContext[Any, Any], pending: dict[str, Any], answers: dict[str, Any]
    ) -> CallToolResult | InputRequiredResult:
        """The waiting tools/call again, as its client's retry would come, with the answers."""
        assert self._server is not None, "bind() the extension to its server"
        params = CallToolRequestParams.model_validate(
            {
                "name": pending["name"],
                "arguments": pending["arguments"],
                "inputResponses": answers,
                "requestState": pending.get("requestState"),
            }
        )
        context = sdk_gaps.replay_context(ctx, self._server, params)
        mark = starting_task.set(True)
        try:
            return await self._server.call_tool(params.name, params.arguments or {}, context)
        except ToolError as exc:
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
        finally:
            starting_task.reset(mark)

    async def _list(self, ctx: ServerRequestContext[Any, Any], params: ListParams) -> dict[str, Any]:
        if not tells_requestors_apart(ctx):  # not offered (task_wire.legacy_tasks): nobody lists anyone's
            raise MCPError(
                code=METHOD_NOT_FOUND,
                message="tasks/list is not offered: this server cannot tell its HTTP clients apart (it has no "
                "token), so it lists no one's tasks. tasks/get reads a task by its id.",
            )
        offset = cursor_offset(params.cursor)
        handles = await self._handles()
        views, after = await handles.listed(owner_of(ctx), offset)
        page: dict[str, Any] = {"tasks": [task_fields(view, LEGACY) for view in views]}
        return page | ({"nextCursor": str(after)} if after is not None else {})

    # -- helpers --------------------------------------------------------------------------------

    async def _handles(self) -> Handles:
        return (await self._state().service()).handles

    def _check_declared(self, ctx: ServerRequestContext[Any, Any]) -> None:
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and not declared(ctx):
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="Missing required client capability",
                data={"requiredCapabilities": {"extensions": {TASKS: {}}}},
            )

    async def _look(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> View:
        self._check_declared(ctx)
        handles = await self._handles()
        return await self._guarded(handles.look(owner_of(ctx), task_id))

    async def _guarded(self, waiting: Awaitable[View]) -> View:
        async with guarding():
            return await waiting

    def _fields(self, view: View, version: str) -> dict[str, Any]:
        """The task as tasks/get shows it: on 2026-07-28 with its questions, or its result once completed."""
        fields = task_fields(view, version)
        if version != LEGACY and view.status == "input_required":
            fields["inputRequests"] = (view.row.pending or {}).get("inputRequests", {})
        if version != LEGACY and view.status == "completed":
            fields["result"] = self._tool_result(view)
        return fields

    def _tool_result(self, view: View) -> dict[str, Any]:
        if view.outcome is None:  # ended without a task result: the call's own answer (a decline, a limit)
            said = TextContent(type="text", text=view.refusal or view.message)
            return CallToolResult(content=[said], is_error=view.refusal is not None).model_dump(
                by_alias=True, mode="json", exclude_none=True
            )
        rendered = tool_result(
            view.outcome, viewer=bool(view.row.shown.get("viewer")), sandbox=self._state().settings.sandbox
        )
        return rendered.model_dump(by_alias=True, mode="json", exclude_none=True)
