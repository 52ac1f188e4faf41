"""What we know (and what we guess) about the Wiro API, in one place.

Everything here comes from Wiro's public documentation and official clients as summarised in
the project's WIRO_API.md. The lines marked GUESS are our reading where the sources are silent:
correct them here when someone runs against the real service.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

# Endpoints (all POST, relative to the base URL that ends in /v1).
RUN_PATH = "/Run/{owner}/{slug}"
TASK_DETAIL_PATH = "/Task/Detail"
TASK_KILL_PATH = "/Task/Kill"
TASK_CANCEL_PATH = "/Task/Cancel"
TOOL_DETAIL_PATH = "/Tool/Detail"
TOOL_LIST_PATH = "/Tool/List"
# Not in the public docs (from Wiro's official client): treat every answer as optional.
TASK_LIST_PATH = "/Task/List"

# How much of an answer is read. GUESS: a catalog answer (Tool/List's page, one Tool/Detail entry) is tens
# of KB, so 512 KiB is plenty (and decoding JSON holds the interpreter ~20 ms per MB, in whatever thread:
# 512 KiB keeps a catalog answer's read within ~10 ms of the event loop's time); a task's answer may
# carry long logs, so it gets 8 MiB.
ANSWER_MAX_BYTES = 8 * 1024 * 1024
CATALOG_ANSWER_MAX_BYTES = 512 * 1024


def answer_limit(path: str) -> int:
    """The most bytes of the answer to `path` that are read."""
    return CATALOG_ANSWER_MAX_BYTES if path.startswith("/Tool/") else ANSWER_MAX_BYTES


def task_list_body(limit: int, start: int = 0) -> dict[str, str]:
    """The account's tasks, newest first, from the `start`-th. GUESS: `modelName` would filter, but which
    name it takes (the slug? the title?) is unknown, so we never send it and filter on our side."""
    return {"type": "model", "sort": "id", "order": "DESC", "start": str(start), "limit": str(limit)}


def tool_list_body(search: str | None, categories: list[str], limit: int, start: int = 0) -> dict[str, Any]:
    """A page of Wiro's catalog, best matches first (as Wiro's official client asks for it: numbers as
    text, workflows hidden, the summary form of each row)."""
    body: dict[str, Any] = {
        "start": str(start),
        "limit": str(limit),
        "sort": "relevance" if search else "id",
        "order": "DESC",
        "hideworkflows": True,
        "summary": True,
    }
    if search:
        body["search"] = search
    if categories:
        body["categories"] = categories
    return body


# Where Wiro serves files: output URLs point at its CDN (the docs show cdn1.wiro.ai) and uploaded
# inputs at its API host (api.wiro.ai/v1/File/…). GUESS: every host under wiro.ai is Wiro's own.
WIRO_DOMAIN = "wiro.ai"


def is_wiro_file_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == WIRO_DOMAIN or host.endswith("." + WIRO_DOMAIN)


# GUESS: a task's `createtime` is Wiro's clock in unix seconds, which may differ from ours by minutes:
# a task created this long before or after a claim may be the one that claim started.
CLOCK_SLACK = 600.0


def same_inputs(
    sent: Mapping[str, Any], echoed: Any, *, files: frozenset[str] = frozenset()
) -> Literal["same", "different", "unknown"]:
    """Whether a listed task's `parameters` show the inputs a Run sent (Wiro's ids).

    GUESS: Task/List and Task/Detail echo a task's inputs in `parameters`, but Wiro's documented record
    shows only some of them (its example has `inputImage` alone). So inputs present on both sides must
    be equal (numbers as numbers, text without surrounding spaces); a seed of 0 is drawn by Wiro and an
    uploaded file comes back as Wiro's own URL, so neither is compared; and when the prompt (or, without
    one, every input) is missing from `parameters`, Wiro cannot tell: "unknown"."""
    if not isinstance(echoed, Mapping):
        return "unknown"
    compared = 0
    for key, value in sent.items():
        if key in files or key not in echoed or (key == "seed" and str(value).strip() in ("", "0")):
            continue
        if not _same_value(value, echoed[key]):
            return "different"
        compared += 1
    if not compared or ("prompt" in sent and "prompt" not in echoed):
        return "unknown"
    return "same"


def _same_value(a: Any, b: Any) -> bool:
    x, y = as_number(a), as_number(b)
    if x is not None and y is not None:
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return str(a).strip() == str(b).strip()


def as_number(value: Any) -> float | None:
    """A number as Wiro may write it (40, "40", "0.0035"): a finite float, or None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# Prices: Tool/Detail's `cps` (USD per GPU second), `approximatelycost` (a typical run, USD) and
# `dynamicprice` (a JSON list of tiers `{"price", "priceMethod", "inputs"}`).
PRICE_PER_REQUEST = "cpr"
PRICE_PER_SECOND = "cps"
PRICE_PER_OUTPUT = "cpo"
PRICE_PER_PIXEL = "cp-pixel"
# Also seen, and not priced here (nothing in an image run to count them by): `cpt` per token, and
# methods for audio, video and text length. A tier with one of them falls back to the next source.
# GUESS: a tier's input value "QUANTITY:n" prices n units of that input (the tier's price is
# multiplied by the call's value ÷ n); any other value must equal the call's (numbers compared as
# numbers); the tier naming the most inputs that match wins; a tier with no inputs matches any call.
QUANTITY_PREFIX = "QUANTITY:"

# Error codes seen in the docs.
CODE_NOT_FOUND = 1
CODE_CONCURRENCY_LIMIT = 96
CODE_INSUFFICIENT_BALANCE = 97
CODE_AUTH = 98
CODE_BEARER = 99


def sign(api_key: str, api_secret: str, nonce: str) -> str:
    """x-signature: hex(HMAC-SHA256(key=API_KEY, message=API_SECRET + NONCE)), bare lowercase hex."""
    return hmac.new(api_key.encode(), (api_secret + nonce).encode(), hashlib.sha256).hexdigest()


class TaskState(StrEnum):
    """Our five states; Wiro's raw status is always kept beside it."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


# Wiro's statuses in lifecycle order.
STATUS_ORDER = (
    "task_queue",
    "task_accept",
    "task_preprocess_start",
    "task_preprocess_end",
    "task_assign",
    "task_start",
    "task_output",
    "task_output_full",
    "task_end",
    "task_postprocess_start",
    "task_postprocess_end",
)
# GUESS: a task counts as queued (so Task/Cancel applies) until a worker is assigned to it.
QUEUED_STATUSES = frozenset({"task_queue", "task_accept", "task_preprocess_start", "task_preprocess_end"})
STATUS_DONE = "task_postprocess_end"
STATUS_CANCEL = "task_cancel"
STATUS_ERROR = "task_error"


def task_state(status: str, pexit: str | None, has_outputs: bool) -> TaskState:
    """Map Wiro's status and exit code to one of our states. The only place that does this.

    `task_end` is not the end: outputs arrive after post-processing, so only
    `task_postprocess_end`, `task_cancel` and `task_error` are terminal.
    """
    if status == STATUS_CANCEL:
        return TaskState.CANCELLED
    if status == STATUS_ERROR:
        return TaskState.FAILED
    if status == STATUS_DONE:
        if pexit is None or pexit == "":
            # GUESS: the panorama page's documented example ends without `pexit`; a finished task
            # with outputs and no exit code is a success, one with neither produced nothing.
            return TaskState.SUCCEEDED if has_outputs else TaskState.FAILED
        return TaskState.SUCCEEDED if pexit.strip() == "0" else TaskState.FAILED
    if status in QUEUED_STATUSES:
        return TaskState.QUEUED
    # Every other status, known or not yet known, means a worker has it.
    return TaskState.RUNNING


def status_label(status: str) -> str:
    """A short human reading of a Wiro status, for progress messages."""
    return _STATUS_LABELS.get(status, status)


_STATUS_LABELS = {
    "task_queue": "queued",
    "task_accept": "accepted",
    "task_preprocess_start": "preparing inputs",
    "task_preprocess_end": "inputs ready",
    "task_assign": "assigned to a GPU",
    "task_start": "generating",
    "task_output": "generating",
    "task_output_full": "generation finished",
    "task_end": "model finished",
    "task_postprocess_start": "uploading outputs",
    "task_postprocess_end": "done",
    "task_cancel": "cancelled",
    "task_error": "error",
}


# Where each status puts a progress bar. Denoising (task_output) is most of a run, so it spans
# most of the bar and the socket's percentage moves through it.
_PROGRESS = {
    "task_queue": 0.02,
    "task_accept": 0.04,
    "task_preprocess_start": 0.06,
    "task_preprocess_end": 0.08,
    "task_assign": 0.10,
    "task_start": 0.12,
    "task_output": 0.15,
    "task_output_full": 0.90,
    "task_end": 0.92,
    "task_postprocess_start": 0.95,
    "task_postprocess_end": 1.0,
    "task_cancel": 1.0,
    "task_error": 1.0,
}


def status_progress(status: str, percentage: float | None = None) -> float:
    """0..1 for a progress bar: the status's place, refined by the denoising percentage if known."""
    base = _PROGRESS.get(status, 0.0)
    if status == "task_output" and percentage is not None:
        share = max(0.0, min(100.0, percentage)) / 100
        return base + share * (_PROGRESS["task_output_full"] - base)
    return base


class NonceSource:
    """Nonces for signed requests: unix time in microseconds, forced strictly increasing.

    A replay guard rejects a reused nonce, and concurrent requests made in the same
    microsecond (or after the clock steps back) must still differ, so each nonce is at least
    one more than the last. GUESS: Wiro accepts any integer ("unix time or any random integer").
    """

    def __init__(self) -> None:
        self._clock = time.time_ns
        self._lock = threading.Lock()
        self._last = 0

    def __call__(self) -> str:
        with self._lock:
            value = max(self._clock() // 1000, self._last + 1)
            self._last = value
        return str(value)
