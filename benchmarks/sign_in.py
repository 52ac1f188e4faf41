"""`make bench`'s figure for a sign-in (WIRO_MCP_AUTH_ISSUER): what checking an access token adds to a
request once the provider's keys are known: the signature (RS256, 2048-bit), issuer, audience, times
and scopes, as the OAuth gate checks them before every request."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' stand-in provider

from tests.auth.stand_in import StandIn
from wiro_mcp.auth.keys import IssuerKeys
from wiro_mcp.auth.tokens import TokenCheck

RESOURCE = "https://mcp.example.com/mcp"


async def token_check_times(runs: int) -> list[float]:
    """Seconds per check of one valid token, `runs` times, the keys read once before (warm)."""
    provider = StandIn()
    try:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        provider.publish({**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k"})
        claims = {"iss": provider.issuer, "sub": "ada", "aud": RESOURCE, "exp": int(time.time()) + 3600}
        token = jwt.encode({**claims, "scope": "wiro:read wiro:run"}, key, algorithm="RS256", headers={"kid": "k"})
        check = TokenCheck(IssuerKeys(provider.issuer), resource=RESOURCE)
        await check.check(token)  # the keys read: what follows is warm
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await check.check(token)
            times.append(time.perf_counter() - started)
        return times
    finally:
        provider.close()
