"""The service: the one object the adapter talks to, with no MCP in it.

`Service` wires the parts together and offers each tool's call: generate (prepare, start or join,
wait, deliver), get and read a task, stop one, list them, and the resources' views. Callers (the MCP
adapter, the tests) pass plain arguments, a progress callback, and two small callables: which folders
local inputs may come from, and whether a cancellation was the person pressing stop. How a call's
time is spent is budgets.py's to say.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread

from .. import budgets
from ..catalog import ModelSpec
from ..config import Settings
from ..errors import CallFailed, WiroMCPError
from ..journal.access import Journal
from ..journal.memory import TaskMemory, recall
from ..media.delivery import Delivery
from ..media.egress import OutputPolicy
from ..media.fetch import Fetcher
from ..media.outcome import Outcome
from ..media.reading import OutputReader
from ..money import spending
from ..money.bills import counted_cost
from ..money.limits import Limits
from ..money.price_book import PriceBook
from ..results import PreviewKind, TaskResult
from ..tracking.progress import OnUpdate
from ..tracking.registry import Followers
from ..tracking.schedule import PollPolicy
from ..wiro.answers import Task
from ..wiro.client import WiroClient
from ..wiro.refs import TaskRef
from ..wiro.task_socket import TaskSocket
from .any_model import AnyModel, TypedTools
from .call import RunCall, StopRequested
from .exporting import Exporter
from .finishing import Finisher
from .handles import Handles
from .inflight import InFlight
from .judging import Judge, Quote
from .launch import Launcher
from .listing import Lister
from .models import Models
from .ownership import Ownership
from .preparation import Preparer
from .reports import unread_result
from .stopping import First, stop_task

log = logging.getLogger(__name__)
PLAIN = RunCall()  # a call with every default: wait WIRO_MCP_WAIT_SECONDS from now, views, no viewer


def _budget(seconds: float) -> float:
    """The deadline `seconds` from now."""
    return anyio.current_time() + seconds


class Service:
    """The service. `async with service.running():` while it serves (it follows tasks in the background)."""

    def __init__(
        self,
        settings: Settings,
        client: WiroClient,
        *,
        socket: TaskSocket | None = None,
        policy: PollPolicy | None = None,
        memory: TaskMemory | None = None,
        typed: TypedTools | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.memory = memory or TaskMemory()
        self.on_seen: list[Callable[[Task], None]] = []  # told of every snapshot; must neither block nor raise
        database = settings.database_url.get_secret_value() if settings.database_url is not None else None
        self.journal = Journal(
            settings.state_folder, api=settings.base_url, cost_check=counted_cost, database_url=database
        )
        shared = self.journal if self.journal.shared else None
        self.prices = PriceBook(client, settings.state_folder, api=settings.base_url, shared=shared)
        self.judge = Judge(self.journal, self.prices, InFlight(), Limits.from_settings(settings))
        self.launcher = Launcher(client, self.journal, self.memory, self.judge)
        self.followers = Followers(client, socket=socket, policy=policy, on_snapshot=self._seen)
        self.fetcher = Fetcher(OutputPolicy(settings.base_url, settings.extra_output_hosts))
        self.input_fetcher = Fetcher(OutputPolicy(settings.base_url, settings.extra_output_hosts, any_https=True))
        self.preparer = Preparer(
            list(settings.allowed_input_dirs), self.input_fetcher, self.judge.estimate, anyio.current_time
        )
        keyed = settings.credentials == "request"
        self.ownership = Ownership(self.journal, client, scoped=settings.people_apart, keyed=keyed)
        self.outputs = OutputReader(self.read, self.fetcher, self.ownership.check)
        self.delivery = Delivery(self.fetcher, self.outputs.panoramas.cache)
        self.exporter = Exporter(self.outputs, settings.export_folder)
        self.finisher = Finisher(settings, client, self.followers, self.memory, self.delivery, self._seen)
        self.listing = Lister(client, self.journal, scoped=self.ownership.scoped, by_owner=keyed)
        self.handles = Handles(self.journal, self)  # the MCP tasks hosts hold
        models = Models(
            client,
            settings.state_folder,
            api=settings.base_url,
            learned=self.prices.learn,
            derived=typed.refresh if typed is not None else None,
        )
        self.any_model = AnyModel(self, models, self.judge, settings.extra_models, typed)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Service]:
        try:
            async with anyio.create_task_group() as group, self.followers.running(), self.handles.running():
                group.start_soon(self.journal.keep_written)
                group.start_soon(self.launcher.reconciler.settle_at_start, self.ownership.keyed)
                yield self
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.journal.close()
                await self.fetcher.aclose()
                await self.input_fetcher.aclose()

    async def quote(self, spec: ModelSpec, arguments: Mapping[str, Any], call: RunCall = PLAIN) -> Quote | None:
        """What a generate call would cost and whether it needs the person's yes (None for a call that
        cannot be made: the call itself will say why). The call prepared here is the one that runs, and
        the same request's start reuses this judgment (`call.arrived` tells the request)."""
        try:
            prepared = await self.preparer.prepare(spec, arguments, call.input_folders)
        except WiroMCPError:
            return None
        return await self.judge.quote(prepared, allow_duplicate=call.allow_duplicate, request=call.arrived)

    # -- what the resources show --------------------------------------------------------------

    async def spending_view(self) -> dict[str, Any]:
        """wiro://spending (money/spending.py), as the caller sees it."""
        return await spending.view(self.journal, self.judge.limits)

    # -- generate ----------------------------------------------------------------------------

    async def generate(self, spec: ModelSpec, arguments: Mapping[str, Any], call: RunCall = PLAIN) -> Outcome:
        """Run `spec` with `arguments` (or join the identical call in flight) and wait for it, as `call`
        says (service/call.py): its wait counts from when it arrived."""
        start = anyio.current_time() if call.arrived is None else call.arrived
        wait, cut = budgets.host_wait(
            self.settings.wait_seconds if call.wait is None else call.wait, self.settings.max_wait_seconds
        )
        deadline = start + wait
        prepared = await self.preparer.prepare(spec, arguments, call.input_folders)
        # A Run cut short leaves a task in doubt: it gets at least budgets.RUN_FLOOR whatever the wait.
        run_deadline = anyio.current_time() + max(budgets.RUN_FLOOR, deadline - anyio.current_time())
        try:
            launched = await self.launcher.start(prepared, call, deadline=run_deadline)
        finally:
            self.preparer.taken(spec, arguments)
        task_id, joined = launched.task_id, launched.joined
        notes = [*cut, *prepared.notes, *launched.notes]
        if joined:
            notes.append(
                f"An identical {spec.tool} call was already in flight as task {task_id}: returning it instead of "
                "starting (and paying for) a second one. Pass allow_duplicate=true for a new task."
            )
        else:
            if launched.estimate is not None:
                self.memory.remember(task_id, estimate=launched.estimate.usd, basis=launched.estimate.basis)
            self.followers.follow(task_id, launched.token)
            if call.on_started is not None:
                await call.on_started(task_id, spec.model)
        known = self.memory.get(task_id)
        token = known.token
        ref = TaskRef(task_id=task_id)
        try:
            waited = await self.finisher.wait(ref, deadline, call.on_update, call.stop_requested, token)
        except WiroMCPError as exc:
            raise CallFailed(
                f"Task {task_id} was started on {spec.model}, but its status could not be read: {exc} "
                f"Call get_task with task_id={task_id!r} later; do not start the generation again."
            ) from exc
        if waited.snapshot is None:
            result = unread_result(
                task_id,
                token=token,
                model=spec.model,
                wait_hint=self.settings.wait_seconds,
                prompt=known.prompt,
                estimate=known.estimate,
                basis=known.basis,
            ).model_copy(update={"reused": joined})
            if waited.error is not None:
                notes.append(f"Wiro's last answer: {waited.error}")
            return Outcome(result, notes=notes)
        return await self.finisher.finish(
            waited, preview=call.preview, viewer=call.viewer, notes=notes, reused=joined, deadline=deadline
        )

    # -- read --------------------------------------------------------------------------------

    async def get(
        self,
        ref: TaskRef,
        *,
        wait: float = 0.0,
        preview: PreviewKind = "views",
        viewer: bool = False,
        on_update: OnUpdate | None = None,
        stop_requested: StopRequested | None = None,
        host_call: bool = True,
    ) -> Outcome:
        """A task as it is now, or when it ends if that comes within `wait` seconds. A plain read
        (`wait` 0) gets up to budgets.READ_BUDGET for its first answer; a wait is a hard limit. A
        `host_call`'s wait is kept within what hosts allow; the server's own follows (MCP tasks) are not."""
        wait, cut = budgets.host_wait(wait, self.settings.max_wait_seconds) if host_call else (wait, [])
        deadline = anyio.current_time() + wait
        await self.ownership.check(ref)
        await recall(self.journal, self.memory, ref)
        ref = self.memory.canonical(ref)
        try:
            waited = await self.finisher.wait(
                ref, deadline, on_update, stop_requested, patience=budgets.READ_BUDGET if wait == 0 else 0
            )
        except WiroMCPError as exc:
            raise CallFailed(f"Reading {ref} failed: {exc}") from exc
        if waited.snapshot is None:
            raise CallFailed(
                f"Reading {ref} failed: {waited.error or 'Wiro did not answer in time'}. The task is not lost: "
                "call get_task again in a moment."
            )
        return await self.finisher.finish(
            waited, preview=preview, viewer=viewer, notes=cut, reused=False, deadline=deadline
        )

    async def read(self, task_id: str) -> TaskResult:
        """One fresh read, as the task tools would report it (no previews, no waiting)."""
        await self.ownership.check(TaskRef(task_id=task_id))
        await recall(self.journal, self.memory, TaskRef(task_id=task_id))
        try:
            task = await self.client.task_detail(TaskRef(task_id=task_id), deadline=_budget(budgets.READ_BUDGET))
        except WiroMCPError as exc:
            raise CallFailed(f"Reading task {task_id} failed: {exc}") from exc
        self._seen(task)
        return self.finisher.result(task)

    # -- stop --------------------------------------------------------------------------------

    async def stop(self, ref: TaskRef, *, first: First | None = None) -> Outcome:
        """kill_task (`first="kill"`) and cancel_task (`first="cancel"`): stop the task whichever state it
        is in, and say in one line what finally happened."""
        await self.ownership.check(ref)
        await recall(self.journal, self.memory, ref)
        ref = self.memory.canonical(ref)
        try:
            stopped = await stop_task(self.client, ref, _budget(budgets.STOP_BUDGET), first=first)
        except CallFailed:
            raise
        except WiroMCPError as exc:
            raise CallFailed(f"Stopping {ref} failed: {exc}") from exc
        self._seen(stopped.task)
        return Outcome(self.finisher.result(stopped.task), headline=stopped.line())

    def _seen(self, task: Task) -> None:
        """Every snapshot read passes here: an ended task frees its identical calls; `on_seen` hears of it."""
        self.memory.remember(task.id, token=task.socket_token)
        self.journal.note(task)
        if task.state.terminal:
            self.launcher.inflight.ended(task.id)
        for listener in self.on_seen:
            listener(task)
