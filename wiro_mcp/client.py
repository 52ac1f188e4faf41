"""WiroClient: the one way this project talks to the Wiro HTTP API.

Knows nothing of MCP. Every request goes through `_request`, which signs it, applies timeouts,
retries what is safe to retry, and turns the answer into a typed model or a `WiroError`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from pydantic import SecretStr, ValidationError

from . import protocol
from .config import DEFAULT_BASE_URL, Settings
from .errors import (
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    WiroConnectionError,
    WiroError,
    WiroTimeoutError,
    error_from_codes,
)
from .models import Envelope, RunResponse, Task, TaskListResponse, ToolDetailResponse, ToolInfo

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Envelope)

DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
# Uploads can be several MB on a slow uplink.
UPLOAD_TIMEOUT = httpx2.Timeout(30.0, connect=10.0, write=120.0)


@dataclass(frozen=True)
class FileUpload:
    """A local file to attach to a run as a multipart part under its Wiro input id."""

    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter; a server's Retry-After wins up to `max_retry_after`."""

    max_retries: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_after: float = 20.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based), or None to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        backoff: float = min(self.max_delay, self.base_delay * 2**attempt)
        return backoff * (0.5 + random.random() / 2)


class WiroClient:
    """Async client for api.wiro.ai. Use as an async context manager, or call `aclose()`."""

    def __init__(
        self,
        api_key: str | SecretStr | None,
        api_secret: str | SecretStr | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
    ) -> None:
        self._key = _reveal(api_key)
        self._secret = _reveal(api_secret)
        self.base_url = base_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._nonces = protocol.NonceSource()
        self._transport = transport
        self._timeout = timeout
        self._max_connections = max_connections
        self._http: httpx2.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> WiroClient:
        return cls(settings.api_key, settings.api_secret, base_url=settings.base_url, **kwargs)

    @property
    def signed(self) -> bool:
        return self._secret is not None

    @property
    def http(self) -> httpx2.AsyncClient:
        """The one connection pool (API calls, output downloads, the task socket).

        Made on first use: building its TLS context takes tens of milliseconds that a server
        should not spend before its first tools/list.
        """
        if self._http is None:
            self._http = httpx2.AsyncClient(
                base_url=self.base_url,
                transport=self._transport,
                timeout=self._timeout,
                limits=httpx2.Limits(max_connections=self._max_connections, max_keepalive_connections=20),
                headers={"user-agent": "wiro-mcp"},
            )
        return self._http

    async def __aenter__(self) -> WiroClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    # -- endpoints -------------------------------------------------------------------------

    async def run(
        self,
        model: str,
        inputs: Mapping[str, Any],
        files: Mapping[str, FileUpload] | None = None,
        *,
        callback_url: str | None = None,
    ) -> RunResponse:
        """Start a task. Never retried once the request may have reached Wiro: a run is billed."""
        owner, _, slug = model.partition("/")
        if not owner or not slug:
            raise ValueError(f"model must look like 'owner/slug', got {model!r}")
        path = protocol.RUN_PATH.format(owner=owner, slug=slug)
        body = dict(inputs)
        if callback_url:
            body["callbackUrl"] = callback_url
        if files:
            form = {k: _form_value(v) for k, v in body.items() if v is not None}
            parts = {k: (f.filename, f.content, f.content_type) for k, f in files.items()}
            return await self._request(
                path, RunResponse, data=form, files=parts, idempotent=False, timeout=UPLOAD_TIMEOUT
            )
        return await self._request(path, RunResponse, json=body, idempotent=False)

    async def task_detail(self, *, task_id: str | None = None, task_token: str | None = None) -> Task:
        body = _task_ref(task_id, task_token)
        answer = await self._request(protocol.TASK_DETAIL_PATH, TaskListResponse, json=body)
        if not answer.tasks:
            raise NotFoundError(f"Wiro has no task {_describe_ref(task_id, task_token)}", code=1)
        return answer.tasks[0]

    async def kill(self, *, task_id: str | None = None, task_token: str | None = None) -> Task | None:
        body = _task_ref(task_id, task_token)
        answer = await self._request(protocol.TASK_KILL_PATH, TaskListResponse, json=body)
        return answer.tasks[0] if answer.tasks else None

    async def cancel(self, task_id: str) -> Task | None:
        body = _task_ref(task_id, None)
        answer = await self._request(protocol.TASK_CANCEL_PATH, TaskListResponse, json=body)
        return answer.tasks[0] if answer.tasks else None

    async def tool_detail(self, model: str) -> ToolInfo:
        owner, _, slug = model.partition("/")
        body = {"slugowner": owner, "slugproject": slug}
        answer = await self._request(protocol.TOOL_DETAIL_PATH, ToolDetailResponse, json=body)
        if not answer.tool:
            raise NotFoundError(f"Wiro has no model {model}", code=1)
        return answer.tool[0]

    # -- plumbing --------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """Headers for one request; signed mode gets a fresh nonce every time."""
        if self._key is None:
            raise ConfigurationError(
                "WIRO_API_KEY is not set: add your Wiro project's API key to the server's environment "
                "(and WIRO_API_SECRET if the project has a secret), then restart the server."
            )
        headers = {"x-api-key": self._key}
        if self._secret is not None:
            nonce = self._nonces()
            headers["x-nonce"] = nonce
            headers["x-signature"] = protocol.sign(self._key, self._secret, nonce)
        return headers

    async def _request(
        self,
        path: str,
        model: type[M],
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        idempotent: bool = True,
        timeout: httpx2.Timeout | None = None,
    ) -> M:
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                return await self._send_once(path, model, json=json, data=data, files=files, timeout=timeout)
            except _NotSent as exc:
                # The request never left this machine: safe to retry even a run.
                error: WiroError = exc.error
            except WiroError as exc:
                if not (idempotent and exc.transient):
                    raise
                error = exc
                if isinstance(exc, RateLimitError):
                    retry_after = exc.retry_after
            wait = self._retry.delay(attempt, retry_after)
            if wait is None:
                raise error
            log.info("retrying %s in %.2fs after: %s", path, wait, error.message)
            await asyncio.sleep(wait)
            attempt += 1

    async def _send_once(
        self,
        path: str,
        model: type[M],
        *,
        json: Any,
        data: Mapping[str, str] | None,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        timeout: httpx2.Timeout | None,
    ) -> M:
        headers = self.auth_headers()
        started = time.perf_counter()
        try:
            response = await self.http.post(
                path,
                json=json,
                data=data,
                files=files,
                headers=headers,
                timeout=timeout if timeout is not None else httpx2.USE_CLIENT_DEFAULT,
            )
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise _NotSent(
                WiroConnectionError(f"Could not connect to Wiro at {self.base_url}: {type(exc).__name__}")
            ) from exc
        except httpx2.TimeoutException as exc:
            raise WiroTimeoutError(
                f"Wiro did not answer {path} in time ({type(exc).__name__})",
                hint=_maybe_sent_hint(path),
            ) from exc
        except httpx2.TransportError as exc:
            raise WiroConnectionError(
                f"The connection to Wiro broke during {path} ({type(exc).__name__})",
                hint=_maybe_sent_hint(path),
            ) from exc
        log.debug("POST %s -> %s in %.0f ms", path, response.status_code, (time.perf_counter() - started) * 1e3)
        return parse_answer(response, model)


class _NotSent(Exception):
    def __init__(self, error: WiroError) -> None:
        super().__init__(str(error))
        self.error = error


def parse_answer(response: httpx2.Response, model: type[M]) -> M:
    """Turn one HTTP answer into `model`, or raise the matching `WiroError`.

    Wiro mostly answers HTTP 200 with `result: false`, but also uses 401/404/429/5xx: both the
    status code and the body are looked at.
    """
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if status == 429:
        raise RateLimitError(
            _first_error(payload) or "Too many requests",
            retry_after=_retry_after(response.headers.get("retry-after")),
            status_code=status,
            code=_first_code(payload),
        )
    if not isinstance(payload, dict):
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        error = InvalidResponseError(
            f"Wiro answered HTTP {status} with {kind} instead of JSON: {_snippet(response.text)!r}",
            status_code=status,
        )
        if status >= 500:
            # A 5xx HTML page from a proxy is a server error; keep it transient with a clear text.
            raise error
        if status >= 400:
            raise error_from_codes(None, f"HTTP {status}: {_snippet(response.text)}", status)
        raise error
    envelope = Envelope.model_validate(payload)
    if status >= 400 or envelope.result is False or (envelope.errors and envelope.result is not True):
        first = envelope.errors[0] if envelope.errors else None
        message = (first.message if first else "") or f"Wiro answered HTTP {status} without a message"
        raise error_from_codes(first.code if first else None, message, status)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()}))
        raise InvalidResponseError(
            f"Wiro's answer is missing or has malformed fields: {fields}", status_code=status
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


def _maybe_sent_hint(path: str) -> str:
    if path.startswith("/Run/"):
        return (
            "The run may have reached Wiro and started a billed task, so it was not retried: "
            "check the Wiro dashboard's task list before running it again."
        )
    return "Try again in a moment."


def _task_ref(task_id: str | None, task_token: str | None) -> dict[str, str]:
    if (task_id is None) == (task_token is None):
        raise ValueError("give exactly one of task_id and task_token")
    return {"taskid": str(task_id)} if task_id is not None else {"tasktoken": str(task_token)}


def _describe_ref(task_id: str | None, task_token: str | None) -> str:
    return f"with id {task_id}" if task_id is not None else "with that token"


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reveal(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value or None
