"""The viewer tests' sandbox: quick tasks, plain pictures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wiro_mcp.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(queue_seconds=0.05, run_seconds=0.2, grain=False)) as sandbox:
        yield sandbox
