"""MCP tasks, without MCP: the handle a host holds on one Wiro task, instead of an open call.

The MCP task is the Wiro task. A generate call that a host asked to run as a task starts (or joins)
its Wiro task exactly as a plain call does, with no wait; `hold()` then writes the handle to the
journal (durably: `tasks/get` must find it before the host hears its id) and follows the task in
the background, the way get_task does (the socket, else polls), until it ends and its result is
delivered. What the host sees:

- `working` while Wiro queues or runs it, with Wiro's status and progress in the message and a
  poll interval that follows what Wiro is doing (slower while queued);
- `completed` once the result is delivered: the same result the plain call gives (a task Wiro
  failed is a completed call whose result is an error, as MCP wants);
- `cancelled` once Wiro confirms a stop;
- `input_required` while the call waits for the person's yes (2026-07-28 hosts): no Wiro task
  exists yet; the answer replays the call (`pending`), which starts the run or ends the handle with
  the call's refusal (a decline is an error result, and no Run is sent).

A look never waits on Wiro (a hanging Wiro leaves the last state seen); a handle this process did
not start (a restart) is followed again from the journal on first look. A handle is another
owner's, unknown or past its time to live: all three read as not found, so an id reveals nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from .. import budgets
from ..errors import WiroMCPError
from ..journal.handles import HandleRow
from ..results import PreviewKind, TaskResult
from ..wiro.refs import TaskRef
from .handle_watch import POLL_QUEUED_MS, Listener, Status, View, Watch, message_of, poll_of
from .stopping import TaskEnded

if TYPE_CHECKING:
    from .generation import Generation

log = logging.getLogger(__name__)

DEFAULT_TTL_MS = 24 * 3600 * 1000  # a day: long enough to come back to, short enough to forget
MIN_TTL_MS = 60 * 1000
MAX_TTL_MS = 7 * 24 * 3600 * 1000
KEPT_DONE = 32  # ended handles whose results (previews too) stay in memory; older ones are delivered again


class UnknownHandle(WiroMCPError):
    """No such task for this caller: unknown, another owner's, or expired."""


class HandleEnded(WiroMCPError):
    """A stop asked for a task that has already ended: nothing changes."""


def ttl_of(asked_ms: int | None) -> int:
    """The time to live a handle gets: what the host asked for, within a minute and a week."""
    if asked_ms is None:
        return DEFAULT_TTL_MS
    return max(MIN_TTL_MS, min(MAX_TTL_MS, int(asked_ms)))


class Handles:
    def __init__(self, service: Generation) -> None:
        self._service = service
        self._watches: OrderedDict[str, Watch] = OrderedDict()
        self._group: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            self._group = group
            yield
            group.cancel_scope.cancel()

    async def hold(
        self,
        owner: str,
        started: TaskResult,
        *,
        tool: str,
        preview: PreviewKind,
        viewer: bool,
        ttl_ms: int,
        listener: Listener | None = None,
    ) -> View:  # the keywords are how the result is shown, and for how long it is kept
        """A handle on the task a call just started (or joined). Raises JournalError when the journal cannot
        keep it: then no handle exists, and the caller returns the plain result instead."""
        row = _new_row(owner, tool, preview, viewer, ttl_ms, task=started)
        await self._service.journal.keep_handle(row)
        watch = self._watch(row, initial=started)
        if listener is not None:
            watch.listeners.append(listener)
        return watch.view

    async def hold_pending(
        self,
        owner: str,
        pending: dict[str, Any],
        question: str,
        *,
        tool: str,
        preview: PreviewKind,
        viewer: bool,
        ttl_ms: int,
    ) -> View:
        """A handle on a call that waits for the person's answer to `question` (`pending`: what replays
        the call, and the questions as the host is to show them). Raises JournalError as hold() does."""
        row = _new_row(owner, tool, preview, viewer, ttl_ms, pending=pending | {"question": question})
        await self._service.journal.keep_handle(row)
        return self._watch(row).view

    @asynccontextmanager
    async def answering(self, owner: str, handle_id: str) -> AsyncIterator[dict[str, Any] | None]:
        """The call a handle waits to replay with the person's answer (None when it waits for nothing
        now); one answer at a time. The replay's outcome goes to started(), refused() or asked()."""
        watch = await self._find(owner, handle_id)
        async with watch.answering:
            yield watch.view.row.pending

    async def started(self, owner: str, handle_id: str, started: TaskResult) -> View:
        """The answered call started (or joined) its task: the handle follows it from now on."""
        watch = await self._find(owner, handle_id)
        row = replace(watch.view.row, task_id=started.task_id, token=started.task_token, pending=None)
        await self._service.journal.keep_handle(row)
        poll = poll_of(started.state == "queued")
        watch.view = replace(watch.view, row=row, status="working", message=message_of(started), poll_ms=poll)
        self._start(watch)
        return watch.view

    async def asked(self, owner: str, handle_id: str, pending: dict[str, Any]) -> View:
        """The answered call has another question: the handle keeps waiting, on that one."""
        watch = await self._find(owner, handle_id)
        row = replace(watch.view.row, pending=pending)
        await self._service.journal.keep_handle(row)
        watch.view = replace(watch.view, row=row, updated=time.time())
        return watch.view

    async def refused(self, owner: str, handle_id: str, refusal: str) -> View:
        """The answered call started nothing (declined, over a limit): the handle is completed with that."""
        return await self._end_without_task(await self._find(owner, handle_id), "completed", "Not started.", refusal)

    async def _end_without_task(self, watch: Watch, status: Status, message: str, refusal: str | None) -> View:
        """A handle whose call started nothing ends, and stays so in the journal (a restart shows it ended)."""
        ended = {"status": status, "message": message, "refusal": refusal}
        row = replace(watch.view.row, pending=None, ended=ended)
        await self._service.journal.keep_handle(row)
        watch.view = replace(watch.view, row=row)
        await watch.end(status, message, None, refusal=refusal)
        return watch.view

    async def look(self, owner: str, handle_id: str) -> View:
        """The handle as it is now: never waits on Wiro."""
        return (await self._find(owner, handle_id)).view

    async def finished(self, owner: str, handle_id: str) -> View:
        """The handle once it has ended (its result delivered)."""
        watch = await self._find(owner, handle_id)
        await watch.done.wait()
        return watch.view

    async def listed(self, owner: str, limit: int = 100) -> list[View]:
        rows = await self._service.journal.handles_of(owner, limit)
        now = time.time()
        return [self._watch(row).view for row in rows if row.expires is None or row.expires >= now]

    async def cancel(self, owner: str, handle_id: str) -> View:
        """Stop the task whichever way Wiro allows; the handle is cancelled once Wiro confirms."""
        watch = await self._find(owner, handle_id)
        if watch.done.is_set():
            raise HandleEnded(_ended(watch.view))
        async with watch.answering:  # an answer being replayed now decides first whether a task starts
            task_id = watch.view.row.task_id
            if task_id is None and not watch.done.is_set():  # still waiting for the person: nothing to stop
                return await self._end_without_task(watch, "cancelled", "Cancelled before anything started.", None)
        if task_id is None or watch.done.is_set():
            raise HandleEnded(_ended(watch.view))
        try:
            outcome = await self._service.stop(TaskRef(task_id=task_id))
        except TaskEnded:
            with anyio.move_on_after(budgets.READ_BUDGET):
                await watch.done.wait()
            raise HandleEnded(_ended(watch.view)) from None
        if outcome.result.state == "cancelled":
            await watch.end("cancelled", outcome.headline or "Cancelled.", outcome)
        return watch.view

    # -- following ----------------------------------------------------------------------------

    async def _find(self, owner: str, handle_id: str) -> Watch:
        watch = self._watches.get(handle_id)
        row = watch.view.row if watch is not None else await self._service.journal.handle(handle_id)
        if row is None or row.owner != owner:
            raise UnknownHandle("Task not found")
        if row.expires is not None and row.expires < time.time():
            self._watches.pop(handle_id, None)
            raise UnknownHandle("Task has expired")
        return self._watch(row)

    def _watch(self, row: HandleRow, initial: TaskResult | None = None) -> Watch:
        watch = self._watches.get(row.id)
        if watch is None:
            watch = self._watches[row.id] = Watch(_first_view(row, initial))
            if row.ended is not None:
                watch.done.set()
            self._forget_old()
        self._watches.move_to_end(row.id)
        self._start(watch)
        return watch

    def _start(self, watch: Watch) -> None:
        if not watch.started and watch.view.row.task_id is not None and self._group is not None:
            watch.started = True
            self._group.start_soon(watch.follow, self._service)

    def _forget_old(self) -> None:
        ended = [key for key, watch in self._watches.items() if watch.done.is_set()]
        for key in ended[: max(0, len(ended) - KEPT_DONE)]:
            del self._watches[key]


def _first_view(row: HandleRow, initial: TaskResult | None) -> View:
    """A handle as this process first sees it: from the call that started it, or from the journal."""
    now = time.time()
    if row.ended is not None:  # ended without a task (declined, or cancelled before the answer)
        status: Status = "cancelled" if row.ended.get("status") == "cancelled" else "completed"
        return View(
            row, status, str(row.ended.get("message", "")), now, POLL_QUEUED_MS, refusal=row.ended.get("refusal")
        )
    if row.task_id is None:
        asked = (row.pending or {}).get("question") or "Run it?"
        return View(row, "input_required", f"Waiting for the person's answer: {asked}", now, POLL_QUEUED_MS)
    if initial is not None:
        return View(row, "working", message_of(initial), now, poll_of(initial.state == "queued"))
    return View(row, "working", f"Reading task {row.task_id} from Wiro.", now, poll_of(False))


def _new_row(
    owner: str,
    tool: str,
    preview: PreviewKind,
    viewer: bool,
    ttl_ms: int,
    *,
    task: TaskResult | None = None,
    pending: dict[str, Any] | None = None,
) -> HandleRow:
    now = time.time()
    return HandleRow(
        id=secrets.token_urlsafe(18),
        owner=owner,
        task_id=task.task_id if task is not None else None,
        token=task.task_token if task is not None else None,
        tool=tool,
        shown={"preview": preview, "viewer": viewer},
        pending=pending,
        ended=None,
        created=now,
        expires=now + ttl_ms / 1000,
    )


def _ended(view: View) -> str:
    what = f"Task {view.row.task_id}" if view.row.task_id is not None else "This call"
    return f"{what} has already ended ({view.status}); nothing was stopped."
