"""The server's `subscriptions/listen` bus (2026-07-28), which addresses each resource update to the one
stream it is for.

The SDK's bus hands every event to every open stream, and its listen handler keeps those whose URI the
stream asked for: fine for "the tool list changed", not for `wiro://spending`, one URI whose contents are
each person's own. This bus (an `mcp.server.subscriptions.SubscriptionBus`, given to MCPServer) knows
which stream each of its listeners writes: the SDK's handler subscribes inside the listen request, while
`serving(stream)` holds (adapter/subscriptions.py's middleware, around the request). List changes go to
every stream (`publish`); a resource update to one (`tell`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import anyio.lowlevel
from mcp.shared.subscriptions import ResourceUpdated, ServerEvent

log = logging.getLogger(__name__)

_stream: ContextVar[object | None] = ContextVar("wiro_mcp_listen_stream", default=None)


class ScopedBus:
    def __init__(self) -> None:
        self._delivers: dict[object, tuple[object | None, Callable[[ServerEvent], None]]] = {}

    @contextmanager
    def serving(self, stream: object) -> Iterator[None]:
        """The listen request being served is `stream`'s: what subscribes meanwhile writes to it."""
        entered = _stream.set(stream)
        try:
            yield
        finally:
            _stream.reset(entered)

    async def publish(self, event: ServerEvent) -> None:
        """A change every stream may hear of (the tool list); resource updates are addressed (`tell`)."""
        if not isinstance(event, ResourceUpdated):
            for _, deliver in list(self._delivers.values()):
                try:
                    deliver(event)
                except Exception:  # one stream's fault must not starve the others
                    log.exception("a listen stream's listener failed")
        await anyio.lowlevel.checkpoint()  # lets the streams drain between publishes

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()
        self._delivers[token] = (_stream.get(), listener)

        def unsubscribe() -> None:
            self._delivers.pop(token, None)

        return unsubscribe

    def tell(self, stream: object, event: ServerEvent) -> None:
        """`event` to the stream `stream` only (into its buffer; the SDK's handler writes it out)."""
        for whose, deliver in list(self._delivers.values()):
            if whose is stream:
                deliver(event)
