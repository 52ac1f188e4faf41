"""No double billing: identical generate calls share the task that is still in flight.

A call's key is the model plus exactly what would go to Wiro (an uploaded file by its digest),
so seed 0 calls with the same arguments are the same call. A per-key lock makes a second
identical call wait for the first one's Run answer instead of racing it; nothing else happens
under the lock, so any number of identical calls join in moments.

Entries leave when their task is seen to end (the server follows every task it starts), and the
table is bounded: on a long-running server the oldest entries go first.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ..wiro.client import FileUpload

DEFAULT_LIMIT = 1000


def call_key(model: str, inputs: Mapping[str, Any], files: Mapping[str, FileUpload], owner: str = "") -> str:
    """What makes two calls identical: the same model, inputs and files, from the same owner (a server's
    one owner adds nothing, so its keys are what they always were)."""
    canonical: dict[str, Any] = {
        "model": model.lower(),
        "inputs": dict(inputs),
        "files": {name: hashlib.sha256(f.content).hexdigest() for name, f in files.items()},
    }
    if owner:
        canonical["owner"] = owner
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


class InFlight:
    """Task ids of unfinished generate calls, by call key (and the key of each task id)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._tasks: OrderedDict[str, str] = OrderedDict()
        self._keys: dict[str, str] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._tasks)

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
        self._drop(self._tasks.pop(key, None))
        self._tasks[key] = task_id
        self._keys[task_id] = key
        while len(self._tasks) > self._limit:
            _, oldest = self._tasks.popitem(last=False)
            self._keys.pop(oldest, None)

    def ended(self, task_id: str) -> None:
        """The task ended: an identical call from now on starts a new one."""
        key = self._keys.pop(task_id, None)
        if key is not None and self._tasks.get(key) == task_id:
            del self._tasks[key]

    def _drop(self, task_id: str | None) -> None:
        if task_id is not None:
            self._keys.pop(task_id, None)
