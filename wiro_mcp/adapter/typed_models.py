"""The typed tools of WIRO_MCP_MODELS: one per configured model (`run_<owner>_<slug>`), built by the
code that builds the seed tools, from the model's spec as Wiro's Tool/Detail gives it.

tools/list never waits on Wiro: a spec read before (cached on disk) makes its tool at start; the
others are asked for in the background once the first request arrives (signed as its caller), and
each tool that arrives then is announced with notifications/tools/list_changed: on the connection of
every handshake-era client seen, and on the `subscriptions/listen` streams of 2026-07-28 clients.
A model that cannot be read yet is asked for again on a later request, at most once a minute.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, MutableSet
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer

from ..catalog import ModelSpec, spec_of
from ..config import Settings
from ..errors import WiroMCPError
from . import sdk_gaps
from .tools import build_tool, typed_tool

if TYPE_CHECKING:
    from .state import ServerState

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0


class TypedModels:
    def __init__(self, settings: Settings, task_tools: MutableSet[str]) -> None:
        self._settings = settings
        self._server: MCPServer[Any] | None = None
        self._task_tools = task_tools
        self._reset: Callable[[], None] = lambda: None
        self.pending = [name for name in settings.extra_models if not _is_seed(name)]
        self.added: list[str] = []
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()  # the handshake-era clients seen
        self._asked_at = -RETRY_SECONDS
        self._asking = False

    def bind(self, server: MCPServer[Any], reset: Callable[[], None]) -> None:
        """Serve `server` (`reset`: what forgets its cached tool list); the specs cached on disk make
        their tools now."""
        self._server, self._reset = server, reset
        if self.pending:
            from ..service.models import cache_folder, read_cached  # only when models are configured

            folder = cache_folder(self._settings.state_folder, self._settings.base_url)
            for name in list(self.pending):
                found = read_cached(folder, name)
                if found is not None:
                    self._add(found[1])

    def _add(self, spec: ModelSpec) -> bool:
        """The model's typed tool, unless its name is taken; it leaves `pending` either way."""
        self.pending = [name for name in self.pending if name != spec.model]
        assert self._server is not None, "bind() first"
        if sdk_gaps.has_tool(self._server, spec.tool):  # a seed's, or a clash
            log.warning("WIRO_MCP_MODELS: %s would be the tool %s, which exists; skipped", spec.model, spec.tool)
            return False
        sdk_gaps.add_built_tool(self._server, build_tool(typed_tool(spec)))
        self._task_tools.add(spec.tool)
        self.added.append(spec.tool)
        self._reset()
        return True

    async def fetch(self, state: ServerState) -> None:
        """Ask Wiro for every model still pending; announce the tools that came."""
        try:
            service = await state.service()
            came = False
            for name in list(self.pending):
                try:
                    came = self._add(await service.any_model.models.spec(name)) or came
                except WiroMCPError as exc:
                    log.warning("WIRO_MCP_MODELS: %s cannot be read yet (%s); asked again later", name, exc)
            if came:
                await self.announce()
        finally:
            self._asking = False

    async def announce(self) -> None:
        for connection in list(self._connections):
            try:
                await connection.send_tool_list_changed()
            except Exception as exc:  # a client gone, or one on the modern wire (the bus serves it)
                log.debug("tools/list_changed not sent on a connection: %r", exc)
        if self._server is not None:
            await sdk_gaps.publish_tools_changed(self._server)

    def middleware(self) -> ServerMiddleware[Any]:
        """Every request: its session is remembered (to announce new tools on), the first one starts the
        background read, and a handshake client is told the tool list may change."""

        async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
            connection = sdk_gaps.connection_of(ctx)
            if (self.pending or self.added) and connection is not None:
                self._connections.add(connection)
            now = time.monotonic()
            if self.pending and not self._asking and now - self._asked_at >= RETRY_SECONDS:
                self._asking, self._asked_at = True, now
                state: ServerState = ctx.lifespan_context
                state.start_soon(lambda: self.fetch(state))
            result = await call_next(ctx)
            if ctx.method == "initialize" and isinstance(result, dict) and (self.pending or self.added):
                result.setdefault("capabilities", {}).setdefault("tools", {})["listChanged"] = True
            return result

        return middleware


def _is_seed(name: str) -> bool:
    seed = spec_of(name)
    return seed is not None and seed.curated
