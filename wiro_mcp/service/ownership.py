"""Whose a task is, where people share one server and one Wiro account (a tokens file, people.py):
a task is only its owner's. Another person's task id reads, stops and views as "not found", the
same answer as an id nobody has, so it tells nothing of the task. Where each request brings its own
Wiro key, a task this server started for another key is not found either, and one it never started
is the caller's if Wiro shows it to the caller's key. A server with one owner checks nothing (every
task of its account is theirs)."""

from __future__ import annotations

import anyio

from .. import budgets, people
from ..errors import CallFailed, NotFoundError, WiroMCPError
from ..journal.access import Journal
from ..journal.records import JournalError
from ..text import clip
from ..wiro.client import WiroClient
from ..wiro.refs import TaskRef


class Ownership:
    def __init__(self, journal: Journal, client: WiroClient, *, scoped: bool, keyed: bool) -> None:
        self._journal, self._client = journal, client
        self.scoped = scoped  # people of a tokens file, one Wiro account
        self.keyed = keyed  # each request's own Wiro key

    async def check(self, ref: TaskRef) -> None:
        """CallFailed unless the caller owns the task (always passes on a server with one owner)."""
        if not (self.scoped or self.keyed):
            return
        owner = people.current().owner
        try:
            entry = await self._journal.find(ref, owner=None if self.keyed else owner)
        except JournalError as exc:  # whose it is cannot be told by the journal
            if not self.keyed:
                raise CallFailed(f"Cannot tell whose task {ref} is: {exc}. Call again in a moment.") from exc
            entry = None
        if entry is not None and entry.owner == owner:
            return
        if self.keyed and entry is None and await self._wiro_shows(ref):
            return
        raise CallFailed(
            f"Task {clip(ref.task_id or ref.task_token or '', 40)} was not found among your tasks. "
            "list_tasks shows yours."
        )

    async def _wiro_shows(self, ref: TaskRef) -> bool:
        """Whether Wiro shows the task to the caller's own key (each key is its own account)."""
        try:
            await self._client.task_detail(ref, deadline=anyio.current_time() + budgets.CHECK_SECONDS)
        except NotFoundError:
            return False
        except WiroMCPError as exc:
            raise CallFailed(f"Cannot tell whose task {ref} is: {exc}. Call again in a moment.") from exc
        return True
