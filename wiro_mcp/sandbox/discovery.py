"""Tool/List and Tool/Detail for the catalog: search, filters, paging, and the shapes Wiro's docs leave
open (`SandboxConfig.required_as`, `options_as`), so a client can be tested against either reading.

Search follows WIRO_API.md's fields. Which rows match a search is not documented; the sandbox's rule:
the search is split into words, words shorter than three letters are dropped, and a model matches
when any remaining word appears in its owner/slug, title, description, categories or tags (a search
of short words only matches nothing). `relevance` sorts by how many words match, then by id.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .billing import published
from .catalog import CATALOG, LISTED, Entry, Item, Model
from .params import BadRequest

if TYPE_CHECKING:
    from .config import SandboxConfig


def _whole(fields: dict[str, Any], name: str, default: int) -> int:
    value = fields.get(name)
    if value is None or value == "":
        return default
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isdigit():
        raise BadRequest(f"{name} must be a whole number of at least 0, not {value!r}")
    return int(text)


def _names(fields: dict[str, Any], name: str) -> set[str]:
    """A list field (`categories`, `tags`), also accepted as `name[]` or as one name."""
    value = fields.get(name, fields.get(f"{name}[]"))
    if value is None or value == "":
        return set()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{name} must be a list of names")
    return {v.strip().lower() for v in value if v.strip()}


def search_words(search: Any) -> list[str]:
    """The words a search looks for: three letters or more, each once, lowercase."""
    words = re.findall(r"\w+", str(search).lower())
    return list(dict.fromkeys(word for word in words if len(word) >= 3))


def _text_of(entry: Entry) -> str:
    return " ".join([entry.name, entry.title, entry.description, *entry.categories, *entry.tags]).lower()


def _prices(entry: Entry, config: SandboxConfig) -> dict[str, str]:
    return published(entry.name, config.billing) if config.prices else {}


def _row(entry: Entry, config: SandboxConfig) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": entry.id,
        "slugowner": entry.owner,
        "slugproject": entry.slug,
        "title": entry.title,
        "description": entry.description,
        "categories": list(entry.categories),
        "tags": list(entry.tags),
    }
    prices = _prices(entry, config)
    return row | {key: prices[key] for key in ("cps", "approximatelycost") if key in prices}


def tool_list(fields: dict[str, Any], config: SandboxConfig) -> dict[str, Any]:
    """Tool/List's answer: the matching rows' page, and how many match in all."""
    start, limit = _whole(fields, "start", 0), _whole(fields, "limit", 20)
    sort = str(fields.get("sort") or "relevance").lower()
    order = str(fields.get("order") or "DESC").upper()
    if sort not in ("relevance", "id"):
        raise BadRequest(f"sort must be relevance or id, not {sort!r}")
    if order not in ("ASC", "DESC"):
        raise BadRequest(f"order must be ASC or DESC, not {order!r}")
    categories, tags = _names(fields, "categories"), _names(fields, "tags")
    owner = str(fields.get("slugowner") or "").lower()
    search = fields.get("search")
    words = search_words(search) if search not in (None, "") else None
    scored: list[tuple[int, Entry]] = []
    for entry in LISTED:
        text = _text_of(entry)
        hits = sum(word in text for word in words) if words is not None else 0
        if words is not None and not hits:
            continue
        if categories and not categories & set(entry.categories):
            continue
        if tags and not tags & set(entry.tags):
            continue
        if owner and entry.owner != owner:
            continue
        scored.append((hits, entry))
    if sort == "id":
        scored.sort(key=lambda pair: int(pair[1].id), reverse=order == "DESC")
    else:
        scored.sort(key=lambda pair: (-pair[0], int(pair[1].id)))
    page = [_row(entry, config) for _, entry in scored[start : start + limit]]
    return {"result": True, "errors": [], "total": str(len(scored)), "tool": page}


def item_shape(item: Item, config: SandboxConfig) -> dict[str, Any]:
    """One input as Tool/Detail lists it, `required` and `options` as the sandbox's settings say."""
    shape: dict[str, Any] = {"id": item.id, "type": item.type, "label": item.label, "description": item.description}
    if item.default is not None:
        shape["default"] = item.default
    shape["required"] = item.required if config.required_as == "bool" else str(item.required).lower()
    if item.options:
        if config.options_as == "objects":
            shape["options"] = [{"label": label, "value": value} for label, value in item.options]
        else:
            shape["options"] = [value for _, value in item.options]
    if item.bounds is not None:
        shape["min"], shape["max"], shape["step"] = item.bounds
    return shape


def tool_detail(model: Model, config: SandboxConfig) -> dict[str, Any]:
    """Tool/Detail's ITEM for a catalog model."""
    parameters = [
        {"title": title, "items": [item_shape(item, config) for item in items]} for title, items in model.groups
    ]
    return {
        "id": model.id,
        "slugowner": model.owner,
        "slugproject": model.slug,
        "cleanslugowner": model.owner,
        "cleanslugproject": model.slug,
        "title": model.title,
        "description": model.description,
        "categories": list(model.categories),
        "tags": list(model.tags),
        "parameters": parameters if model.published else None,
        "readme": model.readme,
        "samples": [],
        "taskstat": {"runcount": model.runcount},
    } | _prices(model, config)


def find(fields: dict[str, Any]) -> Model | None:
    """The catalog model Tool/Detail asks for (owner and slug compare case-insensitively)."""
    return CATALOG.get(f"{fields.get('slugowner', '')}/{fields.get('slugproject', '')}".lower())
