"""The connection pool output downloads go through: every connection resolves its name itself and connects
only to the addresses the egress policy allows (egress.py), as resolved. httpx's transport over
httpcore's pool, with a network backend of our own; imported on the first download, never at start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
import httpcore2
import httpx2

from ..wiro.client import tls_context
from . import egress
from .egress import OutputPolicy, is_public


async def addresses(policy: OutputPolicy, host: str, port: int) -> list[str]:
    """The addresses a connection to host:port may use, resolved here; ConnectError when none."""
    try:
        addresses = await egress.resolve(host, port)
    except OSError as exc:
        raise httpcore2.ConnectError(f"{host} could not be resolved ({exc.strerror or exc})") from exc
    if policy.may_be_private(host, port):
        return addresses
    public = [a for a in addresses if is_public(a)]
    if not public:
        shown = addresses[0] if addresses else "nothing"
        raise httpcore2.ConnectError(
            f"{host} resolves to {shown}, not a public address: outputs are never fetched from this "
            "machine's own network"
        )
    return public


class _CheckedBackend(httpcore2.AsyncNetworkBackend):
    """Connects only to the addresses the policy allows, as it resolved them."""

    def __init__(self, policy: OutputPolicy) -> None:
        self._policy = policy
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        failure: httpcore2.ConnectError | None = None
        for address in await addresses(self._policy, host, port):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore2.ConnectError as exc:
                failure = exc
        raise failure or httpcore2.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("outputs are never fetched over a unix socket")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


# httpcore's errors as httpx's (the names match), so callers handle one family.
_ERRORS: tuple[tuple[type[Exception], type[httpx2.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
    (httpcore2.NetworkError, httpx2.NetworkError),
)


def _as_httpx(exc: Exception, request: httpx2.Request) -> httpx2.TransportError:
    kind = next((theirs for ours, theirs in _ERRORS if isinstance(exc, ours)), httpx2.TransportError)
    return kind(str(exc), request=request)


class _Body(httpx2.AsyncByteStream):
    def __init__(self, stream: Any, request: httpx2.Request) -> None:
        self._stream, self._request = stream, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except httpcore2.TimeoutException as exc:
            raise _as_httpx(exc, self._request) from exc
        except (httpcore2.NetworkError, httpcore2.ProtocolError) as exc:
            raise _as_httpx(exc, self._request) from exc

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class CheckedTransport(httpx2.AsyncBaseTransport):
    """httpx's transport over a connection pool whose every connection goes through the policy."""

    def __init__(self, policy: OutputPolicy) -> None:
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=tls_context(),
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=30.0,
            network_backend=_CheckedBackend(policy),
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        core = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            answer = await self._pool.handle_async_request(core)
        except (httpcore2.TimeoutException, httpcore2.NetworkError, httpcore2.ProtocolError) as exc:
            raise _as_httpx(exc, request) from exc
        return httpx2.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, request),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
