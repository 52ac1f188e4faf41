"""A configured model's typed tool (WIRO_MCP_MODELS), as data: its name among the configured models, its
input schema keyed by Wiro's own ids within TOOL_BYTES, and a digest that says when it changed.

Nothing here becomes a Python name: a Wiro id is a key of the schema and of the `inputs` the tool hands
to run_model's check (schema.py). The call's own arguments (wait_seconds, preview, allow_duplicate) sit
beside the inputs; a Wiro input of the same name takes that name, and the call's argument is left out of
that tool (run_model still takes it). What an agent reads of the tool stays within TOOL_BYTES for any
spec: Wiro's words are shortened first, then the optional inputs that do not fit are left out of the
tool (run_model takes them and describe_model lists them); a spec whose required inputs alone do not
fit makes no tool. All of it is linear in the inputs.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..text import quoted
from . import InputSpec, ModelSpec
from .derive import short, tool_name
from .json_schema import input_schema, object_schema

TOOL_BYTES = 1200
# The words tried, longest first: (per input, per model); 0 leaves the words out.
WORDINGS = ((90, 220), (60, 140), (40, 80), (0, 60), (0, 0))
NAME_MAX = 64  # MCP's longest tool name
SUFFIX = 6  # hex digits of the model's hash that tell two models apart


@dataclass(frozen=True)
class TypedTool:
    """What a configured model's tool is, as MCP lists it, and what it leaves to run_model."""

    model: str
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    inputs: tuple[str, ...]  # the Wiro ids it lists and takes
    left_out: tuple[str, ...]  # optional inputs that did not fit (run_model takes them)
    call: tuple[str, ...]  # the call's own arguments it lists
    size: int  # bytes an agent reads of it (name, description, input schema)
    digest: str  # of everything above that a client sees: a changed digest is a changed tool


def tool_names(models: Iterable[str], taken: Collection[str] = ()) -> dict[str, str]:
    """Each model's tool name: run_owner_slug, unless two models (`a-b/c` and `a/b-c`, or two cut to the
    same 64 characters) or a tool already there would share it; then each gets its name with a short hash
    of its own model. A name that still collides is given to neither (the model is left out)."""
    models = list(dict.fromkeys(models))
    base = {model: tool_name(model) for model in models}
    shared = Counter(base.values())
    names = {}
    for model, name in base.items():
        if shared[name] > 1 or name in taken:
            mark = hashlib.sha256(model.lower().encode()).hexdigest()[:SUFFIX]
            name = f"{name[: NAME_MAX - SUFFIX - 1].rstrip('_')}_{mark}"
        names[model] = name
    final = Counter(names.values())
    return {model: name for model, name in names.items() if final[name] == 1 and name not in taken}


def typed_tool(spec: ModelSpec, name: str, call: Mapping[str, dict[str, Any]]) -> TypedTool | str:
    """`spec` as the tool `name`, with the call's own arguments `call` (their JSON schemas) beside its
    inputs, within TOOL_BYTES; or why it cannot be one (its required inputs do not fit)."""
    ids = {item.id for item in spec.inputs}
    own = {key: schema for key, schema in call.items() if key not in ids}
    required = [item for item in spec.inputs if item.required]
    optional = [item for item in spec.inputs if not item.required]
    best: TypedTool | None = None
    for input_words, model_words in WORDINGS:
        made = _fitted(spec, name, own, required, optional, input_words, model_words)
        if made is not None and not made.left_out:
            return made
        if made is not None and (best is None or len(made.inputs) > len(best.inputs)):
            best = made  # the most inputs listed, in the most words that list them
    if best is not None:
        return best
    return (
        f"its {len(required)} required inputs do not fit a typed tool's {TOOL_BYTES} bytes: run it with run_model "
        "(describe_model shows its inputs)"
    )


def _fitted(
    spec: ModelSpec,
    name: str,
    own: Mapping[str, dict[str, Any]],
    required: list[InputSpec],
    optional: list[InputSpec],
    input_words: int,
    model_words: int,
) -> TypedTool | None:
    """The tool at one wording: every required input, then each optional one while it fits; None when the
    required ones alone do not."""

    def schema_of(item: InputSpec) -> dict[str, Any]:
        words = short(item.description, input_words) if input_words and item.description else ""
        return input_schema(item, words, wiro=True)

    listed = {item.id: schema_of(item) for item in required}
    must = set(listed)
    room = TOOL_BYTES - _size(_tool(spec, name, listed, own, model_words, len(optional)))
    if room < 0:
        return None
    for item in optional:  # each property costs `,"id":{…}` in the listing
        schema = schema_of(item)
        cost = len(_json(item.id)) + len(_json(schema)) + 2
        if cost <= room:
            listed[item.id] = schema
            room -= cost
    while True:  # the left-out note's number changed the description: check the whole again
        left = len(spec.inputs) - len(listed)
        tool = _tool(spec, name, listed, own, model_words, left)
        size = _size(tool)
        if size <= TOOL_BYTES:
            break
        last = next((key for key in reversed(listed) if key not in must), None)
        if last is None:
            return None
        del listed[last]
    return TypedTool(
        model=spec.model,
        name=name,
        title=tool["title"],
        description=tool["description"],
        input_schema=tool["input_schema"],
        inputs=tuple(listed),
        left_out=tuple(item.id for item in spec.inputs if item.id not in listed),
        call=tuple(own),
        size=size,
        digest=hashlib.sha256(json.dumps(tool, sort_keys=True).encode()).hexdigest()[:16],
    )


def _tool(
    spec: ModelSpec,
    name: str,
    listed: Mapping[str, dict[str, Any]],
    own: Mapping[str, dict[str, Any]],
    model_words: int,
    left_out: int,
) -> dict[str, Any]:
    said = short(spec.description, model_words) if model_words and spec.description else ""
    description = spec.summary + (f" Wiro's description, quoted: {quoted(said)}." if said else "")
    description += " Inputs keyed as Wiro names them; words in quotes are Wiro's."
    if left_out:
        description += f" run_model takes {left_out} more optional inputs (describe_model lists them)."
    required = [item.id for item in spec.inputs if item.required and item.id in listed]
    return {
        "name": name,
        "title": f"{quoted(spec.title)} on Wiro" if spec.title != spec.model else f"{spec.model} on Wiro",
        "description": description,
        "input_schema": object_schema({**listed, **own}, required),
    }


def _size(tool: Mapping[str, Any]) -> int:
    """What an agent reads of a tool: its name, description and input schema, as compact JSON."""
    read = {key: tool[key] for key in ("name", "description", "input_schema")}
    return len(_json(read))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
