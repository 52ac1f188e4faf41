"""What the sandbox charges, and the prices it publishes in Tool/Detail, written from the shapes Wiro's
official client reads (not from wiro-mcp's pricing code, which it exists to test).

The panorama is billed per GPU second (its `approximatelycost` is a run of the sandbox's own length).
The image model publishes `dynamicprice` tiers and bills by them: $0.0045 per 1024×1024 image, any
other size by the pixel; each sample is billed. Failed and errored runs cost nothing; a cancelled run
pays for the seconds it ran.
"""

from __future__ import annotations

import json
from typing import Any

from .params import SRPO

COST_PER_SECOND = 0.000585
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


def published(model: str, run_seconds: float) -> dict[str, str]:
    """The price fields of the model's Tool/Detail entry (numbers as strings, tiers as a JSON string)."""
    if model == SRPO:
        return {
            "cps": f"{COST_PER_SECOND:.6f}",
            "approximatelycost": f"{SQUARE_IMAGE:.4f}",
            "dynamicprice": json.dumps(IMAGE_TIERS),
        }
    typical = f"{COST_PER_SECOND * run_seconds:.6f}"
    return {"cps": f"{COST_PER_SECOND:.6f}", "approximatelycost": typical, "dynamicprice": ""}


def bill(model: str, params: dict[str, Any], elapsed: float, state: str) -> float:
    """What a task costs after `elapsed` GPU seconds, in `state`: running, succeeded, failed or cancelled."""
    if state == "failed":
        return 0.0
    if model == SRPO and state == "succeeded":
        samples = int(params.get("samples") or 1)
        width, height = int(params.get("width") or 1024), int(params.get("height") or 1024)
        if (width, height) == (1024, 1024):
            return SQUARE_IMAGE * samples
        return PER_PIXEL * width * height * samples
    return elapsed * COST_PER_SECOND
