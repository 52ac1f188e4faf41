"""The JSON Schemas a model's inputs are listed with, made as data: compact, portable, and the same as the
argument check's (schema.py) once compacted, without building a model (linear in the inputs). What
describe_model and a configured model's typed tool show comes from here; tests/catalog/test_typed.py
holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..text import quoted
from . import InputSpec, ModelSpec, _typed_default


def compact(schema: Any, *, output: bool = False) -> Any:
    """The same contract in fewer, more portable bytes.

    Generated titles go; an optional field that defaults to null (`anyOf: [X, {type: null}]`,
    `default: null`) becomes plain X, not required: many hosts map schemas onto dialects with a
    single `type` and no null (the structured results leave such fields out instead of sending
    null). Property names are never touched (a property may well be called "title"). With
    `output=True` (a result's schema: field names say enough, and nothing is defaulted)
    descriptions, defaults and `additionalProperties: true` go too.
    """
    if isinstance(schema, list):
        return [compact(item, output=output) for item in schema]
    if isinstance(schema, float) and schema.is_integer() and abs(schema) < 2**53:
        return int(schema)  # 20.0 reads as 20: the same JSON number, fewer bytes
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if output and key in ("description", "default"):
            continue
        if key == "additionalProperties" and value is True:  # JSON Schema's default
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: compact(sub, output=output) for name, sub in value.items()}
        else:
            out[key] = compact(value, output=output)
    options = out.get("anyOf")
    nullable = output or out.get("default", 0) is None
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options and nullable:
        other = next(o for o in options if o != {"type": "null"})
        del out["anyOf"]
        out.pop("default", None)
        out = {**other, **out}
    return out


def input_schema(item: InputSpec, description: str | None = None, *, wiro: bool = False) -> dict[str, Any]:
    """One input's JSON schema, made as data (what the checker's schema is once compacted, without building
    a model: linear in the inputs). `description` replaces the spec's words (a shorter wording); `wiro`:
    they are Wiro's (a derived spec's), shown quoted, with what a file input takes said beside them."""
    kind = item.effective_value_type
    schema: dict[str, Any]
    if item.options:
        schema = {"enum": list(item.options), "type": "string"}
    elif kind == "strings":
        schema = {"items": {"type": "string"}, "type": "array"}
    else:
        schema = {"type": kind}
    said = item.description if description is None else description
    if wiro:
        said = quoted(said) if said else ""
        if item.is_file:
            said = f"{said} ({'https:// URLs' if kind == 'strings' else 'an https:// URL or a local path'})".lstrip()
    if said:
        schema["description"] = said
    if kind in ("integer", "number"):
        for key, value in (("minimum", item.min), ("maximum", item.max)):
            if value is not None:
                schema[key] = compact(int(value) if kind == "integer" else value)
    if item.multiple_of is not None:
        schema["multipleOf"] = item.multiple_of
    if item.min_length is not None:
        schema["minLength"] = item.min_length
    if item.max_length is not None and kind != "strings":
        schema["maxLength"] = item.max_length
    if item.max_items is not None:
        schema["maxItems"] = item.max_items
    default = None if item.required else _typed_default(item)
    if default is not None:
        schema["default"] = compact(default)
    return schema


def object_schema(properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    """The arguments' object schema, unknown ones refused (as the checker refuses them)."""
    schema: dict[str, Any] = {"additionalProperties": False, "properties": dict(properties)}
    if required:
        schema["required"] = required
    schema["type"] = "object"
    return schema


def inputs_schema(spec: ModelSpec) -> dict[str, Any]:
    """The JSON schema of a model's inputs keyed by Wiro's ids (run_model's `inputs`, describe_model's view)."""
    properties = {item.id: input_schema(item, wiro=not spec.curated) for item in spec.inputs}
    return object_schema(properties, [item.id for item in spec.inputs if item.required])
