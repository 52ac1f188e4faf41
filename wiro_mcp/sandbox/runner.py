"""Run the sandbox: in a background thread (tests, `wiro-mcp --sandbox`) or in the foreground.

It is a real uvicorn server on loopback, so the client under test goes through real sockets,
real HTTP parsing and real timeouts.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import socket
import threading
import time
from collections import OrderedDict
from typing import Any

from .catalog import CATALOG
from .config import SandboxConfig
from .lifecycle import OutputFile, SandboxTask
from .store import Fault, FaultKind, ManualClock, SandboxState

# Drawings by what decides them, shared by every sandbox in the process (a test suite starts hundreds
# of sandboxes that draw the same few prompts): drawing and encoding cost 0.1–0.5 s of CPU each.
_DRAWN: OrderedDict[str, list[OutputFile]] = OrderedDict()
_DRAWN_LOCK = threading.Lock()
_DRAWN_MAX_BYTES = 64 * 1024 * 1024


def _drawn(task: SandboxTask, *, grain: bool) -> list[OutputFile]:
    from .outputs import render_catalog
    from .pictures import render

    p = task.params
    source = task.uploads.get("inputImage", b"")
    decided_by: tuple[Any, ...] = (
        task.model,
        p.get("prompt"),
        p.get("width"),
        p.get("height"),
        p.get("samples"),
        p.get("strength"),
    )
    if task.model in CATALOG:  # its outputs may follow from anything it received (the kitchen lists it all)
        decided_by = (task.model, sorted(p.items()), sorted(task.received.items(), key=repr))
        uploads = sorted(task.uploads.items())
        source = b"".join(hashlib.sha256(name.encode() + b"\0" + data).digest() for name, data in uploads)
    key = hashlib.sha256(repr((decided_by, grain)).encode() + source).hexdigest()
    with _DRAWN_LOCK:
        if key in _DRAWN:
            _DRAWN.move_to_end(key)
            return _DRAWN[key]
    # Outside the lock: two sandboxes draw at once.
    outputs = render_catalog(task) if task.model in CATALOG else render(task, grain=grain)
    with _DRAWN_LOCK:
        _DRAWN[key] = outputs
        while len(_DRAWN) > 1 and sum(len(f.data) for drawn in _DRAWN.values() for f in drawn) > _DRAWN_MAX_BYTES:
            _DRAWN.popitem(last=False)
    return outputs


class Sandbox:
    """A simulated Wiro API. `with Sandbox(config) as sandbox:` serves it on `sandbox.base_url`."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        from .control import build_app
        from .socket_hub import SocketHub

        self.config = config or SandboxConfig()
        self.state = SandboxState(
            queue_seconds=self.config.queue_seconds,
            run_seconds=self.config.run_seconds,
            max_concurrent=self.config.max_concurrent,
            clock=self.config.clock,
        )
        self.sockets = SocketHub(self)
        self.app = build_app(self, self.sockets)
        self._pending: dict[str, Any] = {}
        self._renderer: concurrent.futures.ThreadPoolExecutor | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.origin = ""

    @property
    def base_url(self) -> str:
        """Where the API lives, ending in /v1 (what WIRO_API_BASE_URL should be)."""
        return f"{self.origin}/v1"

    @property
    def socket_url(self) -> str:
        """The task WebSocket (what WIRO_SOCKET_URL should be)."""
        return f"{self.origin.replace('http://', 'ws://')}/socket/v1"

    def start_rendering(self, task: SandboxTask) -> None:
        """Draw a new task's outputs in the background, so they are ready when it ends (as on Wiro).

        On a ManualClock the test decides when a task ends, and many never do: their outputs are
        drawn when first asked for instead (drawing costs a few hundred ms of CPU)."""
        if task.outcome != "success" or isinstance(self.config.clock, ManualClock):
            return
        if self._renderer is None:
            self._renderer = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-draw")
        self._pending[task.id] = self._renderer.submit(self.render_outputs, task)

    async def outputs_ready(self, task: SandboxTask) -> None:
        """Make sure a finished task's outputs exist (waiting for the drawing if needed)."""
        if task.outputs is not None or task.outcome != "success":
            return
        import anyio.to_thread

        future = self._pending.pop(task.id, None)
        if future is None:
            task.outputs = await anyio.to_thread.run_sync(self.render_outputs, task)
        else:
            task.outputs = await anyio.to_thread.run_sync(future.result)

    # -- control ---------------------------------------------------------------------------

    def inject(self, kind: FaultKind, endpoint: str | None = None, *, times: int = 1, **kwargs: Any) -> None:
        """Make the next `times` matching requests misbehave (see `FaultKind`)."""
        self.state.inject(Fault(kind=kind, endpoint=endpoint, times=times, **kwargs))

    def count(self, endpoint_prefix: str) -> int:
        """How many requests reached an endpoint, e.g. count("Run/") or count("Task/Detail")."""
        return self.state.count(endpoint_prefix)

    def advance_to(self, task_id: str, status: str) -> None:
        """With a ManualClock: move time to the moment task `task_id` enters `status`."""
        clock = self.config.clock
        task = self.state.get(task_id=task_id)
        if not isinstance(clock, ManualClock) or task is None:
            raise RuntimeError("advance_to needs a ManualClock and a known task")
        clock.now = max(clock.now, task.reaches(status))

    def render_outputs(self, task: SandboxTask) -> list[OutputFile]:
        return _drawn(task, grain=self.config.grain)

    # -- serving ---------------------------------------------------------------------------

    def _make_server(self) -> Any:
        import uvicorn

        from .serving import PromptServer

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this. Without it, a keep-alive answer written in two parts
        # (headers, then body) waits ~40 ms for the client's delayed ACK (Nagle's algorithm).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(512)
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self.origin = f"http://{host}:{port}"
        config = uvicorn.Config(
            self.app,
            log_config=None,  # never touch the process's logging (stdout is an MCP wire)
            access_log=False,
            log_level="warning",
            lifespan="off",
            ws="wsproto",
            backlog=512,
            timeout_keep_alive=30,
        )
        return PromptServer(config)

    def start(self) -> Sandbox:
        """Serve in a daemon thread; returns once the socket accepts connections."""
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="wiro-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._renderer is not None:
            self._renderer.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            # A simulated API need not drain: answers parked in a `slow` fault are simply dropped.
            self._server.stop(drain=False)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    async def serve(self, on_ready: Any = None) -> None:
        """Serve in the current event loop until cancelled (the `wiro-mcp sandbox` command)."""
        self._server = self._make_server()
        sock = self._socket
        if on_ready is not None:
            on_ready(self)
        await self._server.serve(sockets=[sock])

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
