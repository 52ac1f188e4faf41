"""One handle's live state in this process (service/handles.py keeps them), and the loop that follows
its Wiro task: the way get_task waits (the socket, else polls), in long waits until the task ends and
its result is delivered. A Wiro that cannot be read is asked again, with backoff; the host keeps
seeing the last state, and what went wrong."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import anyio

from .. import budgets
from ..errors import NotFoundError, WiroMCPError
from ..journal.handles import HandleRow
from ..media.delivery import Outcome
from ..results import TaskResult
from ..tracking.progress import Update
from ..wiro.protocol import QUEUED_STATUSES
from ..wiro.refs import TaskRef

if TYPE_CHECKING:
    from .generation import Generation

log = logging.getLogger(__name__)

Status = Literal["working", "input_required", "completed", "cancelled"]

# A tasks/get never reaches Wiro (the socket, or our own polls, follow the task), so a host's poll costs
# a lookup here: every second while it runs, so progress shows; every two while Wiro queues it.
POLL_QUEUED_MS = 2000
POLL_RUNNING_MS = 1000


@dataclass
class View:
    """A handle as a host sees it now."""

    row: HandleRow
    status: Status
    message: str
    updated: float
    poll_ms: int
    outcome: Outcome | None = None  # once completed or cancelled
    refusal: str | None = None  # completed without a task: what the call answered (a decline, a limit)

    @property
    def ttl_ms(self) -> int | None:
        return None if self.row.expires is None else round((self.row.expires - self.row.created) * 1000)


Listener = Callable[[View], Awaitable[None]]


@dataclass
class Watch:
    """A handle's live state in this process, and the follow loop that keeps it."""

    view: View
    done: anyio.Event = field(default_factory=anyio.Event)
    listeners: list[Listener] = field(default_factory=list)
    started: bool = False
    answering: anyio.Lock = field(default_factory=anyio.Lock)  # one answer replays the call at a time

    async def follow(self, service: Generation) -> None:
        """Wait for the task to end, as get_task does, and keep its result; a Wiro that cannot be read is
        asked again (the host keeps seeing the last state, with what went wrong)."""
        row = self.view.row
        assert row.task_id is not None  # only a handle with a task is followed
        pause = 1.0

        async def on_update(update: Update) -> None:
            queued = update.status in QUEUED_STATUSES
            await self.change(message=f"Wiro: {update.message}", poll_ms=poll_of(queued))

        while not self.done.is_set():
            try:
                outcome = await service.get(
                    TaskRef(task_id=row.task_id),
                    wait=budgets.HANDLE_FOLLOW,
                    preview=row.shown.get("preview", "views"),
                    viewer=bool(row.shown.get("viewer")),
                    on_update=on_update,
                )
            except WiroMCPError as exc:
                if isinstance(exc.__cause__, NotFoundError):  # Wiro has no such task: it will not come back
                    await self.end("completed", f"Task {row.task_id} is not known to Wiro.", None, refusal=str(exc))
                    return
                await self.change(message=f"Wiro could not be read ({exc}); asking again.")
                await anyio.sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            pause = 1.0
            result = outcome.result
            if result.state == "cancelled":
                await self.end("cancelled", f"Task {result.task_id} was cancelled.", outcome)
            elif result.state in ("succeeded", "failed"):
                await self.end("completed", f"Task {result.task_id} {result.state}.", outcome)
            else:
                await self.change(message=message_of(result), poll_ms=poll_of(result.state == "queued"))

    async def change(self, *, message: str, poll_ms: int | None = None) -> None:
        if self.done.is_set():
            return
        view = self.view
        if message == view.message and (poll_ms is None or poll_ms == view.poll_ms):
            return
        self.view = replace(view, message=message, updated=time.time(), poll_ms=poll_ms or view.poll_ms)
        await self.tell()

    async def end(self, status: Status, message: str, outcome: Outcome | None, *, refusal: str | None = None) -> None:
        if self.done.is_set():
            return
        self.view = replace(
            self.view, status=status, message=message, updated=time.time(), outcome=outcome, refusal=refusal
        )
        self.done.set()
        await self.tell()

    async def tell(self) -> None:
        for listener in list(self.listeners):
            try:
                await listener(self.view)
            except Exception as exc:  # a host that went away stops hearing, nothing else
                log.debug("a task status listener failed: %r", exc)
                self.listeners.remove(listener)


def poll_of(queued: bool) -> int:
    return POLL_QUEUED_MS if queued else POLL_RUNNING_MS


def message_of(result: TaskResult) -> str:
    return f"Wiro: task {result.task_id} is {result.state} ({result.status})."
