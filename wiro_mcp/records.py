"""The journal as the service uses it: opened on first need (never at start-up), every call in a
worker thread, and the states the followers see written in batches by a background task."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .journal import Journal
from .memory import TaskMemory
from .models import Task, TaskRef

T = TypeVar("T")
log = logging.getLogger(__name__)


class Records:
    def __init__(self, folder: Path, *, api: str) -> None:
        self._folder = folder
        self._api = api
        self._journal: Journal | None = None
        self._opening = anyio.Lock()
        self._noted = anyio.Event()
        self._writing = anyio.Lock()  # a flush waits for one under way: after it, all noted is written

    async def journal(self) -> Journal:
        async with self._opening:
            if self._journal is None:
                self._journal = await anyio.to_thread.run_sync(
                    functools.partial(Journal.open, self._folder, api=self._api)
                )
            return self._journal

    async def run(self, method: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`method(journal, *args, **kwargs)` in a worker thread, e.g. `await records.run(Journal.find, task_id=…)`."""
        journal = await self.journal()
        return await anyio.to_thread.run_sync(functools.partial(method, journal, *args, **kwargs))

    async def recall(self, memory: TaskMemory, ref: TaskRef) -> None:
        """Teach `memory` what the journal knows of a task this process has not met (after a restart, or
        started by another server process): its model, token, prompt and estimate."""
        known = memory.get(ref.task_id) if ref.task_id is not None else None
        if (known is not None and known.model is not None) or memory.canonical(ref).task_id != ref.task_id:
            return
        try:
            entry = await self.run(Journal.find, task_id=ref.task_id, token=ref.task_token)
        except Exception as exc:  # the journal is a help here, never a reason to fail a read
            log.info("could not look %s up in the journal: %r", ref, exc)
            return
        if entry is not None and entry.task_id is not None:
            memory.remember(
                entry.task_id, model=entry.model, token=entry.token, prompt=entry.prompt, estimate=entry.estimate_usd
            )

    def note(self, task: Task) -> None:
        """A task's latest state, to be written soon (only tasks the journal has are updated)."""
        journal = self._journal
        if journal is None:  # nothing was started or read through the journal yet: nothing to update
            return
        if journal.note(task.id, task.state.value, task.status, task.total_cost if task.state.terminal else None):
            self._noted.set()

    async def flush(self) -> None:
        """Write every state noted so far, including notes a background batch has taken but not yet
        written (the lock): a caller that flushes and then reads the journal sees them."""
        if self._journal is None:
            return
        async with self._writing:
            notes = self._journal.take_notes()
            if notes:
                await anyio.to_thread.run_sync(self._journal.flush, notes)

    async def keep_written(self) -> None:
        """Runs as long as the service: writes what `note()` gathered, a batch at a time."""
        try:
            while True:
                await self._noted.wait()
                self._noted = anyio.Event()
                await self.flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self.flush()

    async def close(self) -> None:
        if self._journal is not None:
            await anyio.to_thread.run_sync(self._journal.close)
