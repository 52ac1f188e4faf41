"""Following tasks through Wiro's WebSocket: one connection for every task in flight.

The socket connects when the first task is followed, sends `task_info` for every followed token
(again after each reconnect), and hands each message to that task's watcher. It reconnects with
capped backoff while anyone is watching. Nothing here decides when a task is done: the follower
(tracking/follower.py) does, and it falls back to polling whenever `healthy` is false.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2

from .. import budgets
from .client import tls_context

log = logging.getLogger(__name__)


@dataclass
class SocketEvent:
    """One message about one task."""

    status: str
    percentage: float | None = None
    step: int | None = None
    total: int | None = None


@dataclass(eq=False)
class Watcher:
    """One follower's subscription to a task token: events queue here, and `notify` wakes the follower."""

    token: str
    notify: Callable[[], None] = lambda: None
    events: list[SocketEvent] = field(default_factory=list)

    def push(self, event: SocketEvent) -> None:
        self.events.append(event)
        self.notify()

    def drain(self) -> list[SocketEvent]:
        events, self.events = self.events, []
        return events


def parse_message(raw: str) -> tuple[str, SocketEvent] | None:
    """(task token, event) from a socket message, or None for anything we cannot use."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    token, kind = message.get("tasktoken"), message.get("type")
    if not isinstance(token, str) or not isinstance(kind, str):
        return None
    body = message.get("message")
    if kind == "task_output" and isinstance(body, dict) and body.get("type") == "progressGenerate":
        return token, SocketEvent(
            "task_output",
            percentage=_number(body.get("percentage")),
            step=_int(body.get("stepCurrent")),
            total=_int(body.get("stepTotal")),
        )
    if kind in ("task_error", "task_error_full"):
        # stderr lines of the running model, not a verdict: a status-less nudge to look again.
        return token, SocketEvent("")
    return token, SocketEvent(kind)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and abs(number) < 2**31 else None


# One message is read to MESSAGE_MAX_BYTES (the end of a task lists its outputs: hundreds of them pass the
# library's 64 KiB), and at most QUEUED messages wait to be read. A connection counts as working once it
# lived budgets.SOCKET_STABLE: one that breaks sooner (a message too big, a server that closes at once) keeps
# the backoff growing instead of reconnecting four times a second.
MESSAGE_MAX_BYTES = 1024 * 1024
QUEUED = 32
FIRST_BACKOFF = 0.25


class TaskSocket:
    """The one WebSocket to Wiro; `serve()` lives in the server's task group."""

    def __init__(
        self,
        url: str,
        *,
        http: Callable[[], httpx2.AsyncClient] | None = None,
        silence: float = 10.0,
        max_backoff: float = 10.0,
    ) -> None:
        # httpx2 opens WebSockets with an HTTP GET + upgrade, so it takes http(s) URLs.
        self.url = url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
        self._http = http
        self._watchers: dict[str, set[Watcher]] = {}
        self._wanted = anyio.Event()
        self._session: Any = None
        self._last_message = 0.0
        self._connected_at = 0.0
        self.silence = silence
        self.max_backoff = max_backoff
        self.connects = 0

    @property
    def healthy(self) -> bool:
        """Connected, and not silent for longer than `silence` seconds (a fresh socket is given that long)."""
        return self.healthy_for > 0

    @property
    def healthy_for(self) -> float:
        """Seconds until the socket counts as silent unless a message arrives (0 when down)."""
        if self._session is None:
            return 0.0
        return max(0.0, max(self._last_message, self._connected_at) + self.silence - anyio.current_time())

    def watch(self, token: str, notify: Callable[[], None] = lambda: None) -> Watcher:
        """A new watcher; `notify` is called (synchronously) for each event. Normally one follower
        per task watches, but nothing here assumes it: every watcher of a token gets every event."""
        watcher = Watcher(token, notify)
        watchers = self._watchers.setdefault(token, set())
        if not watchers and self._session is not None:
            self._subscribe_soon(token)
        watchers.add(watcher)
        self._wanted.set()
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.token)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.token]

    def _subscribe_soon(self, token: str) -> None:
        session = self._session

        async def send() -> None:
            try:
                await session.send_text(json.dumps({"type": "task_info", "tasktoken": token}))
            except Exception as exc:  # the reconnect loop re-subscribes everyone
                log.debug("task_info for a task failed: %r", exc)

        assert self._group is not None
        self._group.start_soon(send)

    async def serve(self) -> None:
        """Connect while someone watches; reconnect with backoff; never raises."""
        # Nothing is imported or built until a task is followed: start-up stays cheap.
        await self._wanted.wait()
        from httpx2.websockets import AsyncWebSocketClient

        own_http = self._http is None
        # Normally the Wiro client's pool (one pool for the whole server), asked for only now.
        if self._http is not None:
            http = self._http()
        else:
            http = httpx2.AsyncClient(verify=tls_context(), timeout=httpx2.Timeout(10.0))
        backoff = FIRST_BACKOFF
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                while True:
                    if not self._watchers:
                        self._wanted = anyio.Event()
                        await self._wanted.wait()
                    try:
                        client = AsyncWebSocketClient(
                            http,
                            keepalive_ping_interval_seconds=15,
                            max_message_size_bytes=MESSAGE_MAX_BYTES,
                            queue_size=QUEUED,
                        )
                        async with client.connect(self.url) as session:
                            self.connects += 1
                            self._session = session
                            self._connected_at = anyio.current_time()
                            log.info("task socket connected")
                            for token in list(self._watchers):
                                await session.send_text(json.dumps({"type": "task_info", "tasktoken": token}))
                            await self._receive(session)
                    except anyio.get_cancelled_exc_class():
                        raise
                    except Exception as exc:
                        log.info("task socket unavailable (%s); polling meanwhile", type(exc).__name__)
                    finally:
                        if (
                            self._session is not None
                            and anyio.current_time() - self._connected_at >= budgets.SOCKET_STABLE
                        ):
                            backoff = FIRST_BACKOFF  # it worked for a while: the next try comes soon
                        self._session = None
                    await anyio.sleep(backoff)
                    backoff = min(self.max_backoff, backoff * 2)
        finally:
            self._group = None
            if own_http:
                await http.aclose()

    _group: Any = None

    async def _receive(self, session: Any) -> None:
        while True:
            raw = await session.receive_text()
            self._last_message = anyio.current_time()
            parsed = parse_message(raw)
            if parsed is None:
                continue
            token, event = parsed
            for watcher in self._watchers.get(token, ()):
                watcher.push(event)
