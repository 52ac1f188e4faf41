"""The streamable HTTP transport: MCP at /mcp, a bearer token, DNS-rebinding checks.

It binds to loopback by default. Binding anywhere else needs WIRO_MCP_HTTP_TOKEN, and with a
token set every request must carry `Authorization: Bearer <token>` (compared in constant time).
The server keeps no state that matters between requests (Wiro holds the tasks), so `--stateless`
instances can stand behind any load balancer.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Sequence

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from ..people import People
from .http_answers import HEALTH_PATH, UNAUTHORIZED, send_json
from .http_tasks import TaskRequests
from .oauth_gate import OAuthGate
from .server import WiroMCPServer

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerTokenMiddleware:
    """401 for any request without a right `Authorization: Bearer` token (the server's, or a person's
    of the tokens file); /healthz stays open."""

    def __init__(self, app: ASGIApp, token: str | None, people: People | None = None, *, keys: bool = False) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode() if token else None
        self._people = people
        self._keys = keys  # any bearer: it is the caller's own Wiro key, which Wiro checks

    def _lets_in(self, supplied: bytes) -> bool:
        if self._expected is not None and hmac.compare_digest(supplied, self._expected):
            return True
        if self._keys:
            return supplied.startswith(b"Bearer ") and bool(supplied[len(b"Bearer ") :].strip())
        if self._people is None or not supplied.startswith(b"Bearer "):
            return False
        return self._people.find(supplied[len(b"Bearer ") :].decode("latin-1").strip()) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") != HEALTH_PATH:
            supplied = b""
            for name, value in scope.get("headers", []):
                if name == b"authorization":
                    supplied = value
                    break
            if not self._lets_in(supplied):
                # A JSON-RPC error body: MCP clients show its words (they drop any other 401 body).
                said = "Unauthorized (HTTP 401): send Authorization: Bearer <token>, the server's WIRO_MCP_HTTP_TOKEN"
                await send_json(
                    send,
                    401,
                    {"jsonrpc": "2.0", "id": None, "error": {"code": UNAUTHORIZED, "message": said}},
                    [(b"www-authenticate", b'Bearer realm="wiro-mcp"')],
                )
                return
        await self.app(scope, receive, send)


class HealthMiddleware:
    """GET /healthz answers 200 for load balancers and proxies, without touching MCP or Wiro."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") == HEALTH_PATH:
            await send_json(send, 200, {"status": "ok"})
            return
        await self.app(scope, receive, send)


def security_settings(host: str, port: int, allowed_hosts: Sequence[str]) -> TransportSecuritySettings:
    """Host/Origin checks against DNS rebinding: loopback names always, plus the names a proxy uses."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    for name in allowed_hosts:
        hosts.extend([name, f"{name}:*"])
        origins.extend([f"https://{name}", f"http://{name}", f"https://{name}:*", f"http://{name}:*"])
    if not is_loopback(host) and host not in ("0.0.0.0", "::"):
        hosts.extend([host, f"{host}:*"])
    # Bound to every interface with no name given, the Host header cannot be predicted: the bearer
    # token (required there) is what keeps a rebinding page out.
    protect = is_loopback(host) or bool(allowed_hosts) or host not in ("0.0.0.0", "::")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=protect, allowed_hosts=hosts, allowed_origins=origins
    )


def build_app(
    server: WiroMCPServer,
    *,
    host: str,
    port: int,
    token: str | None,
    stateless: bool = False,
    allowed_hosts: Sequence[str] = (),
) -> ASGIApp:
    people, keys, sign_in = server.people, server.request_credentials, server.sign_in
    if not is_loopback(host) and not token and people is None and not keys and sign_in is None:
        raise ValueError(
            f"refusing to serve MCP on {host}: binding beyond loopback requires WIRO_MCP_HTTP_TOKEN "
            "(every request must then carry Authorization: Bearer <token>) or a sign-in (WIRO_MCP_AUTH_ISSUER)"
        )
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=stateless,
        transport_security=security_settings(host, port, allowed_hosts),
        host=host,
    )
    app = TaskRequests(app)  # what the Tasks specs ask of HTTP beyond the SDK (http_tasks.py)
    if sign_in is not None:  # OAuth: the person's access token, checked against the issuer's keys
        app = OAuthGate(app, sign_in)
    elif token or people is not None or keys:
        app = BearerTokenMiddleware(app, token, people, keys=keys)
    return HealthMiddleware(app)


def serve(app: ASGIApp, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, log_level="warning")
    log.info("serving MCP over streamable HTTP at http://%s:%d/mcp", host if ":" not in host else f"[{host}]", port)
    uvicorn.Server(config).run()
