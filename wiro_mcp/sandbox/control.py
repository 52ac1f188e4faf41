"""The rest of the sandbox's HTTP face: output files (Wiro's CDN), the task WebSocket, and a small
control API for tests and scripts (inject faults, list the requests received)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from .api import WiroEndpoints
from .store import Fault, RecordedRequest

if TYPE_CHECKING:
    from .config import Host
    from .socket_hub import SocketHub


def build_app(sandbox: Host, sockets: SocketHub) -> Starlette:
    state = sandbox.state

    async def output_file(request: Request) -> Response:
        task = state.by_uuid(request.path_params["uuid"])
        name = request.path_params["name"]
        # Downloads are logged like API calls (as "files/<name>"), so tests can count them.
        state.record(RecordedRequest(f"files/{name}", {}, {}, {}, at=time.monotonic()))
        if task is not None:
            if task.status(state.clock()) == "task_postprocess_end":
                await sandbox.outputs_ready(task)
            declared = (task.listed_output or {}).get("contenttype")
            for output in task.outputs or []:
                if output.name == name:
                    return Response(output.data, media_type=declared or output.content_type)
        return Response("not found", status_code=404, media_type="text/plain")

    async def redirect(request: Request) -> Response:
        """A redirect to `to` (a test builds chains of them), or without `to`, to itself (a loop)."""
        return Response(status_code=302, headers={"location": request.query_params.get("to", str(request.url))})

    async def fake_gzip(request: Request) -> Response:
        """An image whose answer claims gzip but is not compressed."""
        from .pictures import image_png

        body = image_png("gzip?", 32, 32, 0, None, 0.0, grain=False)
        return Response(body, media_type="image/png", headers={"content-encoding": "gzip"})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_faults()
            return JSONResponse({"ok": True})
        fault = Fault(**(await request.json()))
        state.inject(fault)
        return JSONResponse({"ok": True, "fault": asdict(fault)})

    async def requests(request: Request) -> Response:
        return JSONResponse(
            [
                {"endpoint": r.endpoint, "fields": r.fields, "files": {k: len(v) for k, v in r.files.items()}}
                for r in state.requests
            ]
        )

    return Starlette(
        routes=[
            *WiroEndpoints(sandbox).routes(),
            Route("/files/{uuid}/{name:path}", output_file, methods=["GET", "HEAD"]),
            WebSocketRoute("/socket/v1", sockets.endpoint),
            Route("/_sandbox/faults", faults, methods=["POST", "DELETE"]),
            Route("/_sandbox/requests", requests, methods=["GET"]),
            Route("/_sandbox/redirect", redirect, methods=["GET"]),
            Route("/_sandbox/fake-gzip", fake_gzip, methods=["GET"]),
        ]
    )
