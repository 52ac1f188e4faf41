"""A task as the task tools report it: a `TaskResult` built from Wiro's record (or from a task not read
yet), its one-paragraph summary, and a task listing's text. No MCP here: the adapter turns these into
a tool result (and imports this module before any call: nothing here may pull in the service stack)."""

from __future__ import annotations

import mimetypes
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..money.bills import checked_cost
from ..money.estimate import usd_text
from ..results import UNREAD_STATUS, NextAction, OutputInfo, TaskListing, TaskResult
from ..text import clip_text, excerpt, printable, shown
from ..wiro.protocol import TaskState, status_label

if TYPE_CHECKING:
    from ..wiro.answers import Task


def seconds(value: float) -> float | int:
    """Seconds as a person or a model reads them: 45, not 45.0; 2.5, not 2.4999999."""
    shown = round(float(value), 1)
    return int(shown) if shown.is_integer() else shown


def _collect(task_id: str, state: TaskState, wait_hint: float) -> NextAction:
    return NextAction(
        tool="get_task",
        arguments={"task_id": task_id, "wait_seconds": seconds(wait_hint)},
        why=(
            f"the task is {state.value} on Wiro and keeps going without this call; collect it with "
            "get_task instead of starting the same generation again (that would be billed twice)"
        ),
    )


def unread_result(
    task_id: str,
    *,
    token: str | None,
    model: str | None,
    wait_hint: float,
    prompt: str | None = None,
    estimate: float | None = None,
    basis: str | None = None,
) -> TaskResult:
    """A task that was started but could not be read yet: not a failure, and it must not be lost."""
    return TaskResult(
        task_id=task_id,
        task_token=token,
        model=model,
        prompt=prompt[:PROMPT_SHOWN] if prompt else None,
        status=UNREAD_STATUS,
        state=TaskState.QUEUED.value,
        estimated_cost_usd=rounded(estimate),
        estimate_basis=basis,
        next_action=_collect(task_id, TaskState.QUEUED, wait_hint),
    )


PROMPT_SHOWN = 300
# Wiro's own words (a status) as a result quotes them.
STATUS_SHOWN = 100


def rounded(usd: float | None) -> float | None:
    """An amount to the four significant digits that matter ($0.0004161, not 0.0004161422222222223)."""
    return float(f"{usd:.4g}") if usd is not None else None


# Kinds of output whose type Wiro's own word may give (anything else is guessed from the name).
LISTED_KINDS = ("image/", "video/", "audio/", "model/", "text/", "application/json", "application/pdf")


def listed_type(declared: str, name: str) -> str:
    """An output's type before its bytes are seen: Wiro's word if it names a media kind, else the name's."""
    declared = declared.split(";")[0].strip().lower()
    if declared.startswith(LISTED_KINDS) and len(declared) < 60 and " " not in declared:
        return declared
    return _guess_type(name)


def task_result(
    task: Task,
    *,
    model: str | None,
    wait_hint: float,
    prompt: str | None = None,
    estimate: float | None = None,
    basis: str | None = None,
) -> TaskResult:
    state = task.state
    given = task.parameters.get("prompt") if isinstance(task.parameters, dict) else None
    prompt = given if isinstance(given, str) and given else prompt
    next_action = None if state.terminal else _collect(task.id, state, wait_hint)
    status = clip_text(task.status, STATUS_SHOWN)
    error = None
    if state is TaskState.FAILED:
        said = excerpt(printable(task.debug_error.strip()))
        error = said or f"Wiro reported {printable(status)} (exit code {clip_text(task.pexit or '', 20)})"
    # What Wiro reports before a task has ended (its "0" while queued) is no bill: only an ended task's counts.
    cost = checked_cost(task.total_cost if state.terminal else None, estimate)
    return TaskResult(
        task_id=task.id,
        task_token=task.socket_token,
        model=model,
        prompt=prompt[:PROMPT_SHOWN] if prompt else None,
        status=status,
        state=state.value,
        outputs=[
            OutputInfo(name=o.name, url=o.url, content_type=listed_type(o.content_type, o.name), size=o.size)
            for o in task.outputs
        ]
        if state is TaskState.SUCCEEDED
        else [],
        elapsed_seconds=task.elapsed_seconds,
        cost_usd=rounded(cost.usd),
        cost_problem=f"Wiro reported a cost that cannot be right: {cost.problem}" if cost.problem else None,
        estimated_cost_usd=rounded(estimate),
        estimate_basis=basis,
        error=error,
        next_action=next_action,
    )


def summary(result: TaskResult) -> str:
    """One short paragraph: what happened, what it cost, what to do next. Everything Wiro said is
    quoted short, with control and bidi characters escaped."""
    name = f"Task {result.task_id}" + (f" ({printable(result.model, lines=False)})" if result.model else "")
    cost = money(result)
    took = f" in {result.elapsed_seconds:.1f} s" if result.elapsed_seconds is not None else ""
    status = printable(result.status, lines=False)
    if result.state == "succeeded":
        named = result.outputs[:SUMMARY_OUTPUTS]
        files = "; ".join(f"{shown(o.name)} ({_size(o.size)}) {_where(o)}" for o in named)
        count = len(result.outputs) + (result.outputs_left_out or 0)
        files += f"; and {count - len(named):,} more" if count > len(named) else ""
        checks = "".join(_panorama_check(o) for o in named)
        return f"{name} succeeded{took}{cost}: {count} output{'s' if count != 1 else ''}: {files or 'no files'}{checks}"
    if result.state == "failed":
        return f"{name} failed ({status}){cost}: {result.error}\n{_after_failure(result.error or '')}"
    if result.state == "cancelled":
        return f"{name} was cancelled ({status}){cost}."
    assert result.next_action is not None
    wait = result.next_action.arguments.get("wait_seconds")
    collect = (
        f"It keeps running on Wiro: call get_task with task_id={result.task_id!r} and wait_seconds={wait} to "
        "collect it. Do not start the same generation again."
    )
    if result.status == UNREAD_STATUS:
        return f"{name} was started, but Wiro did not answer a status read within the wait{cost}. {collect}"
    return f"{name} is still {result.state} ({status_label(result.status)}, {status}){cost}. {collect}"


# Outputs a summary names one by one (the links and the structured content hold more).
SUMMARY_OUTPUTS = 10


def _where(output: OutputInfo) -> str:
    return shown(output.url, 300) if output.refused is None else "(refused: see the note)"


def _after_failure(error: str) -> str:
    """What to do after a failed run (Wiro bills no failed run)."""
    advice = "Failed runs are not billed."
    if "out of memory" in error.lower() or "oom" in error.lower().split():
        advice += " It ran out of GPU memory: try fewer steps, a smaller width and height, or fewer samples."
    return advice + " Change what the error points at, then call the tool again (a new run)."


def money(result: TaskResult) -> str:
    """What the task costs, once: Wiro's bill when known, else the estimate (with how it was made)."""
    guess = result.estimated_cost_usd
    if result.sandbox:
        # An agent must never tell the person they paid for a sandbox run: the money is simulated.
        shown = result.cost_usd if result.cost_usd is not None else guess
        would = f"; a real run would cost about {usd_text(shown)}" if shown is not None else ""
        return f" (sandbox: nothing billed, the money is simulated{would})"
    if result.cost_problem is not None:
        counted = f"; it counts at the estimate, {usd_text(guess)}" if guess is not None else ""
        return f" ({result.cost_problem}{counted})"
    basis = f": {result.estimate_basis}" if result.estimate_basis else ""
    if result.cost_usd is not None:
        return f", cost {usd_text(result.cost_usd)}" + (f" (estimated {usd_text(guess)})" if guess is not None else "")
    if guess is None:
        return ""
    if result.next_action is not None:
        return f", estimated cost about {usd_text(guess)}{basis}; Wiro bills it when it ends"
    return f", estimated cost about {usd_text(guess)}{basis}"


def _panorama_check(output: OutputInfo) -> str:
    check = output.panorama
    if check is None:
        return ""
    shape = "" if check.equirectangular else f" It is {check.width}×{check.height}, not a true 2:1 equirectangular."
    return f". Seam: {check.seam} (score {check.seam_score:g}).{shape}"


def _size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.0f} KB" if size >= 1000 else f"{size} bytes"


_EXTRA_TYPES = {".glb": "model/gltf-binary", ".gltf": "model/gltf+json", ".ply": "model/ply", ".obj": "model/obj"}


def _guess_type(name: str) -> str:
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def listing_text(listing: TaskListing, *, now: float | None = None) -> str:
    now = time.time() if now is None else now
    count = len(listing.tasks)
    only = f" with {listing.only}" if listing.only else ""
    if not count:
        return f"No tasks{only}, in the journal ({listing.journal}) or in Wiro's task list ({listing.wiro})." + (
            " Call list_tasks without the filter to see every recent one." if listing.only else ""
        )
    lines = [f"{count} recent task{'s' if count != 1 else ''}{only}, newest first (Wiro's task list {listing.wiro}):"]
    for line in listing.tasks:
        money = f", {usd_text(line.cost_usd)}" if line.cost_usd is not None else ""
        if line.cost_usd is None and line.estimated_cost_usd is not None:
            money = f", about {usd_text(line.estimated_cost_usd)} (estimate)"
        age = f", {_age(line.created, now)}" if line.created else ""
        prompt = f': "{printable(line.prompt, lines=False)}"' if line.prompt else ""
        model = shown(line.model, 80) if line.model else "model unknown"
        lines.append(f"- {shown(line.task_id, 40)} {model} {shown(line.state, 40)}{money}{age}{prompt}")
    lines.append("Collect one with get_task(task_id=…); it still has its outputs if it succeeded.")
    return "\n".join(lines)


def _age(created: str, now: float) -> str:
    seconds = now - datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"
