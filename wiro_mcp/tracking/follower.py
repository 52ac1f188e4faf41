"""Waiting for Wiro tasks: one follower per task, shared by every call that waits on it.

A `Follower` reads one task for everyone: identical generate calls that joined one task, a get_task
waiting beside them, and the server itself following a task it started until it ends. So the
Task/Detail reads for a task do not grow with the number of waiters. It follows Wiro's socket
when that is healthy (progress as it happens, one read when the task ends, a slow safety poll),
and polls on a growing interval when it is not.

Each waiter has a hard limit: at its deadline the follower reads once more (so what the waiter
gets is fresh), and whatever happens to that read, the waiter leaves by `deadline + grace` with
the freshest snapshot there is, or with none and the last error. A permanent error (bad
credentials, unknown task) ends every wait on the task at once.

All times are on the event loop's clock (`anyio.current_time`), so tests can run them virtually.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from ..errors import WiroMCPError, WiroTimeoutError
from ..wiro.answers import Task
from ..wiro.refs import TaskRef
from ..wiro.task_socket import SocketEvent, TaskSocket, Watcher
from .progress import Progress, Reporter
from .schedule import PollPolicy

log = logging.getLogger(__name__)

# Socket statuses after which the final record is read at once ("" is a stderr line: look again).
_END_EVENTS = frozenset({"task_postprocess_end", "task_cancel", "task_error", ""})


class TaskReader(Protocol):
    """What a follower needs of the Wiro client: one bounded Task/Detail read."""

    async def task_detail(self, ref: TaskRef, *, deadline: float | None = None) -> Task: ...


@dataclass(frozen=True)
class Snapshot:
    task: Task
    read_at: float  # when the answer arrived, on the event loop's clock


@dataclass(frozen=True)
class WaitResult:
    """What a wait ends with: the freshest snapshot (None if no read ever succeeded) and, when the
    last read failed, why."""

    snapshot: Snapshot | None
    error: WiroMCPError | None = None

    @property
    def task(self) -> Task | None:
        return self.snapshot.task if self.snapshot else None


OnSnapshot = Callable[[Task], None]


@dataclass(eq=False)
class Waiter:
    deadline: float
    reporter: Reporter
    # Until when a waiter that has nothing to show yet keeps waiting for a first answer (a plain read
    # must not fail because one Task/Detail took longer than the grace); never before `deadline`.
    first_by: float = -math.inf

    def limit(self, follower: Follower) -> float:
        """The hard limit, before the grace of a last read: later while nothing has been read."""
        return self.deadline if follower.latest is not None else max(self.deadline, self.first_by)


@dataclass(eq=False)
class Follower:
    """Reads one task for all its waiters; `follow()` lives in the registry's task group."""

    client: TaskReader
    ref: TaskRef
    policy: PollPolicy
    socket: TaskSocket | None = None
    token: str | None = None
    on_snapshot: OnSnapshot | None = None
    background_until: float = -math.inf
    latest: Snapshot | None = None
    error: WiroMCPError | None = None
    fatal: WiroMCPError | None = None
    progress: Progress = field(default_factory=Progress)
    done: bool = False
    last_attempt_at: float = -math.inf
    created_at: float = field(default_factory=anyio.current_time)
    _waiters: set[Waiter] = field(default_factory=set)
    _wake: anyio.Event = field(default_factory=anyio.Event)
    _news: anyio.Event = field(default_factory=anyio.Event)
    _read_now: bool = False
    _read_scope: anyio.CancelScope | None = None
    _watcher: Watcher | None = None

    @property
    def task_id(self) -> str:
        if self.latest is not None:
            return self.latest.task.id
        return self.ref.task_id or "?"

    @property
    def ended(self) -> bool:
        return self.fatal is not None or (self.latest is not None and self.latest.task.state.terminal)

    # -- waiters -----------------------------------------------------------------------------

    def seed(self, task: Task) -> None:
        """A snapshot the caller already has counts as read now (no request is spent on it)."""
        if self.latest is None:
            now = anyio.current_time()
            self._store(Snapshot(task, now))
            self.last_attempt_at = now

    def add(self, waiter: Waiter) -> None:
        self._waiters.add(waiter)
        if self._read_scope is not None:
            # A read in flight must not outlast the newcomer's hard limit either.
            self._read_scope.deadline = min(self._read_scope.deadline, waiter.limit(self) + self.policy.grace)
        self._poke()

    def remove(self, waiter: Waiter) -> None:
        self._waiters.discard(waiter)

    @property
    def news(self) -> anyio.Event:
        """Set at the next change (a snapshot, a status, the end); take it before checking state."""
        return self._news

    def settled(self, waiter: Waiter, now: float) -> bool:
        """Whether this waiter may leave now."""
        limit = waiter.limit(self)
        if self.done or self.ended or now >= limit + self.policy.grace:
            return True
        return now >= limit and self.last_attempt_at >= limit

    # -- the loop --------------------------------------------------------------------------

    async def follow(self) -> None:
        intervals = self.policy.intervals()
        now = anyio.current_time()
        # With a socket and nothing read yet, the first read waits a moment for the socket to speak.
        poll_due = now if self.latest is None and not self._socket_usable() else now + next(intervals)
        try:
            while not self.ended:
                now = anyio.current_time()
                if not self._waiters and now >= self.background_until:
                    return
                if self._watcher is None and self._socket_usable():
                    assert self.socket is not None and self.token is not None
                    self._watcher = self.socket.watch(self.token, self._poke)
                due = self._next_read(now, poll_due)
                if now < due and not self._read_now:
                    await self._idle(due - now)
                    continue
                self._read_now = False
                await self._read()
                poll_due = anyio.current_time() + next(intervals)
        finally:
            self.done = True
            if self._watcher is not None and self.socket is not None:
                self.socket.unwatch(self._watcher)
            self._announce()

    def _socket_usable(self) -> bool:
        return self.socket is not None and self.token is not None

    def _next_read(self, now: float, poll_due: float) -> float:
        healthy = self._watcher is not None and self.socket is not None and self.socket.healthy
        last = max(self.last_attempt_at, self.created_at)
        if not self._waiters:
            return last + (self.policy.safety if healthy else self.policy.background)
        due = last + self.policy.safety if healthy else poll_due
        pending = [w.deadline for w in self._waiters if self.last_attempt_at < w.deadline]
        return min(due, *pending) if pending else due

    async def _idle(self, seconds: float) -> None:
        """Sleep until a read is due, an event arrives, a waiter joins, or the socket may have gone silent."""
        wake = self._wake
        if self.socket is not None and self._watcher is not None:
            seconds = min(seconds, self.socket.healthy_for or 1.0)
        with anyio.move_on_after(max(0.0, seconds)):
            await wake.wait()
        if self._watcher is not None:
            for event in self._watcher.drain():
                self._on_event(event)

    def _on_event(self, event: SocketEvent) -> None:
        if event.status:
            step = f"step {event.step}/{event.total}" if event.step is not None and event.total else ""
            self.progress = Progress(event.status, event.percentage, step)
            self._announce()
        if event.status in _END_EVENTS:
            self._read_now = True

    async def _read(self) -> None:
        limits = [w.limit(self) + self.policy.grace for w in self._waiters]
        deadline = min(limits) if limits else None
        try:
            with anyio.CancelScope(deadline=deadline if deadline is not None else math.inf) as scope:
                self._read_scope = scope
                task = await self.client.task_detail(self.ref, deadline=deadline)
                self._store(Snapshot(task, anyio.current_time()))
                self.error = None
            if scope.cancelled_caught:
                log.info("reading %s: no answer in time (will retry)", self.ref)
                self.error = WiroTimeoutError(f"Wiro did not answer Task/Detail for {self.ref} in time")
        except WiroMCPError as exc:
            if not exc.transient:
                self.fatal = exc
            else:
                log.info("reading %s: %s (will retry)", self.ref, exc.message)
                self.error = exc
        finally:
            self._read_scope = None
            self.last_attempt_at = anyio.current_time()
            self._announce()

    def _store(self, snapshot: Snapshot) -> None:
        self.latest = snapshot
        if snapshot.task.status != self.progress.status:
            # A read that brings a new status resets the socket's step counter; the same status keeps it.
            self.progress = Progress(snapshot.task.status)
        if self.token is None and snapshot.task.socket_token:
            self.token = snapshot.task.socket_token
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot.task)

    def _poke(self) -> None:
        self._wake.set()
        self._wake = anyio.Event()

    def _announce(self) -> None:
        self._news.set()
        self._news = anyio.Event()
