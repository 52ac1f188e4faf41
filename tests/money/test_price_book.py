"""Where prices come from: Wiro's Tool/Detail once, then the cache on disk (across restarts), and the
bundled spec's figures when Wiro does not answer."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from wiro_mcp.budgets import PRICE_RETRY_AFTER as RETRY_AFTER
from wiro_mcp.budgets import PRICE_TTL
from wiro_mcp.catalog import load_catalog
from wiro_mcp.money.price_book import CACHE_FILE, PriceBook
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox, SandboxConfig
from wiro_mcp.wiro.client import WiroClient

pytestmark = pytest.mark.anyio

IMAGE = load_catalog()["generate_image"]
PANORAMA = load_catalog()["generate_panorama"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def book(client: WiroClient, folder: Path, clock: Clock, api: str = "https://api.example/v1") -> PriceBook:
    return PriceBook(client, folder, api=api, clock=clock)


async def test_prices_are_read_once_and_kept_on_disk_across_a_restart(
    sandbox: Sandbox, client: WiroClient, tmp_path: Path
) -> None:
    clock = Clock()
    first = await book(client, tmp_path, clock).pricing(IMAGE)
    assert first.source == "Wiro" and first.cps == pytest.approx(0.000585) and len(first.tiers) == 2
    prices = book(client, tmp_path, clock)
    await prices.pricing(IMAGE)
    await prices.pricing(IMAGE)
    assert sandbox.count("Tool/Detail") == 1, "the restarted server read the cache, not Wiro"
    panorama = await prices.pricing(PANORAMA)
    assert panorama.per_run == pytest.approx(0.0351) and not panorama.tiers, "the sandbox's typical panorama"
    assert sandbox.count("Tool/Detail") == 2, "each model is read once"
    cached = json.loads((tmp_path / CACHE_FILE).read_text())
    assert set(cached["https://api.example/v1"]) == {IMAGE.model, PANORAMA.model}
    # After the time limit, Wiro is asked again.
    clock.now += PRICE_TTL + 1
    again = await prices.pricing(IMAGE)
    assert again.source == "Wiro" and sandbox.count("Tool/Detail") == 3


async def test_another_api_does_not_share_the_cache(sandbox: Sandbox, client: WiroClient, tmp_path: Path) -> None:
    clock = Clock()
    await book(client, tmp_path, clock, api="https://one/v1").pricing(IMAGE)
    await book(client, tmp_path, clock, api="https://two/v1").pricing(IMAGE)
    assert sandbox.count("Tool/Detail") == 2
    assert set(json.loads((tmp_path / CACHE_FILE).read_text())) == {"https://one/v1", "https://two/v1"}


async def test_when_wiro_does_not_answer_the_bundled_figures_do_and_it_is_not_asked_again_at_once(
    sandbox: Sandbox, client: WiroClient, tmp_path: Path
) -> None:
    clock = Clock()
    sandbox.inject("http_500", "Tool/Detail", times=100)
    prices = book(client, tmp_path, clock)
    fallback = await prices.pricing(IMAGE)
    assert fallback.source == "the bundled spec" and fallback.cps == IMAGE.pricing.usd_per_second
    asked = sandbox.count("Tool/Detail")
    await prices.pricing(IMAGE)
    assert sandbox.count("Tool/Detail") == asked, f"not asked again within {RETRY_AFTER:g} s"
    clock.now += RETRY_AFTER
    sandbox.state.clear_faults()
    assert (await prices.pricing(IMAGE)).source == "Wiro"


async def test_an_expired_cache_beats_the_bundled_figures_when_wiro_is_down(
    sandbox: Sandbox, client: WiroClient, tmp_path: Path
) -> None:
    clock = Clock()
    await book(client, tmp_path, clock).pricing(IMAGE)
    clock.now += PRICE_TTL + 7200
    sandbox.inject("http_500", "Tool/Detail", times=100)
    stale = await book(client, tmp_path, clock).pricing(IMAGE)
    assert stale.source.startswith("Wiro, cached 8 h ago") and len(stale.tiers) == 2


async def test_a_tool_detail_without_prices_means_the_bundled_figures(tmp_path: Path) -> None:
    with Sandbox(SandboxConfig(prices=False)) as box:
        async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=box.base_url) as client:
            pricing = await book(client, tmp_path, Clock()).pricing(PANORAMA)
    assert pricing.source == "the bundled spec"
    assert not (tmp_path / CACHE_FILE).exists(), "nothing from Wiro worth keeping"


async def test_a_corrupt_or_unwritable_cache_is_ignored(
    sandbox: Sandbox, client: WiroClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / CACHE_FILE).write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="wiro_mcp"):
        pricing = await book(client, tmp_path, Clock()).pricing(IMAGE)
    assert pricing.source == "Wiro"
    assert "ignoring the price cache" in caplog.text
    assert json.loads((tmp_path / CACHE_FILE).read_text()), "rewritten whole"
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wiro_mcp"):
        pricing = await book(client, blocked, Clock()).pricing(IMAGE)
    assert pricing.source == "Wiro" and "could not write the price cache" in caplog.text


async def test_servers_sharing_a_database_share_the_price_cache(
    sandbox: Sandbox, client: WiroClient, tmp_path: Path, database_url: str
) -> None:
    from wiro_mcp.journal.access import Journal

    clock = Clock()
    journals = [
        Journal(tmp_path / name, api="https://api.example/v1", cost_check=lambda *a: None, database_url=database_url)
        for name in ("one", "two")
    ]
    try:
        one, two = (PriceBook(client, tmp_path, api="https://api.example/v1", clock=clock, shared=j) for j in journals)
        first = await one.pricing(IMAGE)
        second = await two.pricing(IMAGE)
        assert sandbox.count("Tool/Detail") == 1, "the second server took the first one's answer"
        assert second.cps == first.cps and second.tiers == first.tiers and second.source == "Wiro, cached"
        assert not (tmp_path / CACHE_FILE).exists(), "no file: the database keeps it"
        clock.now += PRICE_TTL + 1
        await two.pricing(IMAGE)  # expired: two asks Wiro and writes it back
        await one.pricing(IMAGE)  # one finds two's fresh answer
        assert sandbox.count("Tool/Detail") == 2
    finally:
        for journal in journals:
            await journal.close()
