"""The official TypeScript MCP client's OAuth support against this server and panva's oidc-provider: the
client does the discovery, PKCE and resource indicator itself (tests/clients/oauth_client.mjs), so this
checks that what the server publishes is what a real client library reads."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from release.node_tools import node_tools
from tests.helpers import HttpServer
from wiro_mcp.sandbox import Sandbox

from .provider import CLIENT_ID, REDIRECT, Provider
from .test_sign_in import signed_server

pytestmark = pytest.mark.xdist_group("sign-in")

SCRIPT = Path(__file__).resolve().parent.parent / "clients" / "oauth_client.mjs"
IMAGE = {"prompt": "a lighthouse", "wait_seconds": 20, "preview": False}


@pytest.fixture
def served(sandbox: Sandbox, issuer: Provider) -> Iterator[HttpServer]:
    with signed_server(sandbox, issuer.issuer) as server:
        yield server


def run_client(url: str, *, user: str, mode: str, tool: str = "generate_image") -> dict[str, Any]:
    tools = node_tools()
    target = {
        "url": url,
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "user": user,
        "mode": mode,
        "tool": tool,
        "arguments": IMAGE,
    }
    done = subprocess.run(
        [tools.node, str(tools.script(SCRIPT)), json.dumps(target)],
        capture_output=True,
        text=True,
        timeout=120,
        env=tools.env(),
    )
    assert done.returncode == 0, done.stderr
    said: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return said


@pytest.mark.parametrize("mode", ["modern", "legacy"])
def test_the_official_client_signs_in_by_itself_and_calls_a_tool(
    served: HttpServer, issuer: Provider, sandbox: Sandbox, mode: str
) -> None:
    said = run_client(served.url, user="ada", mode=mode)
    assert "thrown" not in said, said.get("thrown")
    asked = parse_qs(urlsplit(said["authorizationUrl"]).query)
    assert said["authorizationUrl"].startswith(f"{issuer.issuer}/auth")
    assert asked["resource"] == [served.url], "the resource indicator is this server's URL"
    assert asked["code_challenge_method"] == ["S256"] and asked["client_id"] == [CLIENT_ID]
    assert set(asked["scope"][0].split()) >= {"wiro:read", "wiro:run"}, "the scopes the 401 challenge named"
    assert said["result"]["isError"] is False and said["result"]["structuredContent"]["state"] == "succeeded"
    assert sandbox.count("Run") == 1
