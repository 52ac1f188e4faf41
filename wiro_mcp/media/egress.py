"""Where output files may be fetched from, and a connection pool that connects nowhere else.

An output's URL comes in Wiro's answer, so it is hostile until checked: followed blindly, it would
make this server fetch from its own network (another local service, a cloud metadata address) and
hand the bytes back as a resource. So:

- **Where.** Only these origins: the API base URL's own (scheme, host and port exactly: the sandbox
  serves outputs there), Wiro's hosts over https (`protocol.is_wiro_file_host`), and what a person
  adds in WIRO_MCP_OUTPUT_HOSTS (a host name: https on port 443; a whole origin such as
  `http://10.0.0.5:8080`: exactly that).
- **Which addresses.** Every connection resolves the name itself and connects only to public
  addresses (no loopback, private, link-local, shared, reserved or multicast one), checked after
  resolution and used as resolved, so a name cannot be re-pointed between the check and the
  connection. The API base URL's origin and origins a person named exactly may be private.
- **Redirects** are followed by hand (fetch.py), at most MAX_REDIRECTS, each hop checked here again.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore2
import httpx2

from ..text import clip_text, redact_url
from ..wiro import protocol
from ..wiro.client import tls_context

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        default = {"https": 443, "http": 80}.get(self.scheme)
        return f"{self.scheme}://{self.host}" + ("" if self.port == default else f":{self.port}")


def origin_of(url: str) -> Origin | None:
    """The origin of an http(s) URL, or None for anything else (another scheme, no host, a bad port)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower().rstrip("."), port or (443 if scheme == "https" else 80))


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet (an IPv4-mapped IPv6 address is judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class OutputPolicy:
    """Which URLs outputs may be fetched from, and which of them may resolve to a non-public address."""

    def __init__(self, api_base_url: str, extra: Sequence[str] = (), *, any_https: bool = False) -> None:
        """`any_https`: any https host on port 443 (its addresses still public only), for reading an
        input picture's header from the URL an agent gave."""
        self._any_https = any_https
        api = origin_of(api_base_url)
        self._exact: set[Origin] = {api} if api is not None else set()
        self._hosts: set[str] = set()
        for entry in extra:
            named = origin_of(entry) if "://" in entry else None
            if named is not None:
                self._exact.add(named)
            elif entry.strip():
                self._hosts.add(entry.strip().lower().rstrip("."))

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be fetched, or None when it may."""
        origin = origin_of(url)
        if origin is None:
            return f"{clip_text(redact_url(url))} is not a URL this server can fetch (http or https, a valid port)"
        if origin in self._exact:
            return None
        wiro_or_added = self._any_https or protocol.is_wiro_file_host(origin.host) or origin.host in self._hosts
        if origin.scheme == "https" and origin.port == 443 and wiro_or_added:
            return None
        return (
            f"{origin} is not where Wiro serves files (the API's own origin and Wiro's hosts over https), so this "
            "server does not fetch from it; a person can add a host to WIRO_MCP_OUTPUT_HOSTS"
        )

    def may_be_private(self, host: str, port: int) -> bool:
        """Whether a connection to host:port may go to a non-public address (an origin named exactly)."""
        host = host.lower().rstrip(".")
        return any(o.host == host and o.port == port for o in self._exact)

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to host:port may use, resolved here; ConnectError when none."""
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore2.ConnectError(f"{host} could not be resolved ({exc.strerror or exc})") from exc
        if self.may_be_private(host, port):
            return addresses
        public = [a for a in addresses if is_public(a)]
        if not public:
            shown = addresses[0] if addresses else "nothing"
            raise httpcore2.ConnectError(
                f"{host} resolves to {shown}, not a public address: outputs are never fetched from this "
                "machine's own network"
            )
        return public


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, each once, in the resolver's order."""
    found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


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
        for address in await self._policy.addresses(host, port):
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
