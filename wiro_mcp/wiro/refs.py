"""How a request names a task: by its id or by its socket token (`TaskRef`), and ids given as numbers
read as text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ArgumentError
from ..text import clip_text


def number_as_text(value: Any) -> Any:
    """Ids and seeds arrive as numbers or strings: a number (never a bool) becomes its text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


REF_MAX = 200


@dataclass(frozen=True)
class TaskRef:
    """A task named by its id or by its socket access token: exactly one, checked here only."""

    task_id: str | None = None
    task_token: str | None = None

    def __post_init__(self) -> None:
        if (self.task_id is None) == (self.task_token is None):
            raise ArgumentError("Give exactly one of task_id and task_token.")
        given = self.task_id if self.task_id is not None else self.task_token
        if given is not None and len(given) > REF_MAX:
            which = "task_id" if self.task_id is not None else "task_token"
            raise ArgumentError(
                f"{which} is {len(given)} characters long: Wiro's task ids are short numbers like '1001' and its "
                "tokens a few dozen characters; list_tasks shows the recent ones."
            )

    def wire(self) -> dict[str, str]:
        """The body Task/Detail and Task/Kill take."""
        return {"taskid": self.task_id} if self.task_id is not None else {"tasktoken": str(self.task_token)}

    def __str__(self) -> str:
        return f"task {clip_text(self.task_id, 40)}" if self.task_id is not None else "task with that token"
