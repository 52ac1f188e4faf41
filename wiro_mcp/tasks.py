"""The one place that waits for a Wiro task.

`wait_for_task` returns when the task is terminal or the deadline passes, whichever is first.
With a TaskSocket it follows Wiro's push messages: progress as it happens, and one Task/Detail
read when the socket says the task ended. Whenever the socket is down or silent it polls
instead, with an interval that starts short (fast answers for fast jobs) and grows (few requests
for slow ones); while the socket is healthy a slow safety poll still runs, so a lost message can
never leave a task hanging. Transient errors while polling are survived. Each change is reported
to a callback, which the server turns into MCP progress notifications.
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
from .protocol import status_label, status_progress
from .push import SocketEvent, TaskSocket

log = logging.getLogger(__name__)

# Socket statuses after which the final record is read at once.
_END_EVENTS = frozenset({"task_postprocess_end", "task_cancel", "task_error", ""})


@dataclass(frozen=True)
class Update:
    """A progress report: Wiro's status, a 0..1 fraction that never goes down, and a short text."""

    task_id: str
    status: str
    fraction: float
    message: str


OnUpdate = Callable[[Update], Awaitable[None]]


@dataclass(frozen=True)
class PollPolicy:
    initial: float = 0.25
    factor: float = 1.5
    maximum: float = 3.0
    # While the socket is healthy, polls only guard against a lost message.
    safety: float = 10.0

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


class _Reporter:
    """Turns snapshots and socket events into updates: each change once, fractions never falling."""

    def __init__(self, task_id: str, on_update: OnUpdate | None) -> None:
        self.task_id = task_id
        self._on_update = on_update
        self._last: tuple[str, str] | None = None
        self._fraction = 0.0

    async def status(self, status: str, percentage: float | None = None, step: str = "") -> None:
        if self._on_update is None or not status:
            return
        message = f"Task {self.task_id}: {status_label(status)}{f' {step}' if step else ''} ({status})"
        if (status, message) == self._last:
            return
        self._last = (status, message)
        self._fraction = max(self._fraction, status_progress(status, percentage))
        await self._on_update(Update(self.task_id, status, self._fraction, message))

    async def task(self, task: Task) -> None:
        await self.status(task.status)

    async def event(self, event: SocketEvent) -> None:
        step = f"step {event.step}/{event.total}" if event.step is not None and event.total else ""
        await self.status(event.status, event.percentage, step)


async def wait_for_task(
    client: WiroClient,
    ref: TaskRef,
    timeout: float,
    *,
    on_update: OnUpdate | None = None,
    policy: PollPolicy = PollPolicy(),
    first: Task | None = None,
    socket: TaskSocket | None = None,
    socket_token: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> Task:
    """Wait up to `timeout` seconds for the task to end; return its latest snapshot either way.

    The caller reads `task.state.terminal` to know which. `first`, when given, is a snapshot
    the caller already has (no request is spent on it); `socket_token` lets a task named by id
    be followed on the socket from the start. Errors that will not go away (bad
    credentials, unknown task) are raised at once; transient ones are retried until the
    deadline, and raised only if no snapshot at all could be read.
    """
    deadline = clock() + max(0.0, timeout)
    intervals = policy.intervals()
    reporter = _Reporter(ref.task_id or (first.id if first else "?"), on_update)
    latest = first
    last_error: WiroError | None = None
    token = socket_token or ref.task_token or (first.socket_token if first else None)
    watcher = socket.watch(token) if socket is not None and token else None
    if latest is not None:
        await reporter.task(latest)
    # Two schedules: the growing poll (no socket, or one that is down or silent) and the slow
    # safety poll (socket healthy). With a socket the first read waits a moment for it.
    started = clock()
    poll_due = started if latest is None and watcher is None else started + next(intervals)
    # A snapshot handed in counts as read now: with no time to wait, it is returned as it is.
    last_read = started if first is not None else float("-inf")
    try:
        while latest is None or not latest.state.terminal:
            now = clock()
            if now >= deadline and last_read >= deadline:
                break  # the snapshot we return was read at the deadline, so it is fresh
            healthy = watcher is not None and socket is not None and socket.healthy
            next_poll = max(last_read, started) + policy.safety if healthy else poll_due
            read_now = now >= next_poll or now >= deadline
            if not read_now:
                wake = min(next_poll, deadline)
                if watcher is None:
                    await sleep(wake - now)
                    continue
                # Wake for a message, at the next poll, or when the socket would turn silent.
                recheck = socket.healthy_for if socket is not None and healthy else 1.0
                with anyio.move_on_after(max(0.01, min(wake - now, recheck))):
                    await watcher.changed.wait()
                for event in watcher.drain():
                    await reporter.event(event)
                    read_now = read_now or event.status in _END_EVENTS
                if not read_now:
                    continue
            last_read = clock()
            try:
                latest = await fetch(client, ref)
                last_error = None
                if reporter.task_id == "?":
                    reporter.task_id = latest.id
                await reporter.task(latest)
                if watcher is None and socket is not None and latest.socket_token:
                    watcher = socket.watch(latest.socket_token)
            except WiroError as exc:
                if not exc.transient:
                    raise
                log.info("polling task %s: %s (will retry)", ref.task_id or "by token", exc.message)
                last_error = exc
            poll_due = clock() + next(intervals)
    finally:
        if watcher is not None and socket is not None:
            socket.unwatch(watcher)
    if latest is None:
        assert last_error is not None
        raise last_error
    return latest
