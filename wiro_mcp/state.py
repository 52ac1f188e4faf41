"""What lives as long as the server, shared by every tool call: settings, the one Wiro client and
socket, what we learnt of tasks, the identical calls in flight, and the client's log level."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver import Context
from mcp_types import LoggingLevel

from .client import WiroClient
from .config import Settings
from .dedupe import InFlight
from .push import TaskSocket

log = logging.getLogger(__name__)


class TaskMemory:
    """What this server learnt of the tasks it met: the model (Task/Detail does not name it) and
    the output names, most recent last. Bounded; used for results and argument completion."""

    def __init__(self, limit: int = 10_000) -> None:
        self._tasks: OrderedDict[str, tuple[str | None, tuple[str, ...]]] = OrderedDict()
        self._limit = limit

    def remember(self, task_id: str, model: str | None = None, outputs: tuple[str, ...] = ()) -> None:
        known_model, known_outputs = self._tasks.pop(task_id, (None, ()))
        self._tasks[task_id] = (model or known_model, outputs or known_outputs)
        while len(self._tasks) > self._limit:
            self._tasks.popitem(last=False)

    def model(self, task_id: str) -> str | None:
        return self._tasks.get(task_id, (None, ()))[0]

    def outputs(self, task_id: str) -> tuple[str, ...]:
        return self._tasks.get(task_id, (None, ()))[1]

    def recent(self, prefix: str = "", limit: int = 100) -> list[str]:
        return [t for t in reversed(self._tasks) if t.startswith(prefix)][:limit]


@dataclass
class AppState:
    """What lives as long as the server: settings, the one Wiro client, and what we learnt of tasks."""

    settings: Settings
    client: WiroClient
    socket: TaskSocket | None = None
    memory: TaskMemory = field(default_factory=TaskMemory)
    inflight: InFlight = field(default_factory=InFlight)
    # Set by logging/setLevel. One per server: exact over stdio (one client); over HTTP the last
    # client to set it wins, which only changes how chatty the log messages are.
    client_log_level: LoggingLevel = "info"


def state_of(ctx: Context[AppState, Any]) -> AppState:
    return ctx.request_context.lifespan_context


_LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


async def client_log(ctx: Context[AppState, Any], level: LoggingLevel, message: str) -> None:
    """A log message to the client (notifications/message), at or above the level it asked for."""
    if _LEVELS.index(level) < _LEVELS.index(state_of(ctx).client_log_level):
        return
    try:
        await ctx.log(level, message, logger_name="wiro_mcp")
    except Exception as exc:  # a client that went away must not fail the tool
        log.debug("could not send a log message to the client: %r", exc)
