"""Resource subscriptions: who asked to hear of `wiro://tasks/{task_id}` and `wiro://spending`, and
telling them (notifications/resources/updated), on 2025-11-25 (`resources/subscribe` on a session) and
2026-07-28 (`subscriptions/listen`: the SDK's handler writes the stream, listen_bus.py addresses it).

A person hears only of their own: a task must pass the service's ownership check to be subscribed (else
refused, or left out of the acknowledgement), and the spend is told when the subscriber's own changes.
At most MAX_SUBSCRIPTIONS per session or stream; a task is told once per state change, never per progress
tick. The service's hooks only note a change; a background task sends, each send within budgets.SEND_SECONDS,
so no tool call waits on a subscriber; a session gone, or that cannot be sent to, is told nothing more.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types import INVALID_PARAMS, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from .. import budgets, people
from ..errors import WiroMCPError
from ..people import Caller
from ..text import shown
from ..wiro.refs import PLAIN_ID, TaskRef
from . import sdk_gaps
from .listen_bus import ScopedBus
from .state import ServerState

if TYPE_CHECKING:  # the service stack is imported when the first call starts it
    from mcp.server.mcpserver import MCPServer

    from ..service.core import Service
    from ..wiro.answers import Task

log = logging.getLogger(__name__)

SPENDING = "wiro://spending"
TASKS = "wiro://tasks/"
MAX_SUBSCRIPTIONS = 100  # per session, or per listen stream
STATES_KEPT = 10_000  # the last state seen of this many tasks, to tell a change from a progress tick
_SESSION_KEY = "wiro-mcp/subscriptions"  # a handshake connection's listeners, by owner, in its state


@dataclass(eq=False)
class Listener:
    """One subscriber: a handshake session's subscriptions of one owner, or one listen stream."""

    caller: Caller  # whose they are (without the Wiro keys the request may have brought)
    send: Callable[[str], Awaitable[None]] | None = None  # a session's; None: a listen stream (the bus)
    uris: set[str] = field(default_factory=set)


class Subscriptions:
    """Every subscriber of this server, what each listens to, and the background task that tells them."""

    def __init__(self) -> None:
        self.bus = ScopedBus()
        self._listeners: set[Listener] = set()
        self._tasks: dict[str, int] = {}  # task id -> how many listeners watch it
        self._states: OrderedDict[str, str] = OrderedDict()  # task id -> the last state seen
        self._figures: dict[str, Any] = {}  # owner -> their spend as last told
        self._changed: set[str] = set()  # task URIs to tell about
        self._spend = False  # the spend may have changed
        self._wake: anyio.Event | None = None
        self._service: Service | None = None

    def bind(self, server: MCPServer[Any]) -> None:
        sdk_gaps.handle_resource_subscriptions(server, self._subscribe, self._unsubscribe)

    def __len__(self) -> int:
        """How many subscriptions are held, all sessions and streams together."""
        return sum(len(listener.uris) for listener in self._listeners)

    # -- 2025-11-25: resources/subscribe on a session ------------------------------------------------

    async def _subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        connection = sdk_gaps.connection_of(ctx)
        if connection is None or not connection.has_standalone_channel:
            raise MCPError(INVALID_PARAMS, "This connection cannot carry notifications: subscribe on a session.")
        uri, caller = str(params.uri), _caller()
        mine: dict[str, Listener] = connection.state.setdefault(_SESSION_KEY, {})
        listener = mine.get(caller.owner)
        if listener is not None and uri in listener.uris:
            return EmptyResult()
        if sum(len(each.uris) for each in mine.values()) >= MAX_SUBSCRIPTIONS:
            raise MCPError(INVALID_PARAMS, f"At most {MAX_SUBSCRIPTIONS} subscriptions per session: unsubscribe first.")
        refusal = await self._refusal(ctx.lifespan_context, uri)
        if refusal is not None:
            raise MCPError(INVALID_PARAMS, refusal)
        if listener is None:
            listener = mine[caller.owner] = Listener(caller, connection.send_resource_updated)
            connection.exit_stack.callback(self._remove, listener)  # the session went away: nothing more
        await self._watch(listener, [uri])
        return EmptyResult()

    async def _unsubscribe(self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        connection = sdk_gaps.connection_of(ctx)
        if connection is not None and (listener := connection.state.get(_SESSION_KEY, {}).get(_caller().owner)):
            self._unwatch(listener, str(params.uri))
        return EmptyResult()

    # -- 2026-07-28: subscriptions/listen with resourceSubscriptions -----------------------------------

    def middleware(self) -> ServerMiddleware[Any]:
        """A listen request keeps, of its resourceSubscriptions, the first MAX_SUBSCRIPTIONS this server
        will honour (the acknowledgement says which), and is this stream's listener while it lasts. A
        handshake whose connection cannot carry notifications (stateless HTTP) is told `subscribe: false`."""

        async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
            if ctx.method == "initialize":
                answer, connection = await call_next(ctx), sdk_gaps.connection_of(ctx)
                if isinstance(answer, dict) and connection is not None and not connection.has_standalone_channel:
                    answer.get("capabilities", {}).get("resources", {})["subscribe"] = False
                return answer
            params = dict(ctx.params or {})
            wanted = dict(params.get("notifications") or {})
            asked = wanted.get("resourceSubscriptions")
            if ctx.method != "subscriptions/listen" or not isinstance(asked, list) or not asked:
                return await call_next(ctx)
            kept: list[str] = []
            for uri in dict.fromkeys(u for u in asked if isinstance(u, str)):
                if len(kept) < MAX_SUBSCRIPTIONS and await self._refusal(ctx.lifespan_context, uri) is None:
                    kept.append(uri)
            listener = Listener(_caller())
            await self._watch(listener, kept)
            try:
                with self.bus.serving(listener):
                    notifications = {**wanted, "resourceSubscriptions": kept}
                    return await call_next(replace(ctx, params={**params, "notifications": notifications}))
            finally:
                self._remove(listener)

        return middleware

    # -- who may subscribe to what ---------------------------------------------------------------

    async def _refusal(self, state: ServerState, uri: str) -> str | None:
        """Why `uri` cannot be subscribed to by the caller of the request (None: it can)."""
        service = await state.service()  # started: serve() below hears it from then on
        task_id = uri.removeprefix(TASKS) if uri.startswith(TASKS) else None
        if uri == SPENDING:
            return None
        if task_id is None or not PLAIN_ID.fullmatch(task_id):
            return f"Updates are sent for wiro://spending and wiro://tasks/{{task_id}} only, not {shown(uri, 80)}."
        try:
            await service.ownership.check(TaskRef(task_id=task_id))  # another person's task is not found
        except WiroMCPError as exc:
            return str(exc)
        return None

    async def _watch(self, listener: Listener, uris: list[str]) -> None:
        for uri in uris:
            if uri in listener.uris:
                continue
            listener.uris.add(uri)
            if uri.startswith(TASKS):
                self._tasks[uri.removeprefix(TASKS)] = self._tasks.get(uri.removeprefix(TASKS), 0) + 1
            elif listener.caller.owner not in self._figures:  # the spend as it is now: a change is told
                self._figures[listener.caller.owner] = await self._figure(listener.caller)
        self._listeners.add(listener)

    def _unwatch(self, listener: Listener, uri: str) -> None:
        if uri not in listener.uris:
            return
        listener.uris.discard(uri)
        if uri.startswith(TASKS):
            task_id = uri.removeprefix(TASKS)
            self._tasks[task_id] -= 1
            if not self._tasks[task_id]:
                del self._tasks[task_id]
        elif not any(SPENDING in each.uris and each.caller.owner == listener.caller.owner for each in self._listeners):
            self._figures.pop(listener.caller.owner, None)

    def _remove(self, listener: Listener) -> None:
        for uri in list(listener.uris):
            self._unwatch(listener, uri)
        self._listeners.discard(listener)

    # -- what changed, and telling -------------------------------------------------------------------

    def _seen(self, task: Task) -> None:
        """Every snapshot the service reads (service/core.py `on_seen`): a task whose state moved."""
        state = task.state.value
        before = self._states.pop(task.id, None)
        self._states[task.id] = state
        if len(self._states) > STATES_KEPT:
            self._states.popitem(last=False)
        if before != state and task.id in self._tasks:
            self._changed.add(TASKS + task.id)
            self._wakeup()

    def _spent(self) -> None:
        """A claim, a dropped claim or a bill was written (journal/access.py `on_spend`)."""
        if self._figures:
            self._spend = True
            self._wakeup()

    def _wakeup(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def serve(self, service: Service, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Runs as long as the service: hears every snapshot and spend change from its start (so a task's
        state before a subscription is known), and each round tells every subscriber what changed."""
        self._service = service
        wake = self._wake = anyio.Event()
        service.on_seen.append(self._seen)
        service.journal.on_spend.append(self._spent)
        task_status.started()
        while True:
            await wake.wait()
            wake = self._wake = anyio.Event()
            changed, self._changed = self._changed, set()
            sends = [(each, uri) for each in list(self._listeners) for uri in sorted(changed & each.uris)]
            if self._spend:
                self._spend = False
                owners = await self._spenders()
                sends += [(each, SPENDING) for each in self._listeners if owners.get(each.caller.owner, False)]
            async with anyio.create_task_group() as group:
                for listener, uri in sends:
                    group.start_soon(self._send, listener, uri)

    async def _spenders(self) -> dict[str, bool]:
        """Whose spend changed, among the owners subscribed to it."""
        changed: dict[str, bool] = {}
        for listener in list(self._listeners):
            owner = listener.caller.owner
            if SPENDING in listener.uris and owner not in changed:
                figure = await self._figure(listener.caller)
                changed[owner] = figure is not None and figure != self._figures.get(owner)
                if changed[owner] and owner in self._figures:
                    self._figures[owner] = figure
        return changed

    async def _figure(self, caller: Caller) -> Any:
        """The caller's own last 24 hours as wiro://spending shows them (None: the journal cannot say)."""
        if self._service is None:
            return None
        with people.acting_as(caller):
            try:
                view = await self._service.spending_view()
            except WiroMCPError:
                return None
        return view.get("yours", view).get("last_24_hours")

    async def _send(self, listener: Listener, uri: str) -> None:
        if listener.send is None:  # a listen stream's
            self.bus.tell(listener, ResourceUpdated(uri))
            return
        try:
            with anyio.move_on_after(budgets.SEND_SECONDS):
                await listener.send(uri)
        except Exception as exc:  # a session gone: it is told nothing more
            log.debug("notifications/resources/updated not sent: %r", exc)
            self._remove(listener)


def _caller() -> Caller:
    """The caller of the request being served, without the Wiro keys it may have brought (never kept)."""
    return replace(people.current(), keys=None)
