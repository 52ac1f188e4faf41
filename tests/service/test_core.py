"""The service alone, with no MCP in the way: against the sandbox over loopback, with plain
arguments and callbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from tests.helpers import settings_for
from wiro_mcp.catalog import load_catalog
from wiro_mcp.errors import ArgumentError, CallFailed
from wiro_mcp.journal.memory import TaskMemory
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.service.call import RunCall
from wiro_mcp.service.core import Service
from wiro_mcp.service.inflight import InFlight
from wiro_mcp.tracking.progress import Update
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.refs import TaskRef

pytestmark = pytest.mark.anyio

IMAGE = load_catalog()["generate_image"]
PANORAMA = load_catalog()["generate_panorama"]


@asynccontextmanager
async def service(box: Sandbox, **env: str) -> AsyncIterator[Service]:
    settings = settings_for(box, **env)
    async with WiroClient.from_settings(settings) as client, Service(settings, client).running() as running:
        yield running


async def test_generate_waits_reports_progress_and_delivers(sandbox: Sandbox) -> None:
    updates: list[Update] = []
    started: list[tuple[str, str]] = []

    async def on_update(update: Update) -> None:
        updates.append(update)

    async def on_started(task_id: str, model: str) -> None:
        started.append((task_id, model))

    async with service(sandbox) as generation:
        call = RunCall(on_update=on_update, on_started=on_started)
        outcome = await generation.generate(PANORAMA, {"prompt": "a bay", "width": 1024, "height": 512}, call)
    assert outcome.result.state == "succeeded" and outcome.result.model == PANORAMA.model
    assert [(shot.width, shot.height) for shot in outcome.previews] == [(1568, 836)], "the sheet of views"
    assert outcome.result.outputs[0].panorama is not None and outcome.result.outputs[0].panorama.seam == "seamless"
    assert outcome.thumbnail is None, "a thumbnail for a 360° viewer only when asked"
    assert started == [(outcome.result.task_id, PANORAMA.model)]
    assert updates and updates[-1].fraction == 1.0


async def test_the_service_checks_arguments_itself(sandbox: Sandbox) -> None:
    async with service(sandbox) as generation:
        with pytest.raises(ArgumentError, match="nothing was sent to Wiro") as caught:
            await generation.generate(PANORAMA, {"prompt": "x", "width": 1024, "height": 1024})
    assert "must be exactly 2 × height" in str(caught.value)
    assert sandbox.count("") == 0


@pytest.mark.parametrize(("pressed", "sent"), [(True, 1), (False, 0)])
async def test_a_cancelled_wait_stops_the_task_only_when_stop_was_pressed(
    held: Sandbox, pressed: bool, sent: int
) -> None:
    async with service(held) as generation:
        with anyio.move_on_after(0.5):
            await generation.generate(IMAGE, {"prompt": "x"}, RunCall(wait=30, stop_requested=lambda: pressed))
    assert held.count("Task/Cancel") + held.count("Task/Kill") == sent
    status = held.state.get(task_id="1001").status(held.state.clock())  # type: ignore[union-attr]
    assert (status == "task_cancel") is pressed


async def test_stop_reads_the_task_once_and_reports_what_it_did(held: Sandbox) -> None:
    async with service(held) as generation:
        run = await generation.generate(IMAGE, {"prompt": "x"}, RunCall(wait=0))
        held.advance_to(run.result.task_id, "task_start")
        outcome = await generation.stop(TaskRef(task_token=run.result.task_token))
    assert outcome.result.state == "cancelled"
    assert outcome.headline == f"Task {run.result.task_id} was stopped while running (Task/Kill)."
    assert [r.endpoint for r in held.state.requests][-1] == "Task/Kill"


async def test_get_by_token_shares_the_follower_of_the_id(held: Sandbox) -> None:
    async with service(held) as generation:
        run = await generation.generate(IMAGE, {"prompt": "x"}, RunCall(wait=0))
        assert len(generation.followers) == 1, "the server follows the task it started"
        outcome = await generation.get(TaskRef(task_token=run.result.task_token))
        assert len(generation.followers) == 1, "a token the server knows is read as its id"
    assert outcome.result.task_id == run.result.task_id


async def test_identical_calls_are_freed_once_the_task_is_seen_to_end(held: Sandbox) -> None:
    async with service(held) as generation:
        first = await generation.generate(IMAGE, {"prompt": "same"}, RunCall(wait=0))
        again = await generation.generate(IMAGE, {"prompt": "same"}, RunCall(wait=0))
        assert again.result.task_id == first.result.task_id and again.result.reused
        held.advance_to(first.result.task_id, "task_postprocess_end")
        await generation.get(TaskRef(task_id=first.result.task_id), preview="none")
        assert len(generation.launcher.inflight) == 0
        fresh = await generation.generate(IMAGE, {"prompt": "same"}, RunCall(wait=0))
    assert fresh.result.task_id != first.result.task_id and not fresh.result.reused


def test_inflight_is_bounded() -> None:
    table = InFlight(limit=3)
    for n in range(5):
        table.add(f"key{n}", str(n))
    assert len(table) == 3
    assert table.get("key0") is None and table.get("key4") == "4"
    table.ended("4")
    assert table.get("key4") is None and len(table) == 2
    table.ended("0")  # long gone: nothing to do
    assert len(table) == 2


def test_task_memory_is_bounded_and_maps_tokens_to_ids() -> None:
    memory = TaskMemory(limit=2)
    memory.remember("1", model="m", token="t1")
    memory.remember("2", token="t2")
    memory.remember("1", outputs=("0.png",))
    assert memory.get("1").model == "m" and memory.get("1").outputs == ("0.png",)
    assert memory.canonical(TaskRef(task_token="t1")) == TaskRef(task_id="1")
    memory.remember("3")
    assert memory.get("2").token is None, "the oldest entry went"
    assert memory.canonical(TaskRef(task_token="t2")) == TaskRef(task_token="t2")
    assert memory.recent() == ["3", "1"]


def test_settings_of_the_service_come_from_the_environment(sandbox: Sandbox) -> None:
    settings = settings_for(sandbox, WIRO_MCP_WAIT_SECONDS="7")
    assert settings.wait_seconds == 7 and settings.base_url == sandbox.base_url


async def test_output_file_by_name_or_index(sandbox: Sandbox) -> None:
    async with service(sandbox) as generation:
        run = await generation.generate(IMAGE, {"prompt": "x", "samples": 2}, RunCall(preview="none"))
        by_name = await generation.outputs.file(run.result.task_id, "1.png")
        by_index = await generation.outputs.file(run.result.task_id, "1")
        with pytest.raises(CallFailed, match=r"has no output '7'; outputs: 0.png, 1.png"):
            await generation.outputs.file(run.result.task_id, "7")
    assert by_name == by_index and by_name.startswith(b"\x89PNG")
