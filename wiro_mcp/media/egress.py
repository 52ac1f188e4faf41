"""Where output files may be fetched from (the connection pool that keeps to it is transport.py).

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
- **What it looks like.** No URL longer than MAX_URL, or with spaces, control or bidi characters: no
  file URL has them, and a refused URL is also never handed to a client (delivery leaves it out).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio

from ..text import printable, redact_url, shown
from ..wiro import protocol

MAX_REDIRECTS = 3
MAX_URL = 4096


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

    def refusal(self, url: str, *, quoting: bool = True) -> str | None:
        """Why `url` may not be fetched (nor handed out), or None when it may. `quoting=False`: the words
        name the URL's scheme or origin, never the URL itself (what a result says of a refused one)."""
        said = shown(redact_url(url)) if quoting else "this URL"
        if len(url) > MAX_URL:
            return f"{said} is not a URL this server fetches: it is over {MAX_URL} characters long"
        if " " in url or printable(url, lines=False) != url:
            return f"{said} is not a URL this server fetches: it holds spaces, control or bidi characters"
        origin = origin_of(url)
        if origin is None:
            scheme = url.partition(":")[0] if ":" in url else ""
            said = said if quoting else f"this {shown(scheme, 20)}: URL" if scheme.isalnum() else said
            return f"{said} is not a URL this server can fetch (http or https, a valid port)"
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


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, each once, in the resolver's order."""
    found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))
