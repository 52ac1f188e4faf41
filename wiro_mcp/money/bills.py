"""What Wiro has billed, learnt so that an estimate never promises less than Wiro charges.

After each billed task the journal keeps what was asked for (`work`: the inputs a run's cost can grow
with, such as width, height, steps and samples) and what Wiro billed. A call whose work is at least
that of a billed run, input by input, costs at least as much (the price of a run never falls as it
asks for more): so the estimate used for the limits is never below the largest such bill. Nothing
here assumes how Wiro bills (per run, per pixel, per second): the bills say it.

A cost Wiro reports is checked before it counts: one that is negative, not a number, or absurd (above
`ABSURD_FACTOR` × the estimate) is not believed; the run counts at its estimate instead, so a broken
answer can never lower the spend.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..catalog import ModelSpec
from ..wiro.protocol import as_number

log = logging.getLogger(__name__)

# A reported cost above this many times the estimate is taken to be a broken answer, not a bill.
ABSURD_FACTOR = 1000.0
# Bills older than this no longer set a floor (Wiro's prices move).

Work = Mapping[str, float]
B = TypeVar("B", bound="Billed")


class Billed(Protocol):
    """One billed run (the journal's `Bill`): its task, the work it asked for, what Wiro billed."""

    @property
    def task_id(self) -> str: ...
    @property
    def work(self) -> Work: ...
    @property
    def cost(self) -> float: ...


def work_of(spec: ModelSpec, inputs: Mapping[str, Any]) -> dict[str, float]:
    """The inputs a run's cost can grow with (defaults filled in), as numbers: the spec's `scales_with`
    ids, and `passes` (2 where the spec says an input doubles the work, as true CFG does)."""
    defaults = {item.id: item.default for item in spec.inputs}
    work: dict[str, float] = {}
    for name in spec.pricing.scales_with:
        value = as_number(inputs.get(name, defaults.get(name)))
        if value is not None:
            work[name] = value
    if spec.pricing.doubles_above:
        doubled = any(
            (value := as_number(inputs.get(name, defaults.get(name)))) is not None and value > above
            for name, above in spec.pricing.doubles_above.items()
        )
        work["passes"] = 2.0 if doubled else 1.0
    return work


def at_most(smaller: Work, larger: Work) -> bool:
    """Whether `smaller` asks for no more than `larger` in every input (a missing input is not comparable)."""
    return all(name in larger and value <= larger[name] + 1e-9 for name, value in smaller.items())


def highest_comparable(bills: Iterable[B], work: Work) -> B | None:
    """The largest bill among runs that asked for no more work than `work`: the least this call can cost."""
    best: B | None = None
    for bill in bills:
        if at_most(bill.work, work) and (best is None or bill.cost > best.cost):
            best = bill
    return best


def describe_work(work: Work) -> str:
    """ "64×32, steps 1" for a bill's work, in the words of its inputs."""
    parts = []
    if "width" in work and "height" in work:
        parts.append(f"{work['width']:g}×{work['height']:g}")
    parts += [f"{name} {value:g}" for name, value in work.items() if name not in ("width", "height", "passes")]
    if work.get("passes", 1.0) > 1:
        parts.append("true CFG")
    return ", ".join(parts) or "any size"


@dataclass(frozen=True)
class CheckedCost:
    """A reported cost as it counts: `usd` (None when it is not believed) and, if not, why."""

    usd: float | None
    problem: str | None = None


def checked_cost(reported: float | None, estimate: float | None) -> CheckedCost:
    """Whether a cost Wiro reported can count: a number, not negative, not absurd beside the estimate."""
    if reported is None:
        return CheckedCost(None)
    if not math.isfinite(reported):
        return CheckedCost(None, "it is not a number")
    if reported < 0:
        return CheckedCost(None, f"it is negative ({reported:g})")
    if estimate is not None and estimate > 0 and reported > ABSURD_FACTOR * estimate:
        return CheckedCost(None, f"it is {reported:g}, over {ABSURD_FACTOR:g} times the estimate")
    return CheckedCost(reported)


def counted_cost(task_id: str, reported: float | None, estimate: float | None) -> float | None:
    """The journal's check of a reported cost (journal.CostCheck): what counts, with a log line for a
    cost that is not believed."""
    checked = checked_cost(reported, estimate)
    if checked.problem is not None:
        log.warning(
            "Wiro reported a cost for task %s that cannot be right (%s): it counts at its estimate instead",
            task_id,
            checked.problem,
        )
    return checked.usd
