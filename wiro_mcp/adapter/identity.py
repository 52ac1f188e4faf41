"""Who a request comes from (people.py): the person the OAuth gate let in (WIRO_MCP_AUTH_ISSUER), the
person whose token it carries when a tokens file is set, the Wiro key it brings when each request
brings its own (WIRO_MCP_CREDENTIALS=request), else the server's one owner. Read from the request
itself, never from the connection: over stateless HTTP each request may be a different caller's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext

from ..people import ONE_OWNER, Caller, acting_as, key_holder
from ..wiro.signing import signing_as
from .oauth_gate import signed_in


def bearer_of(request: Any) -> str | None:
    """The bearer token of an HTTP request (None over stdio, or without one)."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    value = str(headers.get("authorization", ""))
    return value[len("Bearer ") :].strip() or None if value.startswith("Bearer ") else None


def caller_of(request: Any, state: Any) -> Caller:
    """The caller of `request`, by what the server's state (adapter/state.py) says callers are."""
    person = signed_in(request)  # checked by the OAuth gate (oauth_gate.py), when the server has one
    if person is not None:
        return person.caller
    people, keyed = getattr(state, "people", None), getattr(state, "keyed", None)
    token = bearer_of(request)
    if keyed is not None and token is not None:
        salt, budget = keyed
        return key_holder(token, salt, budget) or ONE_OWNER
    if people is None or token is None:
        return ONE_OWNER
    return people.find(token) or ONE_OWNER  # the server's own token (WIRO_MCP_HTTP_TOKEN), which the gate let in


@contextmanager
def serving(request: Any, state: Any) -> Iterator[None]:
    """The service acts for the caller of `request`, and signs its Wiro calls with the caller's keys."""
    caller = caller_of(request, state)
    with acting_as(caller), signing_as(caller.keys):
        yield


def identity_middleware() -> ServerMiddleware[Any]:
    """Every request is served as its caller, and signed with the caller's keys where they brought
    them: the one place this is set (tools, resources, the Tasks methods; the work a request starts
    inherits it)."""

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        with serving(ctx.request, ctx.lifespan_context):
            return await call_next(ctx)

    return middleware
