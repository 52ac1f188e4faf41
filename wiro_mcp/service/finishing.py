"""From a task being waited on to what the call returns: the wait within the call's budget (stopping the
task only when the person pressed stop), then the result, its delivery and the notes beside it. Shared
by generate and get_task."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

from .. import budgets
from ..catalog import spec_of
from ..config import Settings
from ..journal.memory import TaskMemory
from ..media.delivery import Delivery, DeliveryPlan
from ..media.outcome import Outcome
from ..results import PreviewKind, TaskResult
from ..tracking.follower import WaitResult
from ..tracking.progress import OnUpdate
from ..tracking.registry import Followers
from ..wiro.answers import Task
from ..wiro.client import WiroClient
from ..wiro.refs import TaskRef
from .call import StopRequested
from .reports import task_result
from .stopping import stop_quietly

log = logging.getLogger(__name__)


# What this process keeps of a task's output names (for completions and the resources): bounded, whatever
# Wiro lists.
NAMES_KEPT = 100
NAME_KEPT = 200


class Finisher:
    def __init__(
        self,
        settings: Settings,
        client: WiroClient,
        followers: Followers,
        memory: TaskMemory,
        delivery: Delivery,
        seen: Callable[[Task], None],
    ) -> None:
        self.settings = settings
        self.client = client
        self.followers = followers
        self.memory = memory
        self.delivery = delivery
        self._seen = seen

    async def wait(
        self,
        ref: TaskRef,
        deadline: float,
        on_update: OnUpdate | None,
        stop_requested: StopRequested | None,
        token: str | None = None,
        patience: float = 0.0,
    ) -> WaitResult:
        """Wait on the task's follower; if the call is cancelled, stop the task only when the person
        asked for it (`stop_requested`), never because the client or the server went away."""
        try:
            return await self.followers.wait(
                ref, deadline - anyio.current_time(), on_update=on_update, token=token, patience=patience
            )
        except anyio.get_cancelled_exc_class():
            if self.settings.keep_on_cancel:
                log.warning("the call waiting on %s was cancelled; it keeps running (WIRO_MCP_KEEP_ON_CANCEL=1)", ref)
            elif stop_requested is not None and stop_requested():
                with anyio.CancelScope(shield=True):
                    until = anyio.current_time() + budgets.STOP_BUDGET
                    what = await stop_quietly(self.client, ref, until, seen=self._seen)
                log.warning("the client cancelled its call; %s %s", ref, what)
            else:
                log.warning(
                    "the call waiting on %s ended without a stop request (the client went away, the host's time limit "
                    "cut it, or the server is stopping); the task keeps running on Wiro: collect it with get_task",
                    ref,
                )
            raise

    async def finish(
        self, waited: WaitResult, *, preview: PreviewKind, viewer: bool, notes: list[str], reused: bool, deadline: float
    ) -> Outcome:
        """The call's outcome from the freshest snapshot: the result, delivered within what is left of the
        call's budget (at least budgets.DELIVERY_FLOOR), with `notes` first."""
        if waited.snapshot is None:
            raise ValueError("finish needs a snapshot")
        task = waited.snapshot.task
        result = self.result(task).model_copy(update={"reused": reused})
        age = anyio.current_time() - waited.snapshot.read_at
        if not task.state.terminal and age > budgets.STALE_AFTER:
            why = f": {waited.error}" if waited.error else ""
            notes = [*notes, f"This status is {age:.0f} s old; Wiro did not answer the last read in time{why}"]
        until = max(deadline + 1.0, anyio.current_time() + budgets.DELIVERY_FLOOR)
        spec = spec_of(result.model)
        panorama = spec is not None and spec.panorama
        wanted = DeliveryPlan(preview, until, output_dir=self.settings.output_dir, panorama=panorama, viewer=viewer)
        outcome = await self.delivery.deliver(result, wanted)
        outcome.notes[:0] = notes
        return outcome

    def result(self, task: Task) -> TaskResult:
        """The task as the task tools report it, with what this process knows of it."""
        known = self.memory.get(task.id)
        result = task_result(
            task,
            model=known.model,
            wait_hint=self.settings.wait_seconds,
            prompt=known.prompt,
            estimate=known.estimate,
            basis=known.basis,
        )
        if result.outputs:
            # What is handed out is checked here, whatever the task's state (a running one lists some).
            result = result.model_copy(update={"outputs": [self.delivery.checked(o) for o in result.outputs]})
            names = tuple(o.name[:NAME_KEPT] for o in result.outputs[:NAMES_KEPT])
            self.memory.remember(task.id, outputs=names)
        return result
