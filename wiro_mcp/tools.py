"""What the tools do: start and join tasks, wait for them, stop them, and hand back results.

The generate tools are built from the catalog specs (`generated_tool`); get_task, kill_task and
cancel_task from their signatures (`task_tools`). All of them declare one output schema, speak to
Wiro through the AppState's client, wait through `tasks.wait_for_task`, and answer through
`deliver`.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata, func_metadata
from mcp_types import (
    CallToolResult,
    ToolAnnotations,
)
from pydantic import BeforeValidator, Field

from .catalog import ModelSpec
from .catalog.schema import ToolArguments, arguments_model, to_wire
from .client import FileUpload, WiroClient
from .dedupe import call_key
from .deliver import deliver
from .errors import WiroError
from .inputs import InputRefused, is_url, load_local_image, roots_from_uris
from .models import Task
from .protocol import TaskState
from .results import TaskResult, task_result
from .state import AppState, client_log, state_of
from .tasks import TaskRef, Update, fetch, wait_for_task

log = logging.getLogger(__name__)

# All four hints on every tool. Every tool reaches Wiro (open world).
CREATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
STOPS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

PREVIEW_DESCRIPTION = "Attach a small JPEG preview of each output (default true)."
DUPLICATE_DESCRIPTION = "Start a new task even if an identical call is still in flight (default false)."
WAIT_DESCRIPTION = "Seconds to wait in this call (default 45); an unfinished task comes back with next_action."


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


TaskId = Annotated[
    str | None,
    BeforeValidator(_as_str),
    Field(description="Wiro's task id, e.g. '1001'"),
]
TaskToken = Annotated[
    str | None,
    Field(description="The task_token of a result, instead of task_id"),
]


class _ArgumentsBase(ToolArguments, ArgModelBase):
    """Generated argument models: the catalog's strict base, usable by the SDK's tool runner."""


async def _wait_and_report(
    ctx: Context[AppState, Any],
    ref: TaskRef,
    wait: float,
    first: Task | None = None,
    socket_token: str | None = None,
) -> Task:
    """Wait for a task within `wait` seconds, reporting progress; if the client cancels the call,
    stop the task on Wiro (cancel if queued, kill if running) unless WIRO_MCP_KEEP_ON_CANCEL=1."""
    app = state_of(ctx)

    async def on_update(update: Update) -> None:
        # One MCP progress notification per change (a no-op when the client sent no progress token).
        await ctx.report_progress(update.fraction, 1.0, update.message)

    try:
        return await wait_for_task(
            app.client, ref, wait, on_update=on_update, first=first, socket=app.socket, socket_token=socket_token
        )
    except anyio.get_cancelled_exc_class():
        if not app.settings.keep_on_cancel:
            with anyio.CancelScope(shield=True), anyio.move_on_after(15):
                await stop_task(app.client, ref)
        raise


async def stop_task(client: WiroClient, ref: TaskRef) -> str:
    """Stop paying for a task whose caller went away: one Cancel or one Kill, whichever applies."""
    try:
        task = await fetch(client, ref)
        if task.state is TaskState.QUEUED:
            await client.cancel(task.id)
            what = "cancelled (it was queued)"
        elif task.state is TaskState.RUNNING:
            await client.kill(task_id=task.id)
            what = "killed (it was running)"
        else:
            what = f"left alone (already {task.state.value})"
    except WiroError as exc:
        what = f"could not be stopped: {exc}"
    log.warning("the client cancelled its call; task %s %s", ref.task_id or "(by token)", what)
    return what


async def _deliver(
    ctx: Context[AppState, Any], task: Task, *, preview: bool, note: str | None = None, reused: bool = False
) -> CallToolResult:
    app = state_of(ctx)
    result = task_result(task, model=app.memory.model(task.id), wait_hint=app.settings.wait_seconds)
    result.reused = reused
    if result.outputs:
        app.memory.remember(task.id, outputs=tuple(o.name for o in result.outputs))
    return await deliver(result, app.client.http, preview=preview, output_dir=app.settings.output_dir, note=note)


def _tool_error(exc: WiroError, doing: str) -> ToolError:
    return ToolError(f"{doing} failed: {exc}")


async def _allowed_input_dirs(ctx: Context[AppState, Any]) -> list[Path]:
    """WIRO_MCP_INPUT_DIRS plus the client's roots (asked only when a local path needs them)."""
    folders = list(state_of(ctx).settings.allowed_input_dirs)
    capabilities = ctx.client_capabilities
    if capabilities is not None and capabilities.roots is not None:
        try:
            with anyio.fail_after(5), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # roots are deprecated in 2026-07-28, still used by hosts
                listed = await ctx.session.list_roots()
            folders.extend(roots_from_uris([str(root.uri) for root in listed.roots]))
        except Exception as exc:  # no back channel, a slow client: local paths just stay limited
            log.info("could not list the client's roots: %r", exc)
    return folders


async def _local_files(ctx: Context[AppState, Any], spec: ModelSpec, inputs: dict[str, Any]) -> dict[str, FileUpload]:
    """Move local paths out of `inputs` into checked uploads; URLs stay as they are."""
    files: dict[str, FileUpload] = {}
    for item in spec.inputs:
        value = inputs.get(item.id)
        if not item.is_file or not isinstance(value, str) or is_url(value):
            continue
        try:
            files[item.id] = load_local_image(value, await _allowed_input_dirs(ctx), argument=item.arg_name)
        except InputRefused as exc:
            raise ToolError(f"{exc} Nothing was sent to Wiro.") from exc
        del inputs[item.id]
    return files


async def run_and_wait(ctx: Context[AppState, Any], spec: ModelSpec, arguments: dict[str, Any]) -> CallToolResult:
    """Submit one task for `spec` (or join the identical one in flight), then wait within the budget."""
    app = state_of(ctx)
    wait = arguments.pop("wait_seconds", None)
    wait = app.settings.wait_seconds if wait is None else float(wait)
    preview = bool(arguments.pop("preview", True))
    allow_duplicate = bool(arguments.pop("allow_duplicate", False))
    inputs = to_wire(spec, arguments)
    files = await _local_files(ctx, spec, inputs)
    key = call_key(spec.model, inputs, files)
    note = None
    first: Task | None = None
    socket_token: str | None = None
    async with app.inflight.claim(key):
        existing = None if allow_duplicate else app.inflight.get(key)
        if existing is not None:
            try:
                first = await fetch(app.client, TaskRef(task_id=existing))
            except WiroError:
                first = None
            if first is not None and first.state.terminal:
                app.inflight.done(key, existing)
                first = None
        if first is not None:
            task_id = first.id
            note = (
                f"An identical {spec.tool} call is already {first.state.value} as task {task_id}: returning it "
                "instead of starting (and paying for) a second one. Pass allow_duplicate=true for a new task."
            )
        else:
            try:
                run = await app.client.run(spec.model, inputs, files)
            except WiroError as exc:
                raise _tool_error(exc, f"Starting {spec.model}") from exc
            task_id, socket_token = run.task_id, run.socket_token
            app.memory.remember(task_id, spec.model)
            await client_log(ctx, "info", f"started task {task_id} on {spec.model}")
            app.inflight.add(key, task_id)
            log.info("started task %s on %s", task_id, spec.model)
            await ctx.report_progress(0.0, 1.0, f"Task {task_id} submitted to {spec.model}")
    try:
        task = await _wait_and_report(ctx, TaskRef(task_id=task_id), wait, first=first, socket_token=socket_token)
    except WiroError as exc:
        raise ToolError(
            f"Task {task_id} was started on {spec.model}, but its status could not be read: {exc} "
            f"Call get_task with task_id={task_id!r} later; do not start the generation again."
        ) from exc
    if task.state.terminal:
        app.inflight.done(key, task_id)
    return await _deliver(ctx, task, preview=preview, note=note, reused=first is not None)


def generated_tool(spec: ModelSpec) -> Tool:
    """One MCP tool for a catalog model: schema, defaults, limits and text all from the spec."""
    extra: dict[str, tuple[Any, Any]] = {
        "wait_seconds": (float | None, Field(None, ge=0, le=3600, description=WAIT_DESCRIPTION)),
        "preview": (bool, Field(True, description=PREVIEW_DESCRIPTION)),
        "allow_duplicate": (bool, Field(False, description=DUPLICATE_DESCRIPTION)),
    }
    model = arguments_model(spec, extra, base=_ArgumentsBase)

    async def handler(ctx: Context[AppState, Any], **arguments: Any) -> CallToolResult:
        return await run_and_wait(ctx, spec, arguments)

    handler.__name__ = spec.tool
    return _tool(
        handler,
        model,  # type: ignore[arg-type]  # _ArgumentsBase is an ArgModelBase
        name=spec.tool,
        title=spec.title,
        description=f"{spec.summary}\n\n{spec.description}",
        annotations=CREATES,
    )


def _ref(task_id: str | None, task_token: str | None) -> TaskRef:
    if (task_id is None) == (task_token is None):
        raise ToolError("Give exactly one of task_id and task_token.")
    return TaskRef(task_id=task_id, task_token=task_token)


async def _stop_as_asked(
    ctx: Context[AppState, Any],
    ref: TaskRef,
    *,
    applies_to: TaskState,
    act: Callable[[Task], Awaitable[None]],
    verb: str,
    instead: str,
    instead_does: str,
) -> CallToolResult:
    """kill_task and cancel_task: check the task is in the state the request applies to (else say
    which tool fits), act, and report the task as it now is."""
    app = state_of(ctx)
    try:
        task = await fetch(app.client, ref)
        if task.state.terminal:
            raise ToolError(f"Task {task.id} has already ended ({task.state.value}); there is nothing to {verb}.")
        if task.state is not applies_to:
            raise ToolError(
                f"Task {task.id} is {task.state.value} ({task.status}), not {applies_to.value}: call {instead} "
                f"with task_id={task.id!r} to {instead_does}."
            )
        await act(task)
        task = await fetch(app.client, ref)
    except WiroError as exc:
        raise _tool_error(exc, f"{verb.capitalize()} of task {ref.task_id or '(by token)'}") from exc
    return await _deliver(ctx, task, preview=False)


@functools.cache
def task_result_schema() -> dict[str, Any]:
    """The output schema every task tool declares, generated once (it is the same for all five)."""
    return TaskResult.model_json_schema()


def _tool(
    fn: Callable[..., Awaitable[CallToolResult]],
    arg_model: type[ArgModelBase],
    *,
    name: str,
    title: str,
    description: str,
    annotations: ToolAnnotations,
) -> Tool:
    return Tool(
        fn=fn,
        name=name,
        title=title,
        description=description,
        parameters=arg_model.model_json_schema(by_alias=True),
        fn_metadata=FuncMetadata(arg_model=arg_model, output_model=TaskResult, output_schema=task_result_schema()),
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations,
    )


def task_tools() -> list[Tool]:
    """get_task, kill_task and cancel_task: arguments from their signatures, the shared output schema."""
    tools: list[Tool] = []

    def task_tool(
        *, name: str, title: str, description: str, annotations: ToolAnnotations
    ) -> Callable[[Callable[..., Awaitable[CallToolResult]]], Callable[..., Awaitable[CallToolResult]]]:
        def register(fn: Callable[..., Awaitable[CallToolResult]]) -> Callable[..., Awaitable[CallToolResult]]:
            arguments = func_metadata(fn, skip_names=["ctx"], structured_output=False).arg_model
            tools.append(_tool(fn, arguments, name=name, title=title, description=description, annotations=annotations))
            return fn

        return register

    @task_tool(
        name="get_task",
        title="Get a Wiro task",
        description=(
            "Read a task (state, image URLs, cost, error); with wait_seconds, wait for it to finish first. "
            "Name it by task_id or task_token."
        ),
        annotations=READS,
    )
    async def get_task(
        ctx: Context[AppState, Any],
        task_id: TaskId = None,
        task_token: TaskToken = None,
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=3600,
                description="Seconds to wait for the task to finish (default 0: just read it).",
            ),
        ] = 0,
        preview: Annotated[bool, Field(description=PREVIEW_DESCRIPTION)] = True,
    ) -> Annotated[CallToolResult, TaskResult]:
        ref = _ref(task_id, task_token)
        try:
            task = await _wait_and_report(ctx, ref, wait_seconds)
        except WiroError as exc:
            raise _tool_error(exc, f"Reading task {task_id or 'by token'}") from exc
        return await _deliver(ctx, task, preview=preview)

    @task_tool(
        name="kill_task",
        title="Stop a running Wiro task",
        description="Stop a running task (billing stops, no outputs); for a queued one use cancel_task.",
        annotations=STOPS,
    )
    async def kill_task(
        ctx: Context[AppState, Any], task_id: TaskId = None, task_token: TaskToken = None
    ) -> Annotated[CallToolResult, TaskResult]:
        app = state_of(ctx)
        ref = _ref(task_id, task_token)

        async def kill(task: Task) -> None:
            await app.client.kill(task_id=ref.task_id, task_token=ref.task_token)

        return await _stop_as_asked(
            ctx,
            ref,
            applies_to=TaskState.RUNNING,
            act=kill,
            verb="kill",
            instead="cancel_task",
            instead_does="remove it from the queue",
        )

    @task_tool(
        name="cancel_task",
        title="Cancel a queued Wiro task",
        description="Remove a task still in Wiro's queue (nothing is billed); for a running one use kill_task.",
        annotations=STOPS,
    )
    async def cancel_task(
        ctx: Context[AppState, Any],
        task_id: Annotated[str, BeforeValidator(_as_str), Field(description="Wiro's task id")],
    ) -> Annotated[CallToolResult, TaskResult]:
        app = state_of(ctx)

        async def cancel(task: Task) -> None:
            await app.client.cancel(task.id)

        return await _stop_as_asked(
            ctx,
            TaskRef(task_id=task_id),
            applies_to=TaskState.QUEUED,
            act=cancel,
            verb="cancel",
            instead="kill_task",
            instead_does="stop it",
        )

    return tools
