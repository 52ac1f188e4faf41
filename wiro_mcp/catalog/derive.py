"""A Wiro model's spec from Wiro's own Tool/Detail: any model gets what the seed models get.

Tool/Detail's `parameters` (groups of items: id, type, label, description, default as text, required
as a bool or "true", options as objects or bare values, min/max/step) become our `InputSpec`s, typed
and bounded; the model's words become short descriptions. Anything odd in Wiro's answer (an unknown
item type, a default that is not a number, an option list that is not one) is read as less, never as
an error: the call is still checked against what is known. The work is linear in what is read, and what
is read is capped (MAX_INPUTS items, MAX_OPTIONS options, words clipped), so any answer is derived in
milliseconds. Wiro's words stay data: escaped, short, and quoted wherever they sit in our sentences.

The seed models keep their curated specs; this is for every other model. It takes the answer as plain
data (what `ToolInfo.model_dump()` gives), so the catalog stays below the Wiro layer. How a configured
model's spec becomes a tool is typed.py's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..text import printable
from . import FILE_TYPES, InputSpec, ModelSpec, PricingSpec, ValueType, WiroInputType

# The most inputs a derived spec keeps (Wiro's answer is cut there too), options a select keeps (a
# longer list takes any text, its options listed in describe_model only), and files a multifileinput takes.
MAX_INPUTS = 100
MAX_OPTIONS = 40
MAX_FILES = 10
# What Wiro's words may take: one input's description, the model's description in the spec, its title.
INPUT_WORDS = 160
MODEL_WORDS = 300
TITLE_WORDS = 80
# Free text a derived input takes (Wiro publishes no limit): a prompt, or a document for an LLM; a URL.
TEXT_MAX = {"textarea": 20_000, "text": 4_000}
URL_MAX = 2_000
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
    """owner/slug → run_owner_slug, snake_case, within MCP's 64 characters (typed.py makes names that
    collide distinct)."""
    words = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    return f"run_{words}"[:64].rstrip("_")


def outputs_of(categories: Sequence[str]) -> str:
    said = " ".join(categories).lower()
    return next((words for keys, words in _OUTPUTS if any(key in said for key in keys)), "files")


def is_panorama(categories: Sequence[str]) -> bool:
    return any("panorama" in c.lower() or c.strip() == "360" for c in categories)


def short(text: str | None, limit: int) -> str:
    """One line of at most `limit` characters: markdown marks and extra spaces gone (an underscore stays:
    it is in names like cfg_scale), controls and bidi escaped."""
    flat = printable(re.sub(r"[#*`>\[\]]+", "", " ".join((text or "")[: limit * 4].split())), lines=False)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def spec_from_wiro(model: str, info: Mapping[str, Any]) -> ModelSpec:
    """The spec of `model` from its Tool/Detail entry (as plain data). `parameters: null` gives a spec
    with a prompt alone, marked so: describe_model says Wiro publishes no inputs for it."""
    categories = [c for c in info.get("categories") or [] if isinstance(c, str)]
    groups = info.get("parameters")
    inputs: list[InputSpec] = []
    ids: set[str] = set()
    for item in _items(groups):
        spec = input_from_wiro(item)
        if spec is not None and spec.id not in ids:
            ids.add(spec.id)
            inputs.append(spec)
            if len(inputs) >= MAX_INPUTS:
                break
    if not inputs:  # none published, or none readable: a prompt is what every model takes
        inputs = [
            InputSpec(
                id="prompt",
                type="textarea",
                required=True,
                description="What to make.",
                max_length=TEXT_MAX["textarea"],
            )
        ]
    title = short(info.get("title"), TITLE_WORDS) or model
    made = outputs_of(categories)
    unpublished = "" if groups else " Wiro publishes no input list for it: only a prompt is known."
    # Our words in the summary; Wiro's alone in the title and description (shown quoted, as data).
    return ModelSpec(
        model=model,
        tool=tool_name(model),
        title=title,
        summary=f"{model} on Wiro: makes {made}.{unpublished}",
        description=short(info.get("description"), MODEL_WORDS),
        panorama=is_panorama(categories),
        inputs=inputs,
        outputs=made,
        pricing=_pricing(info),
        curated=False,
    )


def _items(groups: Any) -> list[Mapping[str, Any]]:
    """Every item of every group, in Wiro's order, at most MAX_INPUTS × 2 of them (some are dropped)."""
    found: list[Mapping[str, Any]] = []
    for group in groups if isinstance(groups, list) else []:
        items = group.get("items") if isinstance(group, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping):
                found.append(item)
            if len(found) >= 2 * MAX_INPUTS:
                return found
    return found


def input_from_wiro(item: Mapping[str, Any]) -> InputSpec | None:
    """One Wiro item as our input, or None when it has no usable id."""
    wiro_id = item.get("id")
    if not isinstance(wiro_id, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,99}", wiro_id):
        return None
    raw_type = str(item.get("type") or "text").lower()
    kind: Any = raw_type if raw_type in KNOWN_TYPES else "text"
    listed = item.get("options")
    options = (
        [str(o["value"]) for o in listed[: MAX_OPTIONS + 1] if isinstance(o, Mapping) and o.get("value")]
        if (isinstance(listed, list))
        else []
    )
    if kind == "select" and not options:
        kind = "text"
    if len(options) > MAX_OPTIONS:
        options = []
    low, high, step = (_number(item.get(k)) for k in ("min", "max", "step"))
    value_type = _value_type(kind, low, high, step, item.get("default"))
    required = bool(item.get("required"))
    free_text = value_type == "string" and not options
    return InputSpec(
        id=wiro_id,
        type=kind,
        required=required,
        default=None if required else _default(item.get("default"), value_type, options),
        description=_described(item),
        min=low if value_type in ("integer", "number") else None,
        max=high if value_type in ("integer", "number") else None,
        max_length=(URL_MAX if kind in FILE_TYPES else TEXT_MAX.get(kind, TEXT_MAX["text"])) if free_text else None,
        options=options or None if kind == "select" else None,
        value_type=value_type,
        max_items=MAX_FILES if kind == "multifileinput" else None,
        argument=wiro_id,  # a derived spec's inputs are called by Wiro's ids everywhere
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


def _described(item: Mapping[str, Any]) -> str:
    """Wiro's words for an input (its description, else its label), short; what a file input takes is
    said beside them where they are shown (schema.py `input_schema`)."""
    said = item.get("description") or item.get("label")
    return short(said if isinstance(said, str) else "", INPUT_WORDS)


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
    text = str(value)
    return text if len(text) <= TEXT_MAX["text"] else None


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
