"""The tools, built here once per process and given to MCPServer at construction (`tools=`): each turns
its arguments into one call on the `Service` service and the outcome into a tool result.

The generate tools are built from the catalog specs (generate_tools.py); the task tools are here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from ..catalog import ModelSpec, load_catalog
from ..results import ListedState, PanoramaView, TaskListing
from ..service.reports import listing_text
from ..wiro.refs import TaskRef, number_as_text
from . import sdk_gaps
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
from .export_tool import EXPORT_TEXT, EXPORTS, export_panorama
from .generate_tools import generate_tool
from .model_tools import (
    DESCRIBE_TEXT,
    RUN_TEXT,
    SEARCH_TEXT,
    a_model_name,
    describe_model,
    run_model_tool,
    search_models,
)
from .rendering import view_result
from .state import ServerState
from .viewer import VIEWER_META


async def get_task(
    ctx: Context[ServerState, Any],
    task_id: TaskId = None,
    task_token: TaskToken = None,
    wait_seconds: Annotated[float, Field(ge=0, le=3600, description="Seconds to wait for its end.")] = 0,
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
    task_id: Annotated[str, BeforeValidator(number_as_text), Field(description="a finished panorama's task")],
    yaw: Annotated[float, Field(ge=-360, le=360, description="degrees: 0 front, 90 right, ±180 behind")] = 0,
    pitch: Annotated[float, Field(ge=-90, le=90, description="degrees: 0 horizon, 90 up")] = 0,
    fov: Annotated[float, Field(ge=10, le=120, description="horizontal, degrees")] = 90,
    size: Annotated[int, Field(ge=64, le=1568, description="pixels")] = 768,
    name: Annotated[str | None, Field(description="which output (default the first)")] = None,
) -> Annotated[CallToolResult, PanoramaView]:
    service = await state_of(ctx).service()
    view, shot = await service.outputs.look(task_id, output=name, yaw=yaw, pitch=pitch, fov=fov, size=size)
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
    model: Annotated[
        str | None,
        AfterValidator(lambda v: a_model_name(v) if v is not None else None),
        Field(description="only this owner/slug's"),
    ] = None,
    state: Annotated[ListedState | None, Field(description="only this state")] = None,
    limit: Annotated[int, Field(ge=1, le=50, description="how many")] = 10,
) -> Annotated[CallToolResult, TaskListing]:
    service = await state_of(ctx).service()
    listing = await service.listing.recent(model=model, state=state, limit=limit)
    said = listing_text(listing)
    if state_of(ctx).settings.sandbox:
        said += "\nSandbox: these amounts are simulated; nothing was billed."
    return CallToolResult(
        content=[TextContent(text=said)],
        structured_content=listing.model_dump(mode="json", exclude_none=True),
    )


@dataclass(frozen=True)
class Registration:
    """One tool's function and words, as `Tool.from_function` takes them; `viewer` tools show their
    results in the 360° viewer (MCP Apps)."""

    fn: Callable[..., Awaitable[CallToolResult]]
    options: dict[str, Any]
    viewer: bool = False
    task: bool = False  # starts a Wiro task, so it can run as an MCP task


def typed_tool(spec: ModelSpec) -> Registration:
    """A model's own typed tool (a seed's, or a configured model's built from Wiro's spec)."""
    return Registration(
        generate_tool(spec),
        {
            "name": spec.tool,
            "title": spec.title,
            "description": f"{spec.summary}\n\n{spec.description}" if spec.description else spec.summary,
            "annotations": CREATES,
            "structured_output": True,
        },
        viewer=spec.panorama,
        task=True,
    )


@functools.cache
def registrations() -> tuple[Registration, ...]:
    """Every tool (tools/list shows the viewer's first, then the others in this order). The functions
    keep no state (each call finds the server's through its Context): one set serves every server a
    process builds."""
    tools = [typed_tool(spec) for spec in load_catalog().values()]
    get_text = "Read a task: state, output URLs, cost, error."
    view_text = "See any direction of a finished panorama."
    kill_text = "Stop a running task (Task/Kill; Task/Cancel while queued); says which."
    cancel_text = "Remove a queued task (Task/Cancel, or Task/Kill once started); says which."
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
            export_panorama,
            {
                "title": "Export a panorama",
                "description": EXPORT_TEXT,
                "annotations": EXPORTS,
                "structured_output": True,
            },
        ),
        Registration(
            list_tasks,
            {
                "title": "List recent Wiro tasks",
                "description": ("Recent tasks, newest first: model, state, cost, prompt."),
                "annotations": READS,
                "structured_output": True,
            },
        ),
        Registration(
            search_models,
            {
                "title": "Search Wiro models",
                "description": SEARCH_TEXT,
                "annotations": READS,
                "structured_output": True,
            },
        ),
        Registration(
            describe_model,
            {
                "title": "Describe a Wiro model",
                "description": DESCRIBE_TEXT,
                "annotations": READS,
                "structured_output": True,
            },
        ),
        Registration(
            run_model_tool,
            {
                "name": "run_model",
                "title": "Run any Wiro model",
                "description": RUN_TEXT,
                "annotations": CREATES,
                "structured_output": True,
            },
            task=True,
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
    return annotation (`Annotated[CallToolResult, Shape]`). The tools about one task share TaskResult: its
    schema is made once here and given to each (FuncMetadata reads those fields live), instead of
    once per tool, which was a fifth of the start-up time before tools/list.
    """
    return tuple(build_tool(registration) for registration in registrations())


_OUTPUT_SCHEMAS: dict[Any, dict[str, Any]] = {}


def build_tool(registration: Registration) -> Tool:
    """One registration as the SDK's Tool, its output schema made once per result shape."""
    options = {**registration.options, "structured_output": False}
    if registration.viewer:
        options["meta"] = VIEWER_META
    tool = Tool.from_function(registration.fn, **options)
    sdk_gaps.share_output_schema(tool, structured_shape(registration.fn), _OUTPUT_SCHEMAS)
    return tool


def structured_shape(fn: Callable[..., Any]) -> Any:
    """The model a tool's structured content follows: `Shape` in its `Annotated[CallToolResult, Shape]`."""
    returns = inspect.signature(fn, eval_str=True).return_annotation
    shape = get_args(returns)[1] if get_origin(returns) is Annotated else None
    if not (isinstance(shape, type) and issubclass(shape, BaseModel)):
        raise TypeError(f"{fn.__name__} must return Annotated[CallToolResult, <a pydantic model>]")
    return shape
