"""Any Wiro model through the same path as the seeds: search_models, describe_model, run_model, and
the wiro://models resource.

run_model checks its `inputs` (keyed by Wiro's ids) against the model's spec before anything is sent,
then runs exactly as a typed tool would (`Service.generate`: estimate, limits, the person's yes,
one claimed Run, the journal, the wait, previews, stopping). No MCP here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

import anyio

from ..catalog import ModelSpec, load_catalog
from ..catalog.derive import short
from ..catalog.json_schema import inputs_schema
from ..catalog.schema import arguments_from_inputs
from ..errors import WiroMCPError
from ..media.outcome import Outcome
from ..money import estimate
from ..money.estimate import Pricing
from ..text import quoted, shown
from .call import RunCall
from .judging import Judge, Quote
from .models import Models
from .ports import Runs
from .reports import rounded

ABOUT_WORDS = 600  # describe_model's description and readme excerpt, each


class TypedTools(Protocol):
    """The configured models' typed tools (adapter/typed_models.py), as the service sees them."""

    def about(self, model: str) -> tuple[str | None, list[str]]:
        """The tool that runs `model` (None: run_model) and notes for describe_model (skipped, changed)."""
        ...

    async def refresh(self, spec: ModelSpec) -> None:
        """A model's spec as read afresh: its typed tool follows it."""
        ...


class AnyModel:
    def __init__(
        self, runs: Runs, models: Models, judge: Judge, configured: Sequence[str] = (), typed: TypedTools | None = None
    ) -> None:
        self._runs = runs
        self.models = models
        self._judge = judge  # prices and estimates for wiro://models
        self._configured = tuple(configured)  # WIRO_MCP_MODELS
        self._typed = typed

    async def search(self, query: str | None, category: str | None, limit: int) -> dict[str, Any]:
        found = await self.models.search(query, category, limit)
        if not found.rows:
            what = f"matches {quoted(shown(query, 80))}" if query else "is listed"
            where = f" in category {quoted(shown(category, 60))}" if category else ""
            next_step = (
                f"No Wiro model {what}{where}. Try one or two plainer words (video, speech, llm, 3d, image, "
                "panorama), a category alone (e.g. category='text-to-video'), or no query for the most used models."
            )
        elif not found.matching:
            next_step = (
                "None of these names the query's words (they are Wiro's own answer, in its order); try plainer "
                "words, or describe_model(model) for one of them."
            )
        else:
            next_step = "describe_model(model) shows a model's inputs and prices"
        return {"models": found.rows, "total": found.matched, "next": next_step}

    async def describe(self, model: str) -> dict[str, Any]:
        """What a model takes (a JSON schema keyed by Wiro's ids), makes and costs."""
        spec, info, age = await self.models.detail(model)
        tool, about = (spec.tool, []) if spec.curated else self._typed_tool(spec.model)
        view: dict[str, Any] = {
            "model": spec.model,
            "title": spec.title,
            "run_with": tool or "run_model",
            "outputs": spec.outputs,
            "description": short(info.description, ABOUT_WORDS) if info else f"{spec.summary} {spec.description}",
        }
        if info is not None and info.categories:
            view["categories"] = info.categories
        view["inputs"] = inputs_schema(spec)
        view["pricing"] = await self._prices(spec)
        if info is not None and info.readme:
            view["readme"] = short(info.readme, ABOUT_WORDS)
        notes = []
        if info is not None and info.parameters is None:
            notes.append("Wiro publishes no input list for this model: only a prompt is known and sent.")
        if age is not None:
            notes.append(f"Wiro could not be reached: this is the model's spec as read {age / 3600:.1f} h ago.")
        notes += about
        if notes:
            view["notes"] = notes
        return view

    def _typed_tool(self, model: str) -> tuple[str | None, list[str]]:
        return self._typed.about(model) if self._typed is not None else (None, [])

    async def run(self, model: str, inputs: Mapping[str, Any], call: RunCall) -> Outcome:
        """`inputs` checked against the model's spec (nothing sent if they are wrong), then the run. Its
        wait counts from when the call arrived (else now): reading the spec comes out of it."""
        if call.arrived is None:
            call = replace(call, arrived=anyio.current_time())
        spec = await self.models.spec(model)
        arguments = arguments_from_inputs(spec, inputs)
        return await self._runs.generate(spec, arguments, call)

    async def quote(self, model: str, inputs: Mapping[str, Any], call: RunCall) -> Quote | None:
        """run_model's cost and whether it needs the person's yes (None for a call that cannot be made)."""
        try:
            spec = await self.models.spec(model)
            arguments = arguments_from_inputs(spec, inputs)
        except WiroMCPError:
            return None
        return await self._runs.quote(spec, arguments, call)

    async def models_view(self) -> list[dict[str, Any]]:
        """wiro://models: the seeds and the configured models, inputs and prices with a default run's estimate."""
        specs = list(load_catalog().values())
        for name in self._configured:
            try:
                specs.append(await self.models.spec(name))
            except WiroMCPError:  # said by describe_model; the resource lists what it can
                continue
        views = []
        for spec in specs:
            views.append(spec.public_view() | {"pricing": await self._prices(spec)})
        return views

    async def _prices(self, spec: ModelSpec) -> dict[str, Any]:
        pricing: Pricing
        try:
            pricing = await self._judge.prices.pricing(spec)
        except WiroMCPError:  # no credentials yet: the bundled figures
            pricing = estimate.spec_pricing(spec)
        guess = await self._judge.estimate(spec, {}, pricing=pricing)
        return pricing.public_view() | {
            "estimate_with_defaults_usd": rounded(guess.usd) if guess else None,
            "estimate_basis": guess.basis if guess else None,
            "note": "estimates; what Wiro bills (cost_usd) comes with each finished task",
        }
