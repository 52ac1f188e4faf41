"""The identity provider's published facts: its metadata (RFC 8414, or OpenID Connect discovery) and
its signing keys (the JWKS), read over HTTPS, bounded, and kept.

The keys are read when first needed and again after budgets.KEYS_KEPT; a token signed with a key id
not yet known reads them again at once (the provider rotated a key in), at most once every
budgets.KEYS_AGAIN, so tokens naming made-up key ids cannot make the server hammer the provider.
Only asymmetric keys are kept: a key of type `oct` (a shared secret) is never a verification key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from .. import budgets

log = logging.getLogger(__name__)

ANSWER_MAX_BYTES = 256 * 1024  # a metadata document or a JWKS; real ones are a few KB
MAX_KEYS = 50
ASYMMETRIC = {"RSA", "EC", "OKP"}


class IssuerError(Exception):
    """The provider's metadata or keys cannot be read or used; the message says which and why."""


@dataclass(frozen=True)
class Key:
    kid: str | None
    kty: str
    alg: str | None  # the key's own `alg`, when it names one
    key: Any  # the public key, as PyJWT verifies with it


def well_known(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order the MCP texts have clients try: RFC 8414's (the
    well-known part before the issuer's path), OpenID Connect's the same way, then OpenID Connect's
    appended to the path; an issuer without a path has one of each kind."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    origin = f"{parts.scheme}://{parts.netloc}"
    found = [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]
    return list(dict.fromkeys(found))


def allowed_url(url: str) -> bool:
    """HTTPS, or plain HTTP to loopback (a provider on this machine, as in the tests); False for a URL
    that cannot be read as one."""
    try:
        parts = urlsplit(url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    except ValueError:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and loopback)


class IssuerKeys:
    """One issuer's metadata and keys, read on demand and kept."""

    def __init__(
        self, issuer: str, *, jwks_url: str | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.issuer = issuer
        self._jwks_url = jwks_url
        self._clock = clock
        self._keys: dict[str | None, Key] = {}
        self._read_at: float | None = None
        self._failed_at = -budgets.KEYS_AGAIN
        self._lock = anyio.Lock()
        self.metadata: dict[str, Any] | None = None

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        if not allowed_url(url):
            raise IssuerError(f"{what} must be read over https:// (http:// only on loopback): {url[:200]}")
        try:
            with anyio.fail_after(budgets.ISSUER_SECONDS):
                async with (
                    httpx2.AsyncClient(timeout=budgets.ISSUER_SECONDS, follow_redirects=False) as http,
                    http.stream("GET", url, headers={"accept": "application/json"}) as answer,
                ):
                    body = bytearray()
                    async for chunk in answer.aiter_bytes():
                        body += chunk
                        if len(body) > ANSWER_MAX_BYTES:
                            raise IssuerError(f"{what} at {url[:200]} is over {ANSWER_MAX_BYTES // 1024} KiB")
                    status = answer.status_code
        except TimeoutError as exc:
            raise IssuerError(f"{what} at {url[:200]} did not answer within {budgets.ISSUER_SECONDS:g} s") from exc
        except httpx2.HTTPError as exc:
            raise IssuerError(f"{what} at {url[:200]} cannot be read ({type(exc).__name__})") from exc
        if status != 200:
            raise IssuerError(f"{what} at {url[:200]} answered HTTP {status}")
        try:
            document = json.loads(bytes(body))
        except ValueError as exc:
            raise IssuerError(f"{what} at {url[:200]} is not JSON") from exc
        if not isinstance(document, dict):
            raise IssuerError(f"{what} at {url[:200]} is not a JSON object")
        return document

    async def discover(self) -> dict[str, Any]:
        """The issuer's metadata, whose `issuer` must be the configured one exactly (RFC 8414 §3.3)."""
        if self.metadata is not None:
            return self.metadata
        problems = []
        for url in well_known(self.issuer):
            try:
                document = await self._get_json(url, "the issuer's metadata")
            except IssuerError as exc:
                problems.append(str(exc))
                continue
            if document.get("issuer") != self.issuer:  # not this issuer's: the next place is tried
                said = str(document.get("issuer"))[:200]
                problems.append(f"the metadata at {url} names issuer {said!r}, not {self.issuer!r}")
                continue
            self.metadata = document
            return document
        raise IssuerError("; ".join(problems))

    async def jwks_url(self) -> str:
        if self._jwks_url is None:
            uri = (await self.discover()).get("jwks_uri")
            if not isinstance(uri, str) or not uri:
                raise IssuerError("the issuer's metadata names no jwks_uri: set WIRO_MCP_AUTH_JWKS_URL")
            self._jwks_url = uri
        return self._jwks_url

    async def _read(self) -> None:
        document = await self._get_json(await self.jwks_url(), "the issuer's keys (JWKS)")
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise IssuerError("the issuer's JWKS has no `keys` list")
        from jwt import PyJWK  # only once a sign-in is used
        from jwt.exceptions import PyJWTError

        keys: dict[str | None, Key] = {}
        for entry in entries[:MAX_KEYS]:
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("kty"), str)
                or entry["kty"] not in ASYMMETRIC
                or entry.get("use") not in (None, "sig")
            ):
                continue
            try:
                jwk = PyJWK(entry)
            except (PyJWTError, ValueError, TypeError, KeyError) as exc:  # a key that is no key
                log.info("a key of the issuer's JWKS is left out (%s)", type(exc).__name__)
                continue
            kid = entry.get("kid") if isinstance(entry.get("kid"), str) else None
            alg = entry.get("alg") if isinstance(entry.get("alg"), str) else None
            keys[kid] = Key(kid, str(entry["kty"]), alg, jwk.key)
        if not keys:
            raise IssuerError("the issuer's JWKS holds no usable signing key")
        self._keys = keys
        self._read_at = self._clock()

    @property
    def known(self) -> int:
        """How many signing keys are kept."""
        return len(self._keys)

    async def key(self, kid: str | None) -> Key | None:
        """The key a token's header names (None: no such key, even after reading the keys again). While
        one request reads the keys again, a token whose key is known is checked at once, not held."""
        if self._lock.locked() and (known := self._find(kid)) is not None:
            return known
        async with self._lock:
            now = self._clock()
            stale = self._read_at is None or now - self._read_at >= budgets.KEYS_KEPT
            unknown = self._find(kid) is None
            rotated = unknown and (self._read_at is None or now - self._read_at >= budgets.KEYS_AGAIN)
            if (stale or rotated) and now - self._failed_at >= budgets.KEYS_AGAIN:
                try:
                    await self._read()
                except Exception as exc:  # an answer that is no keys is a provider that cannot be read
                    self._failed_at = now
                    if self._read_at is not None and now - self._read_at >= budgets.KEYS_TRUSTED:
                        self._keys = {}  # a key the provider may have withdrawn is not trusted forever
                    if not self._keys:
                        if isinstance(exc, IssuerError):
                            raise
                        raise IssuerError(f"the issuer's keys cannot be used ({type(exc).__name__})") from exc
                    log.warning("the issuer's keys could not be read again (%s); the known keys are used", exc)
            elif not self._keys:
                raise IssuerError("the issuer's keys could not be read (asked again shortly)")
        return self._find(kid)

    def _find(self, kid: str | None) -> Key | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)


async def survey(issuer: str, jwks_url: str | None = None) -> str:
    """What the doctor says of a sign-in: the provider's metadata and keys read as the server will read
    them, in one line; IssuerError when nobody could sign in."""
    keys = IssuerKeys(issuer, jwks_url=jwks_url)
    metadata = await keys.discover()  # hosts read it to sign people in, whatever WIRO_MCP_AUTH_JWKS_URL says
    where = await keys.jwks_url()
    await keys.key(None)
    methods = metadata.get("code_challenge_methods_supported")
    pkce = "PKCE S256" if isinstance(methods, list) and "S256" in methods else "no PKCE S256 listed (hosts require it)"
    return f"{issuer} publishes {keys.known} signing key(s) at {where[:200]}; {pkce}"
