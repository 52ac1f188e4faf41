"""The streamable HTTP transport: loopback by default, bearer token, DNS-rebinding checks,
stateless mode, both protocol generations."""

from __future__ import annotations

import subprocess
import sys

import httpx2
import pytest

from tests.contract import TOOLS
from tests.helpers import HttpProcess, HttpServer, connect, free_port, http_session, server_env, text
from wiro_mcp.adapter.http_transport import is_loopback
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_tools_work_over_http_in_both_protocol_generations(sandbox: Sandbox, mode: str) -> None:
    with HttpServer(server_env(sandbox)) as server:
        async with http_session(server.url, mode=mode) as client:
            expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
            assert client.protocol_version == expected
            assert len((await client.list_tools()).tools) == len(TOOLS)
            reported: list[float] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                reported.append(progress)

            result = await client.call_tool(
                "generate_panorama",
                {"prompt": "a canyon", "width": 512, "height": 256, "preview": False},
                progress_callback=on_progress,
            )
            assert result.structured_content is not None, text(result)
            assert result.structured_content["state"] == "succeeded"
            assert reported and reported[-1] == 1.0
            again = await client.call_tool("get_task", {"task_id": result.structured_content["task_id"]})
            assert again.structured_content["state"] == "succeeded"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stdio_works_in_both_protocol_generations(sandbox: Sandbox, mode: str) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "wiro_mcp"], env=server_env(sandbox))
    async with Client(stdio_client(params), mode=mode) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        result = await client.call_tool("generate_image", {"prompt": "x", "preview": False})
        assert result.structured_content["state"] == "succeeded"


async def test_a_token_is_required_on_every_request_when_set(sandbox: Sandbox) -> None:
    token = "t0ken-for-tests"
    # The real command line: `wiro-mcp --transport http` reading its token from the environment.
    with HttpProcess(server_env(sandbox, WIRO_MCP_HTTP_TOKEN=token)) as server:
        async with httpx2.AsyncClient() as http:
            missing = await http.post(server.url, json=INIT, headers=MCP_HEADERS)
            wrong = await http.post(server.url, json=INIT, headers={**MCP_HEADERS, "authorization": "Bearer nope"})
            prefix = await http.post(
                server.url, json=INIT, headers={**MCP_HEADERS, "authorization": f"Bearer {token[:-1]}"}
            )
            health = await http.get(server.url.replace("/mcp", "/healthz"))
        assert [missing.status_code, wrong.status_code, prefix.status_code] == [401, 401, 401]
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert health.status_code == 200
        async with http_session(server.url, token=token) as client:
            assert len((await client.list_tools()).tools) == len(TOOLS)
    assert token not in server.log


async def test_dns_rebinding_is_refused_on_loopback(sandbox: Sandbox) -> None:
    with HttpServer(server_env(sandbox)) as server:
        async with httpx2.AsyncClient() as http:
            evil_host = await http.post(server.url, json=INIT, headers={**MCP_HEADERS, "host": "evil.example:80"})
            evil_origin = await http.post(
                server.url, json=INIT, headers={**MCP_HEADERS, "origin": "http://evil.example"}
            )
            fine = await http.post(server.url, json=INIT, headers=MCP_HEADERS)
    assert evil_host.status_code == 421
    assert evil_origin.status_code == 403
    assert fine.status_code == 200


async def test_stateless_mode_answers_without_a_session(sandbox: Sandbox) -> None:
    with HttpServer(server_env(sandbox), stateless=True) as server:
        async with httpx2.AsyncClient() as http:
            first = await http.post(server.url, json=INIT, headers=MCP_HEADERS)
        assert first.status_code == 200 and "mcp-session-id" not in first.headers
        for mode in ("legacy", "auto"):
            async with http_session(server.url, mode=mode) as client:
                result = await client.call_tool("generate_image", {"prompt": "stateless", "preview": False})
                assert result.structured_content["state"] == "succeeded"


def test_binding_beyond_loopback_requires_a_token() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "--transport", "http", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "requires WIRO_MCP_HTTP_TOKEN" in done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("mcp.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_logging_level_and_log_messages_reach_a_handshake_client(sandbox: Sandbox) -> None:
    from mcp_types import LoggingMessageNotificationParams

    messages: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        messages.append(params)

    async with connect(sandbox, mode="legacy", logging_callback=on_log) as client:
        assert client.server_capabilities.logging is not None
        await client.set_logging_level("info")
        await client.call_tool("generate_image", {"prompt": "x", "preview": False})
        assert any("started task" in str(m.data) for m in messages)
        messages.clear()
        await client.set_logging_level("error")
        await client.call_tool("generate_image", {"prompt": "y", "preview": False})
        assert messages == []


async def test_completion_offers_recent_task_ids_and_output_names(sandbox: Sandbox) -> None:
    from mcp_types import ResourceTemplateReference

    async with connect(sandbox) as client:
        ids = [
            (
                await client.call_tool("generate_image", {"prompt": p, "samples": 2, "preview": False})
            ).structured_content["task_id"]
            for p in ("a", "b")
        ]
        ref = ResourceTemplateReference(uri="wiro://tasks/{task_id}")
        done = await client.complete(ref, {"name": "task_id", "value": ""})
        assert done.completion.values[:2] == list(reversed(ids))
        outputs = ResourceTemplateReference(uri="wiro://tasks/{task_id}/outputs/{name}")
        names = await client.complete(outputs, {"name": "name", "value": "1"}, context_arguments={"task_id": ids[0]})
        assert names.completion.values == ["1.png"]
