"""Stopping a task whichever way Wiro allows. The one function every stop goes through: kill_task,
cancel_task, and the stop that follows a person pressing stop on a waiting call.

Wiro's docs say Task/Cancel is "for tasks on queue" and Task/Kill stops a running task, but not
which statuses count as queued. Our guess (protocol.QUEUED_STATUSES) picks the request to send
first; when Wiro refuses it (the task's state is not what we guessed), the other one goes. Only
two refusals are an error, and then it quotes both of Wiro's answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from ..errors import CallFailed, InvalidRequestError, WiroMCPError
from ..text import clip
from ..wiro.answers import Task
from ..wiro.client import WiroClient
from ..wiro.protocol import TaskState
from ..wiro.refs import TaskRef


class TaskEnded(CallFailed):
    """A stop was asked for a task that has already ended."""

    def __init__(self, task: Task) -> None:
        super().__init__(f"Task {task.id} has already ended ({task.state.value}); there is nothing to stop.")
        self.task = task


@dataclass(frozen=True)
class _Request:
    endpoint: str
    send: Callable[[], Awaitable[Task | None]]


@dataclass(frozen=True)
class Stopped:
    """A task stopped: its record afterwards, the request that stopped it, and the one Wiro refused first."""

    task: Task
    sent: str  # "Task/Cancel" or "Task/Kill"
    refused: str | None = None

    @property
    def done(self) -> str:
        """What happened, in two words (for the log)."""
        return "cancelled while queued" if self.sent == CANCEL else "killed while running"

    @property
    def applied(self) -> bool:
        """Whether Wiro's record already shows the task ended (a stop may be applied later than it is accepted)."""
        return self.task.state.terminal

    def line(self) -> str:
        """What finally happened, in one sentence for the agent."""
        task = f"Task {self.task.id}"
        if not self.applied:
            return (
                f"Wiro accepted the stop of task {self.task.id} ({self.sent}) but it still reads "
                f"{self.task.state.value} ({self.task.status}): get_task shows when it stops."
            )
        if self.sent == CANCEL:
            if self.refused:
                return f"{task} was still queued, so Task/Kill was refused; Task/Cancel removed it from the queue."
            return f"{task} was removed from the queue (Task/Cancel) before it ran."
        if self.refused:
            return f"{task} had already left the queue, so Task/Cancel was refused; it was stopped with Task/Kill."
        return f"{task} was stopped while running (Task/Kill)."


CANCEL, KILL = "Task/Cancel", "Task/Kill"
First = Literal["cancel", "kill"]


async def stop_task(client: WiroClient, ref: TaskRef, deadline: float, *, first: First | None = None) -> Stopped:
    """Stop the task, sending `first` first (cancel_task: Task/Cancel; kill_task: Task/Kill; None: our
    guess of the task's state picks) and the other one if Wiro refuses it. Raises TaskEnded, CallFailed
    (two refusals) or the WiroError of a read."""
    task = await client.task_detail(ref, deadline=deadline)
    if task.state.terminal:
        raise TaskEnded(task)
    by_id = TaskRef(task_id=task.id)
    cancel = _Request(CANCEL, lambda: client.cancel(task.id, deadline=deadline))
    kill = _Request(KILL, lambda: client.kill(by_id, deadline=deadline))
    cancel_first = first == "cancel" if first is not None else task.state is TaskState.QUEUED
    refusals: list[str] = []
    for request in (cancel, kill) if cancel_first else (kill, cancel):
        try:
            answer = await request.send()
        except InvalidRequestError as exc:
            refusals.append(f"{request.endpoint} answered {clip(exc.message, 200)}")
            continue
        if answer is None or not answer.state.terminal:
            answer = await client.task_detail(by_id, deadline=deadline)
        return Stopped(
            answer, request.endpoint, refused=(kill if request is cancel else cancel).endpoint if refusals else None
        )
    latest = await client.task_detail(by_id, deadline=deadline)
    if latest.state.terminal:
        raise TaskEnded(latest)
    raise CallFailed(f"Wiro refused to stop task {task.id} ({latest.status}): {'; '.join(refusals)}.")


async def stop_quietly(
    client: WiroClient, ref: TaskRef, deadline: float, *, seen: Callable[[Task], None] | None = None
) -> str:
    """The same stop, for when nobody waits for an answer (the person pressed stop): what happened, in words."""
    try:
        stopped = await stop_task(client, ref, deadline)
    except TaskEnded as exc:
        return f"left alone (already {exc.task.state.value})"
    except WiroMCPError as exc:
        return f"could not be stopped: {exc}"
    if seen is not None:
        seen(stopped.task)
    return stopped.done
