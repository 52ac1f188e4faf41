"""The MCP face of wiro-mcp: `create_server(settings)` builds an MCPServer with its tools and resources.

Thin glue: the generate tools are built from the catalog specs, every tool speaks to Wiro through
the one WiroClient that the lifespan owns, waiting goes through `tasks.wait_for_task`, and every
task comes back through `results.to_call_result`.
"""

from __future__ import annotations

import functools
import json
import logging
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx2
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata, func_metadata
from mcp_types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    EmptyResult,
    InputRequiredResult,
    LoggingLevel,
    PromptReference,
    ResourceTemplateReference,
    SetLevelRequestParams,
    ToolAnnotations,
)
from mcp_types import Tool as MCPTool
from pydantic import BeforeValidator, Field, ValidationError

from . import __version__
from .catalog import ModelSpec, load_catalog
from .catalog.schema import ToolArguments, arguments_model, compact, to_wire
from .client import FileUpload, WiroClient
from .config import Settings
from .dedupe import InFlight, call_key
from .deliver import deliver
from .errors import WiroError
from .inputs import InputRefused, is_url, load_local_image, roots_from_uris
from .media import download, sniff_image_type
from .models import Task
from .protocol import TaskState
from .push import TaskSocket
from .results import TaskResult, task_result
from .tasks import TaskRef, Update, fetch, wait_for_task

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
Generate media with Wiro; every run is billed per GPU second (failed runs are free).
- generate_panorama: a 360° equirectangular panorama (2:1 PNG) from a text prompt.
- generate_image: 1-4 images from a prompt; with input_image, image-to-image.
Both start a task and wait for it up to wait_seconds (default 45). A finished result has the image
URLs, resource links and, unless preview is false, a small JPEG preview you can look at. An
unfinished one says state queued/running and next_action: call get_task with that task_id and
wait_seconds to collect it. Never re-run a generation to get its result: an identical call while
the first is in flight returns that same task (reused: true); allow_duplicate=true forces a new,
separately billed one. Stop a task you no longer need with cancel_task while it is queued and
kill_task once it runs. wiro://models lists every model's inputs, defaults and limits.
"""

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
    Field(description="the task's socket access token (task_token in a result); instead of task_id"),
]


class TaskMemory:
    """What this server learnt of the tasks it met: the model (Task/Detail does not name it) and
    the output names, most recent last. Bounded; used for results and argument completion."""

    def __init__(self, limit: int = 10_000) -> None:
        self._tasks: OrderedDict[str, tuple[str | None, tuple[str, ...]]] = OrderedDict()
        self._limit = limit

    def remember(self, task_id: str, model: str | None = None, outputs: tuple[str, ...] = ()) -> None:
        known_model, known_outputs = self._tasks.pop(task_id, (None, ()))
        self._tasks[task_id] = (model or known_model, outputs or known_outputs)
        while len(self._tasks) > self._limit:
            self._tasks.popitem(last=False)

    def model(self, task_id: str) -> str | None:
        return self._tasks.get(task_id, (None, ()))[0]

    def outputs(self, task_id: str) -> tuple[str, ...]:
        return self._tasks.get(task_id, (None, ()))[1]

    def recent(self, prefix: str = "", limit: int = 100) -> list[str]:
        return [t for t in reversed(self._tasks) if t.startswith(prefix)][:limit]


@dataclass
class AppState:
    """What lives as long as the server: settings, the one Wiro client, and what we learnt of tasks."""

    settings: Settings
    client: WiroClient
    socket: TaskSocket | None = None
    memory: TaskMemory = field(default_factory=TaskMemory)
    inflight: InFlight = field(default_factory=InFlight)


class _ArgumentsBase(ToolArguments, ArgModelBase):
    """Generated argument models: the catalog's strict base, usable by the SDK's tool runner."""


class WiroMCPServer(MCPServer[AppState]):
    """MCPServer with compact tool schemas, argument errors that read like instructions, and the
    logging capability (hosts on the handshake protocols set a level; we send task events)."""

    _listed: list[MCPTool] | None = None
    # The level set by logging/setLevel. One per server: exact over stdio (one client); over
    # HTTP the last client to set it wins, which only changes how chatty the log messages are.
    client_log_level: LoggingLevel = "info"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        async def set_level(_: ServerRequestContext[AppState], params: SetLevelRequestParams) -> EmptyResult:
            self.client_log_level = params.level
            return EmptyResult()

        # MCPServer has no public hook for logging/setLevel; registering the handler on the
        # low-level server also makes it advertise the logging capability.
        self._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)

    async def list_tools(self) -> list[MCPTool]:
        # Tools are fixed once the server is built, so the compact listing is made once.
        if self._listed is None:
            self._listed = [
                tool.model_copy(
                    update={
                        "input_schema": compact(tool.input_schema),
                        "output_schema": compact(tool.output_schema, output=True) if tool.output_schema else None,
                    }
                )
                for tool in await super().list_tools()
            ]
        return self._listed

    async def read_resource(self, uri: Any, context: Context[AppState, Any] | None = None) -> Any:
        contents = await super().read_resource(uri, context)
        if isinstance(contents, InputRequiredResult):
            return contents
        # Output files are served with the type their bytes show, not the template's one.
        return [
            ReadResourceContents(
                content=item.content,
                mime_type=(sniff_image_type(item.content) if isinstance(item.content, bytes) else None)
                or item.mime_type,
                meta=item.meta,
            )
            for item in contents
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                tool = next((t for t in await self.list_tools() if t.name == name), None)
                known = list((tool.input_schema or {}).get("properties", {})) if tool else []
                raise ToolError(explain_validation_error(name, cause, known)) from cause
            raise


def explain_validation_error(tool: str, error: ValidationError, known: list[str]) -> str:
    lines = [f"Invalid arguments for {tool}; nothing was sent to Wiro."]
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "arguments"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown argument; the arguments are: {', '.join(known)}"
        elif item["type"] == "missing":
            message = "required"
        elif "input" in item and item["type"] != "value_error" and not isinstance(item["input"], dict):
            message = f"{message} (got {item['input']!r})"
        lines.append(f"- {where}: {message}")
    return "\n".join(lines)


def state_of(ctx: Context[AppState, Any]) -> AppState:
    return ctx.request_context.lifespan_context


_LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


async def client_log(ctx: Context[AppState, Any], level: LoggingLevel, message: str) -> None:
    """A log message to the client (notifications/message), at or above the level it asked for."""
    server = ctx.mcp_server
    floor = server.client_log_level if isinstance(server, WiroMCPServer) else "info"
    if _LEVELS.index(level) < _LEVELS.index(floor):
        return
    try:
        await ctx.log(level, message, logger_name="wiro_mcp")
    except Exception as exc:  # a client that went away must not fail the tool
        log.debug("could not send a log message to the client: %r", exc)


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


def generated_tool(spec: ModelSpec, settings: Settings) -> Tool:
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


def create_server(settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> WiroMCPServer:
    """Build the server. Nothing talks to Wiro until a tool is called."""
    memory = TaskMemory()

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        client = WiroClient.from_settings(settings, transport=transport)
        socket = TaskSocket(settings.socket_url, http=lambda: client.http) if settings.push else None
        try:
            async with anyio.create_task_group() as group:
                if socket is not None:
                    # Connects only when a task is first followed; until then it costs nothing.
                    group.start_soon(socket.run)
                yield AppState(settings=settings, client=client, socket=socket, memory=memory)
                group.cancel_scope.cancel()
        finally:
            await client.aclose()

    server = WiroMCPServer(
        "wiro-mcp",
        title="Wiro generative media",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        tools=[*(generated_tool(spec, settings) for spec in load_catalog().values()), *_task_tools()],
    )
    _register_resources(server)
    _register_completions(server, memory)
    return server


def _register_completions(server: WiroMCPServer, memory: TaskMemory) -> None:
    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        """Task ids this server has met (newest first) and their output names."""
        if not isinstance(ref, ResourceTemplateReference) or not ref.uri.startswith("wiro://tasks/"):
            return None
        if argument.name == "task_id":
            values = memory.recent(argument.value)
        elif argument.name == "name":
            task_id = (context.arguments or {}).get("task_id") if context else None
            values = [n for n in memory.outputs(task_id) if n.startswith(argument.value)] if task_id else []
        else:
            return None
        return Completion(values=values, total=len(values), has_more=False)


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


def _task_tools() -> list[Tool]:
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


def _register_resources(server: WiroMCPServer) -> None:
    @server.resource(
        "wiro://models",
        name="models",
        title="Wiro models",
        description="Every model this server can run: its tool, inputs, types, defaults and limits.",
        mime_type="application/json",
    )
    def models() -> str:
        return json.dumps([spec.public_view() for spec in load_catalog().values()], indent=1)

    @server.resource(
        "wiro://tasks/{task_id}",
        name="task",
        title="A Wiro task",
        description="A Wiro task read fresh from Task/Detail, as the task tools report it (JSON).",
        mime_type="application/json",
    )
    async def task(task_id: str, ctx: Context[AppState, Any]) -> str:
        app = state_of(ctx)
        try:
            detail = await fetch(app.client, TaskRef(task_id=task_id))
        except WiroError as exc:
            raise ResourceError(f"Reading task {task_id} failed: {exc}") from exc
        result = task_result(detail, model=app.memory.model(detail.id), wait_hint=app.settings.wait_seconds)
        return result.model_dump_json(indent=1, exclude_none=True)

    @server.resource(
        "wiro://tasks/{task_id}/outputs/{name}",
        name="task-output",
        title="A Wiro task's output file",
        description="One output of a finished task, as a binary resource (the real bytes and MIME type).",
        mime_type="image/png",
    )
    async def output(task_id: str, name: str, ctx: Context[AppState, Any]) -> bytes:
        app = state_of(ctx)
        try:
            detail = await fetch(app.client, TaskRef(task_id=task_id))
            match = next((o for o in detail.outputs if o.name == name), None)
            if match is None or detail.state is not TaskState.SUCCEEDED:
                names = ", ".join(o.name for o in detail.outputs) or "none"
                raise ResourceError(f"Task {task_id} ({detail.state.value}) has no output {name!r}; outputs: {names}")
            return (await download(app.client.http, match.url)).data
        except WiroError as exc:
            raise ResourceError(f"Reading {name} of task {task_id} failed: {exc}") from exc
