"""What a run will cost, worked out before anything is sent.

A model's `Pricing` comes from Wiro's Tool/Detail (`cps`, `approximatelycost`, the `dynamicprice`
tiers) or, when Wiro does not say, from the bundled spec's figures. `estimate()` tries, in order:
the price tier that matches the call's inputs; Wiro's typical cost per run; USD per GPU second ×
the model's typical seconds. The last two are scaled by how much more work the call asks for than a
typical run (more steps, pixels or samples). Every source may be missing or "0"; an unknown tier
method is skipped, never an error. How tiers match is a GUESS, written down in protocol.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import protocol
from .catalog import ModelSpec

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
            "tiers": [{"price_usd": t.price, "method": t.method, "inputs": dict(t.inputs)} for t in self.tiers],
        }


@dataclass(frozen=True)
class Estimate:
    usd: float
    basis: str  # how it was worked out, in words

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
        price = _number(item.get("price"))
        method = item.get("priceMethod")
        inputs = item.get("inputs") or {}
        if price is None or price <= 0 or not isinstance(method, str) or not isinstance(inputs, Mapping):
            continue
        tiers.append(Tier(price, method.strip().lower(), {str(k): str(v) for k, v in inputs.items()}))
    return tuple(tiers)


def spec_pricing(spec: ModelSpec) -> Pricing:
    """The bundled figures, for when Wiro does not answer (or answers without prices)."""
    return Pricing(source="the bundled spec", cps=spec.pricing.usd_per_second, per_run=None)


def estimate(spec: ModelSpec, pricing: Pricing, inputs: Mapping[str, Any]) -> Estimate | None:
    """The cost of one run of `spec` with `inputs` (Wiro's ids, defaults filled in), or None when no
    source gives a figure."""
    call = {item.id: inputs.get(item.id, item.default) for item in spec.inputs} | dict(inputs)
    outputs = _outputs(spec, call)
    tiered = _from_tiers(spec, pricing.tiers, call, outputs)
    if tiered is not None:
        return tiered
    work = _work(spec, call)
    scaled = f", scaled ×{work:.2g} for this call's size" if not math.isclose(work, 1.0) else ""
    if pricing.per_run:
        return Estimate(pricing.per_run * work, f"Wiro's typical cost per run{scaled}")
    if pricing.cps and spec.pricing.typical_seconds:
        seconds = spec.pricing.typical_seconds
        return Estimate(
            pricing.cps * seconds * work,
            f"{usd_text(pricing.cps)}/GPU-second × ~{seconds:g} s typical{scaled}, from {pricing.source}",
        )
    return None


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
        width, height = _number(call.get("width")), _number(call.get("height"))
        if not (width and height):
            return None
        units, what = width * height * (count if count is not None else outputs), "pixel"
    elif tier.method == protocol.PRICE_PER_SECOND:
        if not spec.pricing.typical_seconds:
            return None
        units, what = spec.pricing.typical_seconds * (count or 1.0), "GPU-second (typical)"
    else:
        units, what = (count if count is not None else 1.0), "run"
    return Estimate(tier.price * units, f"Wiro's price tier: {usd_text(tier.price)} per {what} × {_count(units)}")


def _match(tier: Tier, call: Mapping[str, Any]) -> tuple[int | None, float]:
    """(how many literal inputs matched, or None when one differs; the QUANTITY factor)."""
    matched, quantity = 0, 1.0
    for key, wanted in tier.inputs.items():
        given = call.get(key)
        if wanted.upper().startswith(protocol.QUANTITY_PREFIX):
            per = _number(wanted[len(protocol.QUANTITY_PREFIX) :])
            value = _number(given)
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
    a, b = _number(given), _number(wanted)
    if a is not None and b is not None:
        return math.isclose(a, b)
    return str(given).strip().lower() == wanted.strip().lower()


def _outputs(spec: ModelSpec, call: Mapping[str, Any]) -> int:
    name = spec.pricing.outputs_input
    count = _number(call.get(name)) if name else None
    return max(1, int(count)) if count else 1


def _work(spec: ModelSpec, call: Mapping[str, Any]) -> float:
    """How much more GPU work than a typical run: the product of value ÷ default over the inputs the
    spec says the time grows with, doubled where the spec says so (true CFG runs the model twice)."""
    defaults = {item.id: item.default for item in spec.inputs}
    factor = 1.0
    for name in spec.pricing.scales_with:
        value, default = _number(call.get(name)), _number(defaults.get(name))
        if value and default:
            factor *= value / default
    for name, above in spec.pricing.doubles_above.items():
        value = _number(call.get(name))
        if value is not None and value > above:
            factor *= 2
    return factor


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
