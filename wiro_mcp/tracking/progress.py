"""Progress as an agent sees it: one update per change, a fraction that never goes down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..wiro.protocol import status_label, status_progress


@dataclass(frozen=True)
class Update:
    """A progress report: Wiro's status, a 0..1 fraction that never goes down, and a short text."""

    task_id: str
    status: str
    fraction: float
    message: str


OnUpdate = Callable[[Update], Awaitable[None]]


@dataclass
class Progress:
    """The latest known progress of a task: its status, and the socket's denoising step when known."""

    status: str = ""
    percentage: float | None = None
    step: str = ""


class Reporter:
    """One waiter's progress: each change once, fractions never falling."""

    def __init__(self, on_update: OnUpdate | None) -> None:
        self._on_update = on_update
        self._last: tuple[str, str] | None = None
        self._fraction = 0.0

    async def report(self, task_id: str, progress: Progress) -> None:
        if self._on_update is None or not progress.status:
            return
        step = f" {progress.step}" if progress.step else ""
        message = f"Task {task_id}: {status_label(progress.status)}{step} ({progress.status})"
        if (progress.status, message) == self._last:
            return
        self._last = (progress.status, message)
        self._fraction = max(self._fraction, status_progress(progress.status, progress.percentage))
        # Reported to 0.01 (0.3, not 0.30000000000000004); the kept fraction stays exact, never falling.
        await self._on_update(Update(task_id, progress.status, round(self._fraction, 2), message))
