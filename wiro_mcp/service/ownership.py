"""Whose a task is, where people share one server and one Wiro account (a tokens file, people.py):
a task is only its owner's. Another person's task id reads, stops and views as "not found", the
same answer as an id nobody has, so it tells nothing of the task. A server with one owner checks
nothing (every task of its account is theirs)."""

from __future__ import annotations

from .. import people
from ..errors import CallFailed
from ..journal.access import Journal
from ..journal.records import JournalError
from ..text import clip
from ..wiro.refs import TaskRef


class Ownership:
    def __init__(self, journal: Journal, *, scoped: bool) -> None:
        self._journal = journal
        self.scoped = scoped

    async def check(self, ref: TaskRef) -> None:
        """CallFailed unless the caller owns the task (always passes on a server with one owner)."""
        if not self.scoped:
            return
        try:
            entry = await self._journal.find(ref, owner=people.current().owner)
        except JournalError as exc:  # whose it is cannot be told: nothing is shown
            raise CallFailed(f"Cannot tell whose task {ref} is: {exc}. Call again in a moment.") from exc
        if entry is None:
            raise CallFailed(
                f"Task {clip(ref.task_id or ref.task_token or '', 40)} was not found among your tasks. "
                "list_tasks shows yours."
            )
