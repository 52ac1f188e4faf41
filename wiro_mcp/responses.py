"""Wiro's answers, from an HTTP response to a typed model or the matching `WiroError`.

Wiro mostly answers HTTP 200 with `result: false`, but also uses 401/404/429/5xx, and a proxy in
front of it may answer with an HTML page: both the status code and the body are looked at.
"""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any, TypeVar

import httpx2
from pydantic import ValidationError

from .errors import InvalidResponseError, RateLimitError, error_from_codes
from .models import Envelope

M = TypeVar("M", bound=Envelope)


def parse_answer(response: httpx2.Response, model: type[M]) -> M:
    """Turn one HTTP answer into `model`, or raise the matching `WiroError`."""
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = None
    body = response.text
    if status == 429:
        raise RateLimitError(
            _first_error(payload) or "Too many requests",
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
        raise error_from_codes(first.code if first else None, message, status, body)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()}))
        raise InvalidResponseError(
            f"Wiro's answer is missing or has malformed fields: {fields}", status_code=status, body=body
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
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _snippet(text: str, limit: int = 160) -> str:
    flat = _SPACE.sub(" ", _TAGS.sub(" ", text)).strip()
    return flat[:limit] + ("…" if len(flat) > limit else "")
