"""The sandbox's memory: tasks and their lifecycle, faults to inject, and a log of requests.

A task's status is computed from the clock (no background jobs): it sits in the queue for
`queue_seconds`, then walks through every running status over `run_seconds`, then ends. Kill
and Cancel freeze it as task_cancel. Everything is guarded by one lock because the HTTP app and
the tests touch it from different threads.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal[
    "http_500",  # HTTP 500 with a JSON error body
    "http_429",  # HTTP 429 with Retry-After
    "broken_json",  # HTTP 200 with a truncated JSON body
    "html",  # HTTP 502 with an HTML page, as a proxy would send
    "slow",  # the real answer, `delay` seconds late (the request is still processed)
    "insufficient_balance",  # result false, code 97
    "concurrency_limit",  # result false, code 96
    "bad_credentials",  # HTTP 401, code 98
    "task_fail",  # the next Run's task ends with pexit 1 and a debugerror
    "task_error",  # the next Run's task ends in task_error
]

TASK_FAULTS = frozenset({"task_fail", "task_error"})

QUEUE_STATUSES = ("task_queue", "task_accept", "task_preprocess_start", "task_preprocess_end")
# Share of the run phase at which each status begins.
RUN_STATUSES = (
    (0.00, "task_assign"),
    (0.05, "task_start"),
    (0.10, "task_output"),
    (0.80, "task_output_full"),
    (0.85, "task_end"),
    (0.90, "task_postprocess_start"),
)
# Where in the run phase an errored task dies.
ERROR_AT = 0.5
FAIL_MESSAGE = "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (sandbox-simulated failure)"
ERROR_MESSAGE = "Worker lost while generating (sandbox-simulated task_error)"


@dataclass
class Fault:
    kind: FaultKind
    endpoint: str | None = None  # e.g. "Run", "Task/Detail"; None = any endpoint
    times: int = 1
    delay: float = 1.0
    retry_after: float = 1.0

    def matches(self, endpoint: str) -> bool:
        return self.endpoint is None or endpoint.lower().startswith(self.endpoint.lower())


@dataclass
class RecordedRequest:
    endpoint: str  # "Run/tencent/hunyuan-flux-srpo", "Task/Detail", ...
    fields: dict[str, Any]
    files: dict[str, bytes]
    headers: dict[str, str]
    at: float


@dataclass
class OutputFile:
    name: str
    content_type: str
    data: bytes


@dataclass
class SandboxTask:
    id: str
    uuid: str
    token: str
    model: str
    params: dict[str, Any]
    uploads: dict[str, bytes]
    created: float
    created_unix: int
    queue_seconds: float
    run_seconds: float
    outcome: Literal["success", "fail", "error"] = "success"
    cancelled_at: float | None = None
    outputs: list[OutputFile] | None = None

    @property
    def ends_at(self) -> float:
        return self.created + self.queue_seconds + self.run_seconds

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "task_cancel"
        age = now - self.created
        if age < self.queue_seconds:
            step = int(age / self.queue_seconds * len(QUEUE_STATUSES)) if self.queue_seconds else 0
            return QUEUE_STATUSES[min(step, len(QUEUE_STATUSES) - 1)]
        run_share = (age - self.queue_seconds) / self.run_seconds if self.run_seconds else 1.0
        if self.outcome == "error" and run_share >= ERROR_AT:
            return "task_error"
        if run_share >= 1.0:
            return "task_postprocess_end"
        current = RUN_STATUSES[0][1]
        for start, status in RUN_STATUSES:
            if run_share >= start:
                current = status
        return current

    def progress(self, now: float) -> tuple[int, int]:
        """(step, total) of the simulated denoising loop."""
        total = int(self.params.get("steps") or 20)
        age = now - self.created - self.queue_seconds
        share = min(1.0, max(0.0, age / self.run_seconds)) if self.run_seconds else 1.0
        # Denoising happens between task_output (10%) and task_output_full (80%) of the run.
        return min(total, int(max(0.0, share - 0.10) / 0.70 * total)), total


class SandboxState:
    """Tasks, faults and the request log of one sandbox."""

    def __init__(self, *, queue_seconds: float, run_seconds: float, max_concurrent: int | None) -> None:
        self.queue_seconds = queue_seconds
        self.run_seconds = run_seconds
        self.max_concurrent = max_concurrent
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._tasks: dict[str, SandboxTask] = {}
        self._by_token: dict[str, SandboxTask] = {}
        self._faults: deque[Fault] = deque()
        self._nonces: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self.clock = time.monotonic

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
            return sum(1 for t in self._tasks.values() if t.status(now) not in _ENDED)

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

    def cancel(self, task: SandboxTask) -> None:
        with self._lock:
            task.cancelled_at = self.clock()


_ENDED = frozenset({"task_postprocess_end", "task_cancel", "task_error"})


def ended(status: str) -> bool:
    return status in _ENDED


def task_record(task: SandboxTask, now: float, file_base: str) -> dict[str, Any]:
    """A TASK as Wiro shows it: numbers as strings, timestamps in unix seconds."""
    status = task.status(now)
    finished = status == "task_postprocess_end"
    failed = task.outcome == "fail" and finished
    outputs: list[dict[str, Any]] = []
    if finished and not failed and task.outputs is not None:
        for index, output in enumerate(task.outputs):
            outputs.append(
                {
                    "id": f"{task.uuid.replace('-', '')[:24]}{index:08x}",
                    "name": output.name,
                    "contenttype": output.content_type,
                    "parentid": task.uuid.replace("-", ""),
                    "uuid": task.uuid,
                    "size": str(len(output.data)),
                    "addedtime": str(task.created_unix + int(task.queue_seconds + task.run_seconds)),
                    "modifiedtime": str(task.created_unix + int(task.queue_seconds + task.run_seconds)),
                    "accesskey": "SandboxAccessKey",
                    "foldercount": "0",
                    "filecount": "0",
                    "ispublic": 0,
                    "expiretime": None,
                    "url": f"{file_base}/files/{task.uuid}/{output.name}",
                }
            )
    started = now - task.created >= task.queue_seconds
    elapsed = 0.0
    if started:
        end = task.cancelled_at if task.cancelled_at is not None else min(now, task.ends_at)
        elapsed = max(0.0, end - task.created - task.queue_seconds)
    ended_ok = finished and not failed
    cps = 0.000585
    debug_error = ""
    pexit = "0"
    if failed:
        debug_error, pexit = FAIL_MESSAGE, "1"
    elif status == "task_error":
        debug_error, pexit = ERROR_MESSAGE, "1"
    params = {k: v for k, v in task.params.items() if not isinstance(v, bytes)}
    return {
        "id": task.id,
        "uuid": task.uuid,
        "name": "",
        "socketaccesstoken": task.token,
        "parameters": params,
        "debugoutput": "sandbox: generated" if ended_ok else "",
        "debugerror": debug_error,
        "starttime": str(task.created_unix + int(task.queue_seconds)) if started else "0",
        "endtime": str(task.created_unix + int(task.queue_seconds + elapsed)) if ended(status) else "0",
        "elapsedseconds": f"{elapsed:.4f}",
        "status": status,
        "cps": f"{cps:.12f}",
        # Failed and errored runs are not billed.
        "totalcost": f"{(elapsed * cps if ended_ok or status == 'task_cancel' else 0):.12f}",
        "guestid": None,
        "projectid": "1",
        "modelid": "598" if "srpo" in task.model else "611",
        "description": "",
        "runtype": "model",
        "callbackurl": "",
        "createtime": str(task.created_unix),
        "canceltime": (
            str(task.created_unix + int(task.cancelled_at - task.created)) if task.cancelled_at is not None else "0"
        ),
        "pexit": pexit if ended(status) else "",
        "outputs": outputs,
        "size": str(sum(len(o.data) for o in task.outputs or [])) if outputs else "0",
    }
