"""The sandbox's task WebSocket, as Wiro's socket behaves per its docs.

A client sends `{"type": "task_info", "tasktoken": ...}` for each task it follows; the server
then pushes `{"type", "id", "tasktoken", "message", "result"}` for every status the task passes,
`task_output` messages with `progressGenerate` percentages while it denoises, and ends with
`task_postprocess_end` whose message is the outputs list. Status changes are noticed on a short
tick, since task statuses here are computed from the clock.

`mode` lets tests misbehave: "normal", "silent" (accepts, then never sends) or "refuse"
(rejects every connection); `drop()` closes every open connection at once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from .lifecycle import ENDED, SandboxTask, task_record

if TYPE_CHECKING:
    from .config import Host

TICK = 0.01
SocketMode = Literal["normal", "silent", "refuse"]


class SocketHub:
    def __init__(self, sandbox: Host) -> None:
        self.sandbox = sandbox
        self.mode: SocketMode = "normal"
        self.connections = 0
        self.subscriptions = 0
        self._open: set[WebSocket] = set()
        self._generation = 0

    def drop(self) -> None:
        """Close every open socket (the clients should reconnect)."""
        self._generation += 1

    async def endpoint(self, websocket: WebSocket) -> None:
        if self.mode == "refuse":
            await websocket.close(code=1013)  # try again later
            return
        await websocket.accept()
        self.connections += 1
        generation = self._generation
        watched: dict[str, tuple[str | None, int]] = {}  # token -> (last status sent, last percentage)
        self._open.add(websocket)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._listen, websocket, watched, group.cancel_scope)
                while True:
                    if self._generation != generation:
                        await websocket.close(code=1012)  # service restart
                        group.cancel_scope.cancel()
                        return
                    if self.mode != "silent":
                        await self._push(websocket, watched)
                    await anyio.sleep(TICK)
        except (WebSocketDisconnect, RuntimeError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return
        finally:
            self._open.discard(websocket)

    async def _listen(self, websocket: WebSocket, watched: dict[str, tuple[str | None, int]], scope: Any) -> None:
        try:
            while True:
                raw = await websocket.receive_text()
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("type") == "task_info" and message.get("tasktoken"):
                    watched.setdefault(str(message["tasktoken"]), (None, -1))
                    self.subscriptions += 1
        except (WebSocketDisconnect, RuntimeError):
            scope.cancel()

    async def _push(self, websocket: WebSocket, watched: dict[str, tuple[str | None, int]]) -> None:
        state = self.sandbox.state
        now = state.clock()
        for token, (sent, sent_percent) in list(watched.items()):
            task = state.get(token=token)
            if task is None:
                continue
            status = task.status(now)
            if status == "task_postprocess_end":
                await self.sandbox.outputs_ready(task)
            if status != sent:
                await websocket.send_text(json.dumps(self._message(task, status, now)))
                watched[token] = (status, sent_percent)
                if status in ENDED:
                    del watched[token]
                continue
            if status == "task_output":
                step, total = task.progress(now)
                percent = int(step * 100 / total) if total else 100
                if percent != sent_percent:
                    progress = {
                        "type": "progressGenerate",
                        "percentage": str(percent),
                        "stepCurrent": str(step),
                        "stepTotal": str(total),
                    }
                    await websocket.send_text(json.dumps(self._envelope(task, "task_output", progress)))
                    watched[token] = (status, percent)

    def _message(self, task: SandboxTask, status: str, now: float) -> dict[str, Any]:
        if status == "task_postprocess_end":
            return self._envelope(task, status, task_record(task, now, self.sandbox.origin)["outputs"])
        if status == "task_error":
            # On Wiro's socket task_error lines are stderr output, not the failure itself.
            return self._envelope(task, "task_error", "worker lost (sandbox)")
        return self._envelope(task, status, status)

    @staticmethod
    def _envelope(task: SandboxTask, kind: str, message: Any) -> dict[str, Any]:
        return {"type": kind, "id": task.id, "tasktoken": task.token, "message": message, "result": True}
