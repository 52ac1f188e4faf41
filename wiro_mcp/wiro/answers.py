"""Typed Wiro answers. Raw JSON stops here: the client hands out only these models.

Wiro sends numbers as strings ("6.0000", "202472") and ids as strings or numbers; the
validators below turn them into real numbers and strings, and unknown fields are ignored.
What a task cannot be read without (its id, an output's name and URL) must be right, or the
answer is unreadable; every other field that arrives malformed (a number that is not one, a list
where text belongs) is read as absent instead of failing the whole answer.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..text import printable
from .protocol import TaskState, task_state
from .refs import PLAIN_ID, TOKEN, TOKEN_MAX, number_as_text


def _blank_to_none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _price(value: Any) -> float | None:
    """A price as Wiro may send it ("0.000585", 0.04, "", "n/a"): a number, or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number >= 0 else None  # NaN and negatives are not prices


def _reported_amount(value: Any) -> float | None:
    """An amount Wiro reports ("0.0035", "", "n/a", -1): a number as sent (negative, NaN or huge ones
    included, for the money rules to judge), NaN for one that is not a number, None when absent."""
    value = _blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _finite(value: Any) -> float | None:
    """A number Wiro may send as text; anything that is not a finite number is absent."""
    number = _reported_amount(value)
    return number if number is not None and math.isfinite(number) else None


def _whole(value: Any) -> int | None:
    number = _finite(value)
    return int(number) if number is not None and abs(number) < 2**63 else None


def _text(value: Any) -> str | None:
    """Text, a number as its text; anything else (a list, an object) is absent."""
    value = number_as_text(value)
    return value if isinstance(value, str) else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _error_items(value: Any) -> list[Any]:
    """`errors` as Wiro documents it (a list of {code, message}), or as it may come: one text, one object,
    a list of texts."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [item if isinstance(item, dict) else {"message": str(item)[:1000]} for item in items[:20]]


def _objects(value: Any) -> Any:
    """A list keeps only its objects (a stray text among the outputs is not an output)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else value


def _log_text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)[:100_000]


OptFloat = Annotated[float | None, BeforeValidator(_finite)]
Reported = Annotated[float | None, BeforeValidator(_reported_amount)]
Price = Annotated[float | None, BeforeValidator(_price)]
OptInt = Annotated[int | None, BeforeValidator(_whole)]


def _plain_id(value: Any) -> Any:
    """A task id is a plain id (refs.PLAIN_ID): one that is not (`../../x`, a megabyte of text) makes its
    answer unreadable here, before it can name a folder, a resource or a journal row."""
    value = number_as_text(value)
    if isinstance(value, str) and not PLAIN_ID.fullmatch(value):
        raise ValueError("not a plain task id")
    return value


IdStr = Annotated[str, BeforeValidator(_plain_id)]


def _token(value: Any) -> str | None:
    """A socket access token: short printable text (it is echoed to agents and kept in the journal)."""
    text = _text(value)
    return text if text is not None and TOKEN.fullmatch(text) else None


OptToken = Annotated[str | None, BeforeValidator(_token)]
OptStr = Annotated[str | None, BeforeValidator(_text)]
LogText = Annotated[str, BeforeValidator(_log_text)]


class WiroModel(BaseModel):
    # defer_build: validators are made on first use, not at start-up (no answer is parsed before a call).
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


class ApiErrorItem(WiroModel):
    code: OptInt = None
    message: LogText = ""


class Envelope(WiroModel):
    """What every Wiro answer shares."""

    result: Annotated[bool | None, BeforeValidator(_flag)] = None
    errors: Annotated[list[ApiErrorItem], BeforeValidator(_error_items)] = Field(default_factory=list)


class TaskOutput(WiroModel):
    name: str
    url: str
    content_type: LogText = Field(default="", alias="contenttype")
    size: OptInt = None


class Task(WiroModel):
    id: IdStr
    uuid: OptStr = None
    socket_token: OptToken = Field(default=None, alias="socketaccesstoken")
    status: Annotated[str, BeforeValidator(lambda v: _text(v) or "")] = ""
    pexit: OptStr = None
    debug_output: LogText = Field(default="", alias="debugoutput")
    debug_error: LogText = Field(default="", alias="debugerror")
    elapsed_seconds: OptFloat = Field(default=None, alias="elapsedseconds")
    total_cost: Reported = Field(default=None, alias="totalcost")
    cost_per_second: OptFloat = Field(default=None, alias="cps")
    model_id: OptStr = Field(default=None, alias="modelid")
    create_time: OptInt = Field(default=None, alias="createtime")
    start_time: OptInt = Field(default=None, alias="starttime")
    end_time: OptInt = Field(default=None, alias="endtime")
    parameters: Annotated[
        dict[str, Any] | list[Any] | None, BeforeValidator(lambda v: v if isinstance(v, dict | list) else None)
    ] = None
    outputs: Annotated[list[TaskOutput], BeforeValidator(lambda v: _objects(v) if isinstance(v, list) else [])] = Field(
        default_factory=list
    )

    @property
    def state(self) -> TaskState:
        return task_state(self.status, self.pexit, bool(self.outputs))


class RunResponse(Envelope):
    task_id: IdStr = Field(alias="taskid")
    # A token that is not short printable text makes the Run's answer unreadable (so its task is in doubt).
    socket_token: str = Field(alias="socketaccesstoken", max_length=TOKEN_MAX, pattern=r"^[!-~]+$")


class TaskListResponse(Envelope):
    total: OptInt = None
    tasks: Annotated[list[Task], BeforeValidator(_objects)] = Field(default_factory=list, alias="tasklist")


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
