"""The tools, registered through MCPServer's public `add_tool`: each turns its arguments into one
call on the `Generation` service and the outcome into a tool result.

The generate tools are built from the catalog specs as functions whose `__signature__` the SDK
reads like any typed signature; get_task, kill_task and cancel_task are written out.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BeforeValidator, Field

from ..catalog import ModelSpec, load_catalog
from ..catalog.schema import REQUIRED, field_for
from ..delivery import Outcome, PreviewKind
from ..errors import WiroMCPError
from ..generation import Generation
from ..inputs import roots_from_uris
from ..models import TaskRef, number_as_text
from ..progress import Update
from ..results import PanoramaView, TaskResult
from . import sdk_gaps
from .answers import tool_result, view_result
from .app_state import AppState

log = logging.getLogger(__name__)

# All four hints on every tool. Every tool reaches Wiro (open world).
CREATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
STOPS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

# What every task tool returns: a CallToolResult whose structured content is a TaskResult.
Answer = Annotated[CallToolResult, TaskResult]

WaitSeconds = Annotated[
    float | None,
    Field(
        ge=0,
        le=3600,
        description="Seconds to wait in this call (default 45); an unfinished task comes back with next_action.",
    ),
]
Preview = Annotated[
    bool | Literal["flat"],
    Field(
        description=(
            "A JPEG you can see (default true; a panorama's is a sheet of labelled views); "
            '"flat": the flat panorama; false: none.'
        )
    ),
]
AllowDuplicate = Annotated[
    bool, Field(description="Start a new task even if an identical call is still in flight (default false).")
]
TaskId = Annotated[str | None, BeforeValidator(number_as_text), Field(description="Wiro's task id, e.g. '1001'")]
TaskToken = Annotated[str | None, Field(description="The task_token of a result, instead of task_id")]


def preview_kind(preview: bool | Literal["flat"]) -> PreviewKind:
    return "flat" if preview == "flat" else "views" if preview else "none"


def state_of(ctx: Context[AppState, Any]) -> AppState:
    return ctx.request_context.lifespan_context


async def _answer(ctx: Context[AppState, Any], call: Callable[[Generation], Awaitable[Outcome]]) -> CallToolResult:
    """Run one service call and turn its outcome, or its error, into the tool's answer. A host that
    renders MCP Apps also gets what the 360° viewer needs; any other host gets the plain result."""
    try:
        outcome = await call(state_of(ctx).service)
    except WiroMCPError as exc:
        raise ToolError(str(exc)) from exc
    return tool_result(outcome, viewer=client_supports_apps(ctx))


def _progress(ctx: Context[AppState, Any]) -> Callable[[Update], Awaitable[None]]:
    async def on_update(update: Update) -> None:
        # One MCP progress notification per change (a no-op when the client sent no progress token).
        await ctx.report_progress(update.fraction, 1.0, update.message)

    return on_update


def _stop_requested(ctx: Context[AppState, Any]) -> Callable[[], bool]:
    return lambda: sdk_gaps.stop_was_requested(ctx)


async def _input_folders(ctx: Context[AppState, Any]) -> list[Path]:
    """The client's roots, asked only when a local path needs them."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return []
    try:
        with anyio.fail_after(5):
            return roots_from_uris(await sdk_gaps.list_roots(ctx))
    except Exception as exc:  # no back channel, a slow client: local paths just stay limited
        log.info("could not list the client's roots: %r", exc)
        return []


def generate_tool(spec: ModelSpec) -> Callable[..., Awaitable[CallToolResult]]:
    """One tool function for a catalog model: its parameters are the spec's inputs plus the call's own."""

    async def generate(
        ctx: Context[AppState, Any],
        wait_seconds: float | None = None,
        preview: bool | Literal["flat"] = True,
        allow_duplicate: bool = False,
        **arguments: Any,
    ) -> CallToolResult:
        async def started(task_id: str, model: str) -> None:
            await state_of(ctx).client_log(ctx, "info", f"started task {task_id} on {model}")
            await ctx.report_progress(0.0, 1.0, f"Task {task_id} submitted to {model}")

        return await _answer(
            ctx,
            lambda service: service.generate(
                spec,
                {k: v for k, v in arguments.items() if v is not None},
                wait=wait_seconds,
                preview=preview_kind(preview),
                allow_duplicate=allow_duplicate,
                viewer=client_supports_apps(ctx),
                on_update=_progress(ctx),
                on_started=started,
                input_folders=lambda: _input_folders(ctx),
                stop_requested=_stop_requested(ctx),
            ),
        )

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("ctx", keyword, annotation=Context)]
    for item in spec.inputs:
        annotation, default = field_for(item)
        if default is REQUIRED:
            default = inspect.Parameter.empty
        parameters.append(inspect.Parameter(item.arg_name, keyword, default=default, annotation=annotation))
    parameters += [
        inspect.Parameter("wait_seconds", keyword, default=None, annotation=WaitSeconds),
        inspect.Parameter("preview", keyword, default=True, annotation=Preview),
        inspect.Parameter("allow_duplicate", keyword, default=False, annotation=AllowDuplicate),
    ]
    generate.__signature__ = inspect.Signature(parameters, return_annotation=Answer)  # type: ignore[attr-defined]
    generate.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": Answer}
    generate.__name__ = generate.__qualname__ = spec.tool
    return generate


async def get_task(
    ctx: Context[AppState, Any],
    task_id: TaskId = None,
    task_token: TaskToken = None,
    wait_seconds: Annotated[
        float, Field(ge=0, le=3600, description="Seconds to wait for the task to finish (default 0: just read it).")
    ] = 0,
    preview: Preview = True,
) -> Answer:
    return await _answer(
        ctx,
        lambda service: service.get(
            TaskRef(task_id=task_id, task_token=task_token),
            wait=wait_seconds,
            preview=preview_kind(preview),
            viewer=client_supports_apps(ctx),
            on_update=_progress(ctx),
            stop_requested=_stop_requested(ctx),
        ),
    )


async def view_panorama(
    ctx: Context[AppState, Any],
    task_id: Annotated[str, BeforeValidator(number_as_text), Field(description="a succeeded generate_panorama task")],
    yaw: Annotated[
        float, Field(ge=-360, le=360, description="degrees: 0 = the panorama's front, 90 its right, ±180 behind")
    ] = 0,
    pitch: Annotated[float, Field(ge=-90, le=90, description="degrees: 0 = the horizon, 90 up, -90 down")] = 0,
    fov: Annotated[float, Field(ge=10, le=120, description="horizontal field of view, degrees (default 90)")] = 90,
    size: Annotated[int, Field(ge=64, le=1568, description="pixels per side (default 768)")] = 768,
    name: Annotated[str | None, Field(description="the output, when the task has several")] = None,
) -> Annotated[CallToolResult, PanoramaView]:
    try:
        view, shot = await state_of(ctx).service.outputs.look(
            task_id, output=name, yaw=yaw, pitch=pitch, fov=fov, size=size
        )
    except WiroMCPError as exc:
        raise ToolError(str(exc)) from exc
    return view_result(view, shot)


async def kill_task(ctx: Context[AppState, Any], task_id: TaskId = None, task_token: TaskToken = None) -> Answer:
    return await _answer(ctx, lambda service: service.stop(TaskRef(task_id=task_id, task_token=task_token)))


async def cancel_task(
    ctx: Context[AppState, Any],
    task_id: Annotated[str, BeforeValidator(number_as_text), Field(description="Wiro's task id")],
) -> Answer:
    return await _answer(ctx, lambda service: service.stop(TaskRef(task_id=task_id)))


@dataclass(frozen=True)
class Registration:
    """One tool as MCPServer.add_tool takes it; `viewer` tools carry the 360° viewer (MCP Apps)."""

    fn: Callable[..., Awaitable[CallToolResult]]
    options: dict[str, Any]
    viewer: bool = False


def registrations() -> list[Registration]:
    tools = [
        Registration(
            generate_tool(spec),
            {
                "name": spec.tool,
                "title": spec.title,
                "description": f"{spec.summary}\n\n{spec.description}",
                "annotations": CREATES,
                "structured_output": True,
            },
            viewer=spec.panorama,
        )
        for spec in load_catalog().values()
    ]
    get_text = (
        "Read a task (state, image URLs, cost, error); with wait_seconds, wait for it to finish first. "
        "Name it by task_id or task_token."
    )
    view_text = (
        "Look around a finished panorama: one true perspective view in any direction, as an image you can see. "
        "Checks the scene, the horizon, what is behind."
    )
    stop_text = "whatever its state (cancelled if queued, killed if running; nothing more is billed), and say which"
    tools += [
        Registration(
            get_task,
            {"title": "Get a Wiro task", "description": get_text, "annotations": READS, "structured_output": True},
            viewer=True,
        ),
        Registration(
            view_panorama,
            {
                "title": "Look around a panorama",
                "description": view_text,
                "annotations": READS,
                "structured_output": True,
            },
        ),
        Registration(
            kill_task,
            {
                "title": "Stop a Wiro task (kill or cancel)",
                "description": f"Stop a task {stop_text}. Name it by task_id or task_token.",
                "annotations": STOPS,
                "structured_output": True,
            },
        ),
        Registration(
            cancel_task,
            {
                "title": "Cancel a Wiro task (or kill it)",
                "description": f"Stop a task {stop_text}; the same as kill_task, by task_id.",
                "annotations": STOPS,
                "structured_output": True,
            },
        ),
    ]
    return tools
