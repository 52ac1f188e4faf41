"""Wiro's answers, from an HTTP response to a typed model or the matching `WiroError`.

Wiro mostly answers HTTP 200 with `result: false`, but also uses 401/404/429/5xx, and a proxy in
front of it may answer with an HTML page: both the status code and the body are looked at.

Whatever arrives (JSON nested 50,000 levels deep, `errors` as a string, a field of the wrong type,
bytes that are not UTF-8), the worst that comes out of here is an `InvalidResponseError` for that
one call: no answer can raise anything else, so none can bring the server down.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from typing import Any, TypeVar

import httpx2
from pydantic import ValidationError

from ..errors import (
    AuthenticationError,
    ConcurrencyLimitError,
    InsufficientBalanceError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    WiroAPIError,
    WiroError,
)
from ..text import clip_text
from . import protocol
from .answers import Envelope

M = TypeVar("M", bound=Envelope)
# Wiro's own message, as an error quotes it.
MESSAGE_LIMIT = 300


def parse_answer(response: httpx2.Response, model: type[M]) -> M:
    """Turn one HTTP answer into `model`, or raise the matching `WiroError` (never anything else)."""
    try:
        return _parse(response, model)
    except WiroError:
        raise
    except Exception as exc:  # RecursionError, MemoryError's milder cousins, a validator we did not foresee
        raise InvalidResponseError(
            f"Wiro's answer could not be read ({type(exc).__name__})", status_code=response.status_code
        ) from exc


def _parse(response: httpx2.Response, model: type[M]) -> M:
    status = response.status_code
    body = response.content.decode("utf-8", errors="replace")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    if status == 429:
        raise RateLimitError(
            clip_text(_first_error(payload) or "Too many requests", MESSAGE_LIMIT),
            retry_after=_retry_after(response.headers.get("retry-after")),
            status_code=status,
            code=_first_code(payload),
            body=body,
        )
    if not isinstance(payload, dict):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        if 400 <= status < 500:
            raise error_from_codes(None, f"HTTP {status}: {_snippet(body)}", status, body)
        # A 5xx page from a proxy, or a 200 that is not JSON: transient, with a clear text.
        raise InvalidResponseError(
            f"Wiro answered HTTP {status} with {kind} instead of JSON: {_snippet(body)!r}",
            status_code=status,
            body=body,
        )
    envelope = Envelope.model_validate(payload)
    if status >= 400 or envelope.result is False or (envelope.errors and envelope.result is not True):
        first = envelope.errors[0] if envelope.errors else None
        message = (first.message if first else "") or f"Wiro answered HTTP {status} without a message"
        raise error_from_codes(first.code if first else None, clip_text(message, MESSAGE_LIMIT), status, body)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(p) for p in err["loc"][:4]) for err in exc.errors()[:5]}))
        raise InvalidResponseError(
            f"Wiro's answer is missing or has malformed fields: {clip_text(fields, MESSAGE_LIMIT)}",
            status_code=status,
            body=body,
        ) from exc


def _first_error(payload: Any) -> str | None:
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
            return str(message) if message else None
    return None


def _first_code(payload: Any) -> int | None:
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = errors[0].get("code")
            try:
                return int(code) if code is not None else None
            except (TypeError, ValueError):
                return None
    return None


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _snippet(text: str, limit: int = 160) -> str:
    flat = _SPACE.sub(" ", _TAGS.sub(" ", text[: limit * 20])).strip()
    return flat[:limit] + ("…" if len(flat) > limit else "")


def error_from_codes(code: int | None, message: str, status_code: int | None, body: str | None = None) -> WiroAPIError:
    """Build the right error for a `result: false` answer or an HTTP error status."""
    kind: type[WiroAPIError]
    if status_code in (401, 403) or code in (protocol.CODE_AUTH, protocol.CODE_BEARER):
        kind = AuthenticationError
    elif code == protocol.CODE_INSUFFICIENT_BALANCE:
        kind = InsufficientBalanceError
    elif code == protocol.CODE_CONCURRENCY_LIMIT:
        kind = ConcurrencyLimitError
    elif status_code == 404 or code == protocol.CODE_NOT_FOUND:
        kind = NotFoundError
    elif status_code is not None and status_code >= 500:
        kind = ServerError
    else:
        kind = InvalidRequestError
    return kind(message, code=code, status_code=status_code, body=body)
