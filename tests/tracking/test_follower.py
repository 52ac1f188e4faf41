"""The follower: its read schedule, the hard limit of every wait, errors, progress, and one stream of
reads shared by every waiter. Run on virtual time (trio's MockClock jumps ahead whenever every task
waits), so the schedule is asserted exactly and nothing sleeps for real."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
import trio.testing

from wiro_mcp.errors import AuthenticationError, ServerError
from wiro_mcp.tracking.follower import WaitResult
from wiro_mcp.tracking.progress import Update
from wiro_mcp.tracking.registry import Followers
from wiro_mcp.tracking.schedule import PollPolicy
from wiro_mcp.wiro.answers import Task
from wiro_mcp.wiro.refs import TaskRef

pytestmark = pytest.mark.anyio

REF = TaskRef(task_id="1")


@pytest.fixture
def anyio_backend() -> Any:
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


class ScriptedClient:
    """Answers Task/Detail from a script, one item per call: a status, an exception, or
    ("hang", seconds) for an answer that takes that long."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls: list[float] = []
        self.started = anyio.current_time()

    async def task_detail(self, ref: TaskRef, *, deadline: float | None = None) -> Task:
        self.calls.append(round(anyio.current_time() - self.started, 3))
        item = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        if isinstance(item, tuple):
            await anyio.sleep(item[1])
            item = "task_start"
        if isinstance(item, Exception):
            raise item
        outputs = [{"name": "0.png", "url": "https://x/0.png", "contenttype": "image/png", "size": "1"}]
        done = item == "task_postprocess_end"
        return Task.model_validate({"id": "1", "status": item, "pexit": "0", "outputs": outputs if done else []})


@asynccontextmanager
async def following(client: ScriptedClient, **policy: float) -> AsyncIterator[Followers]:
    async with Followers(client, policy=PollPolicy(**policy)).running() as followers:
        yield followers


async def timed_wait(followers: Followers, timeout: float, **options: Any) -> tuple[WaitResult, float]:
    """`followers.wait(REF, timeout, …)`, and how long it took on the virtual clock."""
    started = anyio.current_time()
    waited = await followers.wait(REF, timeout, **options)
    return waited, anyio.current_time() - started


def test_intervals_start_short_grow_and_cap() -> None:
    intervals = PollPolicy(initial=0.25, factor=2, maximum=3).intervals()
    assert [next(intervals) for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]


async def test_a_fast_task_is_seen_at_the_first_short_interval() -> None:
    client = ScriptedClient(["task_start", "task_postprocess_end"])
    async with following(client) as followers:
        waited = await followers.wait(REF, 45)
    assert waited.task is not None and waited.task.state.value == "succeeded"
    assert client.calls == [0.0, 0.25]


async def test_the_deadline_ends_the_wait_with_a_fresh_snapshot() -> None:
    client = ScriptedClient(["task_start"])
    async with following(client, initial=0.5, factor=2, maximum=4) as followers:
        waited, took = await timed_wait(followers, 10)
    assert waited.task is not None and waited.task.state.value == "running"
    # 0.5, 1, 2, 4 apart, then the last read exactly at the deadline: never past it.
    assert client.calls == [0.0, 0.5, 1.5, 3.5, 7.5, 10.0]
    assert took == pytest.approx(10.0)


async def test_zero_timeout_reads_once() -> None:
    client = ScriptedClient(["task_queue"])
    async with following(client) as followers:
        waited = await followers.wait(REF, 0)
    assert waited.task is not None and waited.task.state.value == "queued"
    assert client.calls == [0.0]


async def test_a_known_snapshot_is_not_read_again_when_there_is_no_time() -> None:
    client = ScriptedClient(["task_start"])
    first = Task.model_validate({"id": "1", "status": "task_start"})
    async with following(client) as followers:
        waited = await followers.wait(REF, 0, first=first)
    assert waited.task is first
    assert client.calls == []


async def test_transient_errors_are_survived() -> None:
    boom = ServerError("Internal server error", status_code=500)
    client = ScriptedClient(["task_start", boom, boom, "task_postprocess_end"])
    async with following(client) as followers:
        waited = await followers.wait(REF, 45)
    assert waited.task is not None and waited.task.state.value == "succeeded"
    assert len(client.calls) == 4


async def test_transient_errors_until_the_deadline_leave_no_snapshot_and_the_error() -> None:
    client = ScriptedClient([ServerError("down", status_code=503)])
    async with following(client) as followers:
        waited, took = await timed_wait(followers, 2)
    assert waited.snapshot is None
    assert isinstance(waited.error, ServerError) and "down" in str(waited.error)
    assert took == pytest.approx(2.0)


async def test_permanent_errors_are_raised_at_once() -> None:
    client = ScriptedClient(["task_start", AuthenticationError("Sign in required", code=98)])
    async with following(client) as followers:
        with pytest.raises(AuthenticationError):
            await followers.wait(REF, 45)
    assert len(client.calls) == 2


async def test_a_read_that_hangs_cannot_hold_a_waiter_past_its_hard_limit() -> None:
    # Task/Detail answers once, then hangs for five minutes.
    client = ScriptedClient(["task_start", ("hang", 300)])
    async with following(client) as followers:
        waited, took = await timed_wait(followers, 10)
    assert took <= 10 + PollPolicy().grace + 1e-6
    assert waited.task is not None and waited.task.status == "task_start", "the freshest snapshot there is"
    assert waited.snapshot is not None and waited.snapshot.read_at == pytest.approx(client.started)
    assert waited.error is not None and "in time" in str(waited.error)


async def test_a_plain_read_waits_for_a_slow_first_answer_within_its_patience() -> None:
    # Task/Detail takes 3 s: a read with no wait of its own (get_task's default) still gets it.
    client = ScriptedClient([("hang", 3)])
    async with following(client) as followers:
        waited, took = await timed_wait(followers, 0, patience=10)
    assert waited.task is not None and waited.error is None
    assert took == pytest.approx(3), "it leaves as soon as the first answer is there"


async def test_patience_ends_too_and_a_task_once_read_is_not_waited_on() -> None:
    hanging = ScriptedClient([("hang", 300)])
    async with following(hanging) as followers:
        waited, took = await timed_wait(followers, 0, patience=10)
    assert waited.task is None and waited.error is not None and "in time" in str(waited.error)
    assert took <= 10 + PollPolicy().grace + 1e-6
    # With a snapshot already there, patience adds nothing: a plain read leaves by its own grace.
    slow_later = ScriptedClient(["task_start", ("hang", 300)])
    async with following(slow_later) as followers:
        await followers.wait(REF, 0)
        waited, took = await timed_wait(followers, 0, patience=10)
    assert waited.task is not None and took <= PollPolicy().grace + 1e-6


async def test_a_newcomer_shortens_a_read_already_in_flight() -> None:
    # One waiter with a long budget starts a read that hangs; a second waiter with 1 s must still
    # leave by its own limit.
    client = ScriptedClient([("hang", 300)])
    async with following(client) as followers:
        results: dict[str, float] = {}

        async def wait(name: str, timeout: float) -> None:
            begun = anyio.current_time()
            await followers.wait(REF, timeout)
            results[name] = anyio.current_time() - begun

        async with anyio.create_task_group() as group:
            group.start_soon(wait, "patient", 60)
            await anyio.sleep(0.1)
            group.start_soon(wait, "hurried", 1)
    assert results["hurried"] <= 1 + PollPolicy().grace + 1e-6
    assert results["patient"] <= 60 + PollPolicy().grace + 1e-6


async def test_each_status_change_is_reported_once() -> None:
    script = ["task_queue", "task_queue", "task_start", "task_output", "task_output", "task_postprocess_end"]
    client = ScriptedClient(script)
    seen: list[Update] = []

    async def on_update(update: Update) -> None:
        seen.append(update)

    async with following(client) as followers:
        await followers.wait(REF, 45, on_update=on_update)
    assert [u.status for u in seen] == ["task_queue", "task_start", "task_output", "task_postprocess_end"]
    fractions = [u.fraction for u in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


async def test_fifty_waiters_share_one_stream_of_reads() -> None:
    alone = ScriptedClient(["task_queue"] * 6 + ["task_postprocess_end"])
    async with following(alone) as followers:
        await followers.wait(REF, 60)
    shared = ScriptedClient(["task_queue"] * 6 + ["task_postprocess_end"])
    outcomes: list[str] = []
    async with following(shared) as followers:

        async def wait() -> None:
            waited = await followers.wait(REF, 60)
            assert waited.task is not None
            outcomes.append(waited.task.state.value)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(wait)
    assert outcomes == ["succeeded"] * 50
    assert shared.calls == alone.calls, "the reads do not grow with the number of waiters"


async def test_a_started_task_is_followed_to_its_end_without_a_waiter() -> None:
    client = ScriptedClient(["task_queue", "task_start", "task_postprocess_end"])
    seen: list[str] = []
    async with Followers(
        client, policy=PollPolicy(background=10), on_snapshot=lambda t: seen.append(t.status)
    ).running() as followers:
        followers.follow("1")
        await anyio.sleep(100)
        assert len(followers) == 0, "the follower leaves once the task has ended"
    assert seen == ["task_queue", "task_start", "task_postprocess_end"]
    assert client.calls == [10.0, 20.0, 30.0]
