"""How a request names a task: by its id or by its socket token (`TaskRef`), and ids given as numbers
read as text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import ArgumentError
from ..text import clip_text, shown


def number_as_text(value: Any) -> Any:
    """Ids and seeds arrive as numbers or strings: a number (never a bool) becomes its text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


REF_MAX = 200
# Wiro's task ids are numbers; any id this server takes or keeps is at least plain (it may name a folder).
PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# A socket access token: printable ASCII without spaces (Wiro's are a few dozen letters and digits).
TOKEN_MAX = REF_MAX
TOKEN = re.compile(rf"[!-~]{{1,{TOKEN_MAX}}}")


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
        if self.task_id is not None and not PLAIN_ID.fullmatch(self.task_id):
            raise ArgumentError(
                f"task_id {shown(self.task_id, 40)} is not a task id: Wiro's are short numbers like '1001' "
                "(letters, digits, - and _ at most); list_tasks shows the recent ones."
            )
        if self.task_token is not None and not TOKEN.fullmatch(self.task_token):
            raise ArgumentError(
                "task_token is not a task token: it is printable text without spaces, as a result shows it."
            )

    def wire(self) -> dict[str, str]:
        """The body Task/Detail and Task/Kill take."""
        return {"taskid": self.task_id} if self.task_id is not None else {"tasktoken": str(self.task_token)}

    def __str__(self) -> str:
        return f"task {clip_text(self.task_id, 40)}" if self.task_id is not None else "task with that token"
