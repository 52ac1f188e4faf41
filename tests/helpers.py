"""Ways to reach wiro-mcp from a test: in-process (most tests), or as a real process over stdio or
HTTP (what needs a process: stdout, the command line, transports, the examples, Node clients)."""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult, TextContent

from wiro_mcp.adapter.server import create_server
from wiro_mcp.config import Settings
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.sandbox.lifecycle import ENDED, task_record


def settings_for(sandbox: Sandbox | None, **env: str) -> Settings:
    """The settings a server pointed at `sandbox` runs with (plus any WIRO_* overrides)."""
    return Settings.from_env(server_env(sandbox, **env))


@asynccontextmanager
async def connect(sandbox: Sandbox | None, *, mode: str = "auto", **options: Any) -> AsyncIterator[Client]:
    """An MCP client connected in-process to a server built for `sandbox`. WIRO_* keyword arguments
    become settings; the rest go to the Client (callbacks, `mode="legacy"` for the handshake)."""
    env = {k: v for k, v in options.items() if k.startswith("WIRO_")}
    client_options = {k: v for k, v in options.items() if not k.startswith("WIRO_")}
    async with Client(create_server(settings_for(sandbox, **env)), mode=mode, **client_options) as client:
        yield client


def server_env(sandbox: Sandbox | None, **extra: str) -> dict[str, str]:
    env: dict[str, str] = {}
    if "WIRO_MCP_STATE_DIR" in os.environ:  # the test's own state folder (see conftest)
        env["WIRO_MCP_STATE_DIR"] = os.environ["WIRO_MCP_STATE_DIR"]
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
    """wiro-mcp's streamable HTTP app (token, rebinding checks, /healthz: exactly what
    `wiro-mcp --transport http` serves) run by uvicorn in a thread of this process, with the server's
    log lines collected in `log`. Real sockets and real HTTP, without paying for a process start."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        stateless: bool = False,
        allowed_hosts: tuple[str, ...] = (),
        port: int = 0,
    ) -> None:
        self.env = env
        self.stateless = stateless
        self.allowed_hosts = allowed_hosts
        self.port = port  # 0: any free one (a sign-in test names its port first: it is the resource's URL)
        self.url = ""
        self._lines: list[str] = []
        self._handler: logging.Handler | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def log(self) -> str:
        return "\n".join(self._lines)

    def __enter__(self) -> HttpServer:
        import uvicorn

        from wiro_mcp.adapter.http_transport import build_app
        from wiro_mcp.sandbox.serving import PromptServer

        settings = Settings.from_env(self.env)
        token = settings.http_token.get_secret_value() if settings.http_token else None
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", self.port))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/mcp"
        app = build_app(
            create_server(settings),
            host="127.0.0.1",
            port=port,
            token=token,
            stateless=self.stateless,
            allowed_hosts=self.allowed_hosts,
        )
        lines = self._lines

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")

        self._handler = Collect(logging.INFO)
        logging.getLogger("wiro_mcp").addHandler(self._handler)
        logging.getLogger("wiro_mcp").setLevel(logging.INFO)
        config = uvicorn.Config(
            app, log_config=None, access_log=False, log_level="warning", timeout_graceful_shutdown=1
        )
        self._server = PromptServer(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the HTTP server did not come up: {self.log}")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(drain=True)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        if self._handler is not None:
            logging.getLogger("wiro_mcp").removeHandler(self._handler)


class HttpProcess:
    """`wiro-mcp --transport http` as a real subprocess (the command line itself), stopped on exit."""

    def __init__(self, env: dict[str, str], *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.args = ["--transport", "http", "--port", str(self.port), *args]
        self.env = env
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process: Any = None
        self.log_path: Path | None = None
        self._folder: Any = None
        self._final_log: str | None = None

    def __enter__(self) -> HttpProcess:
        import os
        import subprocess
        import time

        import httpx2

        self._folder = tempfile.TemporaryDirectory()
        self.log_path = Path(self._folder.name) / "server.log"
        full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}, **self.env}
        self._log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wiro_mcp", *self.args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
        )
        deadline = time.monotonic() + 20
        # One client for every try: each new one loads the CA store again (~50 ms of CPU).
        with httpx2.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the HTTP server exited: {self.log}")
                try:
                    if http.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200:
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
        self._log_file.close()
        self._final_log = self.log
        self._folder.cleanup()


@asynccontextmanager
async def http_session(url: str, token: str | None = None, mode: str = "auto", **options: Any) -> AsyncIterator[Client]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60, read=120)) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, **options) as client,
    ):
        yield client


async def raw_request(client: Client, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A request whose answer the SDK's client cannot type (a CreateTaskResult in place of a tool's result,
    the Tasks methods): sent with the client's own per-request envelope, answered as the wire dict. Uses the
    session's private dispatcher: the SDK client has no public untyped request."""
    session = client.session
    data: dict[str, Any] = {"method": method, "params": params}
    options: dict[str, Any] = {}
    session._stamp(data, options)  # type: ignore[arg-type]
    if method in ("tasks/get", "tasks/update", "tasks/cancel") and params and "taskId" in params:
        # What a Tasks client sends over HTTP on 2026-07-28 (ignored elsewhere): Mcp-Name is the task's id.
        options.setdefault("headers", {})["mcp-name"] = params["taskId"]
    answer: dict[str, Any] = await session._dispatcher.send_raw_request(method, data.get("params"), options)  # type: ignore[arg-type]
    return answer


async def billed(box: Sandbox) -> float:
    """What the sandbox billed for every task it ran, once they have all ended."""
    with anyio.fail_after(30):
        while any(t.status(box.state.clock()) not in ENDED for t in box.state.tasks()):
            await anyio.sleep(0.05)
    now = box.state.clock()
    return sum(float(task_record(t, now, box.origin)["totalcost"]) for t in box.state.tasks())
