"""The MCP face of wiro-mcp: `create_server(settings)` builds an MCPServer with its tools and resources.

Wiring only: the lifespan owns the one WiroClient and task socket, the tools come from
`tools.py`, and this module adds what the SDK's MCPServer leaves to us: compact tool schemas,
readable argument errors, the true MIME type of output files, logging/setLevel, completions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    EmptyResult,
    InputRequiredResult,
    PromptReference,
    ResourceTemplateReference,
    SetLevelRequestParams,
)
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

from . import __version__
from .catalog import load_catalog
from .catalog.schema import compact
from .client import WiroClient
from .config import Settings
from .errors import WiroError
from .media import download, sniff_image_type
from .protocol import TaskState
from .push import TaskSocket
from .results import task_result
from .state import AppState, TaskMemory, state_of
from .tasks import TaskRef, fetch
from .tools import generated_tool, task_tools

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


class WiroMCPServer(MCPServer[AppState]):
    """MCPServer with compact tool schemas, argument errors that read like instructions, and the
    logging capability (hosts on the handshake protocols set a level; we send task events)."""

    _listed: list[MCPTool] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        async def set_level(ctx: ServerRequestContext[AppState], params: SetLevelRequestParams) -> EmptyResult:
            ctx.lifespan_context.client_log_level = params.level
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
        tools=[*(generated_tool(spec) for spec in load_catalog().values()), *task_tools()],
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
