"""Start-up: tools/list is answered without importing what only a call needs, the service starts on the
first call that needs it (once, however many calls arrive together) and stops with the server, and the
tools built with one shared output schema are the tools the SDK would build."""

from __future__ import annotations

import json
import subprocess
import sys

import anyio
import pytest
from mcp.server.apps import Apps
from mcp.server.mcpserver import MCPServer

from tests.helpers import connect, server_env
from wiro_mcp.adapter.tools import built_tools, registrations, structured_shape
from wiro_mcp.results import TaskResult
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.service.core import Service
from wiro_mcp.viewer import VIEWER_URI

pytestmark = pytest.mark.anyio

# What only a call needs (the Wiro client, the journal's store, downloads, following tasks, the service), and
# what only a sign-in needs.
CALL_ONLY = (
    "wiro_mcp.service.core",
    "wiro_mcp.wiro.client",
    "wiro_mcp.wiro.answers",
    "wiro_mcp.wiro.task_socket",
    "wiro_mcp.journal.store",
    "wiro_mcp.journal.access",
    "wiro_mcp.media.fetch",
    "wiro_mcp.media.delivery",
    "wiro_mcp.tracking.registry",
    "sqlite3",
    "PIL",
    "numpy",
    "jwt",  # PyJWT: only a sign-in's token check needs it (WIRO_MCP_AUTH_ISSUER), on its first request
)

LIST_THEN_CALL = """
import json, sys
import anyio
from mcp import Client
from wiro_mcp.adapter.server import create_server
from wiro_mcp.config import Settings

async def main():
    async with Client(create_server(Settings.from_env())) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
        before = sorted(m for m in sys.modules if m.startswith(("wiro_mcp", "sqlite3", "PIL", "numpy")))
        await client.call_tool("list_tasks", {})
        after = sorted(m for m in sys.modules if m.startswith(("wiro_mcp", "sqlite3", "PIL", "numpy")))
    print(json.dumps({"listed": listed, "before": before, "after": after}))

anyio.run(main)
"""


def test_tools_list_is_answered_without_the_service_stack(sandbox: Sandbox) -> None:
    # A fresh interpreter: this test process has imported everything already.
    done = subprocess.run(
        [sys.executable, "-c", LIST_THEN_CALL], env=server_env(sandbox), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert "generate_panorama" in seen["listed"] and "list_tasks" in seen["listed"]
    imported_early = [m for m in CALL_ONLY if m in seen["before"]]
    assert imported_early == [], f"imported before the first call: {imported_early}"
    # The first call brings the service in (so the list above is a real check, not an empty one).
    assert "wiro_mcp.service.core" in seen["after"]
    assert "wiro_mcp.journal.store" in seen["after"]


async def test_calls_arriving_together_start_one_service_and_the_server_stops_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered: list[Service] = []
    left: list[Service] = []
    running = Service.running

    def counted(self: Service):  # type: ignore[no-untyped-def]
        entered.append(self)
        inner = running(self)

        class Counted:
            async def __aenter__(self_) -> Service:
                return await inner.__aenter__()

            async def __aexit__(self_, *exc: object) -> bool | None:
                left.append(self)
                return await inner.__aexit__(*exc)  # type: ignore[arg-type]

        return Counted()

    monkeypatch.setattr(Service, "running", counted)
    async with connect(sandbox) as client:
        await client.list_tools()
        assert entered == []  # listing the tools starts nothing
        answers: list[bool] = []

        async def call() -> None:
            answers.append((await client.call_tool("list_tasks", {})).is_error)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(call)
        assert answers == [False] * 5
        assert len(entered) == 1
        assert left == []
    assert left == entered  # the server's end stopped it


def test_the_tools_built_with_a_shared_output_schema_are_the_sdks() -> None:
    """Each tool is what the SDK would build from its function alone (Apps.tool for the viewer's)."""
    built = {tool.name: tool for tool in built_tools()}
    assert sum(1 for tool in built.values() if tool.fn_metadata.output_model is TaskResult) == 6  # with run_model
    apps = Apps()
    apps.add_html_resource(VIEWER_URI, "<html></html>")
    for registration in registrations():
        if registration.viewer:
            apps.tool(resource_uri=VIEWER_URI, meta={"ui/resourceUri": VIEWER_URI}, **registration.options)(
                registration.fn
            )
    sdk = MCPServer("sdk", extensions=[apps])
    for registration in registrations():
        if not registration.viewer:
            sdk.add_tool(registration.fn, **registration.options)
    listed = anyio.run(sdk.list_tools)
    assert sorted(tool.name for tool in listed) == sorted(built)
    for theirs in listed:
        ours = built[theirs.name]
        assert ours.parameters == theirs.input_schema
        assert ours.output_schema == theirs.output_schema
        assert (ours.meta or None) == (theirs.meta or None)
    viewer = [name for name, tool in built.items() if tool.meta]
    assert sorted(viewer) == ["generate_panorama", "get_task"]


def test_a_tool_without_a_declared_shape_is_refused_when_built() -> None:
    async def untyped() -> dict[str, str]:
        return {}

    with pytest.raises(TypeError, match="must return Annotated"):
        structured_shape(untyped)
