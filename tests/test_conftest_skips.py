"""tests/conftest.py's unwrapping: a skip or a failure raised inside a task group (a missing Chromium,
PostgreSQL or HAProxy, found by a helper the test runs concurrently) shows its reason, not "unhandled
errors in a TaskGroup"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

INNER = """
import anyio
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_skipped_inside_a_task_group():
    async def helper():
        pytest.skip("no Chromium here: apt-get install chromium")

    async with anyio.create_task_group() as group:
        group.start_soon(helper)


async def test_failed_inside_a_task_group():
    async def helper():
        pytest.fail("no PostgreSQL here under CI: apt-get install postgresql")

    async with anyio.create_task_group() as group:
        group.start_soon(helper)
"""


def test_a_skip_or_a_failure_inside_a_task_group_says_its_reason(tmp_path: Path) -> None:
    test = tmp_path / "test_inner.py"
    test.write_text(INNER)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-rsf", "-q", "-p", "no:cacheprovider", str(test)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    summary = done.stdout.split("short test summary info")[-1]
    assert "SKIPPED" in summary and "no Chromium here: apt-get install chromium" in summary, done.stdout
    assert "FAILED" in summary and "unhandled errors in a TaskGroup" not in summary, done.stdout
    assert "Failed: no PostgreSQL here under CI" in done.stdout
    assert "1 failed, 1 skipped" in summary
