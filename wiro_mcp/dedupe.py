"""No double billing: identical generate calls share the task that is still in flight.

A call's key is the model plus exactly what would go to Wiro (an uploaded file by its digest),
so seed 0 calls with the same arguments are the same call. A per-key lock makes a second
identical call wait for the first one's Run answer instead of racing it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio

from .client import FileUpload


def call_key(model: str, inputs: Mapping[str, Any], files: Mapping[str, FileUpload]) -> str:
    canonical = {
        "model": model.lower(),
        "inputs": dict(inputs),
        "files": {name: hashlib.sha256(f.content).hexdigest() for name, f in files.items()},
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


class InFlight:
    """Task ids of unfinished generate calls, by call key."""

    def __init__(self) -> None:
        self._tasks: dict[str, str] = {}
        self._locks: dict[str, anyio.Lock] = {}

    @asynccontextmanager
    async def claim(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, anyio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._locks.pop(key, None)

    def get(self, key: str) -> str | None:
        return self._tasks.get(key)

    def add(self, key: str, task_id: str) -> None:
        self._tasks[key] = task_id

    def done(self, key: str, task_id: str) -> None:
        if self._tasks.get(key) == task_id:
            del self._tasks[key]
