"""What lives as long as the server, handed to every tool call: settings, the service (started on the
first call that needs it), and the client's log level."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from mcp.server.mcpserver import Context
from mcp_types import LoggingLevel

from ..config import Settings
from ..people import People
from . import sdk_gaps

if TYPE_CHECKING:  # the service stack is imported when it starts, not when tools/list is answered
    from ..service.core import Service

_LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class ServerState:
    """What lives as long as the server: settings, the service, and the client's log level.

    The service (the Wiro client, the journal, the downloads) starts on the first call that needs it,
    inside the server's lifespan, which stops it: a host that only lists the tools never pays for it.
    """

    def __init__(
        self,
        settings: Settings,
        group: TaskGroup,
        open_service: Callable[[], AbstractAsyncContextManager[Service]],
        people: People | None = None,
    ) -> None:
        self.settings = settings
        # The people of a tokens file (None: the server has one owner); loaded at start, so a bad file
        # stops the server before it serves anyone.
        self.people = people
        # With WIRO_MCP_CREDENTIALS=request: the key that hashes callers' Wiro keys into owner ids, and
        # the daily budget each key's runs get (people.key_holder).
        self.keyed: tuple[bytes, float | None] | None = None
        if settings.credentials == "request":
            secret = settings.state_secret.get_secret_value().split(",")[0] if settings.state_secret else ""
            self.keyed = (("wiro-mcp owners " + secret.strip()).encode(), settings.daily_budget_usd)
        # Set by logging/setLevel. One per server: exact over stdio (one client); over HTTP the last
        # client to set it wins, which only changes how chatty the log messages are.
        self.client_log_level: LoggingLevel = "info"
        self._group = group
        self._open_service = open_service
        self._service: Service | None = None
        self._starting = anyio.Lock()

    @property
    def started(self) -> Service | None:
        """The service, if a call has started it."""
        return self._service

    async def service(self) -> Service:
        """The running service, started here the first time (concurrent first calls start one)."""
        if self._service is None:
            async with self._starting:
                if self._service is None:
                    self._service = await self._group.start(self._serve)
        return self._service

    async def _serve(self, *, task_status: TaskStatus[Service]) -> None:
        async with self._open_service() as service:
            task_status.started(service)
            await anyio.sleep_forever()

    def start_soon(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Background work as long as the server runs (it inherits the caller's context: who it acts for)."""
        self._group.start_soon(work)

    async def client_log(self, ctx: Context[Any, Any], level: LoggingLevel, message: str) -> None:
        """A log message to the client, at or above the level it asked for; never fails the call."""
        if _LEVELS.index(level) < _LEVELS.index(self.client_log_level):
            return
        try:
            await sdk_gaps.send_log(ctx, level, message)
        except Exception:  # a client that went away must not fail the tool
            return
