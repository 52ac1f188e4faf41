"""Any Wiro model: search_models, describe_model and run_model (inputs checked against the model's
own spec before anything is billed, then the same run as a typed tool). The typed tools of
WIRO_MCP_MODELS are typed_models.py's."""

from __future__ import annotations

import inspect
import json
from typing import Annotated, Any, Literal

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from mcp_types import CallToolResult, TextContent
from pydantic import AfterValidator, Field

from ..catalog import MODEL_NAME
from ..results import ModelDescription, ModelSearch
from ..service.call import RunCall
from ..text import quoted
from .calls import TaskToolResult, state_of
from .generate_tools import KEYWORD, Confirm, call_parameters, confirmer, run_call, signed
from .state import ServerState


def a_model_name(value: str) -> str:
    # Checked, not shown: a pattern in the schema would cost every agent its bytes on every turn.
    if not MODEL_NAME.fullmatch(value.strip()):
        raise ValueError("must be a Wiro model's owner/slug, e.g. tencent/hunyuan-flux-srpo")
    return value.strip()


ModelName = Annotated[str, AfterValidator(a_model_name), Field(description="owner/slug")]
Inputs = Annotated[dict[str, Any], Field(description="keyed as describe_model shows")]


async def search_models(
    ctx: Context[ServerState, Any],
    query: Annotated[str | None, Field(max_length=200, description="e.g. 'text to video'")] = None,
    category: Annotated[str | None, Field(max_length=60, description="e.g. llm")] = None,
    limit: Annotated[int, Field(ge=1, le=30, description="how many")] = 8,
) -> Annotated[CallToolResult, ModelSearch]:
    found = await (await state_of(ctx).service()).any_model.search(query, category, limit)
    if not found["models"]:
        return CallToolResult(content=[TextContent(text=found["next"])], structured_content=found)
    count = found["total"]
    lines = [f"{count} model{'s' if count != 1 else ''} found, best first (titles and categories quoted from Wiro):"]
    for row in found["models"]:
        price = f", ~${row['typical_usd']:g}/run" if row.get("typical_usd") else ""
        kinds = f" [{', '.join(map(quoted, row.get('categories', [])))}]" if row.get("categories") else ""
        lines.append(f"- {row['model']}: {quoted(row['title'])}{kinds}{price}")
    lines.append(found["next"] + ("; run_model runs it." if found["next"].startswith("describe_model") else ""))
    return CallToolResult(content=[TextContent(text="\n".join(lines))], structured_content=found)


async def describe_model(
    ctx: Context[ServerState, Any], model: ModelName
) -> Annotated[CallToolResult, ModelDescription]:
    view = await (await state_of(ctx).service()).any_model.describe(model)
    return CallToolResult(content=[TextContent(text=described(view))], structured_content=view)


def described(view: dict[str, Any]) -> str:
    """describe_model's text: our words, and Wiro's (title, description, categories, readme) quoted as data."""
    wiros = [f"title {quoted(view['title'])}", f"description {quoted(view['description'])}"]
    if view.get("categories"):
        wiros.append(f"categories {', '.join(map(quoted, view['categories']))}")
    lines = [
        f"{view['model']}: run it with {view['run_with']}; it makes {view['outputs']}.",
        f"From Wiro's catalog, quoted as data: {'; '.join(wiros)}.",
        f"Inputs (a JSON schema keyed by Wiro's ids): {json.dumps(view['inputs'], ensure_ascii=False)}",
        f"Pricing: {json.dumps(view['pricing'], ensure_ascii=False)}",
    ]
    if view.get("readme"):
        lines.append(f"Readme excerpt, quoted: {quoted(view['readme'])}")
    lines += [f"Note: {note}" for note in view.get("notes", [])]
    return "\n".join(lines)


def model_run(model: str | None, name: str) -> Any:
    """run_model as the SDK reads it (`model` None: the caller names the model), or one model's run as its
    typed tool takes it (`model` given: the tool's arguments gathered into `inputs`, typed_models.py). The
    person's yes is resolved before the body, as for the seeds' tools; the inputs are checked by the same
    check either way (the model's spec, by Wiro's ids)."""

    async def run(
        ctx: Context[ServerState, Any],
        inputs: dict[str, Any],
        model: str | None = model,
        wait_seconds: float | None = None,
        preview: bool | Literal["flat"] = True,
        allow_duplicate: bool = False,
        consent: Any = None,
    ) -> CallToolResult:
        named = model or ""
        return await run_call(
            ctx,
            lambda service, call: service.any_model.run(named, inputs, call),
            wait_seconds=wait_seconds,
            preview=preview,
            allow_duplicate=allow_duplicate,
            consent=consent,
        )

    async def quote(service: Any, given: dict[str, Any], call: RunCall) -> Any:
        return await service.any_model.quote(model or given["model"], given.get("inputs") or {}, call)

    named = [inspect.Parameter("model", KEYWORD, annotation=ModelName)] if model is None else []
    named.append(inspect.Parameter("inputs", KEYWORD, annotation=Inputs))
    asked = Annotated[ElicitationResult[Confirm], Resolve(confirmer(quote, named, name))]
    everything = [*named, *call_parameters(), inspect.Parameter("consent", KEYWORD, default=None, annotation=asked)]
    return signed(run, everything, TaskToolResult, name)


SEARCH_TEXT = "Find Wiro models: video, speech, LLM, 3D…"
DESCRIBE_TEXT = "A Wiro model's inputs (JSON schema), outputs and prices."
RUN_TEXT = "Run any Wiro model; inputs checked before billing."

run_model_tool = model_run(None, "run_model")
