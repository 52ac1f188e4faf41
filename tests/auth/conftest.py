from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .provider import Provider, provider

KID = "wiro-tests-key-1"


@pytest.fixture(scope="session")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def issuer(signing_key: rsa.RSAPrivateKey) -> Iterator[Provider]:
    """One oidc-provider per module, signing with the tests' key (so a test can also make tokens it
    would never issue), and carol's access tokens carrying a budget claim."""
    claims = {"carol": {"wiro_daily_budget_usd": 0.005}}
    with provider(jwks={"keys": [private_jwk(signing_key, KID)]}, claims=claims) as running:
        yield running
