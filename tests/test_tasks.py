"""The waiter: interval growth, the deadline, transient errors, status callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from wiro_mcp.errors import AuthenticationError, ServerError
from wiro_mcp.models import Task
from wiro_mcp.tasks import PollPolicy, TaskRef, wait_for_task

pytestmark = pytest.mark.anyio


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedClient:
    """Answers Task/Detail from a script of statuses (or exceptions), one per call."""

    def __init__(self, script: list[Any], time: FakeTime) -> None:
        self.script = script
        self.time = time
        self.calls: list[float] = []

    async def task_detail(self, *, task_id: str | None = None, task_token: str | None = None) -> Task:
        self.calls.append(self.time.now)
        item = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        if isinstance(item, Exception):
            raise item
        outputs = [{"name": "0.png", "url": "https://x/0.png", "contenttype": "image/png", "size": "1"}]
        return Task.model_validate(
            {
                "id": "1",
                "status": item,
                "pexit": "0",
                "outputs": outputs if item == "task_postprocess_end" else [],
            }
        )


def test_intervals_start_short_grow_and_cap() -> None:
    intervals = PollPolicy(initial=0.25, factor=2, maximum=3).intervals()
    assert [next(intervals) for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]


async def test_a_fast_task_is_seen_at_the_first_short_interval() -> None:
    time = FakeTime()
    client = ScriptedClient(["task_start", "task_postprocess_end"], time)
    task = await wait_for_task(client, TaskRef(task_id="1"), 45, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    assert task.state.value == "succeeded"
    assert client.calls == [0.0, 0.25]


async def test_the_deadline_ends_the_wait_with_a_fresh_snapshot() -> None:
    time = FakeTime()
    client = ScriptedClient(["task_start"], time)
    policy = PollPolicy(initial=0.5, factor=2, maximum=4)
    task = await wait_for_task(
        client,
        TaskRef(task_id="1"),
        10,
        policy=policy,
        clock=time.clock,
        sleep=time.sleep,  # type: ignore[arg-type]
    )
    assert task.state.value == "running"
    # 0.5, 1, 2, 4, then only what is left of the 10 s budget (2.5 s): never past the deadline.
    assert time.sleeps == [0.5, 1.0, 2.0, 4.0, 2.5]
    assert time.now == 10.0
    assert client.calls[-1] == 10.0, "the last read happens at the deadline"
    # Slow tasks cost few requests: 6 reads in 10 s.
    assert len(client.calls) == 6


async def test_zero_timeout_reads_once() -> None:
    time = FakeTime()
    client = ScriptedClient(["task_queue"], time)
    task = await wait_for_task(client, TaskRef(task_id="1"), 0, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    assert task.state.value == "queued"
    assert len(client.calls) == 1


async def test_a_known_snapshot_is_not_read_again_when_there_is_no_time() -> None:
    time = FakeTime()
    client = ScriptedClient(["task_start"], time)
    first = await client.task_detail(task_id="1")
    client.calls.clear()
    task = await wait_for_task(
        client,
        TaskRef(task_id="1"),
        0,
        first=first,
        clock=time.clock,
        sleep=time.sleep,  # type: ignore[arg-type]
    )
    assert task is first
    assert client.calls == []


async def test_transient_errors_are_survived() -> None:
    time = FakeTime()
    boom = ServerError("Internal server error", status_code=500)
    client = ScriptedClient(["task_start", boom, boom, "task_postprocess_end"], time)
    task = await wait_for_task(client, TaskRef(task_id="1"), 45, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    assert task.state.value == "succeeded"
    assert len(client.calls) == 4


async def test_transient_errors_until_the_deadline_raise_when_nothing_was_read() -> None:
    time = FakeTime()
    client = ScriptedClient([ServerError("down", status_code=503)], time)
    with pytest.raises(ServerError, match="down"):
        await wait_for_task(client, TaskRef(task_id="1"), 2, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    assert time.now == 2.0


async def test_permanent_errors_are_raised_at_once() -> None:
    time = FakeTime()
    client = ScriptedClient(["task_start", AuthenticationError("Sign in required", code=98)], time)
    with pytest.raises(AuthenticationError):
        await wait_for_task(client, TaskRef(task_id="1"), 45, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    assert len(client.calls) == 2


async def test_each_status_change_is_reported_once() -> None:
    time = FakeTime()
    script = ["task_queue", "task_queue", "task_start", "task_output", "task_output", "task_postprocess_end"]
    client = ScriptedClient(script, time)
    seen: list[str] = []

    async def on_update(task: Task) -> None:
        seen.append(task.status)

    await wait_for_task(
        client,
        TaskRef(task_id="1"),
        45,
        on_update=on_update,
        clock=time.clock,
        sleep=time.sleep,  # type: ignore[arg-type]
    )
    assert seen == ["task_queue", "task_start", "task_output", "task_postprocess_end"]


def test_a_task_ref_names_exactly_one_thing() -> None:
    with pytest.raises(ValueError):
        TaskRef()
    with pytest.raises(ValueError):
        TaskRef(task_id="1", task_token="t")
