"""The sandbox behaves like Wiro: auth, lifecycle, outputs, kill and cancel."""

from __future__ import annotations

import io
from typing import Any

import httpx2
import pytest
from PIL import Image

from wiro_mcp.errors import ConcurrencyLimitError, InsufficientBalanceError
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox, SandboxConfig
from wiro_mcp.sandbox.store import ManualClock
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.protocol import STATUS_ORDER
from wiro_mcp.wiro.refs import TaskRef

pytestmark = pytest.mark.anyio

PANORAMA = "tencent/hunyuanworld-text-to-panorama"
SRPO = "tencent/hunyuan-flux-srpo"


@pytest.fixture
async def held_client(held: Sandbox) -> Any:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=held.base_url) as c:
        yield c


async def test_lifecycle_walks_every_status_in_order(held: Sandbox, held_client: WiroClient) -> None:
    run = await held_client.run(PANORAMA, {"prompt": "dunes", "width": 512, "height": 256})
    clock = held.config.clock
    assert isinstance(clock, ManualClock)
    seen: list[str] = []
    for _ in range(30):
        task = await held_client.task_detail(TaskRef(task_id=run.task_id))
        seen.append(task.status)
        if task.status == "task_postprocess_end":
            break
        clock.advance(0.5)
    assert seen[-1] == "task_postprocess_end"
    order = [STATUS_ORDER.index(s) for s in seen]
    assert order == sorted(order), seen
    assert set(seen) == set(STATUS_ORDER), "every status is observable"
    assert task.total_cost and task.total_cost > 0
    assert task.elapsed_seconds == pytest.approx(10)


async def finished(box: Sandbox, client: WiroClient, task_id: str) -> Any:
    box.advance_to(task_id, "task_postprocess_end")
    return await client.task_detail(TaskRef(task_id=task_id))


async def test_outputs_are_pngs_of_the_requested_size(held: Sandbox, held_client: WiroClient) -> None:
    run = await held_client.run(SRPO, {"prompt": "a fox", "samples": 2, "width": 512, "height": 384})
    task = await finished(held, held_client, run.task_id)
    assert [o.name for o in task.outputs] == ["0.png", "1.png"]
    for output in task.outputs:
        data = (await held_client.http.get(output.url)).content
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            assert image.size == (512, 384)


async def test_panorama_output_is_two_to_one_png(held: Sandbox, held_client: WiroClient) -> None:
    run = await held_client.run(PANORAMA, {"prompt": "a canyon", "width": 1024, "height": 512})
    task = await finished(held, held_client, run.task_id)
    data = (await held_client.http.get(task.outputs[0].url)).content
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1024, 512)
        # The left and right edges join: columns just inside each edge (x=0 carries a grid line) match.
        rgb = image.convert("RGB")
        rows = range(0, 512, 4)
        left = [rgb.getpixel((2, y)) for y in rows]
        right = [rgb.getpixel((1021, y)) for y in rows]
        gaps = [colour_gap(a, b) for a, b in zip(left, right, strict=True)]
        assert sorted(gaps)[len(gaps) // 2] < 60, "the median colour gap across the seam is small"


async def test_failed_and_errored_tasks(held: Sandbox, held_client: WiroClient) -> None:
    failed = await held_client.run(SRPO, {"prompt": "[sandbox:fail] a cat"})
    held.inject("task_error", "Run")
    errored = await held_client.run(SRPO, {"prompt": "a dog"})
    f = await finished(held, held_client, failed.task_id)
    e = await held_client.task_detail(TaskRef(task_id=errored.task_id))
    assert (f.status, f.pexit, f.state.value) == ("task_postprocess_end", "1", "failed")
    assert "out of memory" in (f.debug_error or "")
    assert f.total_cost == 0, "failed runs are not billed"
    assert (e.status, e.state.value) == ("task_error", "failed")
    assert e.outputs == []


async def test_concurrency_limit() -> None:
    config = SandboxConfig(queue_seconds=0.2, run_seconds=2, max_concurrent=1, api_secret=None)
    with Sandbox(config) as box:
        async with WiroClient(SANDBOX_API_KEY, None, base_url=box.base_url) as c:
            await c.run(SRPO, {"prompt": "one"})
            with pytest.raises(ConcurrencyLimitError):
                await c.run(SRPO, {"prompt": "two"})


async def test_unsigned_request_to_a_signed_sandbox_is_refused(sandbox: Sandbox) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(
            f"{sandbox.base_url}/Task/Detail", json={"taskid": "1"}, headers={"x-api-key": SANDBOX_API_KEY}
        )
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == 98


async def test_control_api_records_requests_and_injects_faults(client: WiroClient, sandbox: Sandbox) -> None:
    async with httpx2.AsyncClient(base_url=sandbox.origin) as http:
        await http.post("/_sandbox/faults", json={"kind": "insufficient_balance", "endpoint": "Run"})
        with pytest.raises(InsufficientBalanceError):
            await client.run(SRPO, {"prompt": "x"})
        log = (await http.get("/_sandbox/requests")).json()
    assert log[-1]["endpoint"] == f"Run/{SRPO}"
    assert log[-1]["fields"]["prompt"] == "x"


def colour_gap(a: Any, b: Any) -> int:
    return sum(abs(int(p) - int(q)) for p, q in zip(a, b, strict=True))
