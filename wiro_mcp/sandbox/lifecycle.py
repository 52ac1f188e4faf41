"""A sandbox task's life: its status computed from the clock, and the TASK record Wiro would show.

A task sits in the queue for `queue_seconds` (walking through the four queue statuses), then
walks through every running status over `run_seconds`, then ends. Kill and Cancel freeze it as
task_cancel. Nothing runs in the background: every answer is computed from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from .billing import Billing, bill, per_second
from .catalog import CATALOG

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
ENDED = frozenset({"task_postprocess_end", "task_cancel", "task_error"})
# Where in the run phase an errored task dies.
ERROR_AT = 0.5
FAIL_MESSAGE = "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB (sandbox-simulated failure)"
ERROR_MESSAGE = "Worker lost while generating (sandbox-simulated task_error)"


@dataclass
class OutputFile:
    name: str
    content_type: str
    data: bytes
    # What Task/Detail lists as its url instead of the file's own ({origin}: the sandbox's), for the
    # `outputs` fault: a URL this server must refuse, or a redirect.
    listed_url: str | None = None


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
    account: str = ""  # the account that ran it: "" the sandbox's own, else the other account's key
    # When a stop (Task/Kill or Task/Cancel) takes effect: at once, or later when the sandbox applies
    # stops late (SandboxConfig.stop_after); one that comes after the task's end changes nothing.
    cancelled_at: float | None = None
    outputs: list[OutputFile] | None = None
    billing: Billing = "per_work"
    overcharge: float = 1.0
    # What Task/Detail reports as `totalcost` once the task has ended, instead of its bill (the
    # `odd_cost` fault: a negative, garbage or absurd cost, as a broken API might send).
    reported_cost: str | None = None
    # How Task/Detail lists the output instead of the truth (the `odd_output` fault): another url,
    # contenttype or name, as a hostile or broken API might send; the file route serves the same.
    listed_output: dict[str, str] | None = None
    # A catalog model's Run fields as received (its outputs may list them), and what Task/Detail says in
    # `debugoutput` once the task has succeeded (an LLM's reply, as on Wiro).
    received: dict[str, Any] = field(default_factory=dict)
    debug_output: str = "sandbox: generated"

    @property
    def ends_at(self) -> float:
        return self.created + self.queue_seconds + self.run_seconds

    def stopped(self, now: float) -> float | None:
        """When a stop took effect, if one has by `now` (before the task ended on its own)."""
        at = self.cancelled_at
        return at if at is not None and at <= now and at < self.ends_at else None

    def status(self, now: float) -> str:
        if self.stopped(now) is not None:
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

    def reaches(self, status: str) -> float:
        """The clock time at which this task enters `status` (on its normal path)."""
        if status in QUEUE_STATUSES:
            return self.created + self.queue_seconds * QUEUE_STATUSES.index(status) / len(QUEUE_STATUSES)
        start = self.created + self.queue_seconds
        if status == "task_postprocess_end":
            return start + self.run_seconds
        share = dict((name, at) for at, name in RUN_STATUSES)[status]
        return start + self.run_seconds * share

    def progress(self, now: float) -> tuple[int, int]:
        """(step, total) of the simulated denoising loop."""
        total = int(self.params.get("steps") or 20)
        age = now - self.created - self.queue_seconds
        share = min(1.0, max(0.0, age / self.run_seconds)) if self.run_seconds else 1.0
        # Denoising happens between task_output (10%) and task_output_full (80%) of the run.
        return min(total, int(max(0.0, share - 0.10) / 0.70 * total)), total


def task_record(task: SandboxTask, now: float, file_base: str) -> dict[str, Any]:
    """A TASK as Wiro shows it: numbers as strings, timestamps in unix seconds."""
    status = task.status(now)
    finished = status == "task_postprocess_end"
    failed = task.outcome == "fail" and finished
    ended_ok = finished and not failed
    outputs = _outputs(task, file_base) if ended_ok and task.outputs is not None else []
    started = now - task.created >= task.queue_seconds
    elapsed = 0.0
    if started:
        stopped = task.stopped(now)
        end = stopped if stopped is not None else min(now, task.ends_at)
        elapsed = max(0.0, end - task.created - task.queue_seconds)
    debug_error, pexit = "", "0"
    if failed:
        debug_error, pexit = FAIL_MESSAGE, "1"
    elif status == "task_error":
        debug_error, pexit = ERROR_MESSAGE, "1"
    ended = status in ENDED
    billed_as = "failed" if failed else "succeeded" if ended_ok else "running"
    billed_as = {"task_cancel": "cancelled", "task_error": "failed"}.get(status, billed_as)
    return {
        "id": task.id,
        "uuid": task.uuid,
        "name": "",
        "socketaccesstoken": task.token,
        "parameters": {k: v for k, v in task.params.items() if not isinstance(v, bytes)},
        "debugoutput": task.debug_output if ended_ok else "",
        "debugerror": debug_error,
        "starttime": str(task.created_unix + int(task.queue_seconds)) if started else "0",
        "endtime": str(task.created_unix + int(task.queue_seconds + elapsed)) if ended else "0",
        "elapsedseconds": f"{elapsed:.4f}",
        "status": status,
        "cps": f"{per_second(task.model):.12f}",
        "totalcost": _total_cost(task, elapsed, billed_as, ended),
        "guestid": None,
        "projectid": "1",
        "modelid": CATALOG[task.model].id if task.model in CATALOG else "598" if "srpo" in task.model else "611",
        "description": "",
        "runtype": "model",
        "callbackurl": "",
        "createtime": str(task.created_unix),
        "canceltime": (
            str(task.created_unix + int(stop - task.created)) if (stop := task.stopped(now)) is not None else "0"
        ),
        "pexit": pexit if ended else "",
        "outputs": outputs,
        "size": str(sum(len(o.data) for o in task.outputs or [])) if outputs else "0",
    }


def _total_cost(task: SandboxTask, elapsed: float, billed_as: str, ended: bool) -> str:
    if ended and task.reported_cost is not None:
        return task.reported_cost
    cost = bill(task.model, task.params, elapsed, billed_as, billing=task.billing, overcharge=task.overcharge)
    return f"{cost:.12f}"


def _outputs(task: SandboxTask, file_base: str) -> list[dict[str, Any]]:
    added = str(task.created_unix + int(task.queue_seconds + task.run_seconds))
    listed = [
        {
            "id": f"{task.uuid.replace('-', '')[:24]}{index:08x}",
            "name": output.name,
            "contenttype": output.content_type,
            "parentid": task.uuid.replace("-", ""),
            "uuid": task.uuid,
            "size": str(len(output.data)),
            "addedtime": added,
            "modifiedtime": added,
            "accesskey": "SandboxAccessKey",
            "foldercount": "0",
            "filecount": "0",
            "ispublic": 0,
            "expiretime": None,
            "url": output.listed_url.replace("{origin}", file_base)
            if output.listed_url is not None
            else f"{file_base}/files/{task.uuid}/{quote(output.name, safe='')}",
        }
        for index, output in enumerate(task.outputs or [])
    ]
    if task.listed_output and listed:
        listed[0] |= task.listed_output
    return listed
