"""An access token checked, and the person it names.

A token is a JWT signed by the issuer's key (keys.py), with exactly the configured issuer, this
server's canonical URL among its audiences (RFC 8707: a token for another resource is refused), an
expiry, and a not-before in the past (budgets.CLOCK_SKEW of leeway either way). Only asymmetric
algorithms are accepted, and only the one the key is for: never `none`, never an HMAC (which would
make the public key a shared secret). The person is the issuer's subject (people.py `signed_in_owner`).

The token itself is never passed on: Wiro is signed with the server's keys, whatever the token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import budgets
from ..people import Caller, signed_in_owner
from ..text import shown
from .keys import IssuerError, IssuerKeys

# The algorithms a key of each type may sign with (RFC 7518, RFC 8037).
ALGORITHMS = {
    "RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
    "EC": {"ES256", "ES384", "ES512"},
    "OKP": {"EdDSA"},
}
MAX_TOKEN_BYTES = 16 * 1024


class TokenRefused(Exception):
    """A token that is not let in; the message says why, in words a person can act on (never the token)."""


class IssuerUnavailable(Exception):
    """The token cannot be checked now: the provider's keys cannot be read."""


@dataclass(frozen=True)
class SignedIn:
    """Who a checked token names, and what it allows."""

    caller: Caller
    scopes: frozenset[str]
    subject: str
    client_id: str = ""  # the host the person signed in through (RFC 9068 `client_id`, else `azp`)


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """`scope` (RFC 9068) or `scp` (Entra ID and others), each as a space-separated string or a list."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return frozenset(value.split())
        if isinstance(value, list):
            return frozenset(s for s in value if isinstance(s, str))
    return frozenset()


class TokenCheck:
    def __init__(
        self,
        keys: IssuerKeys,
        *,
        resource: str,
        budget_claim: str | None = None,
        daily_budget: float | None = None,
        budgets: Mapping[str, float] | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = keys.issuer
        self.resource = resource
        self._budget_claim = budget_claim
        self._daily_budget = daily_budget
        self._budgets = dict(budgets or {})  # WIRO_MCP_AUTH_BUDGETS_FILE: subject → daily budget

    async def check(self, token: str) -> SignedIn:
        """The person a token names; TokenRefused when it is not let in, IssuerUnavailable when the
        provider's keys cannot be read to tell."""
        import jwt  # PyJWT, and the cryptography it verifies with, only once a sign-in is used
        from jwt.exceptions import InvalidTokenError

        if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
            raise TokenRefused("the access token is not a JWT")
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError as exc:
            raise TokenRefused("the access token's header cannot be read") from exc
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or not any(algorithm in allowed for allowed in ALGORITHMS.values()):
            raise TokenRefused(f"the access token's algorithm {shown(str(algorithm), 20)!r} is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise TokenRefused("the access token's key id is not a string")
        try:
            key = await self.keys.key(kid)
        except IssuerError as exc:
            raise IssuerUnavailable(str(exc)) from exc
        if key is None:
            raise TokenRefused("the access token is signed by a key the issuer does not publish")
        if algorithm not in ALGORITHMS[key.kty] or (key.alg is not None and key.alg != algorithm):
            raise TokenRefused(f"the access token's algorithm {algorithm} is not the one its key is for")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=[self.resource, self.resource.rstrip("/") + "/"],  # a trailing slash aside
                issuer=self.issuer,
                leeway=budgets.CLOCK_SKEW,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRefused("the access token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise TokenRefused("the access token is not valid yet (nbf)") from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenRefused(f"the access token is for another resource, not {self.resource}") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenRefused(f"the access token was not issued by {self.issuer}") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefused(f"the access token has no {exc.claim} claim") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenRefused("the access token's signature does not verify") from exc
        except InvalidTokenError as exc:  # a claim of the wrong type, a header that lies: PyJWT's own words
            raise TokenRefused(f"the access token cannot be used ({shown(str(exc), 120)})") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise TokenRefused("the access token's subject is not a name of up to 255 characters")
        name = shown(str(claims.get("preferred_username") or claims.get("email") or subject), 64)
        caller = Caller(signed_in_owner(self.issuer, subject), name, self._budget(subject, claims))
        client = claims.get("client_id", claims.get("azp"))
        return SignedIn(caller, scopes_of(claims), subject, shown(client, 200) if isinstance(client, str) else "")

    def _budget(self, subject: str, claims: dict[str, Any]) -> float | None:
        """The person's own daily budget: the operator's file's (WIRO_MCP_AUTH_BUDGETS_FILE), else the claim
        WIRO_MCP_AUTH_BUDGET_CLAIM names, else the default."""
        if subject in self._budgets:
            return self._budgets[subject]
        if self._budget_claim is not None and self._budget_claim in claims:
            value = claims[self._budget_claim]
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
                return float(value)
            return 0.0  # a budget claim that is no amount lets nothing run, rather than everything
        return self._daily_budget
