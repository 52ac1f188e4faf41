"""The generate tools, one per catalog model, and the person's yes before a costly run.

Each is a function whose `__signature__` the SDK reads like any typed signature: the spec's inputs,
then wait_seconds, preview and allow_duplicate. A hidden `consent` parameter is filled by the SDK's
resolver mechanism before the body runs: the resolver asks the service for a quote and, when the run
needs the person's yes (WIRO_MCP_CONFIRM_ABOVE_USD) and the client can ask them, returns an
elicitation. The SDK sends it the way the negotiated protocol wants (an `elicitation/create` request
on 2025-era connections, an `input_required` round trip on 2026-07-28), and the body gets the answer.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from mcp.server.apps import client_supports_apps
from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from ..catalog import ModelSpec
from ..catalog.schema import REQUIRED, field_for
from ..results import Consent
from ..service.call import RunCall
from .calls import (
    AllowDuplicate,
    Preview,
    TaskToolResult,
    WaitSeconds,
    call_arrived,
    call_service,
    input_folders,
    preview_kind,
    progress,
    state_of,
    stop_requested,
)
from .state import ServerState
from .task_wire import starting_task

if TYPE_CHECKING:
    from ..media.outcome import Outcome
    from ..service.core import Service


log = logging.getLogger(__name__)


class Confirm(BaseModel):
    """What the person answers: the host shows the question with Accept / Decline buttons."""

    run: bool = Field(default=True, description="Run it and pay for it")


def can_elicit(ctx: Context[ServerState, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def consent_of(outcome: Any, asked_possible: bool) -> Consent:
    """The resolver's outcome as the service reads it."""
    if isinstance(outcome, DeclinedElicitation):
        return "declined"
    if isinstance(outcome, CancelledElicitation):
        return "cancelled"
    if isinstance(outcome, AcceptedElicitation) and isinstance(outcome.data, Confirm):
        return "accepted" if outcome.data.run else "declined"
    return None if asked_possible else "unavailable"


QuoteOf = Callable[["Service", dict[str, Any], RunCall], Awaitable[Any]]


def confirmer(
    quote_of: QuoteOf, seen: list[inspect.Parameter], name: str
) -> Callable[..., Awaitable[Elicit[Confirm] | None]]:
    """The resolver: ask the person only when this call would start a run that needs their yes.
    `quote_of(service, arguments, call)` prices the call (its RunCall as far as the question knows it); `seen` are the
    arguments the resolver is handed (the SDK hands a resolver those it names), untyped: the tool's
    signature has already checked them."""

    async def ask(
        ctx: Context[ServerState, Any], allow_duplicate: bool = False, **arguments: Any
    ) -> Elicit[Confirm] | None:
        if not can_elicit(ctx):
            return None
        service = await state_of(ctx).service()
        given = {k: v for k, v in arguments.items() if v is not None}
        try:
            asking = RunCall(
                arrived=call_arrived.get(), allow_duplicate=allow_duplicate, input_folders=lambda: input_folders(ctx)
            )
            quote = await quote_of(service, given, asking)
        except Exception:  # no prices, no journal: the call itself will say what is wrong
            log.warning("%s: the question could not be priced; the call goes on without asking", name, exc_info=True)
            return None
        if quote is None or quote.question is None or quote.in_flight is not None:
            return None
        return Elicit(quote.question, Confirm)

    untyped = [p.replace(annotation=Any, default=inspect.Parameter.empty) for p in [*seen, DUPLICATE]]
    return signed(ask, untyped, Elicit[Confirm] | None, f"confirm_{name}")


async def run_call(
    ctx: Context[ServerState, Any],
    start: Callable[[Service, RunCall], Awaitable[Outcome]],
    *,
    wait_seconds: float | None,
    preview: bool | Literal["flat"],
    allow_duplicate: bool,
    consent: Any,
) -> CallToolResult:
    """One run through the service, as every generate tool (and run_model) makes it: progress, the
    stop button, the client's roots, the person's answer, and no wait when it runs as an MCP task."""

    async def started(task_id: str, model: str) -> None:
        await state_of(ctx).client_log(ctx, "info", f"started task {task_id} on {model}")
        await ctx.report_progress(0.0, 1.0, f"Task {task_id} submitted to {model}")

    call = RunCall(
        arrived=call_arrived.get(),
        wait=0 if starting_task.get() else wait_seconds,  # as an MCP task: start, then return
        preview=preview_kind(preview),
        viewer=client_supports_apps(ctx),
        allow_duplicate=allow_duplicate,
        consent=consent_of(consent, can_elicit(ctx)),
        on_update=progress(ctx),
        on_started=started,
        input_folders=lambda: input_folders(ctx),
        stop_requested=stop_requested(ctx),
    )
    return await call_service(ctx, lambda service: start(service, call))


def generate_tool(spec: ModelSpec) -> Callable[..., Awaitable[CallToolResult]]:
    """One tool function for a catalog model: its parameters are the spec's inputs plus the call's own."""

    async def generate(
        ctx: Context[ServerState, Any],
        wait_seconds: float | None = None,
        preview: bool | Literal["flat"] = True,
        allow_duplicate: bool = False,
        consent: Any = None,
        **arguments: Any,
    ) -> CallToolResult:
        given = {k: v for k, v in arguments.items() if v is not None}
        return await run_call(
            ctx,
            lambda service, call: service.generate(spec, given, call),
            wait_seconds=wait_seconds,
            preview=preview,
            allow_duplicate=allow_duplicate,
            consent=consent,
        )

    async def quote_of(service: Service, given: dict[str, Any], call: RunCall) -> Any:
        return await service.quote(spec, given, call)

    asked = Annotated[ElicitationResult[Confirm], Resolve(confirmer(quote_of, tool_parameters(spec), spec.tool))]
    everything = [
        *tool_parameters(spec),
        *call_parameters(),
        inspect.Parameter("consent", KEYWORD, default=None, annotation=asked),
    ]
    return signed(generate, everything, TaskToolResult, spec.tool)


def call_parameters() -> list[inspect.Parameter]:
    """What every run takes besides the model's inputs."""
    return [
        inspect.Parameter("wait_seconds", KEYWORD, default=None, annotation=WaitSeconds),
        inspect.Parameter("preview", KEYWORD, default=True, annotation=Preview),
        DUPLICATE,
    ]


KEYWORD = inspect.Parameter.KEYWORD_ONLY


DUPLICATE = inspect.Parameter("allow_duplicate", KEYWORD, default=False, annotation=AllowDuplicate)


def tool_parameters(spec: ModelSpec) -> list[inspect.Parameter]:
    """The spec's inputs as typed parameters (types, limits, defaults, descriptions from the spec): with
    allow_duplicate, the arguments both the tool and its resolver see."""
    parameters = []
    for item in spec.inputs:
        annotation, default = field_for(item)
        default = inspect.Parameter.empty if default is REQUIRED else default
        parameters.append(inspect.Parameter(item.arg_name, KEYWORD, default=default, annotation=annotation))
    return parameters


F = TypeVar("F", bound=Callable[..., Any])


def signed(fn: F, parameters: list[inspect.Parameter], returns: Any, name: str) -> F:
    """`fn` with the signature the SDK reads (its context first, then `parameters`) and the name given."""
    full = [inspect.Parameter("ctx", KEYWORD, annotation=Context), *parameters]
    fn.__signature__ = inspect.Signature(full, return_annotation=returns)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in full} | {"return": returns}
    fn.__name__ = fn.__qualname__ = name
    return fn
