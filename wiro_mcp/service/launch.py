"""Starting a run, or joining the identical one in flight: the one place a billed job begins.

In order, before anything is sent: an identical task in flight (this process's, or one in the journal,
from before a restart or from another server process) is joined at no cost; otherwise the prepared
call's judgment (judging.py: its estimate against the person's limits and, above
WIRO_MCP_CONFIRM_ABOVE_USD, their yes) is enforced. Then the journal claims the run (checking the
daily budget again, atomically across processes), the Run goes out, and the journal records the task
id before the call goes on. Identical calls in this process queue on one lock; across processes, the
claim row makes the second one wait for the first's task.

Money is never spent past a limit because something failed: when a limit is set and the journal
cannot count (it cannot be written), nothing is sent; a journal shared with other machines that
cannot be reached sends nothing at all (their identical calls and spend are only seen there). A task
Wiro started is never reported as a failure to start: a journal that fails after Wiro answered costs
a note, and a Run whose answer was lost leaves its claim in doubt, which the next identical call
settles with Wiro's task list first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from .. import budgets, people
from ..catalog import ModelSpec
from ..errors import CallFailed, WiroError, WiroMCPError
from ..journal.access import Journal
from ..journal.memory import TaskMemory
from ..journal.records import Claimed, Entry, InDoubt, Joined, JournalError, OverBudget, RunRecord, Waiting
from ..money import limits
from ..money.estimate import Estimate
from ..results import Consent
from ..wiro.answers import RunResponse
from ..wiro.client import FileUpload, WiroClient
from ..wiro.refs import TaskRef
from .call import RunCall
from .judging import Judge, Quote, what_it_makes
from .preparation import PreparedCall
from .reconcile import Reconciler

log = logging.getLogger(__name__)


@dataclass
class StartedRun:
    task_id: str
    token: str | None
    joined: bool
    estimate: Estimate | None
    notes: list[str] = field(default_factory=list)


class Launcher:
    def __init__(
        self,
        client: WiroClient,
        journal: Journal,
        memory: TaskMemory,
        judge: Judge,
    ) -> None:
        self.client = client
        self.journal = journal
        self.memory = memory
        self.judge = judge
        self.limits = judge.limits
        self.inflight = judge.inflight
        self.reconciler = Reconciler(client, journal)

    async def start(self, prepared: PreparedCall, call: RunCall, *, deadline: float) -> StartedRun:
        """Run a prepared call (or join the identical task in flight); CallFailed when it must not start.
        The call's judgment is its question's (`call.arrived` names the request); its consent is enforced."""
        allow_duplicate, consent = call.allow_duplicate, call.consent
        spec, inputs, files = prepared.spec, prepared.inputs, prepared.files
        quote = await self.judge.quote(prepared, allow_duplicate=allow_duplicate, request=call.arrived)
        if quote.in_flight is None:
            self.judge.enforce(spec, quote, consent)  # a call that joins costs nothing: checked only if it runs
        async with self.inflight.claim(quote.key):
            task_id = None if allow_duplicate else self.inflight.get(quote.key)
            if task_id is not None:
                return StartedRun(task_id, self.memory.get(task_id).token, True, quote.estimate)
            record = prepared.record(quote.key)
            return await self._claim_and_run(spec, inputs, files, quote, record, consent, allow_duplicate, deadline)

    async def _claim_and_run(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, Any],
        files: Mapping[str, FileUpload],
        quote: Quote,
        record: RunRecord,
        consent: Consent,
        allow_duplicate: bool,
        deadline: float,
    ) -> StartedRun:
        what = what_it_makes(spec)
        checked: set[str] = set()
        settled: set[int] = set()
        await self.journal.flush()
        while True:
            try:
                mine = people.current().daily_budget
                claim = await self.journal.claim(
                    record, budget=self.limits.daily_budget, join=not allow_duplicate, personal_budget=mine
                )
            except JournalError as exc:
                if self.journal.shared:  # other machines' identical calls and spend are only seen there
                    raise CallFailed(limits.unshared(what, exc.where, exc.cause)) from exc
                if self.limits.counted or mine is not None:
                    raise CallFailed(limits.uncounted(what, exc.where, exc.cause, self.limits)) from exc
                # No limit depends on the journal: the run goes ahead, remembered in memory until it can be written.
                return await self._run(spec, inputs, files, quote, record, None, deadline)
            match claim:
                case Claimed(row=row):
                    if quote.in_flight is not None:  # it was to join a task that has ended since: a new run
                        try:
                            self.judge.enforce(spec, quote, consent)
                        except CallFailed:
                            await self.journal.abandon(row)
                            raise
                    return await self._run(spec, inputs, files, quote, record, row, deadline)
                case Joined(entry=entry, task_id=task_id):
                    if task_id in checked or await self._still_open(entry, task_id):
                        self._remember(entry, task_id)
                        self.inflight.add(quote.key, task_id)
                        return StartedRun(task_id, entry.token, True, quote.estimate)
                    checked.add(task_id)  # it ended while no server watched: the next claim runs anew
                case Waiting():
                    if anyio.current_time() >= deadline:
                        raise CallFailed(limits.twin_starting(self.journal.shared))
                    await anyio.sleep(budgets.CLAIM_POLL)
                case InDoubt(entry=entry):
                    await self._settle(what, entry, settled, deadline)
                case OverBudget(spend=spend, personal=True):
                    raise CallFailed(limits.over_personal_budget(what, quote.estimate, spend, people.current()))
                case OverBudget(spend=spend):
                    refusal = limits.over_budget(what, quote.estimate, spend, self.limits.daily_budget)
                    raise CallFailed(limits.simulated(refusal, self.limits))

    async def _settle(self, what: str, entry: Entry, settled: set[int], deadline: float) -> None:
        """Ask Wiro about an identical claim left in doubt; CallFailed when Wiro cannot say."""
        if entry.row not in settled:
            settled.add(entry.row)
            [finding] = await self.reconciler.settle([entry], deadline)
            if finding.settled:
                return
            why = finding.why
        else:
            why = "the journal kept it in doubt after Wiro's task list was read"
        raise CallFailed(limits.in_doubt(what, entry.created, entry.doubt, why or "Wiro cannot say"))

    async def _run(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, Any],
        files: Mapping[str, FileUpload],
        quote: Quote,
        record: RunRecord,
        row: int | None,
        deadline: float,
    ) -> StartedRun:
        """Send the Run. `row` is the claim (None: the journal could not take one and no limit needs it)."""
        try:
            run = await self.client.run(
                spec.model, inputs, files, deadline=min(deadline, anyio.current_time() + budgets.RUN_LIMIT)
            )
        except WiroError as exc:
            if not exc.may_have_run:
                await self._drop(row)
                raise CallFailed(f"Starting {spec.model} failed: {exc}") from exc
            return await self._lost_answer(spec, quote, record, row, exc, deadline)
        except WiroMCPError as exc:
            await self._drop(row)
            raise CallFailed(f"Starting {spec.model} failed: {exc}") from exc
        except BaseException:  # cancelled while the Run was out: it may have reached Wiro
            if row is not None:
                await self.journal.doubt(row, "the call was cancelled while its Run was out")
            raise
        return await self._accepted(spec, quote, record, row, run)

    async def _accepted(
        self, spec: ModelSpec, quote: Quote, record: RunRecord, row: int | None, run: RunResponse
    ) -> StartedRun:
        """Wiro started the task: this process knows it at once, the journal records it before the call
        goes on (or keeps it in memory, with a note, when it cannot)."""
        self.memory.remember(run.task_id, model=spec.model, token=run.socket_token, prompt=record.prompt)
        self.inflight.add(quote.key, run.task_id)
        problem = await self.journal.started(record, row, run.task_id, run.socket_token)
        log.info("started task %s on %s", run.task_id, spec.model)
        notes = []
        if problem is not None:
            notes.append(
                f"Task {run.task_id} started, but {problem}: this server keeps it in memory and writes it to the "
                "journal as soon as it can."
            )
        return StartedRun(run.task_id, run.socket_token, False, quote.estimate, notes)

    async def _lost_answer(
        self, spec: ModelSpec, quote: Quote, record: RunRecord, row: int | None, error: WiroError, deadline: float
    ) -> StartedRun:
        """The Run may have started a task whose id never came: the claim stays in doubt, and Wiro's task
        list is asked at once (a task found there is this call's, started after all)."""
        what = what_it_makes(spec)
        if row is None:
            raise CallFailed(limits.run_answer_lost(what, error, recorded=False)) from error
        task = await self.reconciler.look_for_lost(row, f"Wiro's answer to its Run was lost: {error.message}", deadline)
        if task is None:
            raise CallFailed(limits.run_answer_lost(what, error, recorded=True)) from error
        self.memory.remember(task.id, model=spec.model, token=task.socket_token, prompt=record.prompt)
        self.inflight.add(quote.key, task.id)
        note = (
            f"Wiro's answer to the Run was lost ({error.message}), but Wiro's task list shows the task it started: "
            f"{task.id}."
        )
        return StartedRun(task.id, task.socket_token, False, quote.estimate, [note])

    async def _drop(self, row: int | None) -> None:
        if row is not None:
            await self.journal.abandon(row)

    async def _still_open(self, entry: Entry, task_id: str) -> bool:
        """An in-flight row from before a restart may be stale (the task ended while no server watched):
        one read tells. When Wiro does not answer, the journal is believed."""
        if self.memory.get(task_id).model is not None:
            return True  # this process has met it, and wrote what it saw before the claim: the journal is current
        try:
            task = await self.client.task_detail(
                TaskRef(task_id=task_id), deadline=anyio.current_time() + budgets.CHECK_SECONDS
            )
        except WiroError:
            return True
        if not task.state.terminal:
            return True
        self.journal.note(task)
        await self.journal.flush()
        return False

    def _remember(self, entry: Entry, task_id: str) -> None:
        self.memory.remember(
            task_id, model=entry.model, token=entry.token, prompt=entry.prompt, estimate=entry.estimate_usd
        )
