"""The tools, registered through MCPServer's public `add_tool`: each turns its arguments into one
call on the `Generation` service and the outcome into a tool result.

The generate tools are built from the catalog specs (generate_tools.py); the task tools are here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, BeforeValidator, Field

from ..catalog import load_catalog
from ..errors import WiroMCPError
from ..results import ListedState, PanoramaView, TaskListing
from ..service.reports import listing_text
from ..wiro.refs import TaskRef, number_as_text
from .calls import (
    CREATES,
    LOOKS,
    READS,
    STOPS,
    Preview,
    TaskId,
    TaskToken,
    TaskToolResult,
    call_service,
    preview_kind,
    progress,
    state_of,
    stop_requested,
)
from .generate_tools import generate_tool
from .rendering import view_result
from .state import ServerState
from .viewer import VIEWER_META

# list_tasks' model filter: the models this server runs (an enum in the schema).
if TYPE_CHECKING:
    ModelName = str
else:
    ModelName = Literal[tuple(spec.model for spec in load_catalog().values())]


async def get_task(
    ctx: Context[ServerState, Any],
    task_id: TaskId = None,
    task_token: TaskToken = None,
    wait_seconds: Annotated[
        float, Field(ge=0, le=3600, description="Seconds to wait for it to finish (default 0: just read it).")
    ] = 0,
    preview: Preview = True,
) -> TaskToolResult:
    return await call_service(
        ctx,
        lambda service: service.get(
            TaskRef(task_id=task_id, task_token=task_token),
            wait=wait_seconds,
            preview=preview_kind(preview),
            viewer=client_supports_apps(ctx),
            on_update=progress(ctx),
            stop_requested=stop_requested(ctx),
        ),
    )


async def view_panorama(
    ctx: Context[ServerState, Any],
    task_id: Annotated[str, BeforeValidator(number_as_text), Field(description="a succeeded generate_panorama task")],
    yaw: Annotated[
        float, Field(ge=-360, le=360, description="degrees: 0 = the panorama's front, 90 its right, ±180 behind")
    ] = 0,
    pitch: Annotated[float, Field(ge=-90, le=90, description="degrees: 0 = the horizon, 90 up, -90 down")] = 0,
    fov: Annotated[float, Field(ge=10, le=120, description="horizontal field of view, degrees")] = 90,
    size: Annotated[int, Field(ge=64, le=1568, description="pixels per side")] = 768,
    name: Annotated[str | None, Field(description="the output, when the task has several")] = None,
) -> Annotated[CallToolResult, PanoramaView]:
    try:
        service = await state_of(ctx).service()
        view, shot = await service.outputs.look(task_id, output=name, yaw=yaw, pitch=pitch, fov=fov, size=size)
    except WiroMCPError as exc:
        raise ToolError(str(exc)) from exc
    return view_result(view, shot)


async def kill_task(
    ctx: Context[ServerState, Any], task_id: TaskId = None, task_token: TaskToken = None
) -> TaskToolResult:
    return await call_service(
        ctx, lambda service: service.stop(TaskRef(task_id=task_id, task_token=task_token), first="kill")
    )


async def cancel_task(
    ctx: Context[ServerState, Any],
    task_id: Annotated[str, BeforeValidator(number_as_text), Field(description="Wiro's task id")],
) -> TaskToolResult:
    return await call_service(ctx, lambda service: service.stop(TaskRef(task_id=task_id), first="cancel"))


async def list_tasks(
    ctx: Context[ServerState, Any],
    model: Annotated[ModelName | None, Field(description="only this model's tasks")] = None,
    state: Annotated[ListedState | None, Field(description="only tasks in this state")] = None,
    limit: Annotated[int, Field(ge=1, le=50, description="how many, newest first")] = 10,
) -> Annotated[CallToolResult, TaskListing]:
    try:
        service = await state_of(ctx).service()
        listing = await service.listing.recent(model=model, state=state, limit=limit)
    except WiroMCPError as exc:
        raise ToolError(str(exc)) from exc
    said = listing_text(listing)
    if state_of(ctx).settings.sandbox:
        said += "\nSandbox: these amounts are simulated; nothing was billed."
    return CallToolResult(
        content=[TextContent(text=said)],
        structured_content=listing.model_dump(mode="json", exclude_none=True),
    )


@dataclass(frozen=True)
class Registration:
    """One tool as MCPServer.add_tool takes it; `viewer` tools show their results in the 360° viewer (MCP Apps)."""

    fn: Callable[..., Awaitable[CallToolResult]]
    options: dict[str, Any]
    viewer: bool = False
    task: bool = False  # starts a Wiro task, so it can run as an MCP task


@functools.cache
def registrations() -> tuple[Registration, ...]:
    """Every tool (tools/list shows the viewer's first, then the others in this order). The functions
    keep no state (each call finds the server's through its Context): one set serves every server a
    process builds."""
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
            task=True,
        )
        for spec in load_catalog().values()
    ]
    get_text = "Read a task (state, image URLs, cost, error); wait_seconds waits for it to finish."
    view_text = "A true perspective view of a finished panorama in any direction, as an image you can see."
    kill_text = "Stop a running task (Task/Kill); a queued one is cancelled instead. Says which."
    cancel_text = "Remove a queued task (Task/Cancel); a started one is killed instead. Says which."
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
                "annotations": LOOKS,
                "structured_output": True,
            },
        ),
        Registration(
            list_tasks,
            {
                "title": "List recent Wiro tasks",
                "description": (
                    "Recent tasks (newest first, across restarts): model, state, cost, prompt; collect one with "
                    "get_task."
                ),
                "annotations": READS,
                "structured_output": True,
            },
        ),
        Registration(
            kill_task,
            {
                "title": "Stop a running Wiro task",
                "description": kill_text,
                "annotations": STOPS,
                "structured_output": True,
            },
        ),
        Registration(
            cancel_task,
            {
                "title": "Cancel a queued Wiro task",
                "description": cancel_text,
                "annotations": STOPS,
                "structured_output": True,
            },
        ),
    ]
    return tuple(tools)


@functools.cache
def built_tools() -> tuple[Tool, ...]:
    """Every tool, built once per process (none of it depends on the server); the viewer's carry its `_meta`.

    Building a tool derives its argument model and schema, and its output schema from the shape in its
    return annotation (`Annotated[CallToolResult, Shape]`). The five task tools share TaskResult: its
    schema is made once here and given to each (FuncMetadata reads those fields live), instead of
    once per tool, which was a fifth of the start-up time before tools/list.
    """
    schemas: dict[Any, dict[str, Any]] = {}
    tools = []
    for registration in registrations():
        options = {**registration.options, "structured_output": False}
        if registration.viewer:
            options["meta"] = VIEWER_META
        tool = Tool.from_function(registration.fn, **options)
        shape = structured_shape(registration.fn)
        if shape not in schemas:
            schemas[shape] = FuncMetadata(arg_model=tool.fn_metadata.arg_model, output_model=shape).output_schema or {}
        tool.fn_metadata.output_model = shape
        tool.fn_metadata.output_schema = schemas[shape]
        tools.append(tool)
    return tuple(tools)


def structured_shape(fn: Callable[..., Any]) -> Any:
    """The model a tool's structured content follows: `Shape` in its `Annotated[CallToolResult, Shape]`."""
    returns = inspect.signature(fn, eval_str=True).return_annotation
    shape = get_args(returns)[1] if get_origin(returns) is Annotated else None
    if not (isinstance(shape, type) and issubclass(shape, BaseModel)):
        raise TypeError(f"{fn.__name__} must return Annotated[CallToolResult, <a pydantic model>]")
    return shape
