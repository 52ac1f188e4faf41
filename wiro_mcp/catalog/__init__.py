"""The model catalog: one JSON spec per Wiro model (in `specs/`), loaded on demand.

A spec holds Wiro's input items (id, type, default, limits, required) and our own descriptions,
written for the agent that reads the tool list. `schema.py` turns a spec into a tool's argument
model and converts validated arguments back to Wiro's field names.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

WiroInputType = Literal[
    "text",
    "textarea",
    "select",
    "range",
    "number",
    "float",
    "fileinput",
    "multifileinput",
    "combinefileinput",
]
ValueType = Literal["string", "integer", "number", "boolean", "strings"]

# A Wiro model's name: owner/slug.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

FILE_TYPES = frozenset({"fileinput", "multifileinput", "combinefileinput"})


class InputSpec(BaseModel):
    """One Wiro input item, plus what we add for agents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: WiroInputType
    required: bool = False
    default: Any = None
    description: str
    min: float | None = None
    max: float | None = None
    multiple_of: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    options: list[str] | None = None
    value_type: ValueType | None = Field(
        default=None, description="Our argument's type when Wiro's item type says less (a seed typed 'text')."
    )
    max_items: int | None = Field(default=None, description="for several files: at most this many")
    argument: str | None = Field(
        default=None, description="the argument's name when it is not the id's snake_case (a derived spec's: the id)"
    )

    @property
    def arg_name(self) -> str:
        return self.argument or snake_case(self.id)

    @property
    def is_file(self) -> bool:
        return self.type in FILE_TYPES

    @property
    def wire_id(self) -> str:
        """The Run field this input's value goes in (Wiro's ids; a file input's URL in `{id}Url`, except a
        combinefileinput's, which takes it in its own id; an uploaded file always goes as a part `{id}`)."""
        return f"{self.id}Url" if self.type in ("fileinput", "multifileinput") else self.id

    @property
    def effective_value_type(self) -> ValueType:
        if self.value_type is not None:
            return self.value_type
        if self.type == "multifileinput":
            return "strings"
        if self.type == "number":
            return "integer"
        if self.type in ("float", "range"):
            return "number"
        return "string"


class PricingSpec(BaseModel):
    """Our fallback figures, for when Wiro's Tool/Detail gives no price, and how a run's GPU time grows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usd_per_second: float | None = Field(
        default=None, gt=0, description="USD per GPU second (rough; Wiro's own figure wins); None: unknown"
    )
    typical_seconds: float | None = Field(
        default=None, gt=0, description="GPU seconds of a run with the default inputs"
    )
    scales_with: list[str] = Field(default_factory=list, description="Wiro ids the GPU time is proportional to")
    doubles_above: dict[str, float] = Field(default_factory=dict, description="inputs that double the time above")
    outputs_input: str | None = Field(default=None, description="the Wiro id that says how many outputs a run makes")


class ModelSpec(BaseModel):
    """A Wiro model as one MCP tool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="owner/slug on Wiro")
    tool: str = Field(description="the MCP tool name")
    title: str
    summary: str
    description: str
    rules: list[Literal["equirectangular"]] = Field(default_factory=list)
    panorama: bool = Field(default=False, description="its output is a 360° equirectangular image")
    inputs: list[InputSpec]
    outputs: str
    pricing: PricingSpec
    size_follows: str | None = Field(
        default=None,
        description="the Wiro id of an input picture whose shape width and height keep when neither is given",
    )
    curated: bool = Field(default=True, description="written by us (a seed); False: derived from Wiro's Tool/Detail")

    def public_view(self) -> dict[str, Any]:
        """What the `wiro://models` resource shows of this model."""
        return {
            "model": self.model,
            "tool": self.tool,
            "title": self.title,
            "summary": self.summary,
            "outputs": self.outputs,
            "inputs": [
                {
                    "argument": item.arg_name,
                    "wiro_id": item.id,
                    "wiro_type": item.type,
                    "type": item.effective_value_type,
                    "required": item.required,
                    "default": None if item.required else _shown_default(item),
                    **{k: _whole(v) for k, v in (("min", item.min), ("max", item.max)) if v is not None},
                    **({"multiple_of": item.multiple_of} if item.multiple_of else {}),
                    "description": item.description,
                }
                for item in self.inputs
            ],
        }


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(wiro_id: str) -> str:
    """negativePrompt -> negative_prompt; ids already in snake_case stay as they are."""
    return _CAMEL_BOUNDARY.sub("_", wiro_id).replace("-", "_").lower()


def _whole(value: float) -> float | int:
    """1.0 reads as 1 (the same JSON number, as a person reads it)."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _shown_default(item: InputSpec) -> Any:
    value = _typed_default(item)
    return _whole(value) if isinstance(value, float) else value


def _typed_default(item: InputSpec) -> Any:
    value = item.default
    if value is None:
        return None
    kind = item.effective_value_type
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    return value


# Specs derived from Wiro's Tool/Detail this process has met (catalog/derive.py), by owner/slug.
_DERIVED: dict[str, ModelSpec] = {}


def remember(spec: ModelSpec) -> None:
    """A derived spec, known from now on to `spec_of` (how its tasks' outputs are delivered)."""
    _DERIVED[spec.model.lower()] = spec


def spec_of(model: str | None) -> ModelSpec | None:
    """The spec of a model by its owner/slug (as tasks report it): a seed's, or one derived this process."""
    if not model:
        return None
    seed = next((s for s in load_catalog().values() if s.model.lower() == model.lower()), None)
    return seed or _DERIVED.get(model.lower())


@functools.cache
def load_catalog() -> dict[str, ModelSpec]:
    """Every bundled spec, keyed by tool name, in a stable order."""
    specs: dict[str, ModelSpec] = {}
    folder = resources.files(__package__).joinpath("specs")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        spec = ModelSpec.model_validate(json.loads(entry.read_text(encoding="utf-8")))
        if spec.tool in specs:
            raise ValueError(f"two specs define the tool {spec.tool!r}")
        specs[spec.tool] = spec
    return specs
