"""Estimates for every pricing shape Wiro's Tool/Detail may carry, worked out before a run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wiro_mcp.catalog import load_catalog
from wiro_mcp.money.estimate import Pricing, Tier, estimate, parse_tiers, spec_pricing, usd_text
from wiro_mcp.wiro.tool_info import ToolInfo

PANORAMA = load_catalog()["generate_panorama"]
IMAGE = load_catalog()["generate_image"]


def tiers(*items: dict[str, Any]) -> tuple[Tier, ...]:
    return parse_tiers(json.dumps(list(items)))


def wiro(cps: float | None = None, per_run: float | None = None, *tier_items: dict[str, Any]) -> Pricing:
    return Pricing("Wiro", cps, per_run, tiers(*tier_items))


SQUARE = {"price": "0.0045", "priceMethod": "cpo", "inputs": {"width": "1024", "height": "1024"}}
PER_SAMPLE = {"price": "0.004", "priceMethod": "cpo", "inputs": {"samples": "QUANTITY:1"}}
PIXELS = {"price": "0.000000005", "priceMethod": "cp-pixel", "inputs": {"samples": "QUANTITY:1"}}


@pytest.mark.parametrize(
    ("pricing", "inputs", "usd", "basis"),
    [
        # cpo without a QUANTITY input: per output, counted from samples.
        (wiro(None, None, SQUARE), {"samples": 3}, 0.0135, "$0.0045 per output × 3"),
        # cpo with QUANTITY:1 on samples: per sample.
        (wiro(None, None, PER_SAMPLE), {"samples": 4}, 0.016, "$0.004 per output × 4"),
        # QUANTITY:2 prices two units: four samples are two units.
        (wiro(None, None, PER_SAMPLE | {"inputs": {"samples": "QUANTITY:2"}}), {"samples": 4}, 0.008, "× 2"),
        # cp-pixel: price × width × height × samples.
        (wiro(None, None, PIXELS), {"width": 1344, "height": 768, "samples": 2}, 0.01032192, "per pixel × 2,064,384"),
        # cpr: one price per request, whatever the size.
        (wiro(None, None, {"price": "0.02", "priceMethod": "cpr", "inputs": {}}), {"samples": 4}, 0.02, "per run × 1"),
        # cps tier: price × the spec's typical seconds.
        (wiro(None, None, {"price": "0.001", "priceMethod": "cps", "inputs": {}}), {}, 0.012, "GPU-second"),
        # The tier naming more matching inputs wins over the general one.
        (wiro(None, None, PIXELS, SQUARE), {"width": 1024, "height": 1024}, 0.0045, "per output"),
        # A tier whose literal inputs differ is skipped: the general one applies.
        (wiro(None, None, SQUARE, PIXELS), {"width": 512, "height": 512}, 0.00131072, "per pixel"),
        # Numbers match numbers however they are written ("1024" vs 1024.0).
        (wiro(None, None, SQUARE | {"inputs": {"width": "1024.0", "height": 1024}}), {}, 0.0045, "per output"),
        # Only an unknown method (per token): Wiro's typical cost per run.
        (wiro(None, 0.011, {"price": "0.5", "priceMethod": "cpt", "inputs": {}}), {}, 0.011, "typical cost per run"),
        # No tier, no typical cost: cps × the spec's typical seconds.
        (wiro(0.002, None), {}, 0.024, "$0.002/GPU-second × ~12 s typical"),
        # Twice the steps and four samples: the per-run figures scale with the work.
        (wiro(None, 0.01), {"steps": 40, "samples": 4}, 0.08, "scaled ×8"),
    ],
)
def test_each_pricing_shape_gives_its_estimate(
    pricing: Pricing, inputs: dict[str, Any], usd: float, basis: str
) -> None:
    guess = estimate(IMAGE, pricing, inputs)
    assert guess is not None
    assert guess.usd == pytest.approx(usd)
    assert basis in guess.basis


def test_a_panoramas_true_cfg_doubles_and_its_size_scales_the_estimate() -> None:
    pricing = wiro(0.001, None)
    base = estimate(PANORAMA, pricing, {})
    assert base is not None and base.usd == pytest.approx(0.04), "the spec's 40 s typical run at $0.001/s"
    bigger = estimate(PANORAMA, pricing, {"width": 2048, "height": 1024, "cfgScale": 4})
    assert bigger is not None
    assert bigger.usd == pytest.approx(0.04 * (2048 * 1024) / (1920 * 960) * 2)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "",
        "{}",
        json.dumps([{"price": "abc", "priceMethod": "cpo", "inputs": {}}]),
        json.dumps([{"price": "0", "priceMethod": "cpo", "inputs": {}}]),
        json.dumps([{"price": "-1", "priceMethod": "cpo", "inputs": {}}]),
        json.dumps([{"price": "0.1", "inputs": {}}]),
        json.dumps([{"price": "0.1", "priceMethod": "cpo", "inputs": ["width"]}]),
        json.dumps(["a tier?"]),
        None,
        42,
    ],
)
def test_malformed_tiers_are_skipped_and_the_next_source_answers(raw: Any) -> None:
    assert parse_tiers(raw) == ()
    guess = estimate(IMAGE, Pricing("Wiro", None, 0.007, parse_tiers(raw)), {})
    assert guess is not None and guess.usd == pytest.approx(0.007)


def test_a_quantity_tier_does_not_match_a_call_without_that_number() -> None:
    pricing = Pricing("Wiro", None, 0.009, tiers(PER_SAMPLE | {"inputs": {"inputImage": "QUANTITY:1"}}))
    for call in ({}, {"inputImage": "https://example.com/a.png"}):
        guess = estimate(IMAGE, pricing, call)
        assert guess is not None and guess.usd == pytest.approx(0.009) and "typical cost per run" in guess.basis


def test_tiers_arrive_as_a_json_string_or_a_list() -> None:
    expected = (Tier(0.0045, "cpo", {"width": "1024", "height": "1024"}),)
    assert parse_tiers(json.dumps([SQUARE])) == parse_tiers([SQUARE]) == expected


def test_without_any_price_from_wiro_the_bundled_figures_answer() -> None:
    assert estimate(IMAGE, Pricing("Wiro"), {}) is None
    fallback = spec_pricing(IMAGE)
    guess = estimate(IMAGE, fallback, {"samples": 2})
    assert guess is not None and guess.usd == pytest.approx(0.001 * 12 * 2)
    assert "the bundled spec" in guess.basis


@pytest.mark.parametrize(
    ("answer", "cps", "per_run"),
    [
        ({"cps": "0.000585", "approximatelycost": "0.0234"}, 0.000585, 0.0234),
        ({"cps": "0", "approximatelycost": ""}, 0.0, None),
        ({"cps": "n/a", "approximatelycost": None}, None, None),
        ({"cps": "NaN", "approximatelycost": "-3"}, None, None),
        ({"cps": True}, None, None),
        ({}, None, None),
    ],
)
def test_tool_detail_prices_parse_whatever_wiro_sends(answer: dict[str, Any], cps: Any, per_run: Any) -> None:
    info = ToolInfo.model_validate({"slugowner": "tencent", **answer})
    assert (info.cps, info.approximate_cost) == (cps, per_run)


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (0.04, "$0.04"),
        (0.004, "$0.004"),
        (0.0035, "$0.0035"),
        (0.00351, "$0.0035"),
        (12.5, "$12.50"),
        (0.000000005, "$0.000000005"),
        (0.0, "$0.00"),
    ],
)
def test_amounts_are_shown_with_the_digits_that_matter(usd: float, shown: str) -> None:
    assert usd_text(usd) == shown
