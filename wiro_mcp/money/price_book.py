"""Where each model's prices come from: Wiro's Tool/Detail on first need, a cache on disk, the spec.

Never read at start-up or for tools/list: the first generate call (or a read of wiro://models)
asks Wiro, with a short deadline. What Wiro answers is kept in memory and in `prices.json` in the
state folder (or, for servers sharing a database, in the journal: one replica's answer serves all)
for `PRICE_TTL`, so a restarted server does not ask again. When Wiro does not answer,
an expired cache entry is better than nothing; failing that, the bundled spec's figures. After a
failed read the server waits `RETRY_AFTER` before asking again, so no call pays for a slow Wiro
twice in a row.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from .. import budgets
from ..catalog import ModelSpec
from ..errors import WiroError
from ..journal.access import Journal
from ..journal.records import JournalError
from ..wiro.client import WiroClient
from ..wiro.tool_info import ToolInfo
from .estimate import Pricing, Tier, parse_tiers, spec_pricing

log = logging.getLogger(__name__)


def _from_info(info: ToolInfo) -> Pricing | None:
    """The prices a Tool/Detail entry carries, or None when it carries none."""
    tiers = parse_tiers(info.dynamic_price)
    pricing = Pricing("Wiro", cps=info.cps or None, per_run=info.approximate_cost or None, tiers=tiers)
    return None if pricing.empty else pricing


CACHE_FILE = "prices.json"


class PriceBook:
    """Prices per model for one Wiro API (the cache is keyed by the API's base URL)."""

    def __init__(
        self, client: WiroClient, folder: Path, *, api: str, clock: Any = time.time, shared: Journal | None = None
    ) -> None:
        self._client = client
        self._shared = shared  # a journal other servers share: the cache lives there, not in the file
        self._path = folder / CACHE_FILE
        self._api = api
        self._clock = clock
        self._known: dict[str, tuple[float, Pricing]] = {}
        self._failed_at: dict[str, float] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._disk_read = False

    async def learn(self, model: str, info: ToolInfo) -> None:
        """Prices that came with a model's Tool/Detail read for another reason (describe_model, run_model's
        spec): kept as if asked for, so the run's estimate does not ask Wiro the same thing again."""
        pricing = _from_info(info)
        if pricing is None:
            return
        async with self._locks.setdefault(model, anyio.Lock()):
            await self._read_disk()
            now = self._clock()
            self._known[model] = (now, pricing)
            await self._keep(model, now, pricing)

    async def _read_disk(self) -> None:
        if not self._disk_read and self._shared is None:
            self._disk_read = True
            self._known.update(await anyio.to_thread.run_sync(self._load))

    async def pricing(self, spec: ModelSpec) -> Pricing:
        """The freshest prices there are for `spec`, within about FETCH_SECONDS at worst."""
        lock = self._locks.setdefault(spec.model, anyio.Lock())
        async with lock:
            await self._read_disk()
            now = self._clock()
            cached = self._known.get(spec.model)
            if cached is not None and now - cached[0] < budgets.PRICE_TTL:
                return cached[1]
            if self._shared is not None:  # another server may have asked Wiro since
                self._known.update(await self._load_shared())
                cached = self._known.get(spec.model)
                if cached is not None and now - cached[0] < budgets.PRICE_TTL:
                    return cached[1]
            if now - self._failed_at.get(spec.model, -budgets.PRICE_RETRY_AFTER) >= budgets.PRICE_RETRY_AFTER:
                fetched = await self._fetch(spec)
                if fetched is not None:
                    self._known[spec.model] = (now, fetched)
                    await self._keep(spec.model, now, fetched)
                    return fetched
                self._failed_at[spec.model] = now
            if cached is not None:
                return Pricing(f"Wiro, cached {(now - cached[0]) / 3600:.0f} h ago", *_figures(cached[1]))
            return spec_pricing(spec)

    async def _fetch(self, spec: ModelSpec) -> Pricing | None:
        try:
            info = await self._client.tool_detail(spec.model, deadline=anyio.current_time() + budgets.PRICE_SECONDS)
        except WiroError as exc:
            log.info("no prices from Wiro for %s (%s); using the cache or the spec", spec.model, exc)
            return None
        pricing = _from_info(info)
        if pricing is None:
            log.info("Wiro's Tool/Detail for %s carries no price; using the bundled figures", spec.model)
        return pricing

    # -- where the cache lives: the shared journal, or a file ------------------------------------

    async def _load_shared(self) -> dict[str, tuple[float, Pricing]]:
        assert self._shared is not None
        try:
            rows = await self._shared.prices()
        except JournalError as exc:
            log.info("the shared price cache cannot be read (%s)", exc)
            return {}
        found = {}
        for model, (at, figures) in rows.items():
            try:
                found[model] = (at, _from_json(json.loads(figures)))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # a row this version cannot read: asked again
        return found

    async def _keep(self, model: str, at: float, pricing: Pricing) -> None:
        if self._shared is None:
            await anyio.to_thread.run_sync(self._save)
            return
        try:
            await self._shared.keep_price(model, at, json.dumps(pricing.public_view()))
        except JournalError as exc:  # a cache: the next server asks Wiro itself
            log.info("the shared price cache cannot be written (%s)", exc)

    def _load(self) -> dict[str, tuple[float, Pricing]]:
        try:
            entries = json.loads(self._path.read_text()).get(self._api, {})
            return {model: (float(e["at"]), _from_json(e)) for model, e in entries.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("ignoring the price cache %s: %r", self._path, exc)
            return {}

    def _save(self) -> None:
        """Merge ours into the file (other APIs' entries kept), written whole and renamed into place."""
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            try:
                everything = json.loads(self._path.read_text())
                everything = everything if isinstance(everything, dict) else {}
            except (OSError, ValueError):
                everything = {}
            everything[self._api] = {
                model: {"at": at, **pricing.public_view()} for model, (at, pricing) in self._known.items()
            }
            handle, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=".prices-")
            try:
                with os.fdopen(handle, "w") as out:
                    json.dump(everything, out, indent=1)
                os.replace(temporary, self._path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not write the price cache %s: %r", self._path, exc)


def _figures(pricing: Pricing) -> tuple[float | None, float | None, tuple[Tier, ...]]:
    return pricing.cps, pricing.per_run, pricing.tiers


def _from_json(entry: dict[str, Any]) -> Pricing:
    tiers = tuple(Tier(float(t["price_usd"]), str(t["method"]), dict(t["inputs"])) for t in entry.get("tiers", []))
    return Pricing("Wiro, cached", entry.get("usd_per_gpu_second"), entry.get("typical_usd_per_run"), tiers)
