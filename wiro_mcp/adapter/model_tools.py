"""Any Wiro model: search_models, describe_model and run_model (inputs checked against the model's
own spec before anything is billed, then the same run as a typed tool). The typed tools of
WIRO_MCP_MODELS are typed_models.py's."""

from __future__ import annotations

import inspect
import json
from typing import Annotated, Any, Literal

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp_types import CallToolResult, TextContent
from pydantic import AfterValidator, Field

from ..catalog import MODEL_NAME
from ..errors import WiroMCPError
from ..results import ModelDescription, ModelSearch
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
    try:
        found = await (await state_of(ctx).service()).any_model.search(query, category, limit)
    except WiroMCPError as exc:
        raise ToolError(str(exc)) from exc
    lines = [f"{len(found['models'])} of {found['total']} model(s):"]
    for row in found["models"]:
        price = f", ~${row['typical_usd']:g}/run" if row.get("typical_usd") else ""
        kinds = f" [{', '.join(row.get('categories', []))}]" if row.get("categories") else ""
        lines.append(f"- {row['model']}: {row['title']}{kinds}{price}")
    lines.append("describe_model(model) gives a model's inputs and prices; run_model runs it.")
    return CallToolResult(content=[TextContent(text="\n".join(lines))], structured_content=found)


async def describe_model(
    ctx: Context[ServerState, Any], model: ModelName
) -> Annotated[CallToolResult, ModelDescription]:
    try:
        view = await (await state_of(ctx).service()).any_model.describe(model)
    except WiroMCPError as exc:
        raise ToolError(str(exc)) from exc
    text = json.dumps(view, indent=1, ensure_ascii=False)
    return CallToolResult(content=[TextContent(text=text)], structured_content=view)


async def run_model(
    ctx: Context[ServerState, Any],
    model: ModelName,
    inputs: Inputs,
    wait_seconds: float | None = None,
    preview: bool | Literal["flat"] = True,
    allow_duplicate: bool = False,
    consent: Any = None,
) -> CallToolResult:
    return await run_call(
        ctx,
        lambda service, call: service.any_model.run(model, inputs, **call),
        wait_seconds=wait_seconds,
        preview=preview,
        allow_duplicate=allow_duplicate,
        consent=consent,
    )


async def _quote(service: Any, given: dict[str, Any], duplicate: bool, folders: Any) -> Any:
    inputs = given.get("inputs") or {}
    return await service.any_model.quote(given["model"], inputs, allow_duplicate=duplicate, input_folders=folders)


def _run_model_tool() -> Any:
    named = [
        inspect.Parameter("model", KEYWORD, annotation=ModelName),
        inspect.Parameter("inputs", KEYWORD, annotation=Inputs),
    ]
    asked = Annotated[ElicitationResult[Confirm], Resolve(confirmer(_quote, named, "run_model"))]
    everything = [*named, *call_parameters(), inspect.Parameter("consent", KEYWORD, default=None, annotation=asked)]
    return signed(run_model, everything, TaskToolResult, "run_model")


SEARCH_TEXT = "Find Wiro models: video, speech, LLM, 3D…"
DESCRIBE_TEXT = "A Wiro model's inputs (JSON schema), outputs and prices."
RUN_TEXT = "Run any Wiro model; inputs checked before billing."

# run_model as the SDK reads it: the person's yes resolved before the body, as for the typed tools.
run_model_tool = _run_model_tool()
