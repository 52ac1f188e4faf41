"""A Wiro model's spec from Wiro's own Tool/Detail: any model gets what the seed models get.

Tool/Detail's `parameters` (groups of items: id, type, label, description, default as text, required
as a bool or "true", options as objects or bare values, min/max/step) become our `InputSpec`s, typed
and bounded; the model's words become short descriptions, within the tool-list budget an agent reads.
Anything odd in Wiro's answer (an unknown item type, a default that is not a number, an option list
that is not one) is read as less, never as an error: the call is still checked against what is known.
The seed models keep their curated specs; this is for every other model. It takes the answer as plain
data (what `ToolInfo.model_dump()` gives), so the catalog stays below the Wiro layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import FILE_TYPES, InputSpec, ModelSpec, PricingSpec, ValueType, WiroInputType

# What an agent reads of a configured model's tool (name, description, input schema) stays within
# TOOL_BYTES: the spec's words are shortened until it fits, the call's own arguments (wait_seconds,
# preview, allow_duplicate: CALL_BYTES) counted in.
TOOL_BYTES = 1200
CALL_BYTES = 420
# The words tried, longest first: (per input, per model); 0 leaves an optional input's words out.
WORDINGS = ((90, 220), (60, 140), (40, 80), (0, 60), (0, 0))
INPUT_WORDS = WORDINGS[0][0]
# A select with more options than this takes any text (its options listed in describe_model only).
MAX_OPTIONS = 40
MAX_FILES = 10
KNOWN_TYPES: frozenset[str] = frozenset(WiroInputType.__args__)  # type: ignore[attr-defined]

# What a model makes, from its categories (Wiro's own words): the first match wins.
_OUTPUTS = (
    (("panorama", "360"), "a 360° equirectangular panorama (PNG)"),
    (("video",), "a video file (MP4)"),
    (("speech", "audio", "music", "voice", "sound"), "an audio file"),
    (("3d", "mesh"), "a 3D model file (e.g. GLB)"),
    (("llm", "text-generation", "chat", "language"), "text"),
    (("image", "photo", "art"), "images"),
)


def tool_name(model: str) -> str:
    """owner/slug → run_owner_slug, snake_case, within MCP's 64 characters."""
    words = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    return f"run_{words}"[:64].rstrip("_")


def outputs_of(categories: Sequence[str]) -> str:
    said = " ".join(categories).lower()
    return next((words for keys, words in _OUTPUTS if any(key in said for key in keys)), "files")


def is_panorama(categories: Sequence[str]) -> bool:
    return any("panorama" in c.lower() or c.strip() == "360" for c in categories)


def short(text: str | None, limit: int) -> str:
    """One line of at most `limit` characters (markdown and extra spaces gone)."""
    flat = re.sub(r"[#*_`>\[\]]+", "", " ".join((text or "").split()))
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def spec_from_wiro(model: str, info: Mapping[str, Any]) -> ModelSpec:
    """The spec of `model` from its Tool/Detail entry (as plain data), in the fewest words that fit
    TOOL_BYTES. `parameters: null` gives a spec with a prompt alone, marked so: describe_model says
    Wiro publishes no inputs for it."""
    for input_words, model_words in WORDINGS:
        spec = _spec(model, info, input_words, model_words)
        if tool_bytes(spec) <= TOOL_BYTES:
            break
    return spec


def tool_bytes(spec: ModelSpec) -> int:
    """About what an agent reads of the spec's tool (its schema compacted as tools/list sends it)."""
    from .schema import arguments_model, compact

    schema = compact(arguments_model(spec).model_json_schema())
    said = {"name": spec.tool, "description": f"{spec.summary}\n\n{spec.description}", "input_schema": schema}
    return len(json.dumps(said, separators=(",", ":"), ensure_ascii=False).encode()) + CALL_BYTES


def _spec(model: str, info: Mapping[str, Any], input_words: int, model_words: int) -> ModelSpec:
    categories = [c for c in info.get("categories") or [] if isinstance(c, str)]
    groups = info.get("parameters")
    items = [item for group in groups or [] for item in (group.get("items") or [])] if groups else []
    inputs: list[InputSpec] = []
    seen: set[str] = set()
    for item in items:
        spec = input_from_wiro(item, input_words)
        if spec is not None and spec.id not in seen and spec.arg_name not in {i.arg_name for i in inputs}:
            seen.add(spec.id)
            inputs.append(spec)
    if not inputs:  # none published, or none readable: a prompt is what every model takes
        inputs = [InputSpec(id="prompt", type="textarea", required=True, description="What to make.")]
    title = short(info.get("title"), 80) or model
    made = outputs_of(categories)
    unpublished = "" if groups else " Wiro publishes no input list for it: only a prompt is known."
    return ModelSpec(
        model=model,
        tool=tool_name(model),
        title=title,
        summary=f"{title} ({model} on Wiro): makes {made}.",
        description=(short(info.get("description"), model_words) + unpublished).strip(),
        panorama=is_panorama(categories),
        inputs=inputs,
        outputs=made,
        pricing=_pricing(info),
        curated=False,
    )


def input_from_wiro(item: Mapping[str, Any], words: int = INPUT_WORDS) -> InputSpec | None:
    """One Wiro item as our input, or None when it has no usable id."""
    wiro_id = item.get("id")
    if not isinstance(wiro_id, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,99}", wiro_id):
        return None
    raw_type = str(item.get("type") or "text").lower()
    kind: Any = raw_type if raw_type in KNOWN_TYPES else "text"
    options = [o["value"] for o in item.get("options") or [] if isinstance(o, Mapping) and o.get("value")]
    if kind == "select" and not options:
        kind = "text"
    if len(options) > MAX_OPTIONS:
        options = []
    low, high, step = (_number(item.get(k)) for k in ("min", "max", "step"))
    value_type = _value_type(kind, low, high, step, item.get("default"))
    described = _described(item, kind, value_type, words if words or item.get("required") else 0)
    return InputSpec(
        id=wiro_id,
        type=kind,
        required=bool(item.get("required")),
        default=None if item.get("required") else _default(item.get("default"), value_type, options),
        description=described,
        min=low if value_type in ("integer", "number") else None,
        max=high if value_type in ("integer", "number") else None,
        options=options or None if kind == "select" else None,
        value_type=value_type,
        max_items=MAX_FILES if kind == "multifileinput" else None,
    )


def _value_type(kind: str, low: float | None, high: float | None, step: float | None, default: Any) -> ValueType:
    if kind == "multifileinput":
        return "strings"
    if kind in ("range", "float"):
        return "number"
    if kind == "number":
        whole = all(v is None or float(v).is_integer() for v in (low, high, step, _number(default)))
        return "integer" if whole else "number"
    return "string"


def _described(item: Mapping[str, Any], kind: str, value_type: ValueType, limit: int) -> str:
    if limit <= 0:
        return ""
    said = item.get("description") or item.get("label")
    words = said if isinstance(said, str) else ""
    if kind in FILE_TYPES:
        several = "https:// URLs" if kind == "multifileinput" else "an https:// URL or a local path"
        words = f"{words} ({several})"
    return short(words, limit) or short(str(item.get("id")), limit)


def _default(value: Any, value_type: ValueType, options: list[str]) -> Any:
    """Wiro's default (always text) as the input's type; one that does not fit is no default."""
    if value is None or value == "" or value_type == "strings":
        return None
    if options:
        return str(value) if str(value) in options else None
    if value_type in ("integer", "number"):
        number = _number(value)
        if number is None:
            return None
        return int(number) if value_type == "integer" else number
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) < 1e15 else None


def _pricing(info: Mapping[str, Any]) -> PricingSpec:
    """Wiro's own figures as the fallback (the price book asks Wiro again, and wins)."""
    cps, typical = _number(info.get("cps")), _number(info.get("approximate_cost"))
    if cps and typical and cps > 0 and typical > 0:
        return PricingSpec(usd_per_second=cps, typical_seconds=typical / cps)
    return PricingSpec(usd_per_second=cps if cps and cps > 0 else None)
