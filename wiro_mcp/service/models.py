"""Any Wiro model: search the catalog (Tool/List), read a model's spec (Tool/Detail, derived by
catalog/derive.py, cached on disk for a day), and describe it for an agent.

The seed models answer from their curated specs; every other model from Wiro's own. A spec that was
read once is used again when Wiro cannot be reached (with its age said); a model Wiro does not know
gets the nearest names from a search; nothing here bills anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from .. import budgets
from ..catalog import MODEL_NAME, ModelSpec, remember, spec_of
from ..catalog.derive import spec_from_wiro
from ..errors import ArgumentError, CallFailed, NotFoundError, WiroError
from ..text import clip
from ..wiro.client import WiroClient
from ..wiro.tool_info import ToolInfo
from .search import READ_ROWS, ranked, row

log = logging.getLogger(__name__)

SEARCHES_KEPT = 64
SPECS_KEPT = 256


def checked_name(model: str) -> str:
    """owner/slug, lowercase; anything else is refused before Wiro is asked."""
    name = model.strip().lower()
    if not MODEL_NAME.fullmatch(name):
        raise ArgumentError(
            f"model {clip(model)} is not a Wiro model name: give owner/slug as search_models lists it, "
            "e.g. tencent/hunyuan-flux-srpo."
        )
    return name


@dataclass(frozen=True)
class Found:
    """A search's answer: the rows shown, how many matched in what was read, whether they match the
    query's words (False: none did, and Wiro's own order is shown), and Wiro's count when it gave one."""

    rows: list[dict[str, Any]]
    matched: int
    matching: bool
    wiro_total: int | None


class Models:
    """The catalog beyond the seeds, for one server: searches and specs, cached."""

    def __init__(
        self,
        client: WiroClient,
        folder: Path,
        *,
        api: str,
        clock: Callable[[], float] = time.time,
        learned: Callable[[str, ToolInfo], Awaitable[None]] | None = None,
        derived: Callable[[ModelSpec], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._learned = learned  # what else the answer teaches (its prices, for the price book)
        self._derived = derived  # who else follows a spec read afresh (a configured model's typed tool)
        self._folder = cache_folder(folder, api)
        self._clock = clock
        self._searches: OrderedDict[tuple[Any, ...], tuple[float, Found]] = OrderedDict()
        self._specs: OrderedDict[str, tuple[float, ModelSpec, ToolInfo]] = OrderedDict()
        self._locks: dict[str, anyio.Lock] = {}

    async def search(self, query: str | None, category: str | None, limit: int) -> Found:
        """Rows of Wiro's catalog for `query`, ranked by its words (search.py), at most `limit`."""
        key = (query, category, limit)
        kept = self._searches.get(key)
        if kept is not None and self._clock() - kept[0] < budgets.SEARCH_TTL:
            return kept[1]
        try:
            infos, total = await self._client.tool_list(
                query, categories=[category] if category else None, limit=max(limit, READ_ROWS), deadline=_deadline()
            )
        except WiroError as exc:
            raise CallFailed(f"Wiro's model catalog cannot be searched now: {exc} Try again in a moment.") from exc
        shown, matching = ranked(query, infos)
        found = Found([row(info) for info in shown[:limit]], len(shown), matching, total)
        self._searches[key] = (self._clock(), found)
        while len(self._searches) > SEARCHES_KEPT:
            self._searches.popitem(last=False)
        return found

    async def spec(self, model: str) -> ModelSpec:
        """The spec a call of `model` is checked against: a seed's own, else derived from Wiro's."""
        return (await self.detail(model))[0]

    async def detail(self, model: str) -> tuple[ModelSpec, ToolInfo | None, float | None]:
        """(spec, Wiro's entry when read, its age in seconds when it came from the cache and Wiro failed)."""
        name = checked_name(model)
        seed = spec_of(name)
        if seed is not None and seed.curated:
            return seed, None, None
        async with self._locks.setdefault(name, anyio.Lock()):
            now = self._clock()
            kept = self._specs.get(name)
            if kept is None:
                kept = await anyio.to_thread.run_sync(self._load, name)
                if kept is not None and self._derived is not None:  # written by us before, or another server
                    await self._derived(kept[1])
            if kept is not None and now - kept[0] < budgets.MODEL_SPEC_TTL:
                return kept[1], kept[2], None
            try:
                info = await self._client.tool_detail(name, deadline=_deadline())
            except NotFoundError:
                raise ArgumentError(await self._unknown(name)) from None
            except WiroError as exc:
                if kept is not None:  # Wiro out of reach: yesterday's spec is still the model's
                    log.info("Tool/Detail for %s failed (%s); using the spec read %.0f s ago", name, exc, now - kept[0])
                    return kept[1], kept[2], now - kept[0]
                raise CallFailed(
                    f"The inputs of {name} cannot be read from Wiro now ({exc}); nothing was sent or billed. "
                    "Call describe_model again in a moment."
                ) from exc
            # Bounded work (derive.py), but still none of it on the event loop.
            spec = await anyio.to_thread.run_sync(spec_from_wiro, name, info.model_dump())
            self._keep(name, now, spec, info)
            if self._learned is not None:
                await self._learned(name, info)
            await anyio.to_thread.run_sync(self._save, name, now, info)
            if self._derived is not None:
                await self._derived(spec)
            return spec, info, None

    async def _unknown(self, name: str) -> str:
        """What to say of a model Wiro does not have: the nearest names its catalog gives."""
        words = " ".join(re.split(r"[/_.-]+", name))
        try:
            rows = (await self.search(words, None, 5)).rows
        except CallFailed:
            rows = []
        nearest = [str(r["model"]) for r in rows if r.get("model")][:3]
        also = f" Nearest names: {', '.join(nearest)}." if nearest else ""
        return f"Wiro has no model {name}; nothing was sent or billed.{also} Find one with search_models."

    def _keep(self, name: str, at: float, spec: ModelSpec, info: ToolInfo) -> None:
        remember(spec)
        self._specs[name] = (at, spec, info)
        while len(self._specs) > SPECS_KEPT:
            self._specs.popitem(last=False)

    # -- the cache on disk: one JSON file per model, Wiro's answer as read ----------------------

    def _path(self, name: str) -> Path:
        return cached_path(self._folder, name)

    def _load(self, name: str) -> tuple[float, ModelSpec, ToolInfo] | None:
        found = read_cached(self._folder, name)
        if found is not None:
            self._keep(name, *found)
        return found

    def _save(self, name: str, at: float, info: ToolInfo) -> None:
        body = {"at": at, "tool": info.model_dump(by_alias=True, mode="json")}
        write_whole(self._path(name), json.dumps(body), f"the spec of {name}")


def write_whole(path: Path, text: str, what: str) -> None:
    """`text` written whole and renamed into place; a cache that cannot be written is only a log line."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        log.warning("could not cache %s: %r", what, exc)


def cache_folder(state_folder: Path, api: str) -> Path:
    """Where the specs read from one Wiro API are kept."""
    return state_folder / "models" / hashlib.sha256(api.encode()).hexdigest()[:12]


def cached_path(folder: Path, name: str) -> Path:
    return folder / (name.replace("/", "+") + ".json")


def read_cached(folder: Path, name: str) -> tuple[float, ModelSpec, ToolInfo] | None:
    """A model's spec as last read from Wiro (when, the spec, Wiro's entry), or None; never raises."""
    try:
        saved = json.loads(cached_path(folder, name).read_text(encoding="utf-8"))
        at, info = float(saved["at"]), ToolInfo.model_validate(saved["tool"])
        return at, spec_from_wiro(name, info.model_dump()), info
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("ignoring the cached spec of %s: %r", name, exc)
        return None


def digests_path(folder: Path) -> Path:
    return folder / "typed-tools.json"


def read_digests(folder: Path) -> dict[str, str]:
    """The digest of each configured model's typed tool as last served (adapter/typed_models.py); never raises."""
    try:
        saved = json.loads(digests_path(folder).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring the typed tools' digests: %r", exc)
        return {}
    if not isinstance(saved, dict):
        return {}
    return {str(k): v for k, v in list(saved.items())[:100] if isinstance(v, str) and len(v) <= 64}


def write_digests(folder: Path, digests: dict[str, str]) -> None:
    write_whole(digests_path(folder), json.dumps(digests, sort_keys=True), "the typed tools' digests")


def _deadline() -> float:
    return anyio.current_time() + budgets.CATALOG_SECONDS
