"""What a tool returns for a task: structured content, a short summary, one resource_link per output.

The structured part (`TaskResult`) is the declared output schema of every task tool, so an agent
or a script can rely on its fields; the text is what a person (or a model skimming) reads first.
"""

from __future__ import annotations

from typing import Any, Literal

from mcp_types import CallToolResult, ContentBlock, ResourceLink, TextContent
from pydantic import BaseModel, Field

from .models import Task
from .protocol import TaskState, status_label


class OutputInfo(BaseModel):
    name: str = Field(description="file name as Wiro gives it, e.g. 0.png")
    url: str = Field(description="where Wiro serves the full-size file")
    content_type: str = Field(description="MIME type, e.g. image/png")
    size: int | None = Field(default=None, description="bytes")
    path: str | None = Field(default=None, description="where it was saved, when WIRO_MCP_OUTPUT_DIR is set")
    preview: str | None = Field(default=None, description="the preview image attached to this result, if any")


class NextAction(BaseModel):
    tool: str = Field(description="the tool to call next")
    arguments: dict[str, Any] = Field(description="the arguments to call it with")
    why: str


class TaskResult(BaseModel):
    """A Wiro task as our tools report it."""

    task_id: str = Field(description="Wiro's task id")
    task_token: str | None = Field(default=None, description="Wiro's socket access token for the task")
    model: str | None = Field(default=None, description="owner/slug of the Wiro model, when known")
    status: str = Field(description="Wiro's raw status, e.g. task_postprocess_end")
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    outputs: list[OutputInfo] = Field(default_factory=list)
    elapsed_seconds: float | None = Field(default=None, description="GPU run time Wiro reports")
    cost_usd: float | None = Field(default=None, description="what Wiro billed for the task, in USD")
    error: str | None = Field(default=None, description="Wiro's debugerror for a failed task")
    next_action: NextAction | None = Field(
        default=None, description="for an unfinished task: what to call next to collect it"
    )
    reused: bool = Field(
        default=False, description="true when an identical call's unfinished task was returned instead of a new run"
    )


def task_result(task: Task, *, model: str | None, wait_hint: float) -> TaskResult:
    state = task.state
    next_action = None
    if not state.terminal:
        next_action = NextAction(
            tool="get_task",
            arguments={"task_id": task.id, "wait_seconds": wait_hint},
            why=(
                f"the task is {state.value} on Wiro and keeps going without this call; collect it with "
                "get_task instead of starting the same generation again (that would be billed twice)"
            ),
        )
    error = None
    if state is TaskState.FAILED:
        error = (task.debug_error or "").strip() or f"Wiro reported {task.status} (exit code {task.pexit})"
    return TaskResult(
        task_id=task.id,
        task_token=task.socket_token,
        model=model,
        status=task.status,
        state=state.value,
        outputs=[
            OutputInfo(name=o.name, url=o.url, content_type=o.content_type or _guess_type(o.name), size=o.size)
            for o in task.outputs
        ]
        if state is TaskState.SUCCEEDED
        else [],
        elapsed_seconds=task.elapsed_seconds,
        cost_usd=task.total_cost,
        error=error,
        next_action=next_action,
    )


def summary(result: TaskResult) -> str:
    """One short paragraph: what happened, what it cost, what to do next."""
    name = f"Task {result.task_id}" + (f" ({result.model})" if result.model else "")
    money = f", cost ${result.cost_usd:.4f}" if result.cost_usd is not None else ""
    took = f" in {result.elapsed_seconds:.1f} s" if result.elapsed_seconds is not None else ""
    if result.state == "succeeded":
        files = "; ".join(f"{o.name} ({_size(o.size)}) {o.url}" for o in result.outputs) or "no files"
        count = len(result.outputs)
        return f"{name} succeeded{took}{money}: {count} output{'s' if count != 1 else ''}: {files}"
    if result.state == "failed":
        return f"{name} failed ({result.status}){money}: {result.error}"
    if result.state == "cancelled":
        return f"{name} was cancelled ({result.status}){money}."
    assert result.next_action is not None
    wait = result.next_action.arguments.get("wait_seconds")
    return (
        f"{name} is still {result.state} ({status_label(result.status)}, {result.status}). It keeps running on "
        f"Wiro: call get_task with task_id={result.task_id!r} and wait_seconds={wait} to collect it. "
        "Do not start the same generation again."
    )


def to_call_result(result: TaskResult, extra: list[ContentBlock] | None = None) -> CallToolResult:
    """Structured content + summary + a resource_link per output; a failed task is a tool error."""
    content: list[ContentBlock] = [TextContent(text=summary(result))]
    for output in result.outputs:
        content.append(
            ResourceLink(
                uri=output.url,
                name=output.name,
                title=f"Task {result.task_id}: {output.name}",
                mime_type=output.content_type,
                size=output.size,
            )
        )
    content.extend(extra or [])
    return CallToolResult(
        content=content,
        # None fields are left out: the declared schema types them without null, for portability.
        structured_content=result.model_dump(mode="json", exclude_none=True),
        is_error=result.state == "failed",
    )


def _size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.0f} KB"


def _guess_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"
