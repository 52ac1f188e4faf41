from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from wiro_mcp.client import WiroClient
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, Sandbox, SandboxConfig


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# Short lifecycles keep the suite quick; a test that needs a longer task builds its own sandbox.
FAST = SandboxConfig(queue_seconds=0.15, run_seconds=0.45)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(queue_seconds=FAST.queue_seconds, run_seconds=FAST.run_seconds)) as box:
        yield box


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[WiroClient]:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url) as c:
        yield c
