"""The spending limits as promises, measured against a sandbox that bills either way Wiro may: a fixed
price per run whatever its size ("per_run"), or a price that grows with pixels and steps ("per_work"),
and, with `overcharge`, more than it publishes. What the sandbox billed is added up from its own tasks."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from mcp_types import TextResourceContents

from tests.helpers import billed, connect, server_env, stdio_session, text
from wiro_mcp.sandbox import Sandbox, SandboxConfig
from wiro_mcp.sandbox.billing import PANORAMA_RUN, Billing

pytestmark = pytest.mark.anyio

# The stand-in of the report: 64×32 one-step panoramas, estimated at $0.000001 by size alone.
TINY = {"width": 64, "height": 32, "steps": 1, "preview": False}
BIG = {"width": 2048, "height": 1024, "preview": False}
MODES: list[Billing] = ["per_run", "per_work"]


@contextmanager
def billing_box(billing: Billing, *, overcharge: float = 1.0, run_seconds: float = 0.3) -> Iterator[Sandbox]:
    config = SandboxConfig(
        queue_seconds=0.05, run_seconds=run_seconds, grain=False, billing=billing, overcharge=overcharge
    )
    with Sandbox(config) as box:
        yield box


async def read_json(client: Any, uri: str) -> Any:
    [contents] = (await client.read_resource(uri)).contents
    assert isinstance(contents, TextResourceContents)
    return json.loads(contents.text)


@pytest.mark.parametrize("billing", MODES)
async def test_an_estimate_learns_what_wiro_bills_and_says_its_basis(billing: Billing) -> None:
    with billing_box(billing) as box:
        async with connect(box) as client:
            first = await client.call_tool("generate_panorama", {**TINY, "prompt": "a dune"})
            second = await client.call_tool("generate_panorama", {**TINY, "prompt": "a mesa"})
            bigger = await client.call_tool("generate_panorama", {**TINY, "steps": 2, "prompt": "a butte"})
    one, two, three = (r.structured_content for r in (first, second, bigger))
    assert one["estimated_cost_usd"] == pytest.approx(PANORAMA_RUN), "never billed: a typical run, not less"
    assert one["estimate_basis"].endswith("a smaller call counts as a typical run until Wiro bills one")
    tiny_bill = PANORAMA_RUN * (64 * 32) / (1920 * 960) / 40
    assert one["cost_usd"] == pytest.approx(PANORAMA_RUN if billing == "per_run" else tiny_bill)
    assert two["estimated_cost_usd"] == pytest.approx(one["cost_usd"]), "now it is what Wiro billed for it"
    assert three["estimated_cost_usd"] >= one["cost_usd"], "more work is never estimated below a smaller bill"
    if billing == "per_run":
        basis = f"what Wiro billed for comparable work: $0.0351 for task {one['task_id']} (64×32, steps 1)"
        assert two["estimate_basis"] == basis
    for result in (one, two, three):
        assert result["estimated_cost_usd"] >= result["cost_usd"] - 1e-12


@pytest.mark.parametrize("overcharge", [1.0, 1.5])
@pytest.mark.parametrize("billing", MODES)
async def test_a_daily_budget_holds_one_call_after_another(billing: Billing, overcharge: float) -> None:
    budget, results = 0.10, []
    with billing_box(billing, overcharge=overcharge) as box:
        async with connect(box, WIRO_MCP_DAILY_BUDGET_USD=str(budget)) as client:
            for n in range(6):
                results.append(await client.call_tool("generate_panorama", {**TINY, "prompt": f"dune {n}"}))
        total = await billed(box)
    ran = [r.structured_content for r in results if not r.is_error]
    refused = [r for r in results if r.is_error]
    excess = max(r["cost_usd"] - r["estimated_cost_usd"] for r in ran)
    assert total <= budget + max(excess, 0.0) + 1e-9, "B plus one run's bill over its estimate"
    assert len(ran) == box.count("Run")
    if billing == "per_run":  # the report's case: 12 runs through a $0.10 budget, $0.42 billed
        assert len(ran) == (2 if overcharge == 1.0 else 1) and total <= budget
        assert all("WIRO_MCP_DAILY_BUDGET_USD" in text(r) and "Nothing was sent" in text(r) for r in refused)
    else:  # a tiny panorama costs next to nothing once Wiro has billed one: they all fit
        assert not refused


@pytest.mark.parametrize("billing", MODES)
async def test_twenty_calls_at_once_of_a_kind_never_billed_stay_within_the_budget(billing: Billing) -> None:
    budget, results = 0.30, []
    with billing_box(billing) as box:
        async with connect(box, WIRO_MCP_DAILY_BUDGET_USD=str(budget)) as client:

            async def call(n: int) -> None:
                size = TINY if n % 2 else BIG
                results.append(await client.call_tool("generate_panorama", {**size, "prompt": f"crowd {n}"}))

            async with anyio.create_task_group() as group:
                for n in range(20):
                    group.start_soon(call, n)
            spending = await read_json(client, "wiro://spending")
        total = await billed(box)
    ran = [r for r in results if not r.is_error]
    assert total <= budget + 1e-9 and spending["last_24_hours"]["total_usd"] <= budget + 1e-9
    assert 5 <= len(ran) < 20, "the budget let some through and held the rest back"
    assert all("WIRO_MCP_DAILY_BUDGET_USD" in text(r) for r in results if r.is_error)


async def test_two_server_processes_sharing_a_journal_share_the_budget() -> None:
    budget, results = 0.30, []
    with billing_box("per_run") as box:
        env = server_env(box, WIRO_MCP_DAILY_BUDGET_USD=str(budget))

        async def call(session: Any, n: int) -> None:
            results.append(await session.call("generate_panorama", {**TINY, "prompt": f"pair {n}"}))

        async with stdio_session(env) as one, stdio_session(env) as two, anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(call, one if n % 2 else two, n)
        total = await billed(box)
    assert total <= budget + 1e-9
    assert len([r for r in results if not r.is_error]) == 8 == box.count("Run"), "8 × $0.0351 fit in $0.30"


async def test_after_a_run_billed_above_the_cap_the_same_kind_is_refused() -> None:
    kind = {**TINY, "width": 128, "height": 64, "steps": 2}
    with billing_box("per_run", overcharge=1.5) as box:  # Wiro bills $0.0527 where it publishes $0.0351
        async with connect(box, WIRO_MCP_MAX_RUN_USD="0.04") as client:
            first = await client.call_tool("generate_panorama", {**kind, "prompt": "one"})
            same = await client.call_tool("generate_panorama", {**kind, "prompt": "two"})
            more = await client.call_tool("generate_panorama", {**kind, "steps": 9, "prompt": "three"})
            less = await client.call_tool("generate_panorama", {**TINY, "prompt": "four"})
    assert not first.is_error and first.structured_content["cost_usd"] == pytest.approx(0.05265)
    for refused in (same, more):
        assert refused.is_error and "WIRO_MCP_MAX_RUN_USD ($0.04)" in text(refused)
        assert f"what Wiro billed for comparable work: $0.0527 for task {first.structured_content['task_id']}" in text(
            refused
        )
    assert not less.is_error, "a run asking for less than the billed one is not comparable: its typical price"
    assert box.count("Run") == 2


@pytest.mark.parametrize("reported", ["-0.94", "abc", "NaN", "1e9"])
async def test_a_cost_that_cannot_be_right_counts_at_the_estimate_and_never_lowers_the_spend(
    reported: str, caplog: pytest.LogCaptureFixture
) -> None:
    with billing_box("per_run") as box:
        box.inject("odd_cost", "Run", value=reported)
        with caplog.at_level(logging.WARNING, logger="wiro_mcp"):
            async with connect(box, WIRO_MCP_DAILY_BUDGET_USD="0.036") as client:
                first = await client.call_tool("generate_panorama", {**TINY, "prompt": "odd"})
                spending = await read_json(client, "wiro://spending")
                second = await client.call_tool("generate_panorama", {**TINY, "prompt": "after"})
    data = first.structured_content
    assert not first.is_error and data["state"] == "succeeded"
    assert "cost_usd" not in data and "cannot be right" in data["cost_problem"]
    assert "counts at the estimate, $0.0351" in text(first)
    assert spending["last_24_hours"]["billed_usd"] == 0 and spending["last_24_hours"]["total_usd"] == pytest.approx(
        PANORAMA_RUN
    )
    assert second.is_error and "WIRO_MCP_DAILY_BUDGET_USD" in text(second) and box.count("Run") == 1
    assert any("cannot be right" in r.getMessage() for r in caplog.records)
