"""What a task tool hands back (`Outcome`): a task's result with the previews, saved files and notes
delivery made of it (delivery.py), which the adapter renders as the tool's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..results import TaskResult
    from .previews import Preview


@dataclass(frozen=True)
class SavedFile:
    output: str
    path: Path
    content_type: str
    size: int


@dataclass
class Outcome:
    """What a task tool hands back: the result, previews the agent can see, saved files, and notes
    (each a line of text for the agent: a reused task, a stale status, a file that failed)."""

    result: TaskResult
    previews: list[Preview] = field(default_factory=list)
    saved: list[SavedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A small flat picture of a panorama, for a 360° viewer to show first (never put before the model).
    thumbnail: Preview | None = None
    # What happened, when the call did something the summary does not say (a stop): it replaces the
    # summary's first sentence.
    headline: str | None = None
