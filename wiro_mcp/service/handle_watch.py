"""One handle's live state in this process (service/handles.py keeps them), and the loop that follows
its Wiro task: the way get_task waits (the socket, else polls), in long waits until the task ends and
its result is delivered, or the handle's time to live runs out. A Wiro that cannot be read is asked
again, with backoff; the host keeps seeing the last state, and what went wrong. Nothing that goes
wrong in one follow can reach the server: it is logged, and the follow tries again."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import anyio

from .. import budgets, people
from ..errors import NotFoundError, WiroMCPError
from ..journal.handle_rows import HandleRow
from ..media.outcome import Outcome
from ..results import LISTED_OUTPUTS, PreviewKind, TaskResult
from ..tracking.progress import Update
from ..wiro.protocol import QUEUED_STATUSES
from ..wiro.refs import TaskRef
from .ports import Reads

log = logging.getLogger(__name__)

Status = Literal["working", "input_required", "completed", "cancelled"]

# A tasks/get never reaches Wiro (the socket, or our own polls, follow the task), so a host's poll costs
# a lookup here: every second while it runs, so progress shows; every two while Wiro queues it.
NOTES_KEPT = 10  # of an ended handle's notes, in the journal


class UnknownHandle(WiroMCPError):
    """No such task for this caller: unknown, another owner's, or expired."""


class HandleEnded(WiroMCPError):
    """A stop asked for a task that has already ended: nothing changes."""


class StopUnconfirmed(WiroMCPError):
    """Wiro took the stop but has not applied it yet: the task may still run (and be billed)."""


def ttl_of(asked_ms: int | None) -> int:
    """The time to live a handle gets: what the host asked for, within a minute and a week."""
    if asked_ms is None:
        return budgets.TASK_TTL_MS
    return max(budgets.TASK_TTL_MIN_MS, min(budgets.TASK_TTL_MAX_MS, int(asked_ms)))


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

    @property
    def expired(self) -> bool:
        return self.row.expires is not None and self.row.expires < time.time()

    @property
    def failed(self) -> bool:
        """Ended with an error result: the Wiro task failed, or the call started nothing (a refusal)."""
        if self.status != "completed":
            return False
        return self.refusal is not None or (self.outcome is not None and self.outcome.result.state == "failed")

    def ending(self) -> dict[str, Any]:
        """How this view ended, as the journal keeps it for good (the result without its previews)."""
        ended: dict[str, Any] = {"status": self.status, "message": self.message, "refusal": self.refusal}
        if self.outcome is not None:
            result = self.outcome.result
            listed = result.model_copy(
                update={"outputs": result.outputs[:LISTED_OUTPUTS], "outputs_left_out": _left_out(result) or None}
            )
            ended["outcome"] = {
                "result": listed.model_dump(mode="json", exclude_none=True),
                "notes": self.outcome.notes[:NOTES_KEPT],
                "headline": self.outcome.headline,
            }
        return ended


Listener = Callable[[View], Awaitable[None]]


@dataclass
class Watch:
    """A handle's live state in this process, and the follow loop that keeps it."""

    view: View
    done: anyio.Event = field(default_factory=anyio.Event)
    listeners: list[Listener] = field(default_factory=list)
    started: bool = False
    answering: anyio.Lock = field(default_factory=anyio.Lock)  # one answer replays the call at a time

    async def follow(self, service: Reads) -> None:
        """Wait for the task to end, as get_task does, and keep its result; give up when the handle expires."""
        row = self.view.row
        assert row.task_id is not None  # only a handle with a task is followed
        pause = 1.0

        async def on_update(update: Update) -> None:
            queued = update.status in QUEUED_STATUSES
            await self.change(message=update.message, poll_ms=poll_of(queued))

        while not self.done.is_set() and not self.view.expired:
            left = budgets.HANDLE_FOLLOW if row.expires is None else max(0.0, row.expires - time.time())
            try:
                with people.acting_as(people.of_owner(row.owner)):
                    outcome = await service.get(
                        TaskRef(task_id=row.task_id),
                        wait=min(budgets.HANDLE_FOLLOW, left),
                        preview=row.shown.get("preview", "views"),
                        viewer=bool(row.shown.get("viewer")),
                        on_update=on_update,
                        host_call=False,
                    )
            except WiroMCPError as exc:
                if isinstance(exc.__cause__, NotFoundError):  # Wiro has no such task: it will not come back
                    await self.end("completed", f"Task {row.task_id} is not known to Wiro.", None, refusal=str(exc))
                    return
                await self.change(message=f"Wiro could not be read ({exc}); asking again.")
            except Exception:  # a fault of ours must not end the server: this follow tries again
                log.exception("following task %s for an MCP task failed", row.task_id)
            else:
                result = outcome.result
                if result.state == "cancelled":
                    await self.end("cancelled", f"Task {result.task_id} was cancelled.", outcome)
                elif result.state in ("succeeded", "failed"):
                    await self.end("completed", f"Task {result.task_id} {result.state}.", outcome)
                else:
                    await self.change(message=message_of(result), poll_ms=poll_of(result.state == "queued"))
                pause = 1.0
                continue
            await anyio.sleep(pause)
            pause = min(pause * 2, 30.0)

    async def stopped(self, outcome: Outcome, confirm: float) -> None:
        """Wiro took a stop (`outcome`: its record then): cancelled now, or once the follow sees Wiro apply it
        within `confirm` s. StopUnconfirmed when it does not; HandleEnded when the task ended otherwise first
        (a cancel's answer is never a task that was not cancelled). `confirm` 0: no waiting."""
        if outcome.result.state == "cancelled":
            await self.end("cancelled", outcome.headline or "Cancelled.", outcome)
            return
        if confirm <= 0:
            return
        with anyio.move_on_after(confirm):  # the follow loop sees the stop when Wiro applies it
            await self.done.wait()
        if not self.done.is_set():
            raise StopUnconfirmed(
                f"Wiro accepted the stop of task {self.view.row.task_id} but has not applied it within {confirm:g} "
                f"s: it may still run, and be billed. {self.view.message} tasks/get shows how it ends."
            )
        if self.view.status != "cancelled":
            raise HandleEnded(ended_words(self.view))

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
                with anyio.fail_after(budgets.STATUS_SEND):
                    await listener(self.view)
            except Exception as exc:  # a host that went away (or hangs) stops hearing, nothing else
                log.debug("a task status listener failed: %r", exc)
                self.listeners.remove(listener)


def first_view(row: HandleRow, initial: TaskResult | None) -> View:
    """A handle as this process first sees it: from the call that started it, or from the journal. One the
    journal says has ended stays as it ended (its result as recorded): a final state never moves again."""
    now = time.time()
    if row.ended is not None:
        status: Status = "cancelled" if row.ended.get("status") == "cancelled" else "completed"
        message, refusal = str(row.ended.get("message", "")), row.ended.get("refusal")
        return View(
            row, status, message, now, budgets.POLL_QUEUED_MS, outcome=_recorded_outcome(row.ended), refusal=refusal
        )
    if row.task_id is None:
        return View(row, "input_required", waiting_for(row.pending), now, budgets.POLL_QUEUED_MS)
    if initial is not None:
        return View(row, "working", message_of(initial), now, poll_of(initial.state == "queued"))
    return View(row, "working", f"Reading task {row.task_id} from Wiro.", now, poll_of(False))


def _recorded_outcome(ended: dict[str, Any]) -> Outcome | None:
    """The outcome the journal recorded at a handle's end; None when there is none (or it does not read)."""
    recorded = ended.get("outcome")
    if not isinstance(recorded, dict):
        return None
    try:
        result = TaskResult.model_validate(recorded.get("result"))
    except ValueError:
        log.warning("the recorded result of an MCP task does not read; it is shown without it")
        return None
    notes = [str(note) for note in recorded.get("notes") or []][:NOTES_KEPT]
    headline = recorded.get("headline")
    notes.append("Previews are not kept once a task has ended: get_task with its task_id shows them again.")
    return Outcome(result, notes=notes, headline=headline if isinstance(headline, str) else None)


def _left_out(result: TaskResult) -> int:
    return (result.outputs_left_out or 0) + max(0, len(result.outputs) - LISTED_OUTPUTS)


def new_row(
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


def waiting_for(pending: dict[str, Any] | None) -> str:
    return f"Waiting for the person's answer: {(pending or {}).get('question') or 'Run it?'}"


def poll_of(queued: bool) -> int:
    return budgets.POLL_QUEUED_MS if queued else budgets.POLL_RUNNING_MS


def message_of(result: TaskResult) -> str:
    """A task's status in the words progress uses ("Task 1001: generating step 6/10 (task_output)")."""
    return f"Task {result.task_id}: {result.state} ({result.status})"


def ended_words(view: View) -> str:
    """Why a stop changed nothing: the task had ended."""
    what = f"Task {view.row.task_id}" if view.row.task_id is not None else "This call"
    return f"{what} has already ended ({view.status}); nothing was stopped."
