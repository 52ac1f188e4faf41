"""Starting a run, or joining the identical one in flight: the one place a billed job begins.

In order, before anything is sent: the call's key; an identical task in flight (this process's, or
one in the journal, from before a restart or from another server process) is joined at no cost;
otherwise the estimate, the person's limits and, above WIRO_MCP_CONFIRM_ABOVE_USD, their yes. Then
the journal claims the run (checking the daily budget again, atomically across processes), the Run
goes out, and the journal records the task id. Identical calls in this process queue on one lock;
across processes, the journal's claim row makes the second one wait for the first one's task.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from .catalog import ModelSpec
from .client import FileUpload, WiroClient
from .errors import CallFailed, WiroError, WiroMCPError
from .inflight import InFlight, call_key
from .journal import Claim, Entry, Journal
from .memory import TaskMemory
from .models import TaskRef
from .prices import PriceBook
from .pricing import Estimate, estimate
from .records import Records
from .spending import Consent, Limits, judge, over_budget, unconfirmed

log = logging.getLogger(__name__)

CLAIM_POLL = 0.25
CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Quote:
    """What starting a call would mean, worked out before anything is sent."""

    key: str
    estimate: Estimate | None = None
    in_flight: str | None = None  # the identical task this call would join
    refusal: str | None = None
    question: str | None = None


@dataclass
class Launched:
    task_id: str
    token: str | None
    joined: bool
    estimate: Estimate | None
    notes: list[str] = field(default_factory=list)


def what_it_makes(spec: ModelSpec) -> str:
    return "panorama" if spec.panorama else "image run"


class Launcher:
    def __init__(
        self,
        client: WiroClient,
        records: Records,
        prices: PriceBook,
        memory: TaskMemory,
        limits: Limits,
    ) -> None:
        self.client = client
        self.records = records
        self.prices = prices
        self.memory = memory
        self.limits = limits
        self.inflight = InFlight()

    async def quote(
        self, spec: ModelSpec, inputs: Mapping[str, Any], files: Mapping[str, FileUpload], *, allow_duplicate: bool
    ) -> Quote:
        key = call_key(spec.model, inputs, files)
        joins = None if allow_duplicate else self.inflight.get(key)
        await self.records.flush()  # what this process has seen end is written before the journal is asked
        entry, spend = await self.records.run(Journal.look, None if allow_duplicate or joins else key)
        joins = joins or (entry.task_id if entry is not None else None)
        cost = estimate(spec, await self.prices.pricing(spec), inputs)
        verdict = judge(what_it_makes(spec), cost, spend, self.limits)
        return Quote(key, cost, in_flight=joins, refusal=verdict.refusal, question=verdict.question)

    async def start(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, Any],
        files: Mapping[str, FileUpload],
        *,
        allow_duplicate: bool,
        deadline: float,
        consent: Consent = None,
    ) -> Launched:
        """Run `spec` (or join the identical task in flight); CallFailed when it must not start."""
        quote = await self.quote(spec, inputs, files, allow_duplicate=allow_duplicate)
        if quote.in_flight is None:
            self._enforce(spec, quote, consent)  # a call that joins costs nothing: checked only if it runs
        async with self.inflight.claim(quote.key):
            task_id = None if allow_duplicate else self.inflight.get(quote.key)
            if task_id is not None:
                return Launched(task_id, self.memory.get(task_id).token, True, quote.estimate)
            return await self._claim_and_run(spec, inputs, files, quote, consent, allow_duplicate, deadline)

    def _enforce(self, spec: ModelSpec, quote: Quote, consent: Consent) -> None:
        if quote.refusal is not None:
            raise CallFailed(quote.refusal)
        if quote.question is not None and consent != "accepted":
            raise CallFailed(unconfirmed(what_it_makes(spec), quote.estimate, consent, self.limits))

    async def _claim_and_run(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, Any],
        files: Mapping[str, FileUpload],
        quote: Quote,
        consent: Consent,
        allow_duplicate: bool,
        deadline: float,
    ) -> Launched:
        prompt = inputs.get("prompt") if isinstance(inputs.get("prompt"), str) else None
        cost = quote.estimate.usd if quote.estimate is not None else None
        record = {
            "inputs": dict(inputs),
            "files": {
                name: {"name": f.filename, "sha256": hashlib.sha256(f.content).hexdigest(), "bytes": len(f.content)}
                for name, f in files.items()
            },
        }
        checked: set[str] = set()
        await self.records.flush()
        while True:
            claim: Claim = await self.records.run(
                Journal.claim,
                quote.key,
                model=spec.model,
                arguments=record,
                prompt=prompt,
                estimate=cost,
                budget=self.limits.daily_budget,
                join=not allow_duplicate,
            )
            if claim.joined is not None:
                entry = claim.joined
                assert entry.task_id is not None
                if entry.task_id in checked or await self._still_open(entry):
                    self._remember(entry)
                    self.inflight.add(quote.key, entry.task_id)
                    return Launched(entry.task_id, entry.token, True, quote.estimate)
                checked.add(entry.task_id)
                continue
            if claim.waiting:
                if anyio.current_time() >= deadline:
                    raise CallFailed(
                        "Another wiro-mcp process on this machine is starting this identical run right now. Call "
                        "again in a few seconds to get its task; this call sent nothing to Wiro."
                    )
                await anyio.sleep(CLAIM_POLL)
                continue
            if claim.over_budget is not None:
                assert quote.estimate is not None and self.limits.daily_budget is not None
                raise CallFailed(
                    over_budget(what_it_makes(spec), quote.estimate, claim.over_budget, self.limits.daily_budget)
                )
            assert claim.row is not None
            if quote.in_flight is not None:  # it was to join a task that has ended since: a new run after all
                try:
                    self._enforce(spec, quote, consent)
                except CallFailed:
                    await self.records.run(Journal.abandon, claim.row)
                    raise
            return await self._run(spec, inputs, files, quote, claim.row, prompt, deadline)

    async def _run(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, Any],
        files: Mapping[str, FileUpload],
        quote: Quote,
        row: int,
        prompt: str | None,
        deadline: float,
    ) -> Launched:
        try:
            run = await self.client.run(spec.model, inputs, files, deadline=deadline)
        except WiroMCPError as exc:
            with anyio.CancelScope(shield=True):
                await self.records.run(Journal.abandon, row)
            raise CallFailed(f"Starting {spec.model} failed: {exc}") from exc
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.records.run(Journal.abandon, row)
            raise
        with anyio.CancelScope(shield=True):  # a started task is recorded whatever happens to this call
            await self.records.run(Journal.started, row, run.task_id, run.socket_token)
        self.memory.remember(run.task_id, model=spec.model, token=run.socket_token, prompt=prompt)
        self.inflight.add(quote.key, run.task_id)
        log.info("started task %s on %s", run.task_id, spec.model)
        return Launched(run.task_id, run.socket_token, False, quote.estimate)

    async def _still_open(self, entry: Entry) -> bool:
        """An in-flight row from before a restart may be stale (the task ended while no server watched):
        one read tells. When Wiro does not answer, the journal is believed."""
        assert entry.task_id is not None
        if self.memory.get(entry.task_id).model is not None:
            return True  # this process has met it, and wrote what it saw before the claim: the journal is current
        try:
            task = await self.client.task_detail(
                TaskRef(task_id=entry.task_id), deadline=anyio.current_time() + CHECK_SECONDS
            )
        except WiroError:
            return True
        if not task.state.terminal:
            return True
        self.records.note(task)
        await self.records.flush()
        return False

    def _remember(self, entry: Entry) -> None:
        assert entry.task_id is not None
        self.memory.remember(
            entry.task_id, model=entry.model, token=entry.token, prompt=entry.prompt, estimate=entry.estimate_usd
        )
