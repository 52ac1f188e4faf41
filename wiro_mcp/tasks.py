"""The one place that waits for a Wiro task.

`wait_for_task` polls Task/Detail until the task is terminal or the deadline passes. The interval
starts short (fast jobs come back fast) and grows (slow jobs cost few requests). Transient errors
while polling are survived; each status change is reported to a callback, which the server turns
into MCP progress notifications.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from .client import WiroClient
from .errors import WiroError
from .models import Task

log = logging.getLogger(__name__)

OnUpdate = Callable[[Task], Awaitable[None]]


@dataclass(frozen=True)
class PollPolicy:
    initial: float = 0.25
    factor: float = 1.5
    maximum: float = 3.0

    def intervals(self) -> _Intervals:
        return _Intervals(self)


class _Intervals:
    def __init__(self, policy: PollPolicy) -> None:
        self._policy = policy
        self._next = policy.initial

    def __next__(self) -> float:
        current = self._next
        self._next = min(self._policy.maximum, current * self._policy.factor)
        return current

    def __iter__(self) -> _Intervals:
        return self


@dataclass(frozen=True)
class TaskRef:
    """A task named by its id or by its socket access token (exactly one)."""

    task_id: str | None = None
    task_token: str | None = None

    def __post_init__(self) -> None:
        if (self.task_id is None) == (self.task_token is None):
            raise ValueError("a task is named by exactly one of task_id and task_token")


async def fetch(client: WiroClient, ref: TaskRef) -> Task:
    return await client.task_detail(task_id=ref.task_id, task_token=ref.task_token)


async def wait_for_task(
    client: WiroClient,
    ref: TaskRef,
    timeout: float,
    *,
    on_update: OnUpdate | None = None,
    policy: PollPolicy = PollPolicy(),
    first: Task | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> Task:
    """Wait up to `timeout` seconds for the task to end; return its latest snapshot either way.

    The caller reads `task.state.terminal` to know which. `first`, when given, is a snapshot
    the caller already has (no request is spent on it). Errors that will not go away
    (bad credentials, unknown task) are raised at once; transient ones are retried until the
    deadline, and raised only if no snapshot at all could be read.
    """
    deadline = clock() + max(0.0, timeout)
    intervals = policy.intervals()
    latest = first
    last_status = None
    last_error: WiroError | None = None
    if latest is not None:
        last_status = latest.status
        if on_update is not None:
            await on_update(latest)
    while latest is None or not latest.state.terminal:
        if latest is not None or last_error is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            await sleep(min(next(intervals), remaining))
        try:
            latest = await fetch(client, ref)
            last_error = None
        except WiroError as exc:
            if not exc.transient:
                raise
            log.info("polling task %s: %s (will retry)", ref.task_id or "by token", exc.message)
            last_error = exc
            if clock() >= deadline:
                break
            continue
        if latest.status != last_status:
            last_status = latest.status
            if on_update is not None:
                await on_update(latest)
    if latest is None:
        assert last_error is not None
        raise last_error
    return latest
