"""Wiro's catalog answers (Tool/List's rows, Tool/Detail's entry) as typed models: what an agent reads of
a model. Wiro's words are escaped where they are read (what is shown is what is there) and clipped; a
model's input items are capped at MAX_ITEMS over all its groups; an entry or item that does not read is
left out instead of failing the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ..text import printable
from .answers import Envelope, OptFloat, OptInt, OptStr, Price, WiroModel, _flag, _objects, _text
from .refs import number_as_text


def _words(limit: int, *, lines: bool = True) -> Any:
    """Text Wiro wrote for people (a title, a description): clipped, its control and bidi characters
    escaped (what is shown is what is there), or absent when it is not text. `lines=False`: one line."""

    def read(value: Any) -> str | None:
        text = _text(value)
        return printable(text.strip()[:limit], lines=lines) if text and text.strip() else None

    return BeforeValidator(read)


def _names(value: Any) -> list[str]:
    """A list of short names (categories, tags): only its texts, one line each, at most 20 of them."""
    if not isinstance(value, list):
        return []
    names = [printable(item.strip()[:60], lines=False) for item in value[:100] if isinstance(item, str)]
    return [name for name in names if name][:20]


def _option(value: Any) -> dict[str, str] | None:
    """A select's option as `{label, value}`, whether Wiro sent that or the bare value."""
    if isinstance(value, dict):
        raw = number_as_text(value.get("value"))
        label = number_as_text(value.get("label"))
    else:
        raw = label = number_as_text(value)
    # A value goes back to Wiro as it is, so one that cannot be shown as it is is not offered.
    if not isinstance(raw, str) or not raw or len(raw) > 200 or printable(raw, lines=False) != raw:
        return None
    return {"value": raw, "label": printable(label[:100], lines=False) if isinstance(label, str) and label else raw}


def _options(value: Any) -> list[dict[str, str]] | None:
    if not isinstance(value, list):
        return None
    read = [option for option in map(_option, value[:100]) if option is not None]
    return read or None


Words = Annotated[str | None, _words(2000)]
Names = Annotated[list[str], BeforeValidator(_names)]


class ToolParameterItem(WiroModel):
    id: str = Field(max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    type: Annotated[str, BeforeValidator(lambda v: (_text(v) or "text").strip().lower()[:40])] = "text"
    label: Annotated[str | None, _words(200, lines=False)] = None
    description: Annotated[str | None, _words(600)] = None
    note: Annotated[str | None, _words(600)] = None
    placeholder: Annotated[str | None, _words(200, lines=False)] = None
    required: Annotated[bool | None, BeforeValidator(_flag)] = None
    default: Annotated[str | None, BeforeValidator(lambda v: (_text(v) or "")[:2000] if v is not None else None)] = None
    options: Annotated[list[dict[str, str]] | None, BeforeValidator(_options)] = None
    min: OptFloat = None
    max: OptFloat = None
    step: OptFloat = None


def _readable(model: type[WiroModel], most: int) -> Any:
    """A list's entries that read as `model` (at most `most` of them): one that does not, say an item
    without a usable id, is left out instead of failing the whole answer."""

    def read(value: Any) -> list[Any]:
        if not isinstance(value, list):
            return []
        kept = []
        for entry in value[:most]:
            try:
                kept.append(model.model_validate(entry))
            except ValueError:
                continue
        return kept

    return BeforeValidator(read)


# The most input items read of one model, over all its groups: Wiro's models take a few dozen at most,
# and everything made of them (a tool, a check, describe_model) grows with their number.
MAX_ITEMS = 100


class ToolParameterGroup(WiroModel):
    title: Annotated[str | None, _words(200, lines=False)] = None
    items: Annotated[list[ToolParameterItem], _readable(ToolParameterItem, MAX_ITEMS)] = Field(default_factory=list)


def _groups(value: Any) -> list[Any] | None:
    """`parameters`: null (a model whose inputs Wiro does not publish), or its groups, cut where the items
    they hold reach MAX_ITEMS (an item list that is not a list counts as none)."""
    if not isinstance(value, list):
        return None
    kept, items = [], 0
    for group in _objects(value)[:50]:
        listed = group.get("items")
        room = MAX_ITEMS - items
        if room <= 0:
            break
        if isinstance(listed, list) and len(listed) > room:
            group = {**group, "items": listed[:room]}
        items += len(listed) if isinstance(listed, list) else 0
        kept.append(group)
    return kept


class ToolInfo(WiroModel):
    slug_owner: OptStr = Field(default=None, alias="slugowner")
    slug_project: OptStr = Field(default=None, alias="slugproject")
    title: Annotated[str | None, _words(200, lines=False)] = None
    description: Words = None
    categories: Names = Field(default_factory=list)
    tags: Names = Field(default_factory=list)
    readme: Annotated[str | None, _words(20_000)] = None
    parameters: Annotated[list[ToolParameterGroup] | None, BeforeValidator(_groups)] = None
    # Prices (from Wiro's official client, not the public docs): any of them may be missing or "0".
    cps: Price = None
    approximate_cost: Price = Field(default=None, alias="approximatelycost")
    dynamic_price: Any = Field(default=None, alias="dynamicprice")  # a JSON string (or list) of tiers

    @property
    def model(self) -> str | None:
        """owner/slug, when both are there."""
        return f"{self.slug_owner}/{self.slug_project}" if self.slug_owner and self.slug_project else None


# Tool/List's rows and Tool/Detail's entry: the readable ones.
Tools = Annotated[list[ToolInfo], _readable(ToolInfo, 500)]


class ToolDetailResponse(Envelope):
    tool: Tools = Field(default_factory=list)


class ToolListResponse(Envelope):
    total: OptInt = None
    tool: Tools = Field(default_factory=list)
