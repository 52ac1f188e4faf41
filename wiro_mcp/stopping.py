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

from .client import WiroClient
from .errors import CallFailed, InvalidRequestError, WiroMCPError
from .models import Task, TaskRef
from .protocol import TaskState


class TaskEnded(CallFailed):
    """A stop was asked for a task that has already ended."""

    def __init__(self, task: Task) -> None:
        super().__init__(f"Task {task.id} has already ended ({task.state.value}); there is nothing to stop.")
        self.task = task


@dataclass(frozen=True)
class _Request:
    endpoint: str
    done: str
    send: Callable[[], Awaitable[Task | None]]


async def stop_task(client: WiroClient, ref: TaskRef, deadline: float) -> tuple[Task, str]:
    """Stop the task; returns its record afterwards and what was done ("cancelled while queued" or
    "killed while running"). Raises TaskEnded, CallFailed (two refusals) or the WiroError of a read."""
    task = await client.task_detail(ref, deadline=deadline)
    if task.state.terminal:
        raise TaskEnded(task)
    by_id = TaskRef(task_id=task.id)
    cancel = _Request("Task/Cancel", "cancelled while queued", lambda: client.cancel(task.id, deadline=deadline))
    kill = _Request("Task/Kill", "killed while running", lambda: client.kill(by_id, deadline=deadline))
    refusals: list[str] = []
    for request in (cancel, kill) if task.state is TaskState.QUEUED else (kill, cancel):
        try:
            answer = await request.send()
        except InvalidRequestError as exc:
            refusals.append(f"{request.endpoint} answered {exc.message!r}")
            continue
        if answer is None or not answer.state.terminal:
            answer = await client.task_detail(by_id, deadline=deadline)
        return answer, request.done
    latest = await client.task_detail(by_id, deadline=deadline)
    if latest.state.terminal:
        raise TaskEnded(latest)
    raise CallFailed(f"Wiro refused to stop task {task.id} ({latest.status}): {'; '.join(refusals)}.")


async def stop_quietly(
    client: WiroClient, ref: TaskRef, deadline: float, *, seen: Callable[[Task], None] | None = None
) -> str:
    """The same stop, for when nobody waits for an answer (the person pressed stop): what happened, in words."""
    try:
        task, done = await stop_task(client, ref, deadline)
    except TaskEnded as exc:
        return f"left alone (already {exc.task.state.value})"
    except WiroMCPError as exc:
        return f"could not be stopped: {exc}"
    if seen is not None:
        seen(task)
    return done
