"""MCP tasks, without MCP: the handle a host holds on one Wiro task, instead of an open call.

The MCP task is the Wiro task. A generate call that a host asked to run as a task starts (or joins)
its Wiro task exactly as a plain call does, with no wait; `hold()` then writes the handle to the
journal (durably: `tasks/get` must find it before the host hears its id; a journal that lives only
in memory does not count) and follows the task in the background (handle_watch.py) until it ends
and its result is delivered. What the host sees:

- `working` while Wiro queues or runs it, with Wiro's status and progress in the message and a
  poll interval that follows what Wiro is doing (slower while queued);
- `completed` once the result is delivered: the same result the plain call gives (a task Wiro
  failed is a completed call whose result is an error, as MCP wants);
- `cancelled` once Wiro confirms a stop;
- `input_required` while the call waits for the person's yes (2026-07-28 hosts): no Wiro task
  exists yet; the answer replays the call (`pending`), which starts the run or ends the handle with
  the call's refusal (a decline is an error result, and no Run is sent).

A look never waits on Wiro (a hanging Wiro leaves the last state seen); a handle this process did
not start (a restart, another server on the same journal) is read from the journal and followed
again on first look. A handle is another owner's, unknown or past its time to live: all three read
as not found, so an id reveals nothing.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .. import budgets, people
from ..journal.access import Journal
from ..journal.handle_rows import HandleRow
from ..journal.records import JournalError
from ..results import PreviewKind, TaskResult
from ..wiro.refs import TaskRef
from .handle_watch import (
    HandleEnded,
    Listener,
    Status,
    UnknownHandle,
    View,
    Watch,
    ended_words,
    first_view,
    message_of,
    new_row,
    poll_of,
    waiting_for,
)
from .ports import Reads
from .stopping import TaskEnded

log = logging.getLogger(__name__)

KEPT_DONE = 32  # ended handles whose results (previews too) stay in memory; older ones are delivered again
KEPT_WAITING = 256  # handles waiting for an answer kept in memory; older ones are read from the journal again
PAGE = 100  # tasks/list's page


class Handles:
    def __init__(self, journal: Journal, tasks: Reads) -> None:
        self._journal = journal
        self._tasks = tasks
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
    ) -> View:
        """A handle on the task a call just started (or joined). Raises JournalError when the journal cannot
        keep it: then no handle exists, and the caller returns the plain result instead."""
        row = new_row(owner, tool, preview, viewer, ttl_ms, task=started)
        await self._keep_durably(row)
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
        row = new_row(owner, tool, preview, viewer, ttl_ms, pending=pending | {"question": question})
        await self._keep_durably(row)
        return self._watch(row).view

    @asynccontextmanager
    async def answering(self, owner: str, handle_id: str) -> AsyncIterator[dict[str, Any] | None]:
        """The call a handle waits to replay with the person's answer (None when it waits for nothing now:
        answered already, here or by another server on this journal); one answer at a time. The replay's
        outcome goes to started(), refused() or asked()."""
        watch = await self._find(owner, handle_id)
        async with watch.answering:
            if watch.view.row.task_id is None and not watch.done.is_set():
                await self._catch_up(watch)
            yield watch.view.row.pending if watch.view.status == "input_required" else None

    async def started(self, owner: str, handle_id: str, started: TaskResult) -> View:
        """The answered call started (or joined) its task: the handle follows it from now on. Never raises
        for the journal: the Run has gone, so the handle goes on in memory (and the log says so)."""
        watch = await self._find(owner, handle_id)
        row = replace(watch.view.row, task_id=started.task_id, token=started.task_token, pending=None)
        try:
            await self._journal.keep_handle(row)
        except JournalError as exc:
            log.warning("MCP task %s (task %s) is kept in memory only: %s", handle_id, started.task_id, exc)
        poll = poll_of(started.state == "queued")
        watch.view = replace(watch.view, row=row, status="working", message=message_of(started), poll_ms=poll)
        self._start(watch)
        return watch.view

    async def asked(self, owner: str, handle_id: str, pending: dict[str, Any], question: str) -> View:
        """The answered call has another question: the handle keeps waiting, on that one."""
        watch = await self._find(owner, handle_id)
        row = replace(watch.view.row, pending=pending | {"question": question})
        await self._journal.keep_handle(row)
        watch.view = replace(watch.view, row=row, message=waiting_for(row.pending), updated=time.time())
        await watch.tell()
        return watch.view

    async def refused(self, owner: str, handle_id: str, refusal: str) -> View:
        """The answered call started nothing (declined, over a limit): the handle is completed with that."""
        return await self._end_without_task(await self._find(owner, handle_id), "completed", "Not started.", refusal)

    async def hold_refused(
        self, owner: str, refusal: str, *, tool: str, preview: PreviewKind, viewer: bool, ttl_ms: int
    ) -> View:
        """A handle on a call asked to run as a task that started nothing (bad arguments, a limit, a decline):
        created ended, with the refusal as its result, so the host gets a task as it asked. Raises
        JournalError as hold() does."""
        row = new_row(owner, tool, preview, viewer, ttl_ms)
        ended = replace(row, ended={"status": "completed", "message": "Not started.", "refusal": refusal})
        await self._keep_durably(ended)
        return self._watch(ended).view

    async def look(self, owner: str, handle_id: str) -> View:
        """The handle as it is now: never waits on Wiro."""
        watch = await self._find(owner, handle_id)
        if watch.view.row.task_id is None and not watch.done.is_set():
            await self._catch_up(watch)  # another server on this journal may have had the answer
        return watch.view

    async def finished(self, owner: str, handle_id: str) -> View:
        """The handle once it has ended (its result delivered)."""
        watch = await self._find(owner, handle_id)
        await watch.done.wait()
        return watch.view

    async def listed(self, owner: str, cursor: int = 0) -> tuple[list[View], int | None]:
        """One page of the owner's handles, newest first, and the next page's cursor (None: the last page).
        Listing follows nothing: a handle not seen in this process shows its last recorded state."""
        rows = await self._journal.handles_of(owner, time.time(), PAGE + 1, cursor)
        views = [watch.view if (watch := self._watches.get(row.id)) else first_view(row, None) for row in rows]
        return views[:PAGE], (cursor + PAGE if len(rows) > PAGE else None)

    async def cancel(self, owner: str, handle_id: str, *, confirm: float = 0.0) -> View:
        """Stop the task whichever way Wiro allows; the handle is cancelled once Wiro confirms. With `confirm`,
        wait up to that many seconds for the confirmation: StopUnconfirmed when it does not come, HandleEnded
        when the task ended some other way first (a cancel's answer is never a task that was not cancelled)."""
        watch = await self._find(owner, handle_id)
        async with watch.answering:  # an answer being replayed now decides first whether a task starts
            if watch.view.row.task_id is None and not watch.done.is_set():
                await self._catch_up(watch)
            if watch.view.row.task_id is None and not watch.done.is_set():  # waiting for the person
                return await self._end_without_task(watch, "cancelled", "Cancelled before anything started.", None)
        task_id = watch.view.row.task_id
        if task_id is None or watch.done.is_set():
            raise HandleEnded(ended_words(watch.view))
        try:
            with people.acting_as(people.of_owner(watch.view.row.owner)):
                outcome = await self._tasks.stop(TaskRef(task_id=task_id))
        except TaskEnded:
            with anyio.move_on_after(budgets.READ_BUDGET):
                await watch.done.wait()
            raise HandleEnded(ended_words(watch.view)) from None
        await watch.stopped(outcome, confirm)
        if watch.view.status == "cancelled":
            await self._record_end(watch)
        return watch.view

    # -- the handles of this process ----------------------------------------------------------

    async def _keep_durably(self, row: HandleRow) -> None:
        journal = self._journal
        await journal.keep_handle(row)
        memory_only = journal.status().memory_only
        if memory_only:  # a restart would lose it: not an MCP task, then
            raise JournalError(journal.status().where, memory_only)

    async def _find(self, owner: str, handle_id: str) -> Watch:
        watch = self._watches.get(handle_id)
        row = watch.view.row if watch is not None else await self._journal.handle(handle_id)
        if row is None or row.owner != owner:
            raise UnknownHandle("Task not found")
        if row.expires is not None and row.expires < time.time():
            self._watches.pop(handle_id, None)
            raise UnknownHandle("Task has expired")
        return self._watch(row)

    async def _catch_up(self, watch: Watch) -> None:
        """A handle waiting for an answer, as the journal has it now (another server may have had it)."""
        row = await self._journal.handle(watch.view.row.id)
        if row is None or (row.task_id is None and row.ended is None):
            return
        if row.ended is not None:  # it ended there: as it ended, for good
            fresh = first_view(row, None)
            watch.view = replace(watch.view, row=row)
            await watch.end(fresh.status, fresh.message, fresh.outcome, refusal=fresh.refusal)
        else:
            watch.view = replace(watch.view, row=row, status="working", message=f"Reading task {row.task_id}.")
            self._start(watch)

    async def _end_without_task(self, watch: Watch, status: Status, message: str, refusal: str | None) -> View:
        """A handle whose call started nothing ends, and stays so in the journal (a restart shows it ended)."""
        row = replace(watch.view.row, pending=None, ended={"status": status, "message": message, "refusal": refusal})
        await self._journal.keep_handle(row)
        watch.view = replace(watch.view, row=row)
        await watch.end(status, message, None, refusal=refusal)
        return watch.view

    def _watch(self, row: HandleRow, initial: TaskResult | None = None) -> Watch:
        watch = self._watches.get(row.id)
        if watch is None:
            watch = self._watches[row.id] = Watch(first_view(row, initial))
            if watch.view.status in ("completed", "cancelled"):
                watch.done.set()
            self._forget_old()
        self._watches.move_to_end(row.id)
        self._start(watch)
        return watch

    def _start(self, watch: Watch) -> None:
        if not watch.started and watch.view.row.task_id is not None and self._group is not None:
            watch.started = True
            self._group.start_soon(self._follow, watch)

    async def _follow(self, watch: Watch) -> None:
        await watch.follow(self._tasks)
        if watch.done.is_set():  # a restart (or another server) shows how it ended, and it stays so
            await self._record_end(watch)
        else:  # expired: forgotten
            self._watches.pop(watch.view.row.id, None)

    async def _record_end(self, watch: Watch) -> None:
        if watch.view.row.ended is not None:
            return
        row = replace(watch.view.row, ended=watch.view.ending())
        try:
            await self._journal.keep_handle(row)
        except JournalError as exc:
            log.info("the end of MCP task %s was not written: %s", row.id, exc)
            return
        watch.view = replace(watch.view, row=row)

    def _forget_old(self) -> None:
        """Bounded memory: expired handles go, and the oldest ended or waiting ones beyond their caps (the
        journal has them; a later look reads them again). Handles being followed stay until they end."""
        for key in [key for key, watch in self._watches.items() if watch.view.expired and not watch.started]:
            del self._watches[key]
        ended = [key for key, watch in self._watches.items() if watch.done.is_set()]
        waiting = [key for key, watch in self._watches.items() if not watch.started and not watch.done.is_set()]
        for key in ended[: max(0, len(ended) - KEPT_DONE)] + waiting[: max(0, len(waiting) - KEPT_WAITING)]:
            del self._watches[key]
