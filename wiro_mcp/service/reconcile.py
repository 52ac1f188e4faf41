"""Claims in doubt: a Run that may have started a task whose id this machine never recorded.

That happens when the server dies (or the call is cut short) while a Run is out, or when the Run's
answer is lost on the way back. Wiro may have started, and be billing, the task. Before an identical
call may run again, Wiro's task list (Task/List, newest first, a few pages) is asked:

- a task created around the claim's time whose inputs match is the claim's task: the journal adopts
  it (and an identical call joins it if it is still running);
- if the list reaches back past the claim's time and shows no such task, the Run never started one:
  the claim goes;
- otherwise Wiro cannot say (the list fails, does not reach back far enough, or does not show the
  inputs): the claim stays in doubt, its estimate still counts, and an identical call is refused
  with a message that says so and names `allow_duplicate`.

How a listed task is matched to a claim (its `parameters`, its `createtime`) is a GUESS in protocol.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import anyio

from .. import budgets
from ..errors import WiroMCPError
from ..journal.access import Journal
from ..journal.records import Entry
from ..wiro import protocol
from ..wiro.answers import Task
from ..wiro.client import WiroClient

log = logging.getLogger(__name__)

LIST_PAGE = 50
LIST_PAGES = 4


@dataclass(frozen=True)
class Finding:
    """What Wiro's task list says of one claim in doubt."""

    entry: Entry
    task: Task | None = None  # the task the claim's Run started
    absent: bool = False  # Wiro shows no such task: nothing was started
    why: str | None = None  # why Wiro cannot say

    @property
    def settled(self) -> bool:
        return self.task is not None or self.absent


@dataclass(frozen=True)
class _Listing:
    tasks: list[Task]
    reaches_back_to: float | None  # the oldest creation time covered (None: the list ended, all covered)
    error: str | None


class Reconciler:
    def __init__(self, client: WiroClient, journal: Journal) -> None:
        self._client = client
        self._journal = journal

    async def settle_at_start(self, keyed: bool) -> None:
        """Once the journal is open: claims a stopped server left in doubt are looked up in Wiro's task list,
        so their tasks are known (and a claim that started nothing stops holding the budget). `keyed`: each
        request's own key (WIRO_MCP_CREDENTIALS=request): each identical call settles its own."""
        await self._journal.opened()
        try:
            entries = [] if keyed else await self._journal.doubtful()
            if entries:
                await self.settle(entries, anyio.current_time() + budgets.READ_BUDGET)
        except WiroMCPError as exc:  # an identical call will ask again
            log.info("could not settle the claims in doubt: %s", exc)

    async def settle(self, entries: list[Entry], deadline: float, *, drop_absent: bool = True) -> list[Finding]:
        """One look at Wiro's task list for all of `entries`; the journal adopts what was found and drops
        what Wiro shows was never started (unless `drop_absent` is False: right after a lost answer, a
        task may not be listed yet)."""
        if not entries:
            return []
        earliest = min(e.created for e in entries) - protocol.CLOCK_SLACK
        listing = await self._list(earliest, min(deadline, anyio.current_time() + budgets.LIST_SECONDS))
        if not listing.tasks and listing.error is not None:
            return [Finding(e, why=f"Wiro's task list could not be read ({listing.error})") for e in entries]
        known = await self._journal.models_of([t.id for t in listing.tasks])
        model_ids = {t.model_id: known[t.id] for t in listing.tasks if t.id in known and t.model_id}
        taken = set(known) | self._journal.unwritten_ids()
        findings = []
        for entry in sorted(entries, key=lambda e: e.created):
            finding = self._judge(entry, listing, model_ids, taken)
            if finding.task is not None:
                taken.add(finding.task.id)
                await self._journal.adopt(entry.row, finding.task)
                log.info("a claim in doubt started task %s (found in Wiro's task list)", finding.task.id)
            elif finding.absent and drop_absent:
                await self._journal.abandon(entry.row)
                log.info("a claim in doubt started nothing (Wiro's task list has no such task)")
            findings.append(finding)
        return findings

    async def look_for_lost(self, row: int, why: str, deadline: float) -> Task | None:
        """A Run whose answer was lost: its claim is kept in doubt, and Wiro's task list is asked at once,
        for a few seconds of its own past the call's budget if need be (a task found now is not lost). A
        task not listed yet may still come: the claim is never dropped here."""
        await self._journal.doubt(row, why)
        entry = await self._journal.entry(row)
        if entry is None:
            return None
        look_until = max(deadline, anyio.current_time() + budgets.LOST_ANSWER_LOOK)
        [finding] = await self.settle([entry], look_until, drop_absent=False)
        return finding.task

    def _judge(self, entry: Entry, listing: _Listing, model_ids: dict[str, str], taken: set[str]) -> Finding:
        sent = entry.arguments.get("inputs")
        sent = sent if isinstance(sent, dict) else {}
        files = frozenset(entry.arguments.get("files") or ())
        unsure = False
        for task in sorted(listing.tasks, key=lambda t: abs((t.create_time or entry.created) - entry.created)):
            if task.id in taken or not _around(task, entry):
                continue
            if task.model_id and task.model_id in model_ids and model_ids[task.model_id] != entry.model:
                continue
            verdict = protocol.same_inputs(sent, task.parameters, files=files)
            if verdict == "same":
                return Finding(entry, task=task)
            unsure = unsure or verdict == "unknown"
        if unsure:
            return Finding(entry, why="Wiro's task list shows a task from that time without its inputs")
        reach = listing.reaches_back_to
        if reach is None or reach < entry.created - protocol.CLOCK_SLACK:
            return Finding(entry, absent=True)
        why = listing.error or f"Wiro's task list does not reach back to that time ({LIST_PAGES * LIST_PAGE} tasks)"
        return Finding(entry, why=why)

    async def _list(self, since: float, deadline: float) -> _Listing:
        """Pages of Task/List until they reach back past `since`, end, or the page limit."""
        tasks: list[Task] = []
        for page in range(LIST_PAGES):
            try:
                got = await self._client.task_list(LIST_PAGE, start=page * LIST_PAGE, deadline=deadline)
            except WiroMCPError as exc:
                oldest = _oldest(tasks)
                return _Listing(tasks, oldest if oldest is not None else float("inf"), str(exc)[:200])
            tasks += got
            oldest = _oldest(got)
            if len(got) < LIST_PAGE:
                return _Listing(tasks, None, None)
            if oldest is not None and oldest < since:
                return _Listing(tasks, oldest, None)
        oldest = _oldest(tasks)
        return _Listing(tasks, oldest if oldest is not None else float("inf"), None)


def _oldest(tasks: list[Task]) -> float | None:
    times = [t.create_time for t in tasks if t.create_time]
    return float(min(times)) if times else None


def _around(task: Task, entry: Entry) -> bool:
    """Whether `task` was created near enough the claim to be its task (no creation time: maybe)."""
    if not task.create_time:
        return True
    return entry.created - protocol.CLOCK_SLACK <= task.create_time <= entry.created + protocol.CLOCK_SLACK
