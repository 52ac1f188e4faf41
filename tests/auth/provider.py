"""The tests' authorization server: panva's oidc-provider (tests/clients/oidc_provider.mjs) on loopback,
and a person signing in through it headlessly: the authorization code flow with PKCE and a resource
indicator, through the provider's own login and consent pages, as a browser would post them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2

from release.node_tools import node_tools
from tests.helpers import free_port

SCRIPT = Path(__file__).resolve().parent.parent / "clients" / "oidc_provider.mjs"
CLIENT_ID = "wiro-mcp-tests"
REDIRECT = "http://127.0.0.1:9/callback"  # never reached: the code is read from the redirect itself
SCOPES = "wiro:read wiro:run"


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen[str]
    output: list[str]

    @property
    def metadata(self) -> dict[str, Any]:
        answer = httpx2.get(f"{self.issuer}/.well-known/oauth-authorization-server", timeout=10)
        document: dict[str, Any] = answer.json()
        return document


@contextmanager
def provider(
    scope: str = SCOPES, *, jwks: dict[str, Any] | None = None, claims: dict[str, dict[str, Any]] | None = None
) -> Iterator[Provider]:
    """oidc-provider issuing JWT access tokens with `scope` for any loopback URL (a resource server each),
    signing with `jwks` (private keys; else its own development keys), adding `claims` per account."""
    tools = node_tools()
    port = free_port()
    config: dict[str, Any] = {
        "port": port,
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "resources": {"pattern": r"^https?://127\.0\.0\.1:[0-9]+/", "scope": scope},
        "claims": claims or {},
    }
    if jwks is not None:
        config["jwks"] = jwks
    process = subprocess.Popen(
        [tools.node, str(tools.script(SCRIPT)), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=tools.env(),
    )
    assert process.stdout is not None
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            if line.startswith("ready "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(60):
            raise RuntimeError("oidc-provider did not start:\n" + "\n".join(output))
        yield Provider(f"http://127.0.0.1:{port}", process, output)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def sign_in(issuer: str, resource: str, scope: str, *, user: str = "ada") -> str:
    """An access token for `resource`, got the way a host gets one: authorization code, PKCE (S256),
    the resource indicator on both requests, the person signing in and consenting on the pages."""
    meta = httpx2.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": resource,
        "state": state,
    }
    with httpx2.Client(timeout=10, follow_redirects=False) as browser:
        answer = browser.get(meta["authorization_endpoint"], params=query)
        for _ in range(12):
            location = answer.headers.get("location")
            if location is None:  # a page: the login or the consent form, posted as a person would
                uid = urlsplit(str(answer.url)).path.rstrip("/").split("/")[-1]
                prompt = "login" if 'name="login"' in answer.text else "consent"
                form = {"prompt": prompt, "login": user, "password": "any"} if prompt == "login" else {"prompt": prompt}
                answer = browser.post(f"{issuer}/interaction/{uid}", data=form)
                continue
            target = urljoin(str(answer.url), location)
            if target.startswith(REDIRECT):
                found = parse_qs(urlsplit(target).query)
                assert found.get("state") == [state], found
                if "code" not in found:
                    raise RuntimeError(f"the provider refused: {found}")
                code = found["code"][0]
                break
            answer = browser.get(target)
        else:
            raise RuntimeError("the sign-in did not come back to the redirect URI")
        token = browser.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": CLIENT_ID,
                "code_verifier": verifier,
                "resource": resource,
            },
        )
    assert token.status_code == 200, token.text
    access: str = token.json()["access_token"]
    return access
