from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import Cluster, cluster
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, ManualClock, Sandbox, SandboxConfig
from wiro_mcp.wiro.client import WiroClient


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the imports and the collection built lives as long as the run: frozen, it is left out of
    every later garbage collection instead of being walked again by each full one."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state folder (journal, price cache): none writes into the real one, and
    servers a test starts (in-process or as processes) share it, as on one machine."""
    folder = tmp_path / "state"
    monkeypatch.setenv("WIRO_MCP_STATE_DIR", str(folder))
    return folder


# Short lifecycles and plain pictures keep the suite quick; a test that needs a task to stand still
# uses `held`, one about file sizes uses `photo`.
FAST = SandboxConfig(queue_seconds=0.15, run_seconds=0.45, grain=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(queue_seconds=FAST.queue_seconds, run_seconds=FAST.run_seconds, grain=False)) as box:
        yield box


@pytest.fixture
def photo() -> Iterator[Sandbox]:
    """Outputs with photo-like grain, so PNG sizes (and preview budgets) are realistic."""
    with Sandbox(SandboxConfig(queue_seconds=FAST.queue_seconds, run_seconds=FAST.run_seconds)) as box:
        yield box


@pytest.fixture
def held() -> Iterator[Sandbox]:
    """A sandbox on a ManualClock: tasks stay in a status until the test moves time on
    (`held.advance_to(task_id, status)`). Queue 4 s (1 s per queue status), run 10 s."""
    with Sandbox(SandboxConfig(queue_seconds=4, run_seconds=10, clock=ManualClock(), grain=False)) as box:
        yield box


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[WiroClient]:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url) as c:
        yield c


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One PostgreSQL cluster per test worker (tests take a database each: `database_url`)."""
    with cluster() as made:
        yield made


@pytest.fixture
def database_url(postgres: Cluster) -> str:
    """A new, empty database of its own for one test."""
    return postgres.fresh_database(f"test_{uuid.uuid4().hex[:16]}")


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """A skip or a failure raised inside a task group (a missing Chromium, PostgreSQL or HAProxy, found
    by a helper the test runs concurrently) reaches pytest wrapped in ExceptionGroups, which it reports
    as "unhandled errors in a TaskGroup": unwrapped, its reason shows (and a skip is a skip)."""
    try:
        return (yield)
    except BaseExceptionGroup as group:
        outcomes = [leaf for leaf in _leaves(group) if isinstance(leaf, pytest.skip.Exception | pytest.fail.Exception)]
        if outcomes and len(outcomes) == len(_leaves(group)):
            raise outcomes[0] from None
        raise
