"""WiroClient: the one way this project talks to the Wiro HTTP API.

Knows nothing of MCP. Every request goes through `_request`, which signs it, applies timeouts,
retries what is safe to retry, and turns the answer into a typed model or a `WiroError`. A
request may carry a deadline (on the event loop's clock): each attempt's timeout shrinks to the
time left, and no retry starts that could not finish before it.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from pydantic import SecretStr

from .. import budgets
from ..config import DEFAULT_BASE_URL, Settings
from ..errors import (
    RUN_MAY_EXIST,
    ConfigurationError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    WiroError,
)
from ..text import redact_url
from . import protocol
from .answers import RunResponse, Task, TaskListResponse
from .exchange import NotSent, send_once
from .parsing import M
from .refs import TaskRef
from .retries import RetryPolicy
from .signing import caller_keys
from .tool_info import ToolDetailResponse, ToolInfo, ToolListResponse

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx2.Timeout(budgets.REQUEST_TIMEOUT, connect=budgets.CONNECT_TIMEOUT)
# Uploads can be several MB on a slow uplink.
UPLOAD_TIMEOUT = httpx2.Timeout(
    budgets.REQUEST_TIMEOUT, connect=budgets.CONNECT_TIMEOUT, write=budgets.UPLOAD_WRITE_TIMEOUT
)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The platform's trust store, loaded once per process (each load reads every CA certificate, tens
    of milliseconds); one SSLContext serves any number of connections and clients."""
    return httpx2.create_ssl_context()


@dataclass(frozen=True)
class FileUpload:
    """A local file to attach to a run as a multipart part under its Wiro input id."""

    filename: str
    content: bytes
    content_type: str


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
                verify=tls_context(),
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
        deadline: float | None = None,
    ) -> RunResponse:
        """Start a task. Never retried once the request may have reached Wiro: a run is billed."""
        path = protocol.RUN_PATH.format(**_owner_slug(model))
        if files:
            form = {k: _form_value(v) for k, v in inputs.items() if v is not None}
            parts = {k: (f.filename, f.content, f.content_type) for k, f in files.items()}
            return await self._request(
                path,
                RunResponse,
                data=form,
                files=parts,
                idempotent=False,
                timeout=UPLOAD_TIMEOUT,
                deadline=deadline,
            )
        return await self._request(path, RunResponse, json=dict(inputs), idempotent=False, deadline=deadline)

    async def task_detail(self, ref: TaskRef, *, deadline: float | None = None) -> Task:
        try:
            answer = await self._request(
                protocol.TASK_DETAIL_PATH, TaskListResponse, json=ref.wire(), deadline=deadline
            )
        except NotFoundError as exc:  # Wiro says "There is no task yet.": say what that means here
            raise NotFoundError(
                f"No {ref} exists for this Wiro account", code=exc.code, status_code=exc.status_code, body=exc.body
            ) from exc
        if not answer.tasks:
            raise NotFoundError(f"No {ref} exists for this Wiro account", code=protocol.CODE_NOT_FOUND)
        return answer.tasks[0]

    async def kill(self, ref: TaskRef, *, deadline: float | None = None) -> Task | None:
        answer = await self._request(protocol.TASK_KILL_PATH, TaskListResponse, json=ref.wire(), deadline=deadline)
        return answer.tasks[0] if answer.tasks else None

    async def cancel(self, task_id: str, *, deadline: float | None = None) -> Task | None:
        # Task/Cancel takes the id only (Wiro's own client resolves a token to an id first).
        body = TaskRef(task_id=task_id).wire()
        answer = await self._request(protocol.TASK_CANCEL_PATH, TaskListResponse, json=body, deadline=deadline)
        return answer.tasks[0] if answer.tasks else None

    async def task_list(self, limit: int, *, start: int = 0, deadline: float | None = None) -> list[Task]:
        """The account's tasks, newest first, from the `start`-th (Task/List: not in the public docs, so
        callers treat it as optional)."""
        body = protocol.task_list_body(limit, start)
        answer = await self._request(protocol.TASK_LIST_PATH, TaskListResponse, json=body, deadline=deadline)
        return answer.tasks

    async def tool_list(
        self,
        search: str | None,
        *,
        categories: list[str] | None = None,
        limit: int = 10,
        start: int = 0,
        deadline: float | None = None,
    ) -> tuple[list[ToolInfo], int | None]:
        """A page of Wiro's model catalog (Tool/List) and how many models match in all, when Wiro says."""
        body = protocol.tool_list_body(search, categories or [], limit, start)
        answer = await self._request(protocol.TOOL_LIST_PATH, ToolListResponse, json=body, deadline=deadline)
        return answer.tool, answer.total

    async def tool_detail(self, model: str, *, deadline: float | None = None) -> ToolInfo:
        names = _owner_slug(model)
        body = {"slugowner": names["owner"], "slugproject": names["slug"]}
        answer = await self._request(protocol.TOOL_DETAIL_PATH, ToolDetailResponse, json=body, deadline=deadline)
        if not answer.tool:
            raise NotFoundError(f"Wiro has no model {model}", code=1)
        return answer.tool[0]

    # -- plumbing --------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """Headers for one request; signed mode gets a fresh nonce every time."""
        key, secret = caller_keys() or (self._key, self._secret)
        if key is None:
            raise ConfigurationError(
                "WIRO_API_KEY is not set: add your Wiro project's API key to the server's environment "
                "(and WIRO_API_SECRET if the project has a secret), then restart the server."
            )
        headers = {"x-api-key": key}
        if secret is not None:
            nonce = self._nonces()
            headers["x-nonce"] = nonce
            headers["x-signature"] = protocol.sign(key, secret, nonce)
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
        deadline: float | None = None,
    ) -> M:
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                return await send_once(
                    self.http,
                    path,
                    model,
                    headers=self.auth_headers(),
                    json=json,
                    data=data,
                    files=files,
                    timeout=timeout or self._timeout,
                    deadline=deadline,
                    where=redact_url(self.base_url),
                )
            except NotSent as exc:
                # The request never left this machine: safe to retry even a run.
                error: WiroError = exc.error
            except WiroError as exc:
                if not idempotent and isinstance(exc, InvalidResponseError | ServerError):
                    # Wiro (or a proxy) got the run and its answer is unreadable or an error page.
                    exc.hint = RUN_MAY_EXIST
                    exc.may_have_run = True
                if not (idempotent and exc.transient):
                    raise
                error = exc
                if isinstance(exc, RateLimitError):
                    retry_after = exc.retry_after
            wait = self._retry.delay(attempt, retry_after)
            if wait is None or (deadline is not None and anyio.current_time() + wait >= deadline):
                raise error
            log.info("retrying %s in %.2fs after: %s", path, wait, error.message)
            await anyio.sleep(wait)
            attempt += 1


def _owner_slug(model: str) -> dict[str, str]:
    owner, _, slug = model.partition("/")
    if not owner or not slug or "/" in slug:
        raise ConfigurationError(f"a Wiro model is named owner/slug, not {model!r}")
    return {"owner": owner, "slug": slug}


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reveal(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value or None
