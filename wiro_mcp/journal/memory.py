"""What this server learnt of the tasks it met: the model (Task/Detail does not name it), the socket
token, the prompt it sent, the cost estimate and the output names, most recent last. Bounded; used
for results, token lookups and argument completion. The journal keeps the same across restarts."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..wiro.refs import TaskRef

if TYPE_CHECKING:
    from .access import Journal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskFacts:
    model: str | None = None
    token: str | None = None
    prompt: str | None = None
    outputs: tuple[str, ...] = ()
    estimate: float | None = None
    basis: str | None = None  # how the estimate was made, in words


class TaskMemory:
    def __init__(self, limit: int = 10_000) -> None:
        self._tasks: OrderedDict[str, TaskFacts] = OrderedDict()
        self._ids_by_token: dict[str, str] = {}
        self._limit = limit

    def remember(
        self,
        task_id: str,
        *,
        model: str | None = None,
        token: str | None = None,
        prompt: str | None = None,
        outputs: tuple[str, ...] = (),
        estimate: float | None = None,
        basis: str | None = None,
    ) -> None:
        known = self._tasks.pop(task_id, TaskFacts())
        self._tasks[task_id] = replace(
            known,
            model=model or known.model,
            token=token or known.token,
            prompt=prompt or known.prompt,
            outputs=outputs or known.outputs,
            estimate=estimate if estimate is not None else known.estimate,
            basis=basis or known.basis,
        )
        if token:
            self._ids_by_token[token] = task_id
        while len(self._tasks) > self._limit:
            _, gone = self._tasks.popitem(last=False)
            if gone.token:
                self._ids_by_token.pop(gone.token, None)

    def get(self, task_id: str) -> TaskFacts:
        return self._tasks.get(task_id, TaskFacts())

    def canonical(self, ref: TaskRef) -> TaskRef:
        """A reference by token becomes one by id when the id is known (so both share one follower)."""
        if ref.task_token is not None and ref.task_token in self._ids_by_token:
            return TaskRef(task_id=self._ids_by_token[ref.task_token])
        return ref

    def recent(self, prefix: str = "", limit: int = 100) -> list[str]:
        return [t for t in reversed(self._tasks) if t.startswith(prefix)][:limit]


async def recall(journal: Journal, memory: TaskMemory, ref: TaskRef) -> None:
    """Teach `memory` what the journal knows of a task this process has not met (after a restart, or
    started by another server process): its model, token, prompt and estimate."""
    known = memory.get(ref.task_id) if ref.task_id is not None else None
    if (known is not None and known.model is not None) or memory.canonical(ref).task_id != ref.task_id:
        return
    try:
        entry = await journal.find(ref)
    except Exception as exc:  # the journal is a help here, never a reason to fail a read
        log.info("could not look %s up in the journal: %r", ref, exc)
        return
    if entry is not None and entry.task_id is not None:
        memory.remember(
            entry.task_id, model=entry.model, token=entry.token, prompt=entry.prompt, estimate=entry.estimate_usd
        )
