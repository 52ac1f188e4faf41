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
        env["WIRO_SOCKET_URL"] = sandbox.socket_url
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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HttpServer:
    """`wiro-mcp --transport http` as a real subprocess, stopped on exit."""

    def __init__(self, env: dict[str, str], *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.args = ["--transport", "http", "--port", str(self.port), *args]
        self.env = env
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process: Any = None
        self.log_path: Path | None = None
        self._folder: Any = None
        self._final_log: str | None = None

    def __enter__(self) -> HttpServer:
        import os
        import subprocess
        import time

        import httpx2

        self._folder = tempfile.TemporaryDirectory()
        self.log_path = Path(self._folder.name) / "server.log"
        full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}, **self.env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wiro_mcp", *self.args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log_path.open("w"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the HTTP server exited: {self.log}")
            try:
                if httpx2.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx2.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the HTTP server did not come up: {self.log}")

    @property
    def log(self) -> str:
        if self._final_log is not None:
            return self._final_log
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
        self._final_log = self.log
        self._folder.cleanup()


@asynccontextmanager
async def http_session(url: str, token: str | None = None, mode: str = "auto") -> AsyncIterator[Client]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client
