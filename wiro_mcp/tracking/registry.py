"""The followers of every task the server is waiting on or following, one per task, and the
way every wait goes through them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

from ..errors import InvalidResponseError, WiroTimeoutError
from ..wiro.answers import Task
from ..wiro.refs import TaskRef
from ..wiro.task_socket import TaskSocket
from .follower import Follower, OnSnapshot, TaskReader, Waiter, WaitResult
from .progress import OnUpdate, Reporter
from .schedule import PollPolicy

log = logging.getLogger(__name__)


class Followers:
    """The followers of every task this server is waiting on or following; one per task.

    Use as an async context manager (it owns the task group the followers run in).
    """

    def __init__(
        self,
        client: TaskReader,
        *,
        socket: TaskSocket | None = None,
        policy: PollPolicy | None = None,
        on_snapshot: OnSnapshot | None = None,
    ) -> None:
        self.client = client
        self.socket = socket
        self.policy = policy or PollPolicy()
        self.on_snapshot = on_snapshot
        self._followers: dict[TaskRef, Follower] = {}
        self._group: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Followers]:
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield self
            finally:
                self._group = None
                group.cancel_scope.cancel()

    def __len__(self) -> int:
        return len(self._followers)

    def follow(self, task_id: str, token: str | None = None, *, first: Task | None = None) -> Follower:
        """Keep following a task the server started until it ends (or for `background_limit`),
        whether or not anyone waits: its end is then noticed (`on_snapshot`) without a caller."""
        follower = self._get(TaskRef(task_id=task_id), token, first)
        follower.background_until = anyio.current_time() + self.policy.background_limit
        return follower

    async def wait(
        self,
        ref: TaskRef,
        timeout: float,
        *,
        on_update: OnUpdate | None = None,
        first: Task | None = None,
        token: str | None = None,
        patience: float = 0.0,
    ) -> WaitResult:
        """Wait up to `timeout` seconds (plus the grace of a last read) for the task to end; while
        nothing at all has been read, up to `patience` seconds for a first answer.

        Returns the freshest snapshot either way; the caller reads `task.state.terminal`. Raises a
        permanent error (bad credentials, unknown task) at once.
        """
        follower = self._get(ref, token, first)
        now = anyio.current_time()
        waiter = Waiter(deadline=now + max(0.0, timeout), reporter=Reporter(on_update), first_by=now + patience)
        follower.add(waiter)
        try:
            while True:
                news = follower.news
                await waiter.reporter.report(follower.task_id, follower.progress)
                now = anyio.current_time()
                if follower.settled(waiter, now):
                    break
                with anyio.move_on_after(waiter.limit(follower) + self.policy.grace - now):
                    await news.wait()
        finally:
            follower.remove(waiter)
        if follower.fatal is not None:
            raise follower.fatal
        error = follower.error
        if error is None and not follower.ended and follower.last_attempt_at < waiter.limit(follower):
            # Left at its hard limit while a read was still out: say so, whatever the read does later.
            error = WiroTimeoutError(f"Wiro did not answer Task/Detail for {ref} in time")
        return WaitResult(follower.latest, error)

    def _get(self, ref: TaskRef, token: str | None, first: Task | None) -> Follower:
        follower = self._followers.get(ref)
        if follower is None or follower.done:
            if self._group is None:
                raise RuntimeError("Followers is not running")
            follower = Follower(
                self.client,
                ref,
                self.policy,
                socket=self.socket,
                token=token or ref.task_token,
                on_snapshot=self.on_snapshot,
            )
            self._followers[ref] = follower
            if first is not None:
                follower.seed(first)
            self._group.start_soon(self._run, follower)
        elif first is not None:
            follower.seed(first)
        if token and follower.token is None:
            follower.token = token
        return follower

    async def _run(self, follower: Follower) -> None:
        try:
            await follower.follow()
        except Exception as exc:  # a bug, or an answer nobody foresaw: it costs this task's wait, never the server
            log.exception("following %s stopped", follower.ref)
            follower.fatal = InvalidResponseError(f"Following {follower.ref} stopped: {type(exc).__name__}")
        finally:
            if self._followers.get(follower.ref) is follower:
                del self._followers[follower.ref]
