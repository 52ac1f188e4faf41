"""The resources (the model catalog with prices, spending, a task, an output file) and argument completions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.resources import ResourceSecurity
from mcp_types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from ..errors import WiroMCPError
from ..journal.memory import TaskMemory
from .rendering import structured
from .state import ServerState


def register_resources(server: MCPServer[Any], live: Callable[[], ServerState]) -> None:
    """`live()` is the running server's state (the static resources get no Context from the SDK)."""

    @server.resource(
        "wiro://models",
        name="models",
        title="Wiro models",
        description="Every model this server can run: its tool, inputs, types, defaults, limits and prices.",
        mime_type="application/json",
    )
    async def models() -> str:
        return json.dumps(await (await live().service()).any_model.models_view(), indent=1)

    @server.resource(
        "wiro://spending",
        name="spending",
        title="Spending and limits",
        description=(
            "What runs cost in the last 24 hours (billed, and estimated for runs not finished), the spending "
            "limits, and where the task journal is (JSON)."
        ),
        mime_type="application/json",
    )
    async def spending() -> str:  # served as the caller by adapter/identity.py's middleware
        try:
            return json.dumps(await (await live().service()).spending_view(), indent=1)
        except WiroMCPError as exc:  # JournalError
            raise ResourceError(f"The spend cannot be read: {exc}") from exc

    @server.resource(
        "wiro://tasks/{task_id}",
        name="task",
        title="A Wiro task",
        description="A Wiro task read fresh from Task/Detail, as the task tools report it (JSON).",
        mime_type="application/json",
    )
    async def task(task_id: str, ctx: Context[ServerState, Any]) -> str:
        result = await (await ctx.request_context.lifespan_context.service()).read(task_id)
        return json.dumps(structured(result), indent=1)

    @server.resource(
        "wiro://tasks/{task_id}/outputs/{name}",
        name="task-output",
        title="A Wiro task's output file",
        description=(
            "One output of a finished task as a binary resource (the real bytes and MIME type); name it "
            "by its name (percent-encode a '/') or by its index in outputs."
        ),
        mime_type="image/png",
        # The name only selects among the task's own outputs; it is never used as a path.
        security=ResourceSecurity(exempt_params={"name"}),
    )
    async def output(task_id: str, name: str, ctx: Context[ServerState, Any]) -> bytes:
        return await (await ctx.request_context.lifespan_context.service()).outputs.file(task_id, name)

    @server.resource(
        "wiro://tasks/{task_id}/exports/{name}",
        name="task-export",
        title="A file export_panorama wrote",
        description="A skybox face, cross, sheet, picture or HTML page export_panorama wrote for a task.",
        mime_type="image/png",
        security=ResourceSecurity(exempt_params={"name"}),  # read by name inside the task's own folder only
    )
    async def export(task_id: str, name: str, ctx: Context[ServerState, Any]) -> bytes:
        return await (await ctx.request_context.lifespan_context.service()).exporter.read(task_id, name)

    @server.resource(
        "wiro://tasks/{task_id}/viewer/{name}",
        name="task-output-rendition",
        title="A panorama for the 360° viewer",
        description=(
            "One output of a finished task as a JPEG of at most ~1 MB, full resolution up to 4096 px wide: "
            "what the 360° viewer swaps in after the preview."
        ),
        mime_type="image/jpeg",
        security=ResourceSecurity(exempt_params={"name"}),
    )
    async def rendition(task_id: str, name: str, ctx: Context[ServerState, Any]) -> bytes:
        return await (await ctx.request_context.lifespan_context.service()).outputs.rendition(task_id, name)


def register_completions(server: MCPServer[Any], memory: TaskMemory, *, scoped: bool = False) -> None:
    """Task ids and output names to complete; none where people share the server (the memory is
    everyone's)."""

    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        """Task ids this server has met (newest first) and their output names."""
        if scoped or not isinstance(ref, ResourceTemplateReference) or not ref.uri.startswith("wiro://tasks/"):
            return None
        if argument.name == "task_id":
            values = memory.recent(argument.value)
        elif argument.name == "name":
            task_id = (context.arguments or {}).get("task_id") if context else None
            outputs = memory.get(task_id).outputs if task_id else ()
            values = [n for n in outputs if n.startswith(argument.value)]
        else:
            return None
        return Completion(values=values, total=len(values), has_more=False)
