"""MCP authorization over HTTP (WIRO_MCP_AUTH_ISSUER): this server as an OAuth 2.1 resource server.

- `/.well-known/oauth-protected-resource` (and the form with the MCP path after it, RFC 9728 §3.1)
  says where people sign in (the issuer) and which scopes there are.
- A request without a token gets 401 with `WWW-Authenticate: Bearer resource_metadata="…"`, the
  start of a host's sign-in; a token that does not check out gets 401 `invalid_token` saying why.
- A token in the URL's query string is refused (400): tokens go in the Authorization header only.
- Every request needs the read scope; a tools/call of a tool that bills (any but the read tools
  below) and tasks/update (which may start the run it answers) need the run scope too: 403
  `insufficient_scope` naming it, with a JSON-RPC error the agent can read.
- The person the token names (auth/tokens.py) is who the request is served as (identity.py), whom a
  stateful session belongs to (the SDK's AuthenticatedUser: another person's request for it is 404),
  and whom a 2026-07-28 requestState is sealed to (the SDK's AuthContextMiddleware: another person's
  replay of it is "Invalid or expired requestState").

/healthz stays open. Nothing of the token goes to Wiro or into a log.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import anyio
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import budgets
from ..auth.keys import IssuerKeys
from ..auth.tokens import IssuerUnavailable, SignedIn, TokenCheck, TokenRefused
from ..config import Settings
from ..people import load_budgets
from .http_answers import HEALTH_PATH, UNAUTHORIZED, send_json

log = logging.getLogger(__name__)

CALLER_KEY = "wiro_mcp.signed_in"  # where the gate leaves the person in the ASGI scope
METADATA_PATH = "/.well-known/oauth-protected-resource"
# Tools that read, look or stop (none bills): the read scope is enough. Any other tool needs the run scope.
READ_TOOLS = frozenset(
    {"get_task", "list_tasks", "view_panorama", "export_panorama", "search_models", "describe_model"}
    | {"kill_task", "cancel_task"}
)
BODY_MAX_BYTES = 32 * 1024 * 1024  # a request read to tell which scope it needs; larger ones need every scope


@dataclass(frozen=True)
class SignIn:
    """A server's sign-in: how tokens are checked, and the names of its two scopes."""

    check: TokenCheck
    read: str  # WIRO_MCP_AUTH_READ_SCOPE
    run: str  # WIRO_MCP_AUTH_RUN_SCOPE


def sign_in_of(settings: Settings) -> SignIn | None:
    """How a signed-in person's token is checked (WIRO_MCP_AUTH_ISSUER), or None without a sign-in. A
    budgets file that cannot be used raises PeopleFileError (the server does not start)."""
    if settings.auth_issuer is None or settings.auth_resource is None:
        return None
    keys = IssuerKeys(settings.auth_issuer, jwks_url=settings.auth_jwks_url)
    budgets = load_budgets(settings.auth_budgets_file) if settings.auth_budgets_file is not None else None
    check = TokenCheck(
        keys,
        resource=settings.auth_resource,
        budget_claim=settings.auth_budget_claim,
        daily_budget=settings.auth_daily_budget_usd,
        budgets=budgets,
    )
    return SignIn(check, settings.auth_read_scope, settings.auth_run_scope)


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the well-known part between the host and the resource's path."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{parts.path.rstrip('/')}"


class OAuthGate:
    def __init__(self, app: ASGIApp, sign_in: SignIn, *, name: str = "wiro-mcp") -> None:
        check = sign_in.check
        # The SDK's own: the person in its context for the request, so a 2026-07-28 requestState (a question
        # asked in one request, answered in the next) is sealed to them and opens for no one else.
        self.app = AuthContextMiddleware(app)
        self.check = check
        self.scopes = sign_in
        self.resource = check.resource
        self.metadata_url = metadata_url(check.resource)
        self.metadata = {
            "resource": check.resource,
            "authorization_servers": [check.issuer],
            "scopes_supported": [sign_in.read, sign_in.run],
            "bearer_methods_supported": ["header"],
            "resource_name": name,
        }
        self._metadata_paths = {METADATA_PATH, unquote(urlsplit(self.metadata_url).path)}
        self._warned = -budgets.KEYS_AGAIN

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        if scope.get("path") in self._metadata_paths:  # ASGI's path is decoded: so are the paths kept
            await send_json(send, 200, self.metadata, [(b"access-control-allow-origin", b"*")])
            return
        if str(scope.get("path", "")).startswith("/.well-known/"):  # any other metadata is the provider's, not ours
            await send_json(
                send, 404, {"error": "not_found", "error_description": "see the protected resource's metadata"}
            )
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "access_token" in query:
            await self._refuse(send, 400, "invalid_request", "tokens go in the Authorization header, never the URL")
            return
        token = _bearer(scope)
        if token is None:
            await self._refuse(send, 401, None, "sign in: this server takes OAuth access tokens")
            return
        try:
            person = await self.check.check(token)
        except TokenRefused as exc:
            await self._refuse(send, 401, "invalid_token", str(exc))
            return
        except IssuerUnavailable as exc:
            if anyio.current_time() - self._warned >= budgets.KEYS_AGAIN:  # one line a while, not one a request
                self._warned = anyio.current_time()
                log.warning("tokens cannot be checked: %s", exc)
            await self._answer(send, 503, "the identity provider's keys cannot be read now; try again shortly", [])
            return
        body, receive = await _read_body(scope, receive)
        needed = self.needed(body)
        missing = [s for s in needed if s not in person.scopes]
        if missing:  # the challenge names every scope the request needs, in one (the 2026-07-28 text's SHOULD)
            said = f"this request needs the scope {' '.join(missing)}"
            await self._refuse(send, 403, "insufficient_scope", said, scope=needed)
            return
        scope[CALLER_KEY] = person
        # The SDK's own record of who a request is (its public auth types): a stateful session is then
        # bound to the person who opened it, and anyone else's request for it answers 404.
        scopes = sorted(person.scopes)
        principal = AccessToken(
            token="",
            client_id=person.client_id,
            scopes=scopes,
            subject=person.subject,
            claims={"iss": self.check.issuer},
        )
        scope["user"], scope["auth"] = AuthenticatedUser(principal), AuthCredentials(scopes)
        await self.app(scope, receive, send)

    def needed(self, body: bytes | None) -> list[str]:
        """The scopes a request needs: read always; run for a tools/call that bills and for tasks/update
        (and for any request too large or too odd to read, which is judged the strictest way)."""
        if body is None:
            return [self.scopes.read, self.scopes.run]
        if not body:
            return [self.scopes.read]
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested past what the parser follows
            return [self.scopes.read, self.scopes.run]
        messages = message if isinstance(message, list) else [message]
        for one in messages:
            if not isinstance(one, dict):
                return [self.scopes.read, self.scopes.run]
            method, params = one.get("method"), one.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if method == "tasks/update" or (
                method == "tools/call" and not (isinstance(name, str) and name in READ_TOOLS)
            ):
                return [self.scopes.read, self.scopes.run]
        return [self.scopes.read]

    async def _refuse(
        self, send: Send, status: int, error: str | None, said: str, *, scope: list[str] | None = None
    ) -> None:
        parts = [f'resource_metadata="{self.metadata_url}"']
        wanted = scope if scope is not None else [self.scopes.read, self.scopes.run]
        parts.append(f'scope="{" ".join(wanted)}"')
        if error is not None:
            parts[:0] = [f'error="{error}"', f'error_description="{_quotable(said)}"']
        challenge = ("Bearer " + ", ".join(parts)).encode()
        what = {401: "Unauthorized", 403: "Forbidden", 400: "Bad request"}[status]
        await self._answer(send, status, f"{what} (HTTP {status}): {said}", [(b"www-authenticate", challenge)])

    async def _answer(self, send: Send, status: int, said: str, headers: list[tuple[bytes, bytes]]) -> None:
        # A JSON-RPC error body: MCP clients show its words (most drop any other body of an error).
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": UNAUTHORIZED, "message": said}}
        await send_json(send, status, body, headers)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            token = text[7:].strip()
            return token if text[:7].lower() == "bearer " and token else None
    return None


def _quotable(text: str) -> str:
    """Words inside a quoted-string of a header: printable ASCII, no quotes or backslashes."""
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "?" for c in text)[:300]


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes | None, Receive]:
    """The request's body, read up to BODY_MAX_BYTES (None past that), and a receive that hands the
    app the same messages again."""
    if scope.get("method") != "POST":
        return b"", receive
    messages: list[Message] = []
    size, more = 0, True
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = bool(message.get("more_body"))
        if size > BODY_MAX_BYTES:
            break
    body: bytes | None = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    if size > BODY_MAX_BYTES:
        body = None
    queued = list(messages)

    async def replay() -> Message:
        if queued:
            return queued.pop(0)
        return await receive()

    return body, replay


def signed_in(request: Any) -> SignedIn | None:
    """The person the gate let in for `request` (a Starlette request the SDK hands the handlers)."""
    scope = getattr(request, "scope", None)
    found = scope.get(CALLER_KEY) if isinstance(scope, dict) else None
    return found if isinstance(found, SignedIn) else None
