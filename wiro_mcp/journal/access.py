"""The journal as the service uses it: one typed async method per question, each run on the blocking
store (store.py) in a worker thread. The store is opened on first need (never at start-up); the states
the followers see are written in batches by a background task; starts that could not be written are
kept in memory and written as soon as the store takes them.

A task Wiro started is never lost to a failing disk: `started()` never raises. When the store cannot
take the task id (a full disk, a lock held too long), the start waits here, is tried again every
`budgets.RETRY_WRITES`, and an identical call in this process still finds it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .. import budgets
from ..wiro.answers import Task
from ..wiro.refs import TaskRef
from . import handle_rows, prices
from .engines import shown_url
from .handle_rows import HandleRow
from .records import (
    Bill,
    Claim,
    Claimed,
    ClaimOutlook,
    CostCheck,
    Entry,
    Joined,
    JournalError,
    JournalStatus,
    Note,
    RunRecord,
    Spend,
    Unwritten,
    Waiting,
)
from .store import JournalStore

T = TypeVar("T")
log = logging.getLogger(__name__)


class Journal:
    def __init__(self, folder: Path, *, api: str, cost_check: CostCheck, database_url: str | None = None) -> None:
        self._folder = folder
        self._api = api
        self._database_url = database_url
        self._open_failed: tuple[float, JournalError] | None = None  # a shared journal that could not be opened
        self._cost_check = cost_check
        self._store: JournalStore | None = None
        self._opening = anyio.Lock()
        self._opened = anyio.Event()
        self._noted = anyio.Event()
        self._writing = anyio.Lock()  # a flush waits for one under way: after it, all noted is written
        self._unwritten: dict[str, Unwritten] = {}
        self._notes: dict[str, Note] = {}  # states seen, not written yet
        self._written: dict[str, Note] = {}  # the last state written of each task
        self._write_problem: str | None = None
        self.on_spend: list[Callable[[], None]] = []  # told when a claim, a drop or a bill changed the spend

    @property
    def shared(self) -> bool:
        """The journal is a database other machines' servers write too: no run starts without its claim."""
        return self._database_url is not None

    async def store(self) -> JournalStore:
        """The store, opened on first need. A shared journal that cannot be reached raises JournalError
        (for `budgets.RETRY_OPEN` without trying again), and is tried again after."""
        async with self._opening:
            if self._store is None:
                if self._open_failed is not None and time.monotonic() < self._open_failed[0]:
                    raise self._open_failed[1]
                opening = functools.partial(
                    JournalStore.open, self._folder, api=self._api, database_url=self._database_url
                )
                try:
                    self._store = await anyio.to_thread.run_sync(opening)
                except JournalError as exc:
                    self._open_failed = (time.monotonic() + budgets.RETRY_OPEN, exc)
                    self._failed(exc)
                    raise
                self._open_failed = None
                self._opened.set()
            return self._store

    async def opened(self) -> None:
        """Returns once something in this process has opened the store (this never opens it)."""
        await self._opened.wait()

    async def _call(self, method: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`method(store, *args, **kwargs)` in a worker thread: how every typed method below reaches the store."""
        store = await self.store()
        return await anyio.to_thread.run_sync(functools.partial(method, store, *args, **kwargs))

    def status(self) -> JournalStatus:
        store = self._store
        if store is not None:
            where = store.where
        else:
            where = shown_url(self._database_url) if self._database_url is not None else str(self._folder)
        memory_only = store.problem if store is not None else None
        return JournalStatus(where, memory_only, self._write_problem, len(self._unwritten))

    # -- reading ----------------------------------------------------------------------------

    async def find(self, ref: TaskRef, owner: str | None = None) -> Entry | None:
        return await self._call(JournalStore.find, task_id=ref.task_id, token=ref.task_token, owner=owner)

    async def entry(self, row: int) -> Entry | None:
        return await self._call(JournalStore.entry, row)

    async def recent(self, limit: int, owner: str | None = None) -> list[Entry]:
        return await self._call(JournalStore.recent, limit, owner=owner)

    async def spend(self, owner: str | None = None) -> Spend:
        return await self._call(JournalStore.spend, owner=owner)

    async def doubtful(self) -> list[Entry]:
        """Claims whose Run may have started a task nobody recorded (their process no longer holds them)."""
        return await self._call(JournalStore.doubtful)

    async def models_of(self, task_ids: list[str]) -> dict[str, str]:
        return await self._call(JournalStore.models_of, task_ids)

    # -- the MCP tasks hosts hold --------------------------------------------------------------

    async def handle(self, handle_id: str) -> HandleRow | None:
        return await self._call(JournalStore.reading, handle_rows.find, handle_id)

    async def handles_of(self, owner: str, now: float, limit: int, offset: int = 0) -> list[HandleRow]:
        """The owner's handles not expired at `now`, newest first (a page of `limit` from `offset`)."""
        return await self._call(JournalStore.reading, handle_rows.of_owner, owner, now, limit, offset)

    async def keep_handle(self, handle: HandleRow) -> None:
        """Write a handle, durably (and forget the expired ones). Raises JournalError when the journal
        cannot take it: the caller must not hand its id out."""
        await self._call(JournalStore.writing, handle_rows.keep, handle)

    # -- the price cache, where the journal is shared ---------------------------------------------

    async def prices(self) -> dict[str, tuple[float, str]]:
        return await self._call(JournalStore.reading, prices.all_of)

    async def keep_price(self, model: str, at: float, figures: str) -> None:
        await self._call(JournalStore.writing, prices.keep, model, at, figures)

    # -- starting a task -------------------------------------------------------------------

    async def look(self, key: str | None, owner: str = "") -> ClaimOutlook:
        return await self._call(JournalStore.look, key, owner)

    async def bills(self, model: str, *, since: float) -> tuple[Bill, ...]:
        return await self._call(JournalStore.bills, model, since=since)

    async def claim(
        self, record: RunRecord, *, budget: float | None, join: bool, personal_budget: float | None = None
    ) -> Claim:
        """The journal's claim (JournalError when it cannot be written). A claim this process holds for a
        start it could not write yet is its task: joined, not waited for."""
        try:
            claim = await self._call(
                JournalStore.claim, record, budget=budget, join=join, personal_budget=personal_budget
            )
        except JournalError as exc:
            self._failed(exc)
            raise
        self._write_problem = None
        if isinstance(claim, Claimed):
            self._spend_changed()
        if isinstance(claim, Waiting):
            kept = next((u for u in self._unwritten.values() if u.row == claim.entry.row), None)
            if kept is not None:
                return Joined(replace(claim.entry, task_id=kept.task_id, token=kept.token), kept.task_id)
        return claim

    async def started(self, record: RunRecord, row: int | None, task_id: str, token: str | None) -> str | None:
        """Record a task Wiro started; never raises. None when it is in the journal, else why not yet
        (the start is kept in memory and written as soon as the journal takes it)."""
        start = Unwritten(record, row, task_id, token)
        with anyio.CancelScope(shield=True):  # a started task is recorded whatever happens to the call
            try:
                await self._call(JournalStore.started, record, row, task_id, token)
            except JournalError as exc:
                self._failed(exc)
                self._unwritten[task_id] = start
                self._noted.set()  # the writer starts retrying
                return str(exc)
        return None

    async def abandon(self, row: int) -> None:
        with anyio.CancelScope(shield=True):
            await self._call(JournalStore.abandon, row)
        self._spend_changed()

    async def doubt(self, row: int, why: str) -> None:
        with anyio.CancelScope(shield=True):
            await self._call(JournalStore.doubt, row, why)

    async def adopt(self, row: int, task: Task) -> None:
        await self._call(JournalStore.adopt, row, task.id, task.socket_token, task.state.value, task.status)

    def unwritten_ids(self) -> set[str]:
        return set(self._unwritten)

    async def retry_unwritten(self) -> None:
        """Try the starts kept in memory again (in order); the first that fails stops the round."""
        for task_id, start in list(self._unwritten.items()):
            try:
                await self._call(JournalStore.started, start.record, start.row, start.task_id, start.token)
            except JournalError as exc:
                self._failed(exc)
                return
            self._unwritten.pop(task_id, None)
            log.info("task %s is in the journal now", task_id)
        self._write_problem = None

    def _spend_changed(self) -> None:
        for listener in self.on_spend:
            listener()

    def _failed(self, exc: JournalError) -> None:
        if self._write_problem is None:
            then = "no run starts (reads go on)" if self.shared else "no run starts under a spending limit"
            log.warning("%s; until it can be, %s, and started tasks are kept in memory", exc, then)
        self._write_problem = str(exc)

    # -- what became of tasks --------------------------------------------------------------

    def note(self, task: Task) -> None:
        """A task's latest state, to be written soon (only tasks the journal has are updated)."""
        if self._store is None:  # nothing was started or read through the journal yet: nothing to update
            return
        terminal = task.state.terminal
        note = Note(
            task.state.value,
            task.status,
            cost=task.total_cost if terminal else None,
            seconds=task.elapsed_seconds if terminal else None,
        )
        if self._written.get(task.id) == note or self._notes.get(task.id) == note:
            return
        self._notes[task.id] = note
        self._noted.set()

    async def flush(self) -> None:
        """Write every state noted so far, including notes a background batch has taken but not yet
        written (the lock): a caller that flushes and then reads the journal sees them. Starts kept in
        memory go first (their rows are what the notes update)."""
        if self._store is None:
            return
        async with self._writing:
            if self._unwritten:
                await self.retry_unwritten()
            notes, self._notes = self._notes, {}
            if not notes:
                return
            try:
                await anyio.to_thread.run_sync(self._store.write_notes, notes, self._cost_check)
            except JournalError as exc:
                self._notes = {**notes, **self._notes}  # kept for the next flush (newer notes win)
                self._failed(exc)
            else:
                self._written.update(notes)
                if any(note.cost is not None for note in notes.values()):
                    self._spend_changed()

    async def keep_written(self) -> None:
        """Runs as long as the service: writes what `note()` gathered, a batch at a time, and tries the
        starts kept in memory again every RETRY_SECONDS."""
        try:
            while True:
                if self._unwritten or self._write_problem:
                    with anyio.move_on_after(budgets.RETRY_WRITES):
                        await self._noted.wait()
                else:
                    await self._noted.wait()
                self._noted = anyio.Event()
                await self.flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self.flush()
                if self._unwritten:
                    log.warning(
                        "the server stops with %d started task(s) the journal never took: %s (Wiro still has them)",
                        len(self._unwritten),
                        ", ".join(self._unwritten),
                    )

    async def close(self) -> None:
        if self._store is not None:
            await anyio.to_thread.run_sync(self._store.close)
