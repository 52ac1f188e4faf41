"""The sandbox's memory: tasks, faults to inject, seen nonces, a log of requests, and its clock.

Everything is guarded by one lock because the HTTP app and the tests touch it from different
threads. The clock is a seam: `ManualClock` lets a test hold a task in any status for as long as
it likes, and move it on when it chooses.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .lifecycle import ENDED, SandboxTask

FaultKind = Literal[
    "http_500",  # HTTP 500 with a JSON error body
    "http_429",  # HTTP 429 with Retry-After
    "broken_json",  # HTTP 200 with a truncated JSON body
    "html",  # HTTP 502 with an HTML page, as a proxy would send
    "slow",  # the real answer, `delay` seconds late (the request is still processed)
    "insufficient_balance",  # result false, code 97
    "concurrency_limit",  # result false, code 96
    "bad_credentials",  # HTTP 401, code 98
    "refused",  # result false, code 0: "the task cannot be stopped now" (a request its state does not allow)
    "task_fail",  # the next Run's task ends with pexit 1 and a debugerror
    "task_error",  # the next Run's task ends in task_error
    "odd_cost",  # the next Run's task reports `value` as its totalcost once it has ended
    "raw_body",  # HTTP 200 with `value` as the body, as JSON (a malformed answer of any shape)
    "odd_output",  # the next Run's task lists its output as `value` says: JSON {"url", "contenttype", "name"}
    "outputs",  # the next Run's task makes the outputs `value` lists instead of its own (outputs.py `chosen`)
]

TASK_FAULTS = frozenset({"task_fail", "task_error", "odd_cost", "odd_output", "outputs"})


class ManualClock:
    """A clock that moves only when told (`advance`), for tests that need a task to stand still."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Fault:
    kind: FaultKind
    endpoint: str | None = None  # e.g. "Run", "Task/Detail"; None = any endpoint
    times: int = 1
    delay: float = 1.0
    retry_after: float = 1.0
    # odd_cost: the totalcost to report; raw_body: the body; odd_output: a JSON object; outputs: a JSON list
    value: str = ""

    def matches(self, endpoint: str) -> bool:
        return self.endpoint is None or endpoint.lower().startswith(self.endpoint.lower())


@dataclass
class RecordedRequest:
    endpoint: str  # "Run/tencent/hunyuan-flux-srpo", "Task/Detail", ...
    fields: dict[str, Any]
    files: dict[str, bytes]
    headers: dict[str, str]
    at: float


class SandboxState:
    """Tasks, faults and the request log of one sandbox."""

    def __init__(
        self,
        *,
        queue_seconds: float,
        run_seconds: float,
        max_concurrent: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue_seconds = queue_seconds
        self.run_seconds = run_seconds
        self.max_concurrent = max_concurrent
        self.clock = clock
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._tasks: dict[str, SandboxTask] = {}
        self._by_token: dict[str, SandboxTask] = {}
        self._faults: deque[Fault] = deque()
        self._nonces: set[str] = set()
        self.requests: list[RecordedRequest] = []

    # -- faults ----------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, endpoint: str, kinds: frozenset[str] | None = None) -> Fault | None:
        """Consume one use of the first fault that applies to `endpoint` (and is of `kinds`)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(endpoint) and (kinds is None or fault.kind in kinds):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- auth ------------------------------------------------------------------------------

    def use_nonce(self, nonce: str) -> bool:
        """False when the nonce was seen before (a replay)."""
        with self._lock:
            if nonce in self._nonces:
                return False
            self._nonces.add(nonce)
            return True

    # -- requests --------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def count(self, endpoint_prefix: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.endpoint.startswith(endpoint_prefix))

    def find_requests(self, endpoint_prefix: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.endpoint.startswith(endpoint_prefix)]

    # -- tasks -----------------------------------------------------------------------------

    def running_count(self) -> int:
        now = self.clock()
        with self._lock:
            return sum(1 for t in self._tasks.values() if t.status(now) not in ENDED)

    def create_task(self, model: str, params: dict[str, Any], uploads: dict[str, bytes], outcome: str) -> SandboxTask:
        with self._lock:
            task = SandboxTask(
                id=str(next(self._ids)),
                uuid=str(uuid.uuid4()),
                token=secrets.token_urlsafe(24),
                model=model,
                params=params,
                uploads=uploads,
                created=self.clock(),
                created_unix=int(time.time()),
                queue_seconds=self.queue_seconds,
                run_seconds=self.run_seconds,
                outcome=outcome,  # type: ignore[arg-type]
            )
            self._tasks[task.id] = task
            self._by_token[task.token] = task
            return task

    def get(self, task_id: str | None = None, token: str | None = None) -> SandboxTask | None:
        with self._lock:
            if task_id is not None:
                return self._tasks.get(str(task_id))
            if token is not None:
                return self._by_token.get(token)
            return None

    def by_uuid(self, task_uuid: str) -> SandboxTask | None:
        with self._lock:
            return next((t for t in self._tasks.values() if t.uuid == task_uuid), None)

    def tasks(self) -> list[SandboxTask]:
        with self._lock:
            return list(self._tasks.values())

    def cancel(self, task: SandboxTask, after: float = 0.0) -> None:
        """A stop that takes effect `after` seconds from now (the earliest asked wins)."""
        with self._lock:
            at = self.clock() + after
            task.cancelled_at = at if task.cancelled_at is None else min(task.cancelled_at, at)
