"""What every tool shares: the hints, the common arguments, and turning one service call into a tool
result (progress notifications, the stop button, the client's roots, the 360° viewer's extra)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BeforeValidator, Field

from .. import budgets
from ..results import PreviewKind, TaskResult
from ..wiro.refs import number_as_text
from . import sdk_gaps
from .rendering import tool_result
from .state import ServerState

if TYPE_CHECKING:  # the service stack is imported when the first call starts it
    from ..media.outcome import Outcome
    from ..service.core import Service
    from ..tracking.progress import Update

log = logging.getLogger(__name__)

# When the tools/call being served arrived (anyio's clock): a call's wait counts from there, so what runs
# before its body (the resolver that prices it and may read a model's spec) comes out of it too.
call_arrived: ContextVar[float | None] = ContextVar("call_arrived", default=None)

# All four hints on every tool. Every tool but view_panorama reaches Wiro (open world).
CREATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
# Looking at a task's own output: nothing beyond that one picture is reached.
LOOKS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
STOPS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)

# What every task tool returns: a CallToolResult whose structured content is a TaskResult.
TaskToolResult = Annotated[CallToolResult, TaskResult]

WaitSeconds = Annotated[
    float | None,
    Field(ge=0, le=3600, description="Seconds to wait (default 45)."),
]
Preview = Annotated[
    bool | Literal["flat"],
    Field(description='Preview image; "flat": a panorama unlabelled.'),
]
AllowDuplicate = Annotated[bool, Field(description="A new task even if an identical one runs.")]
TaskId = Annotated[
    str | None,
    BeforeValidator(number_as_text),
    Field(description="Wiro's task id"),
]
TaskToken = Annotated[str | None, Field(description="Instead of task_id")]


def preview_kind(preview: bool | Literal["flat"]) -> PreviewKind:
    return "flat" if preview == "flat" else "views" if preview else "none"


def state_of(ctx: Context[ServerState, Any]) -> ServerState:
    return ctx.request_context.lifespan_context


async def call_service(ctx: Context[ServerState, Any], call: Callable[[Service], Awaitable[Outcome]]) -> CallToolResult:
    """Run one service call and turn its outcome, or its error, into the tool's answer. A host that
    renders MCP Apps also gets what the 360° viewer needs; any other host gets the plain result."""
    state = state_of(ctx)
    outcome = await call(await state.service())  # a WiroMCPError is said by the server (server.said_by_us)
    return tool_result(outcome, viewer=client_supports_apps(ctx), sandbox=state.settings.sandbox)


def progress(ctx: Context[ServerState, Any]) -> Callable[[Update], Awaitable[None]]:
    async def on_update(update: Update) -> None:
        # One MCP progress notification per change (a no-op when the client sent no progress token).
        await ctx.report_progress(update.fraction, 1.0, update.message)

    return on_update


def stop_requested(ctx: Context[ServerState, Any]) -> Callable[[], bool]:
    """Whether the person pressed stop. A cancel that comes once the call has run past what hosts allow
    (budgets.HOST_CALL_LIMIT) is taken for the host's own time-out, not a stop: the paid run goes on."""
    arrived = call_arrived.get()

    def asked() -> bool:
        late = arrived is not None and anyio.current_time() - arrived >= budgets.HOST_CALL_LIMIT
        return sdk_gaps.stop_was_requested(ctx) and not late

    return asked


async def input_folders(ctx: Context[ServerState, Any]) -> list[Path]:
    """The client's roots, asked only when a local path needs them."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return []
    from ..service.uploads import roots_from_uris

    try:
        with anyio.fail_after(budgets.ROOTS_SECONDS):
            return roots_from_uris(await sdk_gaps.list_roots(ctx))
    except Exception as exc:  # no back channel, a slow client: local paths just stay limited
        log.info("could not list the client's roots: %r", exc)
        return []
