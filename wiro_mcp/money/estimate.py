"""What a run will cost, worked out before anything is sent.

A model's `Pricing` comes from Wiro's Tool/Detail (`cps`, `approximatelycost`, the `dynamicprice`
tiers) or, when Wiro does not say, from the bundled spec's figures. `estimate()` takes, in order:
the price tier that matches the call's inputs; Wiro's typical cost per run; USD per GPU second ×
the model's typical seconds. The last two are scaled up by how much more work the call asks for than
a typical run (more steps, pixels or samples), and never down below a typical run until Wiro has
billed one like it. Then what Wiro has billed (bills.py) is a floor: the estimate is never below the
largest bill of a run that asked for no more work. Every source may be missing or "0"; an unknown
tier method is skipped, never an error. How tiers match is a GUESS, written down in protocol.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..catalog import ModelSpec
from ..wiro import protocol
from ..wiro.protocol import as_number
from .bills import Billed, describe_work, highest_comparable, work_of

# Methods we can count for an image run; anything else falls back to the next source.
PRICED_METHODS = frozenset(
    {protocol.PRICE_PER_REQUEST, protocol.PRICE_PER_SECOND, protocol.PRICE_PER_OUTPUT, protocol.PRICE_PER_PIXEL}
)


@dataclass(frozen=True)
class Tier:
    price: float
    method: str
    inputs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pricing:
    """One model's prices, and where they came from ("Wiro", "Wiro, cached", "the bundled spec")."""

    source: str
    cps: float | None = None
    per_run: float | None = None
    tiers: tuple[Tier, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.cps or self.per_run or self.tiers)

    def public_view(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "usd_per_gpu_second": self.cps,
            "typical_usd_per_run": self.per_run,
            # The price as a person reads it beside the number ($0.000000005, where JSON says 5e-09).
            "tiers": [
                {"price_usd": t.price, "price": usd_text(t.price), "method": t.method, "inputs": dict(t.inputs)}
                for t in self.tiers
            ],
        }


Basis = Literal["tier", "typical", "gpu_seconds", "billed"]


@dataclass(frozen=True)
class Estimate:
    usd: float
    basis: str  # how it was worked out, in words
    kind: Basis = "typical"

    def __str__(self) -> str:
        return f"about {usd_text(self.usd)} ({self.basis})"


def usd_text(usd: float) -> str:
    """$0.04, $0.0035, $12.50, $0.000000005: at most four decimals (no trailing zeros past the cents),
    and a rate below a hundredth of a cent with all its digits."""
    if usd >= 1:
        return f"${usd:.2f}"
    digits = f"{usd:.12f}" if 0 < usd < 0.0001 else f"{usd:.4f}"
    whole, _, decimals = digits.partition(".")
    return f"${whole}.{decimals.rstrip('0').ljust(2, '0')}"


def _count(units: float) -> str:
    return f"{units:,.0f}" if units >= 10_000 else f"{units:g}"


def parse_tiers(raw: Any) -> tuple[Tier, ...]:
    """`dynamicprice` as Wiro sends it (a JSON string, or already a list): the well-formed tiers, the
    rest skipped."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            return ()
    if not isinstance(raw, list):
        return ()
    tiers = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        price = as_number(item.get("price"))
        method = item.get("priceMethod")
        inputs = item.get("inputs") or {}
        if price is None or price <= 0 or not isinstance(method, str) or not isinstance(inputs, Mapping):
            continue
        tiers.append(Tier(price, method.strip().lower(), {str(k): str(v) for k, v in inputs.items()}))
    return tuple(tiers)


def spec_pricing(spec: ModelSpec) -> Pricing:
    """The bundled figures, for when Wiro does not answer (or answers without prices)."""
    return Pricing(source="the bundled spec", cps=spec.pricing.usd_per_second, per_run=None)


def estimate(
    spec: ModelSpec, pricing: Pricing, inputs: Mapping[str, Any], bills: Sequence[Billed] = ()
) -> Estimate | None:
    """The cost of one run of `spec` with `inputs` (Wiro's ids, defaults filled in), or None when no
    source gives a figure. `bills`: what Wiro billed this model's earlier runs (the journal's)."""
    call = {item.id: inputs.get(item.id, item.default) for item in spec.inputs} | dict(inputs)
    floor = highest_comparable(bills, work_of(spec, call))
    published = _published(spec, pricing, call, billed_before=floor is not None)
    if floor is not None and (published is None or floor.cost > published.usd):
        return Estimate(
            floor.cost,
            f"what Wiro billed for comparable work: {usd_text(floor.cost)} for task {floor.task_id} "
            f"({describe_work(floor.work)})",
            "billed",
        )
    return published


def _published(spec: ModelSpec, pricing: Pricing, call: Mapping[str, Any], *, billed_before: bool) -> Estimate | None:
    tiered = _from_tiers(spec, pricing.tiers, call, _outputs(spec, call))
    if tiered is not None:
        return tiered
    kind: Basis
    if pricing.per_run:
        typical, words, kind = pricing.per_run, "Wiro's typical cost per run", "typical"
    elif pricing.cps and spec.pricing.typical_seconds:
        seconds = spec.pricing.typical_seconds
        typical = pricing.cps * seconds
        words = f"{usd_text(pricing.cps)}/GPU-second × ~{seconds:g} s typical, from {pricing.source}"
        kind = "gpu_seconds"
    else:
        return None
    work = _work(spec, call)
    if work < 1 and not billed_before:
        # Wiro may bill a run whatever its size: a smaller call counts as a typical one until one like it
        # has been billed.
        return Estimate(typical, f"{words}; a smaller call counts as a typical run until Wiro bills one", kind)
    scaled = f", scaled ×{work:.2g} for this call's size" if not math.isclose(work, 1.0) else ""
    if work < 1 and billed_before:  # the figure fell since the last question: say why
        scaled += " (a like run has been billed, so a smaller call no longer counts as a typical one)"
    return Estimate(typical * work, f"{words}{scaled}", kind)


def _from_tiers(spec: ModelSpec, tiers: tuple[Tier, ...], call: Mapping[str, Any], outputs: int) -> Estimate | None:
    best: tuple[int, Tier, float] | None = None
    for tier in tiers:
        if tier.method not in PRICED_METHODS:
            continue
        matched, quantity = _match(tier, call)
        if matched is None:
            continue
        if best is None or matched > best[0]:
            best = (matched, tier, quantity)
    if best is None:
        return None
    _, tier, quantity = best
    # A QUANTITY input says how many units the call asks for; without one, outputs are counted.
    count = quantity if _has_quantity(tier) else None
    if tier.method == protocol.PRICE_PER_OUTPUT:
        units, what = (count if count is not None else outputs), "output"
    elif tier.method == protocol.PRICE_PER_PIXEL:
        width, height = as_number(call.get("width")), as_number(call.get("height"))
        if not (width and height):
            return None
        units, what = width * height * (count if count is not None else outputs), "pixel"
    elif tier.method == protocol.PRICE_PER_SECOND:
        if not spec.pricing.typical_seconds:
            return None
        units, what = spec.pricing.typical_seconds * (count or 1.0), "GPU-second (typical)"
    else:
        units, what = (count if count is not None else 1.0), "run"
    return Estimate(
        tier.price * units, f"Wiro's price tier: {usd_text(tier.price)} per {what} × {_count(units)}", "tier"
    )


def _match(tier: Tier, call: Mapping[str, Any]) -> tuple[int | None, float]:
    """(how many literal inputs matched, or None when one differs; the QUANTITY factor)."""
    matched, quantity = 0, 1.0
    for key, wanted in tier.inputs.items():
        given = call.get(key)
        if wanted.upper().startswith(protocol.QUANTITY_PREFIX):
            per = as_number(wanted[len(protocol.QUANTITY_PREFIX) :])
            value = as_number(given)
            if per is None or per <= 0 or value is None:
                return None, 1.0
            quantity *= value / per
            continue
        if not _same(given, wanted):
            return None, 1.0
        matched += 1
    return matched, quantity


def _has_quantity(tier: Tier) -> bool:
    return any(v.upper().startswith(protocol.QUANTITY_PREFIX) for v in tier.inputs.values())


def _same(given: Any, wanted: str) -> bool:
    if given is None:
        return False
    a, b = as_number(given), as_number(wanted)
    if a is not None and b is not None:
        return math.isclose(a, b)
    return str(given).strip().lower() == wanted.strip().lower()


def _outputs(spec: ModelSpec, call: Mapping[str, Any]) -> int:
    name = spec.pricing.outputs_input
    count = as_number(call.get(name)) if name else None
    return max(1, int(count)) if count else 1


def _work(spec: ModelSpec, call: Mapping[str, Any]) -> float:
    """How much more GPU work than a typical run: the product of value ÷ default over the inputs the
    spec says the time grows with, doubled where the spec says so (true CFG runs the model twice)."""
    asked, typical = work_of(spec, call), work_of(spec, {})
    factor = 1.0
    for name, value in asked.items():
        base = typical.get(name)
        if value and base:
            factor *= value / base
    return factor
