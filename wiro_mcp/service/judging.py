"""Judging a prepared call before it starts: the identical task in flight it would join, its estimate
against the person's limits, and whether it needs their yes (WIRO_MCP_CONFIRM_ABOVE_USD).

A call is judged once per request: the question the adapter's resolver asks and the start in the
same tools/call share one judgment (so the figure the person said yes to is the one enforced). On
2026-07-28 the answer comes in a second request, which judges afresh: if the spend moved meanwhile,
the question changed and is asked again. What changes after the judgment (the spend, a twin's end)
the journal's claim sees in its one transaction (launch.py): money is never spent past a limit
because a judgment was old.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import budgets, people
from ..catalog import ModelSpec
from ..errors import CallFailed
from ..journal.access import Journal
from ..journal.records import ClaimOutlook, JournalError, Spend
from ..money import limits
from ..money.estimate import Estimate, Pricing, estimate
from ..money.price_book import PriceBook
from ..results import Consent
from .inflight import InFlight, call_key
from .preparation import PreparedCall


@dataclass(frozen=True)
class Quote:
    """What starting a call would mean, worked out before anything is sent."""

    key: str
    estimate: Estimate | None = None
    in_flight: str | None = None  # the identical task this call would join
    refusal: str | None = None
    question: str | None = None


def what_it_makes(spec: ModelSpec) -> str:  # how questions and refusals name a run: a seed's, any other model's
    return ("panorama" if spec.panorama else "image run") if spec.curated else f"{spec.model} run"


class Judge:
    def __init__(self, journal: Journal, prices: PriceBook, inflight: InFlight, limits: limits.Limits) -> None:
        self.journal = journal
        self.prices = prices
        self.inflight = inflight
        self.limits = limits
        # Each preparation's judgment per request (its arrival) and allow_duplicate, gone with the preparation.
        self._judged: weakref.WeakKeyDictionary[PreparedCall, dict[tuple[float, bool], Quote]] = (
            weakref.WeakKeyDictionary()
        )

    async def estimate(
        self, spec: ModelSpec, inputs: Mapping[str, Any], *, pricing: Pricing | None = None
    ) -> Estimate | None:
        """What a run of `spec` with `inputs` will cost: Wiro's prices (or `pricing`), never below what Wiro
        billed for comparable work (the journal's bills; without them when the journal cannot be read)."""
        try:
            bills = await self.journal.bills(spec.model, since=time.time() - budgets.BILLS_LEARNT)
        except JournalError:
            bills = ()
        return estimate(spec, pricing or await self.prices.pricing(spec), inputs, bills)

    async def quote(self, prepared: PreparedCall, *, allow_duplicate: bool, request: float | None = None) -> Quote:
        """What starting a prepared call would mean: the identical task it would join, and whether its
        estimate fits the limits (the spend read now). `request`: when the tools/call arrived; the
        same request's second ask gets the first one's judgment (None: judged afresh)."""
        if request is None:
            return await self._judge(prepared, allow_duplicate)
        judged = self._judged.setdefault(prepared, {})
        if (request, allow_duplicate) not in judged:
            judged[request, allow_duplicate] = await self._judge(prepared, allow_duplicate)
        return judged[request, allow_duplicate]

    async def _judge(self, prepared: PreparedCall, allow_duplicate: bool) -> Quote:
        spec = prepared.spec
        caller = people.current()
        key = call_key(spec.model, prepared.inputs, prepared.files, caller.owner)
        joins = None if allow_duplicate else self.inflight.get(key)
        await self.journal.flush()  # what this process has seen end is written before the journal is asked
        try:
            look = await self.journal.look(None if allow_duplicate or joins else key, caller.owner)
        except JournalError as exc:  # the spend cannot be read: judged as uncounted below
            unreadable: str | None = str(exc)
            look = ClaimOutlook(None, Spend(0.0, 0.0, 0))
        else:
            unreadable = None
        joins = joins or (look.in_flight.task_id if look.in_flight is not None else None)
        problem = unreadable or self.journal.status().memory_only
        verdict = limits.judge(what_it_makes(spec), prepared.estimate, look.spend, self.limits, uncounted=problem)
        refusal = verdict.refusal or limits.personal_refusal(what_it_makes(spec), problem, prepared.estimate, caller)
        return Quote(key, prepared.estimate, in_flight=joins, refusal=refusal, question=verdict.question)

    def enforce(self, spec: ModelSpec, quote: Quote, consent: Consent) -> None:
        """CallFailed when the quote refuses, or asks a yes the person did not give."""
        if quote.refusal is not None:
            raise CallFailed(quote.refusal)
        if quote.question is not None and consent != "accepted":
            refusal = limits.unconfirmed(what_it_makes(spec), quote.estimate, consent, self.limits)
            raise CallFailed(limits.simulated(refusal, self.limits))
