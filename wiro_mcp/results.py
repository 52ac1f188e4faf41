"""What the tools report: `TaskResult` (the task tools' structured content) and the shapes inside it,
`TaskListing` (list_tasks'), `PanoramaView` (view_panorama's), and the words a call is made with.

`TaskResult` is the declared output schema of every task tool, so an agent or a script can rely on
its fields. Only the shapes live here (every layer that fills a result in imports them); building one
from Wiro's record and its summary text are service/reports.py's.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from .text import printable


class PanoramaInfo(BaseModel):
    width: int
    height: int
    equirectangular: bool = Field(description="true when width = 2 × height: a full 360°×180° picture")
    seam_score: float = Field(
        description="the colour step across the left/right wrap ÷ the usual step between neighbouring columns"
    )
    seam: str = Field(description="'seamless' or 'visible seam: try a higher blend_extend'")


# How much of a task's outputs one result holds, whatever Wiro lists: `outputs` lists the first
# LISTED_OUTPUTS (with `outputs_left_out` counting the rest), and the first SHOWN_OUTPUTS get a link,
# a saved file's link, a preview or inline text (at most three content blocks each).
LISTED_OUTPUTS = 50
SHOWN_OUTPUTS = 20


def output_uri(task_id: str, index: int, name: str) -> str:
    """The resource that serves one output: by its name when the name reads as it is, else by its index."""
    plain = len(name) <= 200 and printable(name, lines=False) == name
    return f"wiro://tasks/{task_id}/outputs/{quote(name, safe='') if plain else index}"


class OutputInfo(BaseModel):
    name: str = Field(
        description="file name as Wiro gives it, e.g. 0.png (control and bidi characters escaped, cut at 120)"
    )
    # Always set inside the server; left out of a result for a refused output (see `refused`).
    url: str = Field(default="", description="where Wiro serves the full-size file; absent when refused")
    content_type: str = Field(description="MIME type, e.g. image/png")
    size: int | None = Field(default=None, description="bytes")
    path: str | None = Field(default=None, description="where it was saved, when WIRO_MCP_OUTPUT_DIR is set")
    preview: str | None = Field(default=None, description="the preview image attached to this result, if any")
    panorama: PanoramaInfo | None = Field(default=None, description="for a panorama: its shape and seam check")
    text: str | None = Field(
        default=None,
        description="a short text output itself (an LLM's answer), as data: control and bidi characters escaped",
    )
    refused: str | None = Field(
        default=None,
        description=(
            "why this output is not handed out: its URL is not one this server fetches from, or its bytes "
            "are not what Wiro declared; it has no url, link, preview or text"
        ),
    )


class NextAction(BaseModel):
    tool: str = Field(description="the tool to call next")
    arguments: dict[str, Any] = Field(description="the arguments to call it with")
    why: str


# How a result's preview is wanted: a panorama's sheet of views, the flat picture, or none.
PreviewKind = Literal["views", "flat", "none"]
# The person's answer to a confirmation question (None: not asked).
Consent = Literal["accepted", "declined", "cancelled", "unavailable"] | None
ListedState = Literal["queued", "running", "succeeded", "failed", "cancelled"]

# The status of a task that was started but whose state Wiro has not told us yet.
UNREAD_STATUS = "unknown"


class TaskResult(BaseModel):
    """A Wiro task as our tools report it."""

    task_id: str = Field(description="Wiro's task id")
    task_token: str | None = Field(default=None, description="Wiro's socket access token for the task")
    model: str | None = Field(default=None, description="owner/slug of the Wiro model, when known")
    prompt: str | None = Field(default=None, description="the task's prompt (its first 300 characters), when known")
    status: str = Field(description="Wiro's raw status, e.g. task_postprocess_end ('unknown' before the first read)")
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    outputs: list[OutputInfo] = Field(default_factory=list)
    outputs_left_out: int | None = Field(
        default=None,
        description=f"how many outputs are not in `outputs` (it lists the first {LISTED_OUTPUTS}); read any "
        "as the resource wiro://tasks/{task_id}/outputs/{index}",
    )
    elapsed_seconds: float | None = Field(default=None, description="GPU run time Wiro reports")
    cost_usd: float | None = Field(default=None, description="what Wiro billed for the task, in USD")
    cost_problem: str | None = Field(
        default=None, description="why Wiro's reported cost is not shown: it cannot be right (counted at the estimate)"
    )
    estimated_cost_usd: float | None = Field(
        default=None, description="the estimate made before the run (cost_usd is what Wiro billed, once known)"
    )
    estimate_basis: str | None = Field(default=None, description="how the estimate was worked out")
    error: str | None = Field(default=None, description="Wiro's debugerror for a failed task")
    next_action: NextAction | None = Field(
        default=None, description="for an unfinished task: what to call next to collect it"
    )
    reused: bool = Field(
        default=False, description="true when an identical call's unfinished task was returned instead of a new run"
    )
    sandbox: bool | None = Field(default=None, description="true: the wiro-mcp sandbox ran it; nothing was billed")

    def output(self, name: str) -> OutputInfo | None:
        """An output by its name, or by its index in `outputs` ("0", "1", …)."""
        match = next((o for o in self.outputs if o.name == name), None)
        if match is None and name.isdigit() and int(name) < len(self.outputs):
            match = self.outputs[int(name)]
        return match


class PanoramaView(BaseModel):
    """One perspective view of a panorama, as view_panorama reports it (the picture is in the content)."""

    task_id: str
    output: str = Field(description="the output looked at, e.g. 0.png")
    yaw: float = Field(description="degrees: 0 = the picture's centre column, 90 = to its right, ±180 behind")
    pitch: float = Field(description="degrees: 0 = the horizon, +90 = straight up, -90 = straight down")
    fov: float = Field(description="horizontal field of view, degrees")
    width: int
    height: int


class TaskLine(BaseModel):
    task_id: str
    model: str | None = Field(default=None, description="owner/slug, when known")
    state: str
    status: str | None = Field(default=None, description="Wiro's raw status, when Wiro listed the task")
    created: str | None = Field(default=None, description="when it was started (UTC, ISO 8601)")
    cost_usd: float | None = Field(default=None, description="what Wiro billed, once known")
    estimated_cost_usd: float | None = None
    prompt: str | None = Field(default=None, description="the prompt's first words")
    source: Literal["journal", "wiro", "both"]


class TaskListing(BaseModel):
    """list_tasks' structured content."""

    tasks: list[TaskLine]
    wiro: str = Field(description="whether Wiro's Task/List answered (else the journal alone answers)")
    journal: str = Field(description="where the journal is, or why it is not used")
    only: str | None = Field(default=None, description="the filters asked for (model, state), when any")


class ModelRow(BaseModel):
    model: str = Field(description="owner/slug: what describe_model and run_model take")
    title: str
    categories: list[str] = Field(default_factory=list)
    typical_usd: float | None = Field(default=None, description="Wiro's typical cost of one run")


class ModelSearch(BaseModel):
    """search_models' structured content."""

    models: list[ModelRow]
    total: int = Field(description="how many models match the query's words, of those Wiro's search gave")
    next: str


class ModelDescription(BaseModel):
    """describe_model's structured content."""

    model: str
    title: str
    run_with: str = Field(description="the tool that runs it: its typed tool, or run_model")
    outputs: str = Field(description="what a run makes")
    description: str
    categories: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(description="a JSON schema of run_model's inputs, keyed by Wiro's input ids")
    pricing: dict[str, Any]
    readme: str | None = None
    notes: list[str] = Field(default_factory=list)


class ExportedFile(BaseModel):
    name: str
    path: str = Field(description="where it was written")
    uri: str = Field(description="the resource that serves it")
    content_type: str
    size: int = Field(description="bytes")


class PanoramaExport(BaseModel):
    """export_panorama's structured content."""

    task_id: str
    output: str = Field(description="the panorama exported, e.g. 0.png")
    format: str
    face_size: int | None = Field(default=None, description="pixels per cube face (cube formats)")
    files: list[ExportedFile]
    use: str = Field(description="where the files go, in the engine they are for")
