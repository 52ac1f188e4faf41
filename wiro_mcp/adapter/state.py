"""What lives as long as the server, handed to every tool call: settings, the service, and the
client's log level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp_types import LoggingLevel

from ..config import Settings
from ..service.generation import Generation
from . import sdk_gaps

_LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


@dataclass
class ServerState:
    """What lives as long as the server: settings, the service, and the client's log level."""

    settings: Settings
    service: Generation
    # Set by logging/setLevel. One per server: exact over stdio (one client); over HTTP the last
    # client to set it wins, which only changes how chatty the log messages are.
    client_log_level: LoggingLevel = "info"

    async def client_log(self, ctx: Context[Any, Any], level: LoggingLevel, message: str) -> None:
        """A log message to the client, at or above the level it asked for; never fails the call."""
        if _LEVELS.index(level) < _LEVELS.index(self.client_log_level):
            return
        try:
            await sdk_gaps.send_log(ctx, level, message)
        except Exception:  # a client that went away must not fail the tool
            return
