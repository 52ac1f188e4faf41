"""Spawn wiro-mcp over stdio against a sandbox, the way a host does."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent

from wiro_mcp.sandbox import Sandbox


def server_env(sandbox: Sandbox | None, **extra: str) -> dict[str, str]:
    env: dict[str, str] = {}
    if sandbox is not None:
        env["WIRO_API_BASE_URL"] = sandbox.base_url
        env["WIRO_API_KEY"] = sandbox.config.api_key
        if sandbox.config.api_secret:
            env["WIRO_API_SECRET"] = sandbox.config.api_secret
    env.update(extra)
    return env


class Session:
    def __init__(self, client: Client, stderr: Path) -> None:
        self.client = client
        self.stderr_path = stderr

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def call(self, name: str, arguments: dict[str, Any] | None = None, **kwargs: Any) -> CallToolResult:
        return await self.client.call_tool(name, arguments or {}, **kwargs)


@asynccontextmanager
async def stdio_session(env: dict[str, str], args: list[str] | None = None) -> AsyncIterator[Session]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "wiro_mcp", *(args or [])], env=env)
    with tempfile.TemporaryDirectory() as folder:
        stderr_path = Path(folder) / "stderr.log"
        with stderr_path.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                yield Session(client, stderr_path)


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))
