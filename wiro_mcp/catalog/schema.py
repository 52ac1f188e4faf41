"""From a model spec to a tool's argument model, and from validated arguments back to the wire.

Argument names are Wiro's ids in snake_case; defaults and limits come from the spec. Sizes (inputs
on a grid, and the spec's shape rule) are checked together by the model, see sizes.py.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model, model_validator

from ..errors import ArgumentError
from ..text import ECHO_LIMIT, clip, clip_text, shown
from . import InputSpec, ModelSpec, _typed_default
from .sizes import size_problem


class ToolArguments(BaseModel):
    """Base of every generated argument model: unknown arguments are an error, not silently dropped; its
    fields are taken by their aliases (the argument names) only."""

    model_config = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)


def _not_a_bool(value: Any) -> Any:
    # JSON true is not 1: a boolean where a number belongs is a mistake to report, not to convert.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _not_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value


def _option_text(value: Any) -> Any:
    # Wiro's options are text: the number 5 picks the option "5".
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _listed(value: Any) -> Any:
    # Several files may come as one text, comma-separated, as Wiro itself takes them.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# A required argument has no default (pydantic's `...`).
REQUIRED: Any = ...


def field_for(item: InputSpec) -> tuple[Any, Any]:
    """(annotated type, default) of one argument: type, limits and description from the spec, and
    REQUIRED as the default when it must be given. The same pair builds the strict argument model
    and the MCP tool's signature, so both accept exactly the same calls."""
    kind = item.effective_value_type
    base: Any
    checks: list[Any] = []
    if item.options:
        base, checks = Literal[tuple(item.options)], [BeforeValidator(_option_text)]
    elif kind == "integer":
        base, checks = int, [BeforeValidator(_not_a_bool)]
    elif kind == "number":
        base, checks = float, [BeforeValidator(_not_a_bool)]
    elif kind == "boolean":
        base = bool
    elif kind == "strings":
        base, checks = list[Annotated[str, BeforeValidator(_not_blank)]], [BeforeValidator(_listed)]
    else:
        base, checks = str, [BeforeValidator(_not_blank)] if item.required else []
    constraints: dict[str, Any] = {"description": item.description} if item.description else {}
    limits: dict[str, Any] = {}
    if item.min is not None:
        limits["ge"] = int(item.min) if kind == "integer" else item.min
    if item.max is not None:
        limits["le"] = int(item.max) if kind == "integer" else item.max
    if item.multiple_of is None:
        constraints.update(limits)
    else:
        # A size: the schema shows its limits, the model checks them with the other size (sizes.py).
        shown = {"minimum": limits.get("ge"), "maximum": limits.get("le"), "multipleOf": item.multiple_of}
        constraints["json_schema_extra"] = {k: v for k, v in shown.items() if v is not None}
    if item.min_length is not None:
        constraints["min_length"] = item.min_length
    if item.max_length is not None:
        constraints["max_length"] = item.max_length
    if item.max_items is not None:
        constraints["max_length"] = item.max_items
    default = REQUIRED if item.required else _typed_default(item)
    if default is None:
        base = base | None
    # Validators after the constraints: placed before them, they hide the limits from the JSON schema.
    return Annotated[(base, Field(**constraints), *checks)], default


def arguments_model(
    spec: ModelSpec,
    extra_fields: dict[str, tuple[Any, Any]] | None = None,
    *,
    base: type[ToolArguments] = ToolArguments,
) -> type[ToolArguments]:
    """The pydantic model of a tool's arguments: one field per spec input, plus `extra_fields`.

    The fields are named by us (`input_0`, …) and take their argument names as aliases: an input id is
    data, never a Python name, so ids like `model_config`, `class` or `_seed` are arguments like any
    other. Validation and dumps go by alias (`model_dump(by_alias=True)`), as does the JSON schema.
    `base` lets a caller add behaviour (the MCP layer adds what its tool runner expects).
    """
    fields: dict[str, Any] = {}
    for index, item in enumerate(spec.inputs):
        annotation, default = field_for(item)
        fields[f"input_{index}"] = (Annotated[annotation, Field(alias=item.arg_name)], default)
    names = {item.arg_name for item in spec.inputs}
    for index, (name, (annotation, default)) in enumerate((extra_fields or {}).items()):
        if name in names:
            raise ValueError(f"{spec.tool}: extra field {name!r} clashes with a Wiro input")
        fields[f"extra_{index}"] = (Annotated[annotation, Field(alias=name)], default)

    def _check_sizes(self: BaseModel) -> BaseModel:
        problem = size_problem(spec, by_alias(self))
        if problem is not None:
            raise ValueError(problem)
        return self

    validators: dict[str, Any] = {"check_sizes": model_validator(mode="after")(_check_sizes)}
    model: type[ToolArguments] = create_model(
        "Arguments",
        __base__=base,
        __validators__=validators,
        **fields,
    )
    return model


def by_alias(arguments: BaseModel) -> dict[str, Any]:
    """A validated argument model's values under their argument names (one level, as validated)."""
    fields = type(arguments).model_fields
    return {(info.alias or name): getattr(arguments, name) for name, info in fields.items()}


# Argument models by spec, the newest kept: specs derived from Wiro come and go (one per model read).
_CHECKERS: OrderedDict[tuple[str, int], tuple[ModelSpec, type[BaseModel]]] = OrderedDict()
CHECKERS_KEPT = 256


def _checker(spec: ModelSpec) -> type[BaseModel]:
    """`arguments_model(spec)`, built once per spec (building a pydantic model costs milliseconds). The
    spec is kept beside its model, so its id cannot be reused by another spec while the entry lives."""
    key = (spec.tool, id(spec))
    kept = _CHECKERS.get(key)
    if kept is None or kept[0] is not spec:
        kept = _CHECKERS[key] = (spec, arguments_model(spec))
        while len(_CHECKERS) > CHECKERS_KEPT:
            _CHECKERS.popitem(last=False)
    _CHECKERS.move_to_end(key)
    return kept[1]


def to_wire(spec: ModelSpec, arguments: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """Validated arguments -> Wiro's field names and value types; non-Wiro arguments are left out.

    Unset optional inputs (None) are not sent. A Wiro 'text' item whose argument is a number (the
    seed) goes as a string, as Wiro's own clients send it.
    """
    values = by_alias(arguments) if isinstance(arguments, BaseModel) else dict(arguments)
    wire: dict[str, Any] = {}
    for item in spec.inputs:
        value = values.get(item.arg_name)
        if value is None:
            continue
        if item.type in ("text", "textarea") and not isinstance(value, str):
            value = str(value)
        if isinstance(value, list):
            value = ",".join(value)
        wire[item.wire_id] = value
    return wire


def validate(spec: ModelSpec, arguments: Mapping[str, Any], *, by_wiro_id: bool = False) -> dict[str, Any]:
    """Check a call's model arguments (types, limits, cross-field rules, nothing unknown) and return
    them as Wiro's wire fields; raises ArgumentError with one line per problem. `by_wiro_id`: the
    arguments are keyed by Wiro's input ids (run_model's `inputs`), and the errors name them so."""
    names = {item.arg_name: item.id for item in spec.inputs} if by_wiro_id else {}
    if by_wiro_id:
        arguments = {_arg_name(spec, key): value for key, value in arguments.items()}
    try:
        checked = _checker(spec).model_validate(dict(arguments))
    except ValidationError as exc:
        known = [names.get(item.arg_name, item.arg_name) for item in spec.inputs]
        what = f"{spec.model}'s inputs" if by_wiro_id else spec.tool
        raise ArgumentError(describe_errors(what, exc, known, names)) from None
    return to_wire(spec, checked)


def _arg_name(spec: ModelSpec, key: str) -> str:
    """A Wiro id (or the argument's own snake_case name) → the argument it sets; anything else as given."""
    return next((item.arg_name for item in spec.inputs if key in (item.id, item.arg_name)), key)


# An argument error stays within ERROR_BYTES whatever was sent or what the model takes: at most this many
# lines, each message, value and list of names cut short, and lines left out (and counted) past the bytes.
ERROR_BYTES = 2000
ERROR_LINES = 10
MESSAGE_LIMIT = 200
KNOWN_LIMIT = 500


def describe_errors(tool: str, error: ValidationError, known: list[str], names: Mapping[str, str] | None = None) -> str:
    """Validation errors as an agent reads them: one line per argument (`names`: how the caller calls
    each argument), values echoed short, and for a choice the values it takes; at most ERROR_LINES, the
    unknown arguments in one line with what is known."""
    lines = [f"Invalid arguments for {tool}; nothing was sent to Wiro."]
    word = "input" if names else "argument"
    problems, unknown = [], []
    for item in error.errors():
        where = ".".join(str((names or {}).get(str(p), p)) for p in item["loc"]) or "arguments"
        if item["type"] == "extra_forbidden":
            unknown.append(shown(where, ECHO_LIMIT))
            continue
        message = clip_text(item["msg"].removeprefix("Value error, "), MESSAGE_LIMIT)
        if item["type"] == "missing":
            message = "required"
        elif "input" in item and item["type"] != "value_error" and not isinstance(item["input"], dict):
            message = f"{message} (got {clip(item['input'], 60)})"
        problems.append(f"- {shown(where, ECHO_LIMIT)}: {message}")
    if unknown:
        several = "s" if len(unknown) > 1 else ""
        problems.insert(0, f"- {listed(unknown, 200)}: unknown {word}{several}; the {word}s are: {listed(known)}")
    room = ERROR_BYTES - len(lines[0]) - 60  # what the last line takes
    for line in problems[:ERROR_LINES]:
        room -= len(line.encode()) + 1
        if room < 0 and len(lines) > 1:
            break
        lines.append(line)
    if len(problems) > len(lines) - 1:
        lines.append(f"- … and {len(problems) - len(lines) + 1} more problems of the same call")
    return "\n".join(lines)


def listed(names: list[str], limit: int = KNOWN_LIMIT) -> str:
    """Names in a line of about `limit` characters, saying how many there are when some were left out."""
    said = ", ".join(names)
    if len(said) <= limit:
        return said
    cut = said[:limit].rsplit(", ", 1)[0]
    return f"{cut}, … ({len(names)} in all)"


def arguments_from_inputs(spec: ModelSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """run_model's `inputs` (Wiro's ids) checked against the spec, as the arguments the typed tool takes;
    raises ArgumentError naming the inputs by their Wiro ids."""
    validate(spec, inputs, by_wiro_id=True)
    return {_arg_name(spec, key): value for key, value in inputs.items()}
