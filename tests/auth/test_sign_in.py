"""Signing in with the team's identity provider (WIRO_MCP_AUTH_ISSUER), against panva's oidc-provider on
loopback: the whole flow a host makes from the first 401, every kind of token the server must refuse
(each with its answer), the two scopes, and people who never reach each other's tasks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp.client.extension import advertise
from mcp.shared.exceptions import MCPError

from tests.adapter.test_http_transport import INIT, MCP_HEADERS
from tests.helpers import HttpServer, free_port, http_session, raw_request, server_env, text
from wiro_mcp.adapter.task_wire import TASKS
from wiro_mcp.sandbox import Sandbox

from .conftest import KID
from .provider import Provider, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.xdist_group("sign-in")]

IMAGE = {"prompt": "a lighthouse", "wait_seconds": 0, "preview": False}


@contextmanager
def signed_server(sandbox: Sandbox, issuer: str, *, stateless: bool = False, **extra: str) -> Iterator[HttpServer]:
    """wiro-mcp over HTTP with a sign-in at `issuer`, its resource its own loopback URL."""
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    env = server_env(sandbox, WIRO_MCP_AUTH_ISSUER=issuer, WIRO_MCP_AUTH_RESOURCE=resource, **extra)
    with HttpServer(env, port=port, stateless=stateless) as server:
        yield server


@pytest.fixture
def served(sandbox: Sandbox, issuer: Provider) -> Iterator[HttpServer]:
    with signed_server(sandbox, issuer.issuer, WIRO_MCP_AUTH_BUDGET_CLAIM="wiro_daily_budget_usd") as server:
        yield server


def forged(key: rsa.RSAPrivateKey, claims: dict[str, Any], *, kid: str = KID, alg: str = "RS256") -> str:
    """A token signed with `key`, as the provider would never issue it."""
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps(header).encode()) + "." + part(json.dumps(claims).encode())
    return head + "." + part(signature)


def claims_for(served: HttpServer, issuer: Provider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": issuer.issuer, "sub": "ada", "aud": served.url, "exp": now + 300, "iat": now}
    return {**base, "scope": "wiro:read wiro:run", **changes}


async def post(
    url: str, token: str | None, body: dict[str, Any] = INIT, *, headers: dict[str, str] | None = None, **options: Any
) -> httpx2.Response:
    sent = {**MCP_HEADERS, **(headers or {}), **({"authorization": f"Bearer {token}"} if token else {})}
    async with httpx2.AsyncClient(timeout=30) as http:
        return await http.post(url, json=body, headers=sent, **options)


async def test_a_host_signs_in_from_the_first_401_to_a_tool_result(
    served: HttpServer, issuer: Provider, sandbox: Sandbox
) -> None:
    """401 → the resource's metadata → the issuer's → authorization code with PKCE for this resource →
    the token → tools/call → the result."""
    first = await post(served.url, None)
    challenge = first.headers["www-authenticate"]
    metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
    async with httpx2.AsyncClient(timeout=30) as http:
        resource = (await http.get(metadata_url)).json()
        bare = (await http.get(served.url.replace("/mcp", "/.well-known/oauth-protected-resource"))).json()
        server_meta = (
            await http.get(f"{resource['authorization_servers'][0]}/.well-known/oauth-authorization-server")
        ).json()
    token = sign_in(server_meta["issuer"], resource["resource"], " ".join(resource["scopes_supported"]))
    async with http_session(served.url, token) as client:
        result = await client.call_tool("generate_image", {**IMAGE, "wait_seconds": 30})
    assert first.status_code == 401 and challenge.startswith("Bearer ") and 'scope="wiro:read wiro:run"' in challenge
    assert metadata_url == served.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
    assert (
        resource
        == bare
        == {
            "resource": served.url,
            "authorization_servers": [issuer.issuer],
            "scopes_supported": ["wiro:read", "wiro:run"],
            "bearer_methods_supported": ["header"],
            "resource_name": "wiro-mcp",
        }
    )
    assert "S256" in server_meta["code_challenge_methods_supported"]
    assert not result.is_error and result.structured_content["state"] == "succeeded", text(result)
    sent = [json.dumps([r.headers, r.fields]) for r in sandbox.state.requests]
    assert sent and not any(token in one or token[-40:] in one for one in sent), "the token never reaches Wiro"
    assert token[-40:] not in served.log, "nor the server's log"


REFUSED = [
    ("expired", lambda s, i, k: forged(k, claims_for(s, i, exp=int(time.time()) - 600)), "has expired"),
    ("not yet valid", lambda s, i, k: forged(k, claims_for(s, i, nbf=int(time.time()) + 600)), "not valid yet"),
    ("another issuer", lambda s, i, k: forged(k, claims_for(s, i, iss="http://127.0.0.1:1")), "not issued by"),
    ("another resource", lambda s, i, k: forged(k, claims_for(s, i, aud="http://127.0.0.1:1/mcp")), "another resource"),
    ("no subject", lambda s, i, k: forged(k, {kk: v for kk, v in claims_for(s, i).items() if kk != "sub"}), "no sub"),
    ("no expiry", lambda s, i, k: forged(k, {kk: v for kk, v in claims_for(s, i).items() if kk != "exp"}), "no exp"),
    (
        "a key the issuer does not publish",
        lambda s, i, k: forged(rsa.generate_private_key(public_exponent=65537, key_size=2048), claims_for(s, i)),
        "does not verify",
    ),
    (
        "an unknown key id",
        lambda s, i, k: forged(k, claims_for(s, i), kid="made-up"),
        "a key the issuer does not publish",
    ),
    ("alg none", lambda s, i, k: unsigned({"alg": "none", "typ": "JWT"}, claims_for(s, i)), "algorithm 'none'"),
    ("HS256 signed with the public key", lambda s, i, k: hs256_with_public_key(k, claims_for(s, i)), "'HS256'"),
    ("not a JWT", lambda s, i, k: "an-opaque-token", "not a JWT"),
    ("an expiry that is no number", lambda s, i, k: forged(k, claims_for(s, i, exp="soon")), "cannot be used (Exp"),
    ("a subject that is no name", lambda s, i, k: forged(k, claims_for(s, i, sub="x" * 300)), "up to 255 characters"),
]


def hs256_with_public_key(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    """The classic confusion: the RSA public key (which anyone has) used as an HMAC secret."""
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = unsigned({"alg": "HS256", "typ": "JWT", "kid": KID}, claims).rsplit(".", 1)[0]
    return head + "." + unsigned({}, {}, hmac.new(public, head.encode(), hashlib.sha256).digest()).rsplit(".", 1)[1]


@pytest.mark.parametrize(("case", "make", "says"), REFUSED, ids=[case for case, _, _ in REFUSED])
async def test_each_bad_token_is_refused_with_its_reason_and_nothing_reaches_wiro(
    served: HttpServer,
    issuer: Provider,
    signing_key: rsa.RSAPrivateKey,
    sandbox: Sandbox,
    case: str,
    make: Any,
    says: str,
) -> None:
    answer = await post(served.url, make(served, issuer, signing_key))
    challenge = answer.headers.get("www-authenticate", "")
    assert answer.status_code == 401, (case, answer.status_code, answer.text)
    assert 'error="invalid_token"' in challenge and "resource_metadata=" in challenge
    assert says in answer.json()["error"]["message"], answer.json()
    assert sandbox.count("") == 0


@pytest.mark.parametrize("audience", ["same", "with a trailing slash", "among others"])
async def test_a_valid_forged_shape_is_let_in_so_the_refusals_above_are_each_for_their_one_fault(
    served: HttpServer, issuer: Provider, signing_key: rsa.RSAPrivateKey, audience: str
) -> None:
    aud = {"same": served.url, "with a trailing slash": served.url + "/", "among others": ["urn:x", served.url]}
    answer = await post(served.url, forged(signing_key, claims_for(served, issuer, aud=aud[audience])))
    assert answer.status_code == 200, answer.text


async def test_a_token_in_the_query_string_is_refused(served: HttpServer, issuer: Provider) -> None:
    token = sign_in(issuer.issuer, served.url, "wiro:read wiro:run")
    answer = await post(served.url, None, params={"access_token": token})
    also = await post(served.url, token, params={"access_token": token})
    assert answer.status_code == also.status_code == 400
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]
    assert "Authorization header, never the URL" in answer.json()["error"]["message"]
    assert token not in answer.text


async def test_a_reader_reads_but_a_run_asks_for_the_run_scope(
    served: HttpServer, issuer: Provider, sandbox: Sandbox
) -> None:
    reader = sign_in(issuer.issuer, served.url, "wiro:read", user="rita")
    async with http_session(served.url, reader) as client:
        listed = await client.call_tool("list_tasks", {})
        with pytest.raises(MCPError) as refused:
            await client.call_tool("generate_image", IMAGE)
    answer = await post(
        served.url, reader, {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "run_model"}}
    )
    assert not listed.is_error
    assert "needs the scope wiro:run" in str(refused.value)
    assert answer.status_code == 403
    challenge = answer.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="wiro:read wiro:run"' in challenge, "all it needs"
    assert sandbox.count("Run") == 0
    nothing = sign_in(issuer.issuer, served.url, "openid", user="nora")
    assert (await post(served.url, nothing)).status_code == 403, "without the read scope nothing is served"


async def failed(client: Any, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} answered another person's task: {text(result)}"
    return text(result)


async def test_two_people_never_reach_each_others_tasks_on_either_generation_or_as_mcp_tasks(
    served: HttpServer, issuer: Provider, sandbox: Sandbox
) -> None:
    ada = sign_in(issuer.issuer, served.url, "wiro:read wiro:run", user="ada")
    bob = sign_in(issuer.issuer, served.url, "wiro:read wiro:run", user="bob")
    tasks_ext = [advertise(TASKS, {})]
    said: list[str] = []
    async with (
        http_session(served.url, ada, mode="legacy") as ada_old,
        http_session(served.url, ada, mode="2026-07-28", extensions=tasks_ext) as ada_new,
    ):
        image = (await ada_old.call_tool("generate_image", IMAGE)).structured_content
        handle = await raw_request(
            ada_new, "tools/call", {"name": "generate_image", "arguments": {**IMAGE, "prompt": "a handle"}}
        )
        legacy = await raw_request(
            ada_old, "tools/call", {"name": "generate_image", "arguments": {**IMAGE, "prompt": "old"}, "task": {}}
        )
    for mode in ("auto", "legacy"):
        async with http_session(served.url, bob, mode=mode) as bob_client:
            said.append(await failed(bob_client, "get_task", {"task_id": image["task_id"]}))
            said.append(await failed(bob_client, "kill_task", {"task_id": image["task_id"]}))
            said.append(await failed(bob_client, "export_panorama", {"task_id": image["task_id"]}))
            listed = text(await bob_client.call_tool("list_tasks", {}))
            assert image["task_id"] not in listed
    async with http_session(served.url, bob, mode="2026-07-28", extensions=tasks_ext) as bob_tasks:
        with pytest.raises(MCPError):
            await raw_request(bob_tasks, "tasks/get", {"taskId": handle["taskId"]})
        with pytest.raises(MCPError):
            await raw_request(bob_tasks, "tasks/cancel", {"taskId": handle["taskId"]})
    async with http_session(served.url, bob, mode="legacy") as bob_old:
        for method in ("tasks/get", "tasks/result", "tasks/cancel"):
            with pytest.raises(MCPError):
                await raw_request(bob_old, method, {"taskId": legacy["task"]["taskId"]})
        bobs_tasks = await raw_request(bob_old, "tasks/list", {})
    async with http_session(served.url, ada) as ada_again:
        own = await ada_again.call_tool("get_task", {"task_id": image["task_id"]})
    assert all("not found among your tasks" in line for line in said), said
    assert sandbox.count("Kill") == 0 and sandbox.count("Cancel") == 0
    assert not own.is_error, "ada reads her own task"
    assert bobs_tasks["tasks"] == [], "bob's tasks/list shows none of ada's"


async def test_a_budget_in_the_token_is_that_persons_own(
    served: HttpServer, issuer: Provider, sandbox: Sandbox
) -> None:
    carol = sign_in(issuer.issuer, served.url, "wiro:read wiro:run", user="carol")
    dave = sign_in(issuer.issuer, served.url, "wiro:read wiro:run", user="dave")
    async with http_session(served.url, carol) as c, http_session(served.url, dave) as d:
        first = await c.call_tool("generate_image", IMAGE)
        second = await c.call_tool("generate_image", {**IMAGE, "prompt": "a second lighthouse"})
        daves = await d.call_tool("generate_image", {**IMAGE, "prompt": "a second lighthouse"})
    assert not first.is_error and second.is_error and not daves.is_error
    assert "carol's own daily budget" in text(second), text(second)
    assert sandbox.count("Run") == 2


async def test_a_provider_out_of_reach_answers_503_and_is_not_taken_for_a_bad_token(
    sandbox: Sandbox, signing_key: rsa.RSAPrivateKey
) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    with signed_server(sandbox, gone) as server:
        now = int(time.time())
        claims = {"iss": gone, "sub": "ada", "aud": server.url, "exp": now + 60, "scope": "wiro:read"}
        answer = await post(server.url, forged(signing_key, claims))
        again = [(await post(server.url, forged(signing_key, claims))).status_code for _ in range(5)]
        logged = server.log.count("tokens cannot be checked")
    assert again == [503] * 5 and logged == 1, "one log line, not one per request"
    assert answer.status_code == 503 and "www-authenticate" not in answer.headers, "a 401 would send hosts to sign in"
    assert "identity provider's keys cannot be read now" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "needs_run"),
    [
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_task"}}, False),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "run_lumen_text_to_video"}}, True),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "odd"}, True),
        ({"jsonrpc": "2.0", "id": 1, "method": "tasks/update", "params": {"taskId": "t"}}, True),
        ({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"taskId": "t"}}, False),
        ([{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"method": "tools/call", "params": {"name": "x"}}], True),
        (["not a message"], True),
        ({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": ["get_task"]}}, True),
        ([[[[[[["deep"]]]]]]] * 2, True),
    ],
)
def test_which_requests_need_the_run_scope(body: Any, needs_run: bool) -> None:
    from wiro_mcp.adapter.oauth_gate import OAuthGate, SignIn
    from wiro_mcp.auth.keys import IssuerKeys
    from wiro_mcp.auth.tokens import TokenCheck

    check = TokenCheck(IssuerKeys("https://login.example"), resource="https://mcp.example/mcp")
    gate = OAuthGate(None, SignIn(check, "r", "w"))  # type: ignore[arg-type]
    assert gate.needed(json.dumps(body).encode()) == (["r", "w"] if needs_run else ["r"])
    assert gate.needed(b"not json") == gate.needed(None) == ["r", "w"], "unreadable: every scope"
    assert gate.needed(b"[" * 100_000 + b"]" * 100_000) == ["r", "w"], "nested past the parser: every scope"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"WIRO_MCP_AUTH_ISSUER": "https://login.example"}, "go together"),
        ({"WIRO_MCP_AUTH_RESOURCE": "https://mcp.example/mcp"}, "go together"),
        ({"WIRO_MCP_AUTH_ISSUER": "http://login.example", "WIRO_MCP_AUTH_RESOURCE": "https://m/mcp"}, "https://"),
        ({"WIRO_MCP_AUTH_ISSUER": "https://l.example?x=1", "WIRO_MCP_AUTH_RESOURCE": "https://m/mcp"}, "query"),
        (
            {
                "WIRO_MCP_AUTH_ISSUER": "https://l.example",
                "WIRO_MCP_AUTH_RESOURCE": "https://m/mcp",
                "WIRO_MCP_HTTP_TOKEN": "t",
            },
            "one kind of bearer",
        ),
        (
            {
                "WIRO_MCP_AUTH_ISSUER": "https://l.example",
                "WIRO_MCP_AUTH_RESOURCE": "https://m/mcp",
                "WIRO_MCP_CREDENTIALS": "request",
            },
            "one kind of bearer",
        ),
        ({"WIRO_MCP_AUTH_RUN_SCOPE": 'a "quoted" scope'}, "WIRO_MCP_AUTH_RUN_SCOPE"),
    ],
)
def test_a_sign_in_that_cannot_work_stops_the_server_at_start(env: dict[str, str], says: str) -> None:
    from pydantic import ValidationError

    from wiro_mcp.config import Settings, settings_problems

    with pytest.raises(ValidationError) as refused:
        Settings.from_env(env)
    assert says in " ".join(settings_problems(refused.value))


async def test_the_doctor_reads_the_providers_metadata_and_keys(sandbox: Sandbox, issuer: Provider) -> None:
    from wiro_mcp.doctor import examine

    resource = {"WIRO_MCP_AUTH_RESOURCE": "http://127.0.0.1:1/mcp"}
    good = await examine(server_env(sandbox, WIRO_MCP_AUTH_ISSUER=issuer.issuer, **resource))
    bad = await examine(server_env(sandbox, WIRO_MCP_AUTH_ISSUER=f"http://127.0.0.1:{free_port()}", **resource))
    [ok] = [c for c in good if c.name == "sign-in"]
    [failed] = [c for c in bad if c.name == "sign-in"]
    assert ok.level == "ok" and "publishes 1 signing key(s)" in ok.text and "PKCE S256" in ok.text, ok.text
    assert failed.level == "fail" and "nobody can sign in" in failed.text


async def test_a_session_belongs_to_the_person_who_opened_it(served: HttpServer, issuer: Provider) -> None:
    ada = sign_in(issuer.issuer, served.url, "wiro:read wiro:run", user="ada")
    bob = sign_in(issuer.issuer, served.url, "wiro:read wiro:run", user="bob")
    opened = await post(served.url, ada)
    session = {"mcp-session-id": opened.headers["mcp-session-id"]}
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    own = await post(served.url, ada, listing, headers=session)
    other = await post(served.url, bob, listing, headers=session)
    assert own.status_code == 200 and "generate_panorama" in own.text
    assert other.status_code == 404 and "generate_panorama" not in other.text, "bob cannot ride ada's session"


def test_a_sign_in_is_enough_to_serve_beyond_loopback(issuer: Provider) -> None:
    from wiro_mcp.adapter.http_transport import build_app
    from wiro_mcp.adapter.server import create_server
    from wiro_mcp.config import Settings

    signed = {"WIRO_MCP_AUTH_ISSUER": issuer.issuer, "WIRO_MCP_AUTH_RESOURCE": "https://mcp.example.com/mcp"}
    assert build_app(create_server(Settings.from_env(signed)), host="0.0.0.0", port=8000, token=None) is not None
    with pytest.raises(ValueError, match="or a sign-in"):
        build_app(create_server(Settings.from_env({})), host="0.0.0.0", port=8000, token=None)


async def test_the_providers_metadata_is_not_this_servers_to_answer(served: HttpServer) -> None:
    """A host of the 2025-03-26 kind asks the MCP server itself for authorization server metadata: a
    plain 404 (not a challenge to sign in) sends it on to the protected resource's metadata."""
    base = served.url.removesuffix("/mcp")
    async with httpx2.AsyncClient(timeout=10) as http:
        answers = [
            await http.get(f"{base}/.well-known/{name}")
            for name in ("oauth-authorization-server", "openid-configuration")
        ]
    assert [a.status_code for a in answers] == [404, 404]
    assert all("www-authenticate" not in a.headers for a in answers)


async def test_a_stateless_replica_serves_a_signed_in_person_call_by_call(sandbox: Sandbox, issuer: Provider) -> None:
    with signed_server(sandbox, issuer.issuer, stateless=True) as server:
        token = sign_in(issuer.issuer, server.url, "wiro:read wiro:run", user="ada")
        async with http_session(server.url, token, mode="2026-07-28") as client:
            ran = await client.call_tool("generate_image", {**IMAGE, "wait_seconds": 20})
            listed = await client.call_tool("list_tasks", {})
    assert not ran.is_error and ran.structured_content["state"] == "succeeded"
    assert ran.structured_content["task_id"] in text(listed)


async def test_the_operators_budgets_file_gives_a_person_their_own_and_comes_before_the_claim(
    sandbox: Sandbox, issuer: Provider, tmp_path: Path
) -> None:
    budgets = tmp_path / "budgets.txt"
    budgets.write_text("# subject  daily budget USD\nerin 0.005\ncarol 1.00   # the file comes before her claim\n")
    claim, file = "wiro_daily_budget_usd", str(budgets)
    with signed_server(
        sandbox, issuer.issuer, WIRO_MCP_AUTH_BUDGET_CLAIM=claim, WIRO_MCP_AUTH_BUDGETS_FILE=file
    ) as server:
        erin = sign_in(issuer.issuer, server.url, "wiro:read wiro:run", user="erin")
        carol = sign_in(issuer.issuer, server.url, "wiro:read wiro:run", user="carol")
        async with http_session(server.url, erin) as e, http_session(server.url, carol) as c:
            first = await e.call_tool("generate_image", IMAGE)
            over = await e.call_tool("generate_image", {**IMAGE, "prompt": "a second lighthouse"})
            carols = [await c.call_tool("generate_image", {**IMAGE, "prompt": f"carol {n}"}) for n in range(2)]
    assert not first.is_error and over.is_error and "erin's own daily budget" in text(over)
    assert not any(r.is_error for r in carols), "the file's $1.00 for carol, not her token's $0.005"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("erin", "expected `<subject> <daily budget in USD>`"),
        ("erin 1 2", "expected"),
        ("erin -1", "0 or more"),
        ("erin lots", "0 or more"),
        ("erin 1\nerin 2", "already in the file"),
    ],
)
def test_a_budgets_file_that_cannot_be_used_stops_the_server_with_its_line(
    tmp_path: Path, line: str, says: str
) -> None:
    from wiro_mcp.adapter.server import create_server
    from wiro_mcp.config import Settings
    from wiro_mcp.people import PeopleFileError

    path = tmp_path / "budgets.txt"
    path.write_text(line + "\n")
    env = {
        "WIRO_MCP_AUTH_ISSUER": "https://login.example",
        "WIRO_MCP_AUTH_RESOURCE": "https://mcp.example/mcp",
        "WIRO_MCP_AUTH_BUDGETS_FILE": str(path),
    }
    with pytest.raises(PeopleFileError) as refused:
        create_server(Settings.from_env(env))
    assert says in str(refused.value) and f"{path}, line" in str(refused.value)


async def test_the_metadata_of_a_resource_whose_path_is_percent_encoded_is_served_at_that_path() -> None:
    from wiro_mcp.adapter.oauth_gate import OAuthGate, SignIn
    from wiro_mcp.auth.keys import IssuerKeys
    from wiro_mcp.auth.tokens import TokenCheck

    check = TokenCheck(IssuerKeys("https://login.example"), resource="https://mcp.example/my%20mcp")
    gate = OAuthGate(None, SignIn(check, "r", "w"))  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    path = "/.well-known/oauth-protected-resource/my mcp"  # as ASGI hands it: decoded
    await gate({"type": "http", "path": path, "query_string": b"", "headers": []}, receive, send)
    assert gate.metadata_url == "https://mcp.example/.well-known/oauth-protected-resource/my%20mcp"
    assert sent[0]["status"] == 200 and b'"resource": "https://mcp.example/my%20mcp"' in sent[1]["body"]


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "wiro:read wiro:run"}, {"wiro:read", "wiro:run"}),
        ({"scp": "wiro:read wiro:run"}, {"wiro:read", "wiro:run"}),  # Entra ID writes scp as a string
        ({"scp": ["wiro:read"]}, {"wiro:read"}),
        ({"scope": ["wiro:run", 7]}, {"wiro:run"}),
        ({"scope": 7}, set()),
    ],
)
def test_scopes_are_read_as_providers_write_them(claims: dict[str, Any], scopes: set[str]) -> None:
    from wiro_mcp.auth.tokens import scopes_of

    assert scopes_of(claims) == scopes


def test_a_subject_may_hold_a_hash_sign_in_the_budgets_file(tmp_path: Path) -> None:
    from wiro_mcp.people import load_budgets

    path = tmp_path / "budgets.txt"
    path.write_text("# subject budget\nabc#1 5  # a comment after a space\nabc 2\n")
    assert load_budgets(path) == {"abc#1": 5.0, "abc": 2.0}


async def test_an_answer_sealed_for_one_person_opens_for_no_other(sandbox: Sandbox, issuer: Provider) -> None:
    """2026-07-28: the question's requestState is sealed to the person who was asked (the SDK's principal
    binding, fed by the gate): ada's answer replayed with bob's token starts nothing."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp_types import ElicitResult

    sent: list[tuple[dict[str, str], bytes]] = []

    async def keep(request: httpx2.Request) -> None:
        sent.append((dict(request.headers), request.content))

    async def accept(_context: Any, _params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"run": True})

    yes: Any = accept
    with signed_server(sandbox, issuer.issuer, stateless=True, WIRO_MCP_CONFIRM_ABOVE_USD="0.001") as server:
        ada = sign_in(issuer.issuer, server.url, "wiro:read wiro:run", user="ada")
        bob = sign_in(issuer.issuer, server.url, "wiro:read wiro:run", user="bob")
        async with (
            httpx2.AsyncClient(headers={"authorization": f"Bearer {ada}"}, event_hooks={"request": [keep]}) as http,
            Client(
                streamable_http_client(server.url, http_client=http), mode="2026-07-28", elicitation_callback=yes
            ) as c,
        ):
            ran = await c.call_tool("generate_image", {**IMAGE, "wait_seconds": 20})
        headers, answered = next((h, body) for h, body in sent if b"requestState" in body)
        replayed = await post(
            server.url, bob, json.loads(answered), headers={k: v for k, v in headers.items() if k != "authorization"}
        )
    assert not ran.is_error and sandbox.count("Run") == 1, "ada's own answer ran her task"
    assert replayed.status_code == 400 and "Invalid or expired requestState" in replayed.text, replayed.text
    assert sandbox.count("Run") == 1, "bob's replay of ada's answer started nothing"
