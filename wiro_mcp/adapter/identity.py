"""Who a request comes from (people.py): the person whose token it carries when a tokens file is set,
else the server's one owner. Read from the request's own headers, never from the connection: over
stateless HTTP each request may be a different person's."""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext

from ..people import ONE_OWNER, Caller, People, acting_as


def bearer_of(request: Any) -> str | None:
    """The bearer token of an HTTP request (None over stdio, or without one)."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    value = str(headers.get("authorization", ""))
    return value[len("Bearer ") :].strip() or None if value.startswith("Bearer ") else None


def caller_of(request: Any, people: People | None) -> Caller:
    if people is None:
        return ONE_OWNER
    token = bearer_of(request)
    found = people.find(token) if token is not None else None
    return found or ONE_OWNER  # the server's own token (WIRO_MCP_HTTP_TOKEN), which the gate let in


def identity_middleware() -> ServerMiddleware[Any]:
    """Every request is served as its caller: also what reaches the service without a Context (the
    static wiro://spending resource, the SDK gives it none)."""

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        with acting_as(caller_of(ctx.request, getattr(ctx.lifespan_context, "people", None))):
            return await call_next(ctx)

    return middleware
