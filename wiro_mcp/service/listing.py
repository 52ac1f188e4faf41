"""list_tasks: the recent tasks, newest first, from the journal and (when it answers) Wiro's Task/List.

The journal knows what this machine started: model, prompt, estimate, when. Wiro knows every task of
the account and its current state and cost, but not which model ran (only a numeric `modelid`, which
the tasks both sources share teach us to read). Each task is one line with what either knows;
Wiro's state wins, being the newer. Task/List is not in Wiro's public docs: when it fails or answers
in an unknown shape, the journal alone answers, and the result says so.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio

from .. import budgets, people
from ..errors import CallFailed, WiroMCPError
from ..journal.access import Journal
from ..journal.records import Entry, JournalError
from ..results import ListedState, TaskLine, TaskListing
from ..wiro.answers import Task
from ..wiro.client import WiroClient
from .reports import rounded

log = logging.getLogger(__name__)

PROMPT_WORDS = 80


class Lister:
    def __init__(self, client: WiroClient, journal: Journal, *, scoped: bool = False, by_owner: bool = False) -> None:
        self._client = client
        self._journal = journal
        self._scoped = scoped  # people share the Wiro account: only the caller's own tasks are listed
        self._by_owner = scoped or by_owner  # the journal's rows are the caller's own

    async def recent(self, *, model: str | None, state: ListedState | None, limit: int) -> TaskListing:
        # Unfiltered rows teach the modelid → model mapping; the filters apply to the merged lines.
        try:
            owner = people.current().owner if self._by_owner else None
            entries: list[Entry] = await self._journal.recent(max(limit, 50), owner)
        except JournalError as exc:  # a journal that cannot be read still lets Wiro's list answer
            if self._scoped:  # …but then whose each task is cannot be told
                raise CallFailed(f"Cannot tell which tasks are yours: {exc}. Call again in a moment.") from exc
            log.info("list_tasks without the journal: %s", exc)
            entries = []
        listed, wiro_note = await self._wiro_tasks(max(limit, 20))
        learnt = {t.model_id: e.model for t in listed for e in entries if e.task_id == t.id and t.model_id}
        lines: dict[str, TaskLine] = {}
        for entry in entries:
            assert entry.task_id is not None
            lines[entry.task_id] = TaskLine(
                task_id=entry.task_id,
                model=entry.model,
                state=entry.state,
                created=_when(entry.created),
                cost_usd=rounded(entry.cost_usd),
                estimated_cost_usd=rounded(entry.estimate_usd),
                prompt=_words(entry.prompt),
                source="journal",
            )
        for task in listed:
            known = lines.get(task.id)
            if known is None and self._scoped:  # another person's, or not started through wiro-mcp
                continue
            prompt = task.parameters.get("prompt") if isinstance(task.parameters, dict) else None
            lines[task.id] = TaskLine(
                task_id=task.id,
                model=known.model if known else learnt.get(task.model_id or ""),
                state=task.state.value,
                status=task.status,
                created=known.created if known else (_when(task.create_time) if task.create_time else None),
                cost_usd=rounded(task.total_cost) if task.state.terminal else (known.cost_usd if known else None),
                estimated_cost_usd=known.estimated_cost_usd if known else None,
                prompt=known.prompt if known and known.prompt else _words(prompt if isinstance(prompt, str) else None),
                source="both" if known else "wiro",
            )
            if known:
                self._journal.note(task)  # the journal learns what became of it
        await self._journal.flush()
        chosen = [
            line
            for line in lines.values()
            if (model is None or line.model == model) and (state is None or line.state == state)
        ]
        chosen.sort(key=lambda line: (line.created or "", int(line.task_id) if line.task_id.isdigit() else 0))
        status = self._journal.status()
        where = status.memory_only or status.where
        asked = [f"model {model}" for model in [model] if model] + [f"state {state}" for state in [state] if state]
        return TaskListing(tasks=chosen[::-1][:limit], wiro=wiro_note, journal=where, only=", ".join(asked) or None)

    async def _wiro_tasks(self, limit: int) -> tuple[list[Task], str]:
        try:
            tasks = await self._client.task_list(limit, deadline=anyio.current_time() + budgets.LIST_SECONDS)
        except WiroMCPError as exc:
            log.info("Task/List is not available: %s", exc)
            return [], f"not available ({str(exc)[:160]}); the journal alone answers"
        return tasks, f"answered with {len(tasks)} task{'s' if len(tasks) != 1 else ''}"


def _when(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _words(prompt: str | None) -> str | None:
    if not prompt:
        return None
    return prompt if len(prompt) <= PROMPT_WORDS else prompt[:PROMPT_WORDS].rsplit(" ", 1)[0] + "…"
