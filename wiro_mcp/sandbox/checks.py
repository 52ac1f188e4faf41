"""What a Run of a catalog model may carry: its fields checked against the model's own items
(catalog.py), as Wiro would check them, independently of any client's reading of Tool/Detail.

Required items must be there; a select's value must be one of its options; range, number and float
must lie within min..max, and a number must be whole. Files follow WIRO_API.md: a `fileinput` or
`multifileinput` is there when `{id}Url` holds a URL (several, comma-separated, for the multi) or a
multipart part is named `{id}`; a `combinefileinput` when `{id}` itself is a URL or a part's name.
Fields no item names are ignored, as Wiro ignores them. A refusal is a `BadRequest` naming the field.
"""

from __future__ import annotations

from typing import Any

from .catalog import FILE_TYPES, NUMERIC_TYPES, Item, Model
from .params import BadRequest


def _as_text(value: Any, name: str) -> str | None:
    """A field's value as the text Wiro reads (None when it is absent or empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        return text if text.strip() else None
    raise BadRequest(f"{name} must be a single value, not {type(value).__name__}")


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://")) and len(text) > len("https://")


def part_key(files: dict[str, bytes], name: str) -> str:
    """Where an uploaded part goes: under its name, or name#2, name#3… when the name repeats (several
    files for one multifileinput)."""
    key, count = name, 1
    while key in files:
        count += 1
        key = f"{name}#{count}"
    return key


def parts_named(files: dict[str, bytes], name: str) -> list[str]:
    """The uploaded parts for input `name` (a repeated part is kept as name#2, name#3…)."""
    return [key for key in files if key == name or key.startswith(f"{name}#")]


def _file(item: Item, fields: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    parts = parts_named(files, item.id)
    if item.type == "combinefileinput":
        field = item.id
        how = f"a URL in {item.id} or a file part named {item.id}"
    else:
        field = f"{item.id}Url"
        several = " (comma-separated for several)" if item.type == "multifileinput" else ""
        how = f"a URL in {field}{several} or a file part named {item.id}"
    text = _as_text(fields.get(field), field)
    found: dict[str, Any] = {}
    if text is not None:
        urls = [u.strip() for u in text.split(",")] if item.type == "multifileinput" else [text.strip()]
        if not all(_is_url(url) for url in urls):
            raise BadRequest(f"{field} must be {'URLs' if len(urls) > 1 else 'a URL'}: send {how}")
        found[field] = text
    if parts:
        found[item.id] = "uploaded" if item.type != "multifileinput" else f"{len(parts)} uploaded"
    if item.required and not found:
        raise BadRequest(f"{item.id} is required: send {how}")
    return found


def _number(item: Item, text: str) -> float | int:
    low_text, high_text, _ = item.bounds or ("-inf", "inf", "")
    low, high = float(low_text), float(high_text)
    try:
        number = float(text)
    except ValueError:
        raise BadRequest(f"{item.id} must be a number, not {text!r}") from None
    if item.type == "number" and not number.is_integer():
        raise BadRequest(f"{item.id} must be a whole number, not {text!r}")
    if not low <= number <= high:
        raise BadRequest(f"{item.id} must be between {low_text} and {high_text}, not {text!r}")
    return int(number) if item.type == "number" else number


def _value(item: Item, given: Any) -> Any:
    text = _as_text(given, item.id)
    if text is None:
        if item.required and item.default is None:
            raise BadRequest(f"{item.id} is required")
        text = item.default
    if text is None:
        return None
    if item.type == "select":
        values = [value for _, value in item.options]
        if text not in values:
            raise BadRequest(f"{item.id} must be one of {', '.join(values)}, not {text!r}")
    if item.type in NUMERIC_TYPES:
        return _number(item, text)
    return text


def check_run(model: Model, fields: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """Wiro-side validation of a catalog model's Run; returns the parameters with defaults filled in."""
    params: dict[str, Any] = {}
    for item in model.items:
        if item.type in FILE_TYPES:
            params |= _file(item, fields, files)
            continue
        value = _value(item, fields.get(item.id))
        if value is not None:
            params[item.id] = value
    return params
