"""uvicorn that stops when told: the stock main loop looks at `should_exit` every 0.1 s and its shutdown
pauses 0.1 s before anything else, and a test suite starts and stops a sandbox (and an MCP server) in
a thread hundreds of times. Imported only when a server is made."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn


class PromptServer(uvicorn.Server):
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        # The stock loop, with its 0.1 s sleep cut short by `stop()`.
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def stop(self, *, drain: bool) -> None:
        """From any thread. Without `drain`, open connections are dropped instead of finished."""
        self.should_exit = True
        self.force_exit = not drain
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop has closed: it has stopped already
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if not self.force_exit:
            await super().shutdown(sockets=sockets)
            return
        # uvicorn's own steps for a forced stop, less its pause: stop listening, ask each connection to
        # close; what is still running is cancelled with the loop.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
