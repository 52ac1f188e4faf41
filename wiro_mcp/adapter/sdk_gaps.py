"""The SDK surfaces wiro-mcp needs that MCPServer offers only privately or as deprecated APIs.

Everything that reaches past the SDK's public, current API lives here, each with the gap it fills,
so an SDK upgrade has one file to check.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.subscriptions import ToolsListChanged
from mcp_types import EmptyResult, LoggingLevel, SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams

log = logging.getLogger(__name__)

SetLevel = Callable[[ServerRequestContext[Any], SetLevelRequestParams], Awaitable[EmptyResult]]
Subscribe = Callable[[ServerRequestContext[Any], SubscribeRequestParams], Awaitable[EmptyResult]]
Unsubscribe = Callable[[ServerRequestContext[Any], UnsubscribeRequestParams], Awaitable[EmptyResult]]


def handle_set_level(server: MCPServer[Any], handler: SetLevel) -> None:
    """logging/setLevel. GAP: MCPServer has no public hook for it; a request handler on the low-level
    server also makes the server advertise the logging capability (deprecated in 2026-07-28, still
    used by hosts on the handshake protocols)."""
    server._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, handler)


def handle_resource_subscriptions(server: MCPServer[Any], subscribe: Subscribe, unsubscribe: Unsubscribe) -> None:
    """resources/subscribe and resources/unsubscribe (the handshake protocols' way to ask for
    notifications/resources/updated). GAP: MCPServer serves subscriptions/listen only (2026-07-28); handlers
    on the low-level server also make a handshake's capabilities say `resources.subscribe: true` (the SDK
    never dispatches them on the 2026-07-28 wire)."""
    server._lowlevel_server.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    server._lowlevel_server.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)


def add_built_tool(server: MCPServer[Any], tool: Tool) -> None:
    """A tool built by us (its output schema shared, its listing a configured model's) added after start, or
    put in place of the one of its name. GAP: MCPServer takes built Tools only at construction (`tools=`);
    `add_tool` rebuilds one from its function and keeps an existing one."""
    server._tool_manager._tools[tool.name] = tool


def connection_of(ctx: ServerRequestContext[Any]) -> Any:
    """The client connection a request came on (lives as long as it): what a notification sent later, from
    the background, goes through. GAP: a request's ServerSession is made per request; its connection is
    private."""
    return getattr(ctx.session, "_connection", None)


async def publish_tools_changed(server: MCPServer[Any]) -> None:
    """notifications/tools/list_changed to every `subscriptions/listen` stream (2026-07-28). GAP: the bus
    is reachable only through a request's Context; this is sent from the background."""
    await server._subscriptions.publish(ToolsListChanged())


def stop_was_requested(ctx: Context[Any, Any]) -> bool:
    """Whether the client sent notifications/cancelled for this call (the person pressed stop), as
    opposed to the call ending because the transport closed or the server is stopping.

    GAP: the dispatcher records it (`cancel_requested`) but MCPServer's Context does not expose it.
    On the 2026-07-28 protocol a client cancels by closing the call's stream, which no server can
    tell from a dropped connection: then this is False.
    """
    outbound = getattr(ctx.request_context.session, "_request_outbound", None)
    event = getattr(outbound, "cancel_requested", None)
    return isinstance(event, anyio.Event) and event.is_set()


async def send_log(ctx: Context[Any, Any], level: LoggingLevel, message: str) -> None:
    """A log message to the client. DEPRECATED in 2026-07-28 (SEP-2577) and still what handshake
    hosts show; the warning is the SDK's note to us, not something a user can act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await ctx.log(level, message, logger_name="wiro_mcp")


async def list_roots(ctx: Context[Any, Any]) -> list[str]:
    """The client's root URIs. DEPRECATED in 2026-07-28, still how hosts name their folders."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        listed = await ctx.session.list_roots()
    return [str(root.uri) for root in listed.roots]


def share_output_schema(tool: Tool, shape: Any, made: dict[Any, dict[str, Any]]) -> None:
    """`tool`'s structured output follows `shape`, its schema made once per shape (in `made`) and shared.
    GAP: MCPServer derives one output schema per tool from its return annotation (a fifth of the start-up
    before tools/list when every task tool made TaskResult's again); FuncMetadata's fields are read live,
    so setting them shares one (tests/adapter/test_sdk_gaps.py)."""
    from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata

    if shape not in made:
        made[shape] = FuncMetadata(arg_model=tool.fn_metadata.arg_model, output_model=shape).output_schema or {}
    tool.fn_metadata.output_model = shape
    tool.fn_metadata.output_schema = made[shape]


def replay_context(ctx: ServerRequestContext[Any], server: MCPServer[Any], params: Any) -> Context[Any, Any]:
    """A tools/call's Context for a call replayed from another request (an MCP task's tasks/update replays
    the call that waited for the person's answer). GAP: an extension has no public way to run a tool with
    params of its own; MCPServer builds this Context itself for each tools/call."""
    return Context(request_context=ctx, mcp_server=server, input_params=params)


def say_tools_change(initialize_result: Any) -> None:
    """The initialize answer says the tool list may change (configured models' tools arrive after start).
    GAP: MCPServer sets `tools.listChanged` from whether tools were given at construction only, so a
    middleware sets it in the answer it passes on."""
    if isinstance(initialize_result, dict):
        initialize_result.setdefault("capabilities", {}).setdefault("tools", {})["listChanged"] = True


def sdk_words_removed(message: str, tool: str) -> str:
    """A ToolError's text without the SDK's "Error executing tool <name>: " (ours say what they are).
    GAP: the SDK prefixes every deliberate ToolError so; tests/adapter/test_sdk_gaps.py notices if it stops."""
    return message.removeprefix(f"Error executing tool {tool}: ")
