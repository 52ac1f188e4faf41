"""`create_server(settings)`: the MCPServer, its lifespan, and what the SDK leaves to us
(compact tool schemas, argument errors that read like instructions, the true MIME type of output
files, logging/setLevel)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.request_state import RequestStateSecurity
from mcp_types import CallToolResult, EmptyResult, InputRequiredResult, SetLevelRequestParams
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

from .. import __version__
from ..catalog.json_schema import compact
from ..catalog.schema import describe_errors
from ..config import Settings
from ..errors import WiroMCPError
from ..journal.memory import TaskMemory
from ..media.files import sniff_type
from ..people import People
from ..text import shown
from . import sdk_gaps
from .calls import call_arrived
from .identity import identity_middleware
from .oauth_gate import SignIn, sign_in_of
from .resources import register_completions, register_resources
from .state import ServerState
from .subscriptions import Subscriptions
from .task_wire import legacy_tasks
from .tasks import TasksExtension
from .tools import built_tools, registrations
from .typed_models import TypedModels
from .viewer import viewer_app, viewer_declared, viewer_listing, without_viewer

if TYPE_CHECKING:  # what only a call needs is imported when the first call starts the service
    import httpx2

    from ..service.core import Service

INSTRUCTIONS = """\
Generate media with Wiro; every run is billed at that model's own price (per run, output, pixel or
GPU second, as Wiro says; failed runs are free), and each estimate says what it is made of.
- generate_panorama: a 360° equirectangular panorama (2:1 PNG) from a text prompt.
- generate_image: 1-4 images from a prompt; with input_image, image-to-image.
Both start a task and wait for it up to wait_seconds (default 45). A finished result has the image
URLs, resource links and, unless preview is false, a small JPEG preview you can look at; a
panorama's is a labelled sheet of views (FRONT, RIGHT, BACK, LEFT, UP, DOWN), and view_panorama
looks in any direction (yaw 0 front, 90 right, 180 back; pitch 90 up). An unfinished one says
state queued/running and next_action: call get_task with that task_id and wait_seconds to collect
it. Never re-run a generation to get its result: an identical call while the first is in flight
returns that same task (reused: true); allow_duplicate=true forces a new, separately billed one.
Stop a task you no longer need with kill_task (or cancel_task): either one stops it whatever its
state. list_tasks finds earlier tasks (also from before a restart). Each run's estimated cost comes
with it; a run the person's spending limits refuse, or that they decline, is not started: say so,
do not work around it. wiro://models lists every model's inputs, defaults, limits and prices.
Other Wiro models (video, speech, LLMs, 3D): search_models, then describe_model for its inputs, then
run_model with inputs keyed by the ids describe_model shows; it runs like the tools above.
"""

SANDBOX_NOTE = """This server is connected to the wiro-mcp sandbox, a local stand-in for Wiro: its pictures are
drawings marked SANDBOX and nothing is billed; costs shown are what Wiro would charge.
"""


def instructions(settings: Settings) -> str:
    return INSTRUCTIONS + SANDBOX_NOTE if settings.sandbox else INSTRUCTIONS


class WiroMCPServer(MCPServer[ServerState]):
    """MCPServer with compact tool schemas, strict arguments, and output files typed by their bytes."""

    _listed: tuple[list[MCPTool], list[MCPTool]] | None = None  # with the viewer's _meta, and without
    people: People | None = None  # the tokens file's people (the HTTP gate lets their tokens in)
    request_credentials = False  # each request brings its own Wiro key (the gate asks for a bearer)
    sign_in: SignIn | None = None  # WIRO_MCP_AUTH_ISSUER: how the OAuth gate checks each request's token
    max_wait = 3600.0  # WIRO_MCP_MAX_WAIT_SECONDS: what the listed wait_seconds allows

    async def list_tools(self) -> list[MCPTool]:
        # Tools are fixed once the server is built, so the compact listing is made once, and once without the
        # viewer's _meta (viewer.py: which one a request gets). The viewer's tools (generate_panorama,
        # get_task) come first, as they always have.
        if self._listed is None:
            tools = sorted(registrations(), key=lambda tool: not tool.viewer)
            order = [tool.options.get("name", tool.fn.__name__) for tool in tools]

            # A configured model's typed tool (typed_models.py) comes after the rest.
            def known(name: str) -> int:
                return order.index(name) if name in order else len(order)

            listed = sorted(await super().list_tools(), key=lambda tool: known(tool.name))
            full = [
                tool.model_copy(
                    update={
                        "input_schema": either_ref(
                            longest_wait({**compact(tool.input_schema), "additionalProperties": False}, self.max_wait)
                        ),
                        "output_schema": compact(tool.output_schema, output=True) if tool.output_schema else None,
                    }
                )
                for tool in listed
            ]
            self._listed = (full, without_viewer(full))
        return self._listed[0] if viewer_declared() else self._listed[1]

    def forget_listing(self) -> None:
        """The tool list changed (a configured model's tool arrived): list it afresh."""
        self._listed = None

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[ServerState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = next((t for t in await self.list_tools() if t.name == name), None)
        known = list((tool.input_schema or {}).get("properties", {})) if tool else []
        unknown = [key for key in arguments if tool is not None and key not in known]
        if unknown:
            lines = [f"- {shown(key)}: unknown argument; the arguments are: {', '.join(known)}" for key in unknown[:5]]
            raise ToolError("\n".join([f"Invalid arguments for {name}; nothing was sent to Wiro.", *lines]))
        arrived = call_arrived.set(anyio.current_time())
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(describe_errors(name, exc.__cause__, known)) from exc.__cause__
            ours = said_by_us(exc)
            if ours is not None:  # every tool's WiroMCPError, said here once: what failed and what to do
                raise ToolError(str(ours)) from ours
            raise ToolError(sdk_gaps.sdk_words_removed(str(exc), name)) from exc
        finally:
            call_arrived.reset(arrived)

    async def read_resource(self, uri: Any, context: Context[ServerState, Any] | None = None) -> Any:
        try:
            contents = await super().read_resource(uri, context)
        except ResourceNotFoundError as exc:  # the SDK's words echo the whole URI, whatever its size
            raise ResourceNotFoundError(f"Unknown resource: {shown(str(uri), 200)}") from exc
        except ResourceError as exc:
            ours = said_by_us(exc)
            if ours is None:
                raise
            raise ResourceError(str(ours)) from ours  # the SDK would say only "Error reading resource <uri>"
        if isinstance(contents, InputRequiredResult):
            return contents
        # Output files are served with the type their bytes show, not the template's one.
        return [
            ReadResourceContents(
                content=item.content,
                mime_type=(sniff_type(item.content) if isinstance(item.content, bytes) else None) or item.mime_type,
                meta=item.meta,
            )
            for item in contents
        ]


def warm_up() -> None:
    """What the service's start needs, made once per process (it runs in a worker thread)."""
    from ..service.core import Service  # noqa: F401 (imported for its cost, in this thread)
    from ..wiro.client import tls_context

    tls_context()


def said_by_us(exc: BaseException) -> WiroMCPError | None:
    """The WiroMCPError under an SDK wrapper (a tool's or a resource's), said to the agent as it is: the SDK
    keeps an unforeseen error's words to itself, and a tool or resource of ours raises only these."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, WiroMCPError):
            return seen
        seen = seen.__cause__
    return None


def either_ref(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool that names a task by task_id or task_token (get_task, kill_task) says in its schema that one
    of them is needed (TaskRef refuses both, or neither, in words)."""
    properties = schema.get("properties") or {}
    if "task_id" not in properties or "task_token" not in properties or schema.get("required"):
        return schema
    return {**schema, "anyOf": [{"required": ["task_id"]}, {"required": ["task_token"]}]}


def longest_wait(schema: dict[str, Any], most: float) -> dict[str, Any]:
    """The call's own wait_seconds (the tools' WaitSeconds: a number up to 3600) listed with the server's
    longest wait as its maximum; a longer one is cut to it, with a note (service/core.py)."""
    wait = (schema.get("properties") or {}).get("wait_seconds")
    if not isinstance(wait, dict) or wait.get("type") != "number" or wait.get("maximum") != 3600:
        return schema  # absent, or a model's own input of that name
    shown = int(most) if float(most).is_integer() else most
    return {**schema, "properties": {**schema["properties"], "wait_seconds": {**wait, "maximum": shown}}}


def state_security(settings: Settings) -> RequestStateSecurity | None:
    """How the 2026-07-28 protocol's request state (a question asked on one request, answered on the
    next) is sealed: with WIRO_MCP_STATE_SECRET, under keys every replica shares (the first seals,
    all open: rotation); without it, under a key of this process alone (the SDK's default)."""
    if settings.state_secret is None:
        return None
    keys = [key.strip() for key in settings.state_secret.get_secret_value().split(",") if key.strip()]
    return RequestStateSecurity(keys=keys)


def create_server(settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> WiroMCPServer:
    """Build the server. Nothing talks to Wiro until a tool is called. A tokens file that cannot be
    used raises PeopleFileError."""
    people = People.load(settings.http_tokens_file) if settings.http_tokens_file is not None else None
    memory = TaskMemory()
    live: dict[str, ServerState] = {}  # the running server's state, for what the SDK gives no Context
    task_tools = {tool.options["name"] for tool in registrations() if tool.task}  # those that start a Wiro task
    typed = TypedModels(settings, task_tools)  # WIRO_MCP_MODELS: tools that start Wiro tasks too
    updates = Subscriptions()  # notifications/resources/updated for wiro://tasks/{id} and wiro://spending

    @asynccontextmanager
    async def open_service() -> AsyncIterator[Service]:
        # The service's modules and the TLS trust store cost ~200 ms the first time: paid in a worker
        # thread, so the requests served meanwhile (a tools/list) do not wait on them.
        await anyio.to_thread.run_sync(warm_up)
        from ..service.core import Service
        from ..wiro.client import WiroClient
        from ..wiro.task_socket import TaskSocket

        client = WiroClient.from_settings(settings, transport=transport)
        socket = TaskSocket(settings.socket_url, http=lambda: client.http) if settings.push else None
        service = Service(settings, client, socket=socket, memory=memory, typed=typed)
        try:
            async with anyio.create_task_group() as group, service.running():
                await group.start(updates.serve, service)  # hears the service from its first snapshot
                if socket is not None:
                    # Connects only when a task is first followed; until then it costs nothing.
                    group.start_soon(socket.serve)
                yield service
                group.cancel_scope.cancel()
        finally:
            await client.aclose()

    @asynccontextmanager
    async def lifespan(_: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        # The service starts on the first call that needs it (ServerState.service), in this task group.
        async with anyio.create_task_group() as group:
            live["state"] = ServerState(settings, group, open_service, people)
            yield live["state"]
            group.cancel_scope.cancel()

    tasks = TasksExtension(lambda: live["state"], task_tools)
    server = WiroMCPServer(
        "wiro-mcp",
        title="Wiro generative media",
        instructions=instructions(settings),
        version=__version__,
        lifespan=lifespan,
        tools=list(built_tools()),
        extensions=[viewer_app(), tasks],
        middleware=[
            identity_middleware(),
            updates.middleware(),  # inside identity_middleware: a subscription is its caller's
            legacy_tasks(task_tools),
            typed.middleware(),
            viewer_listing(),
        ],
        request_state_security=state_security(settings),
        subscriptions=updates.bus,
    )
    updates.bind(server)
    server.people = people
    server.request_credentials = settings.credentials == "request"
    server.sign_in = sign_in_of(settings)
    server.max_wait = settings.max_wait_seconds
    tasks.bind(server)
    typed.bind(server, server.forget_listing)
    register_resources(server, lambda: live["state"])
    register_completions(server, memory, scoped=settings.people_apart or settings.credentials == "request")

    async def set_level(ctx: ServerRequestContext[ServerState], params: SetLevelRequestParams) -> EmptyResult:
        ctx.lifespan_context.client_log_level = params.level
        return EmptyResult()

    sdk_gaps.handle_set_level(server, set_level)
    return server
