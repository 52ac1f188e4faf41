"""What the sandbox charges, and the prices it publishes in Tool/Detail, written from the shapes Wiro's
official client reads (not from wiro-mcp's pricing code, which it exists to test).

How Wiro bills a run is not documented (its `approximatelycost` is "a typical run"), so the sandbox
bills either way, as `SandboxConfig.billing` says:

- `per_work` (the default): the price grows with the work asked. The panorama costs its typical
  price × (pixels ÷ 1920×960) × (steps ÷ 40), twice that with true CFG (`cfgScale` > 1); it
  publishes `approximatelycost` (the typical price) and `cps`, no tiers. The image model publishes
  `dynamicprice` tiers and bills by them: $0.0045 per 1024×1024 image, any other size by the pixel,
  each sample billed.
- `per_run`: every run of a model costs its typical price, whatever its size, steps or samples; it
  publishes `approximatelycost` and `cps`, and no tiers.

The catalog's models (catalog.py) publish their own `cps` and `approximatelycost`, no tiers, and either
way bill that typical price per run.

`overcharge` multiplies every bill (a Wiro whose published prices are out of date: 1.5 bills half as
much again as it publishes). Failed and errored runs cost nothing; a cancelled run pays for the
seconds it ran, never more than the whole run.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from .catalog import CATALOG
from .params import DEFAULTS, PANORAMA, SRPO

Billing = Literal["per_work", "per_run"]

COST_PER_SECOND = 0.000585
TYPICAL_SECONDS = 60.0  # a typical panorama run on Wiro's GPUs
PANORAMA_RUN = COST_PER_SECOND * TYPICAL_SECONDS  # $0.0351
SQUARE_IMAGE = 0.0045  # USD per 1024×1024 image
PER_PIXEL = 0.000000005  # USD per pixel of any other size

IMAGE_TIERS = [
    {
        "price": f"{SQUARE_IMAGE}",
        "priceMethod": "cpo",
        "inputs": {"width": "1024", "height": "1024", "samples": "QUANTITY:1"},
    },
    {"price": f"{PER_PIXEL:.9f}", "priceMethod": "cp-pixel", "inputs": {"samples": "QUANTITY:1"}},
]


def typical(model: str) -> float:
    """What a run with the default inputs costs."""
    if model in CATALOG:
        return float(CATALOG[model].cost)
    return SQUARE_IMAGE if model == SRPO else PANORAMA_RUN


def per_second(model: str) -> float:
    """What a second of the model's GPU time costs (what a cancelled run pays by)."""
    return float(CATALOG[model].cps) if model in CATALOG else COST_PER_SECOND


def published(model: str, billing: Billing) -> dict[str, str]:
    """The price fields of the model's Tool/Detail entry (numbers as strings, tiers as a JSON string)."""
    if model in CATALOG:
        return {"cps": CATALOG[model].cps, "approximatelycost": CATALOG[model].cost, "dynamicprice": ""}
    fields = {"cps": f"{COST_PER_SECOND:.6f}", "approximatelycost": f"{typical(model):.6f}", "dynamicprice": ""}
    if model == SRPO and billing == "per_work":
        fields["dynamicprice"] = json.dumps(IMAGE_TIERS)
    return fields


def bill(
    model: str,
    params: dict[str, Any],
    elapsed: float,
    state: str,
    *,
    billing: Billing = "per_work",
    overcharge: float = 1.0,
) -> float:
    """What a task costs after `elapsed` GPU seconds, in `state`: running, succeeded, failed or cancelled."""
    if state == "failed":
        return 0.0
    whole = _whole_run(model, params, billing) * overcharge
    if state == "succeeded":
        return whole
    return min(elapsed * per_second(model) * overcharge, whole)  # running, or cancelled: the seconds so far


def _whole_run(model: str, params: dict[str, Any], billing: Billing) -> float:
    if billing == "per_run" or model in CATALOG:
        return typical(model)
    if model == SRPO:
        samples = int(params.get("samples") or 1)
        side = (int(params.get("width") or 1024), int(params.get("height") or 1024))
        if side == (1024, 1024):
            return SQUARE_IMAGE * samples
        return PER_PIXEL * side[0] * side[1] * samples
    defaults: dict[str, Any] = DEFAULTS[PANORAMA]
    asked = [float(params.get(name) or defaults[name]) for name in ("width", "height", "steps")]
    typical_work = float(defaults["width"]) * float(defaults["height"]) * float(defaults["steps"])
    passes = 2.0 if float(params.get("cfgScale") or 0) > 1 else 1.0
    return PANORAMA_RUN * asked[0] * asked[1] * asked[2] * passes / typical_work
