"""The person who pays, through MCP: estimates before a run, the limits, and their yes (elicitation)
in both protocol generations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp_types import ElicitResult, TextResourceContents

from tests.helpers import connect, text
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

TWO_IMAGES = {"prompt": "two cats", "samples": 2, "preview": False}  # $0.0045 × 2 at the sandbox's tier


async def read_json(client: Any, uri: str) -> Any:
    [contents] = (await client.read_resource(uri)).contents
    assert isinstance(contents, TextResourceContents)
    return json.loads(contents.text)


async def test_every_run_knows_its_estimate_before_it_starts_and_its_cost_after(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_image", TWO_IMAGES)
        later = await client.call_tool("get_task", {"task_id": result.structured_content["task_id"]})
        models = await read_json(client, "wiro://models")
    data = result.structured_content
    assert data["estimated_cost_usd"] == pytest.approx(0.009) and data["cost_usd"] == pytest.approx(0.009)
    assert "cost $0.009 (estimated $0.009)" in text(result), "one estimate per result, beside the bill"
    assert data["estimate_basis"] == "Wiro's price tier: $0.0045 per output × 2"
    assert later.structured_content["estimated_cost_usd"] == pytest.approx(0.009), "remembered for later reads"
    image = next(m for m in models if m["tool"] == "generate_image")
    assert image["pricing"]["source"] == "Wiro" and len(image["pricing"]["tiers"]) == 2
    assert image["pricing"]["estimate_with_defaults_usd"] == pytest.approx(0.0045)
    assert sandbox.count("Tool/Detail") == 2, "each model's prices read once, on first need (never at start-up)"


async def test_a_slow_or_broken_price_lookup_falls_back_to_the_bundled_figures(sandbox: Sandbox) -> None:
    sandbox.inject("http_500", "Tool/Detail", times=100)
    async with connect(sandbox) as client:
        result = await client.call_tool("generate_panorama", {"prompt": "a lake", "preview": False})
    assert not result.is_error
    assert result.structured_content["estimated_cost_usd"] == pytest.approx(0.04)
    assert result.structured_content["estimate_basis"].endswith("from the bundled spec")


async def test_a_run_above_the_per_run_limit_is_refused_before_anything_is_sent(sandbox: Sandbox) -> None:
    async with connect(sandbox, WIRO_MCP_MAX_RUN_USD="0.005") as client:
        refused = await client.call_tool("generate_image", TWO_IMAGES)
        assert sandbox.count("Run") == 0
        allowed = await client.call_tool("generate_image", {**TWO_IMAGES, "samples": 1})
    assert refused.is_error
    message = text(refused)
    assert "Not started: this image run would cost about $0.009" in message
    assert "WIRO_MCP_MAX_RUN_USD ($0.005)" in message and "Nothing was sent to Wiro" in message
    assert not allowed.is_error and sandbox.count("Run") == 1


async def test_the_daily_budget_counts_what_was_spent_and_says_so(sandbox: Sandbox, state_dir: Path) -> None:
    async with connect(sandbox, WIRO_MCP_DAILY_BUDGET_USD="0.01") as client:
        first = await client.call_tool("generate_image", TWO_IMAGES)
        second = await client.call_tool("generate_image", {**TWO_IMAGES, "prompt": "a dog", "samples": 1})
        spending = await read_json(client, "wiro://spending")
    assert not first.is_error and second.is_error and sandbox.count("Run") == 1
    assert "$0.009 spent of $0.01 today" in text(second) and "WIRO_MCP_DAILY_BUDGET_USD" in text(second)
    assert spending["last_24_hours"]["billed_usd"] == pytest.approx(0.009)
    assert spending["last_24_hours"]["runs"] == 1
    assert spending["limits"]["daily_budget_usd"] == 0.01
    assert spending["limits"]["daily_budget_left_usd"] == pytest.approx(0.001)
    assert spending["journal"] == {"path": str(state_dir / "journal.sqlite3"), "writable": True}
    assert set(spending["promises"]) == {"estimates", "WIRO_MCP_DAILY_BUDGET_USD", "WIRO_MCP_MAX_RUN_USD", "failures"}


def answering(action: str, asked: list[str]) -> Any:
    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action=action, content={"run": True} if action == "accept" else None)

    return elicit


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 (input_required round trip) and 2025-11-25
@pytest.mark.parametrize(
    ("action", "runs", "says"),
    [
        ("accept", 1, "succeeded"),
        ("decline", 0, "Not started: the person declined this image run (about $0.009)"),
        ("cancel", 0, "Not started: the person dismissed the question about this image run"),
        (None, 0, "this client cannot ask them (it does not support MCP elicitation)"),
    ],
)
async def test_a_run_above_the_confirmation_threshold_waits_for_the_persons_yes(
    sandbox: Sandbox, mode: str, action: str | None, runs: int, says: str
) -> None:
    asked: list[str] = []
    options: dict[str, Any] = {"elicitation_callback": answering(action, asked)} if action else {}
    async with connect(sandbox, mode=mode, WIRO_MCP_CONFIRM_ABOVE_USD="0.005", **options) as client:
        result = await client.call_tool("generate_image", TWO_IMAGES)
        cheap = await client.call_tool("generate_image", {**TWO_IMAGES, "prompt": "one cat", "samples": 1})
    assert sandbox.count("Run") == runs + 1, "the run under the threshold is not asked about"
    assert result.is_error is (runs == 0)
    assert says in text(result)
    assert asked == (
        []
        if action is None
        else [
            "This image run costs about $0.009 (Wiro's price tier: $0.0045 per output × 2); "
            "$0.00 spent in the last 24 h. Run it?"
        ]
    )
    assert not cheap.is_error


async def test_joining_a_task_in_flight_costs_nothing_and_asks_nothing(held: Sandbox) -> None:
    asked: list[str] = []
    async with connect(held, WIRO_MCP_CONFIRM_ABOVE_USD="0.005", elicitation_callback=answering("accept", asked)) as c:
        first = await c.call_tool("generate_image", {**TWO_IMAGES, "wait_seconds": 0})
        again = await c.call_tool("generate_image", {**TWO_IMAGES, "wait_seconds": 0})
    assert (
        again.structured_content["reused"]
        and again.structured_content["task_id"] == first.structured_content["task_id"]
    )
    assert len(asked) == 1 and held.count("Run") == 1


async def test_start_up_and_tools_list_read_no_prices_and_open_no_journal(sandbox: Sandbox, state_dir: Any) -> None:
    async with connect(sandbox) as client:
        await client.list_tools()
        await client.list_resources()
    assert sandbox.count("") == 0 and not state_dir.exists()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_confirmed_call_is_validated_and_priced_once_and_held_to_that_price(
    sandbox: Sandbox, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wiro_mcp.catalog.schema import validate
    from wiro_mcp.money import limits
    from wiro_mcp.money.estimate import estimate
    from wiro_mcp.service import judging, preparation

    validated: list[Any] = []
    priced: list[Any] = []
    judged: list[Any] = []
    judge = limits.judge

    def counted_judge(*args: Any, **kwargs: Any) -> Any:
        judged.append(args)
        return judge(*args, **kwargs)

    monkeypatch.setattr(limits, "judge", counted_judge)

    def counted_validate(*args: Any) -> Any:
        validated.append(args)
        return validate(*args)

    def counted_estimate(*args: Any) -> Any:
        priced.append(args)
        return estimate(*args)

    monkeypatch.setattr(preparation, "validate", counted_validate)
    monkeypatch.setattr(judging, "estimate", counted_estimate)
    asked: list[str] = []
    async with connect(
        sandbox, mode=mode, WIRO_MCP_CONFIRM_ABOVE_USD="0.005", elicitation_callback=answering("accept", asked)
    ) as client:
        result = await client.call_tool("generate_image", TWO_IMAGES)
    assert not result.is_error and len(asked) == 1
    assert len(validated) == 1 and len(priced) == 1, "the question and the run share one preparation"
    assert len(judged) == (2 if mode == "auto" else 1), "one judgment per request, its question's and start's"
    assert "$0.009" in asked[0] and result.structured_content["estimated_cost_usd"] == pytest.approx(0.009)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_what_was_spent_while_the_person_thought_is_counted_at_their_yes(sandbox: Sandbox, mode: str) -> None:
    """The question's judgment is reused by the start, but the daily budget is checked again in the
    claim's transaction: a run another server made while the question was open still counts."""
    budget = {"WIRO_MCP_DAILY_BUDGET_USD": "0.01"}
    asked: list[str] = []

    async def meanwhile_spent(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        async with connect(sandbox, **budget) as other:  # another server on the same journal
            spent = await other.call_tool("generate_image", {**TWO_IMAGES, "prompt": "someone else's cats"})
        assert not spent.is_error
        return ElicitResult(action="accept", content={"run": True})

    async with connect(
        sandbox, mode=mode, WIRO_MCP_CONFIRM_ABOVE_USD="0.005", elicitation_callback=meanwhile_spent, **budget
    ) as client:
        result = await client.call_tool("generate_image", TWO_IMAGES)
    assert len(asked) == 1 and "$0.00 spent of $0.01 today" in asked[0]
    assert result.is_error and sandbox.count("Run") == 1, "only the other server's run was sent"
    assert "$0.009 spent of $0.01 today" in text(result)
