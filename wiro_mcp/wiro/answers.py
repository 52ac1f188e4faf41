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
