"""The issuer's keys as the server keeps them (auth/keys.py), against a stand-in provider whose answers
each test chooses: a key rotated in is followed, made-up key ids cannot make the server hammer the
provider, a provider gone keeps the keys it gave, and answers that are no keys are refused."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from wiro_mcp import budgets
from wiro_mcp.auth.keys import IssuerError, IssuerKeys
from wiro_mcp.auth.tokens import IssuerUnavailable, TokenCheck, TokenRefused
from wiro_mcp.people import signed_in_owner

from .stand_in import StandIn

pytestmark = pytest.mark.anyio
RESOURCE = "https://mcp.example.com/mcp"


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    running = StandIn()
    yield running
    running.close()


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    found: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    return {**found, "kid": kid}


def token(issuer: str, key: Any, kid: str, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": issuer, "sub": "ada", "aud": RESOURCE, "exp": now + 300, "scope": "wiro:read", **claims}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_rotated_in_is_followed_and_made_up_key_ids_read_the_keys_at_most_every_30_s(
    stand_in: StandIn,
) -> None:
    old, new = rsa_key(), rsa_key()
    stand_in.publish(public(old, "old"))
    clock = Clock()
    check = TokenCheck(IssuerKeys(stand_in.issuer, clock=clock), resource=RESOURCE)
    first = await check.check(token(stand_in.issuer, old, "old"))
    stand_in.publish(public(old, "old"), public(new, "new"))
    with pytest.raises(TokenRefused):  # the keys were read a moment ago: not again yet
        await check.check(token(stand_in.issuer, new, "new"))
    clock.now += budgets.KEYS_AGAIN
    rotated = await check.check(token(stand_in.issuer, new, "new"))
    reads = stand_in.jwks_reads()
    for n in range(20):
        with pytest.raises(TokenRefused, match="does not publish"):
            await check.check(token(stand_in.issuer, new, f"made-up-{n}"))
    assert first.caller.owner == rotated.caller.owner == signed_in_owner(stand_in.issuer, "ada")
    assert reads == 2 and stand_in.jwks_reads() == 2, "20 made-up key ids within 30 s read the keys no more"
    clock.now += budgets.KEYS_AGAIN
    with pytest.raises(TokenRefused):
        await check.check(token(stand_in.issuer, new, "made-up-again"))
    assert stand_in.jwks_reads() == 3, "one more read, 30 s later"


async def test_a_provider_gone_keeps_the_keys_it_gave_for_a_day_and_one_never_reached_is_unavailable(
    stand_in: StandIn,
) -> None:
    key = rsa_key()
    stand_in.publish(public(key, "k"))
    clock = Clock()
    check = TokenCheck(IssuerKeys(stand_in.issuer, clock=clock), resource=RESOURCE)
    await check.check(token(stand_in.issuer, key, "k"))
    stand_in.pages["/jwks"] = (503, b"{}")
    clock.now += budgets.KEYS_KEPT
    still = await check.check(token(stand_in.issuer, key, "k"))  # an hour on: the known key still serves
    assert still.scopes == frozenset({"wiro:read"})
    never = TokenCheck(IssuerKeys(stand_in.issuer), resource=RESOURCE)
    with pytest.raises(IssuerUnavailable, match="HTTP 503"):
        await never.check(token(stand_in.issuer, key, "k"))
    with pytest.raises(IssuerUnavailable, match="asked again shortly"):  # and not asked again at once
        await never.check(token(stand_in.issuer, key, "k"))
    assert stand_in.jwks_reads() == 3
    clock.now += budgets.KEYS_TRUSTED  # a day without the provider: a key it may have withdrawn is given up
    with pytest.raises(IssuerUnavailable):
        await check.check(token(stand_in.issuer, key, "k"))


@pytest.mark.parametrize(
    ("page", "says"),
    [
        ((200, b"not json"), "is not JSON"),
        ((200, b"[]"), "is not a JSON object"),
        ((200, b'{"keys": "none"}'), "no `keys` list"),
        ((200, json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "k"}]}).encode()), "no usable signing key"),
        ((200, json.dumps({"keys": [{"kty": "RSA", "n": "x", "e": "y", "kid": "k"}]}).encode()), "no usable"),
        ((200, b'{"keys": []' + b" " * 300_000 + b"}"), "is over 256 KiB"),
    ],
)
async def test_keys_that_are_no_keys_are_refused_with_what_is_wrong(
    stand_in: StandIn, page: tuple[int, bytes], says: str
) -> None:
    stand_in.pages["/jwks"] = page
    keys = IssuerKeys(stand_in.issuer)
    with pytest.raises(IssuerError, match=says):
        await keys.key("k")


async def test_a_shared_secret_in_the_jwks_never_verifies_an_hmac_token(stand_in: StandIn) -> None:
    key = rsa_key()
    stand_in.publish({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "kid": "s"}, public(key, "k"))
    check = TokenCheck(IssuerKeys(stand_in.issuer), resource=RESOURCE)
    forged = jwt.encode(
        {"iss": stand_in.issuer, "sub": "x", "aud": RESOURCE, "exp": int(time.time()) + 60},
        "secret-secret-secret-secret-secret-0123",
        algorithm="HS256",
        headers={"kid": "s"},
    )
    with pytest.raises(TokenRefused, match="'HS256' is not accepted"):
        await check.check(forged)


async def test_an_algorithm_must_be_the_one_its_key_is_for(stand_in: StandIn) -> None:
    rsa_one, ec_one = rsa_key(), ec.generate_private_key(ec.SECP256R1())
    stand_in.publish(public(rsa_one, "r"), public(ec_one, "e"))
    check = TokenCheck(IssuerKeys(stand_in.issuer), resource=RESOURCE)
    assert (await check.check(token(stand_in.issuer, ec_one, "e", alg="ES256"))).subject == "ada"
    with pytest.raises(TokenRefused, match="not the one its key is for"):
        await check.check(token(stand_in.issuer, ec_one, "r", alg="ES256"))


async def test_metadata_naming_another_issuer_is_refused(stand_in: StandIn) -> None:
    stand_in.pages["/.well-known/oauth-authorization-server"] = (200, b'{"issuer": "https://evil.example"}')
    keys = IssuerKeys(stand_in.issuer)
    with pytest.raises(IssuerError, match=re.escape("names issuer 'https://evil.example'")):
        await keys.discover()


async def test_a_budget_claim_that_is_no_amount_lets_nothing_run(stand_in: StandIn) -> None:
    key = rsa_key()
    stand_in.publish(public(key, "k"))
    check = TokenCheck(IssuerKeys(stand_in.issuer), resource=RESOURCE, budget_claim="budget", daily_budget=2.0)
    said = [
        (await check.check(token(stand_in.issuer, key, "k", **extra))).caller.daily_budget
        for extra in ({"budget": 0.5}, {"budget": "lots"}, {"budget": -1}, {"budget": True}, {})
    ]
    assert said == [0.5, 0.0, 0.0, 0.0, 2.0]


async def test_while_the_keys_are_read_again_a_token_of_a_known_key_is_not_held(stand_in: StandIn) -> None:
    """The hourly read again of the keys, from a slow provider: the request that starts it waits for it,
    the others are checked with the keys already known, at once."""
    key = rsa_key()
    stand_in.publish(public(key, "k"))
    clock = Clock()
    check = TokenCheck(IssuerKeys(stand_in.issuer, clock=clock), resource=RESOURCE)
    await check.check(token(stand_in.issuer, key, "k"))
    clock.now += budgets.KEYS_KEPT
    stand_in.delay = 1.0
    took: dict[str, float] = {}

    async def timed(name: str) -> None:
        began = anyio.current_time()
        await check.check(token(stand_in.issuer, key, "k"))
        took[name] = anyio.current_time() - began

    async with anyio.create_task_group() as group:
        group.start_soon(timed, "reader")
        with anyio.fail_after(5):  # the read again is under way: the provider has been asked
            while stand_in.jwks_reads() < 2:
                await anyio.sleep(0.01)
        group.start_soon(timed, "other")
    assert took["reader"] >= 1.0 and took["other"] < 0.5, took
    assert stand_in.jwks_reads() == 2


async def test_entries_of_the_wrong_shape_are_left_out_and_a_bad_keys_url_is_a_provider_that_cannot_be_read(
    stand_in: StandIn,
) -> None:
    key = rsa_key()
    stand_in.publish({"kty": ["RSA"], "kid": "odd"}, {"kty": "RSA", "kid": "x", "n": 5}, public(key, "k"))
    check = TokenCheck(IssuerKeys(stand_in.issuer), resource=RESOURCE)
    assert (await check.check(token(stand_in.issuer, key, "k"))).subject == "ada"
    stand_in.pages["/.well-known/oauth-authorization-server"] = (
        200,
        json.dumps({"issuer": stand_in.issuer, "jwks_uri": "https://[bad"}).encode(),
    )
    broken = TokenCheck(IssuerKeys(stand_in.issuer), resource=RESOURCE)
    with pytest.raises(IssuerUnavailable, match="https://"):
        await broken.check(token(stand_in.issuer, key, "k"))


async def test_metadata_of_another_issuer_at_one_place_sends_discovery_to_the_next(stand_in: StandIn) -> None:
    stand_in.pages["/.well-known/oauth-authorization-server"] = (200, b'{"issuer": "https://other.example"}')
    stand_in.pages["/.well-known/openid-configuration"] = (
        200,
        json.dumps({"issuer": stand_in.issuer, "jwks_uri": f"{stand_in.issuer}/jwks"}).encode(),
    )
    keys = IssuerKeys(stand_in.issuer)
    assert (await keys.discover())["jwks_uri"] == f"{stand_in.issuer}/jwks"


def test_discovery_tries_the_places_the_mcp_texts_list_in_their_order() -> None:
    from wiro_mcp.auth.keys import well_known

    assert well_known("https://auth.example.com/tenant1") == [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
    ]
    assert well_known("https://auth.example.com") == [
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration",
    ]


async def test_tokens_without_a_key_id_do_not_read_the_keys_again_every_30_s(stand_in: StandIn) -> None:
    key = rsa_key()
    stand_in.publish(public(key, "k"))
    clock = Clock()
    check = TokenCheck(IssuerKeys(stand_in.issuer, clock=clock), resource=RESOURCE)
    now = int(time.time())
    plain = jwt.encode(
        {"iss": stand_in.issuer, "sub": "ada", "aud": RESOURCE, "exp": now + 300}, key, algorithm="RS256"
    )
    for _ in range(5):
        assert (await check.check(plain)).subject == "ada", "the one key verifies a token that names none"
        clock.now += budgets.KEYS_AGAIN + 1
    assert stand_in.jwks_reads() == 1
