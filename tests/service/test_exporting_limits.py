"""export_panorama's bound on the server's memory: at most EXPORTS_AT_ONCE exports are made at once
however many calls arrive together, one that cannot get its turn within budgets.EXPORT_WAIT is refused
as busy and writes nothing, and the memory an export freed is handed back where the C library can.

The heavy section is observed by wrapping media/exports.py's `files` (what each export runs in its
worker thread, inside its turn); the wrapper holds every export there until the test lets them go, so
nothing depends on how fast the machine is."""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.helpers import connect, text
from tests.media.test_exports import compass_task
from wiro_mcp import budgets
from wiro_mcp.media import exports
from wiro_mcp.sandbox import Sandbox
from wiro_mcp.service import exporting

pytestmark = pytest.mark.anyio
SIZES = range(64, 70)  # one face size per call: each call's files have names of their own


class Held:
    """Exports counted in their heavy section, and held there until `go` is set."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.go = threading.Event()
        self._lock = threading.Lock()
        self._files = exports.files

    def files(self, *args: Any) -> Iterator[exports.ExportFile]:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            self.go.wait(timeout=60)
            yield from self._files(*args)
        finally:
            with self._lock:
                self.inside -= 1


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    watched = Held()
    monkeypatch.setattr(exports, "files", watched.files)
    try:
        yield watched
    finally:
        watched.go.set()  # a failed test must not leave worker threads waiting


async def export_all(client: Any, task_id: str, results: dict[int, Any]) -> None:
    async def one(size: int) -> None:
        results[size] = await client.call_tool("export_panorama", {"task_id": task_id, "face_size": size})

    async with anyio.create_task_group() as group:
        for size in SIZES:
            group.start_soon(one, size)


def written(out: Path, size: int) -> list[str]:
    return sorted(p.name for p in out.rglob(f"skybox{size}_*.png"))


async def export_all_held(
    sandbox: Sandbox, out: Path, held: Held, until: Callable[[dict[int, Any]], bool]
) -> tuple[dict[int, Any], list[int]]:
    """Every size exported at once against a compass task; the held turns are let go once `until` says
    so. The results, and which sizes had answered by then."""
    results: dict[int, Any] = {}
    async with connect(sandbox, WIRO_MCP_OUTPUT_DIR=str(out)) as client:
        task_id = await compass_task(client)
        async with anyio.create_task_group() as group:
            group.start_soon(export_all, client, task_id, results)
            with anyio.fail_after(30):
                while not until(results):
                    await anyio.sleep(0.01)
            answered = sorted(results)
            held.go.set()
    return results, answered


async def test_six_exports_at_once_are_made_two_at_a_time_and_all_finish(
    sandbox: Sandbox, tmp_path: Path, held: Held
) -> None:
    results, _ = await export_all_held(sandbox, tmp_path, held, lambda _: held.inside >= exporting.EXPORTS_AT_ONCE)
    assert held.most == exporting.EXPORTS_AT_ONCE == 2
    assert [size for size in SIZES if results[size].is_error] == [], [text(r) for r in results.values()]
    assert all(len(written(tmp_path, size)) == 6 for size in SIZES)


async def test_an_export_that_waits_past_its_budget_is_refused_as_busy_and_writes_nothing(
    sandbox: Sandbox, tmp_path: Path, held: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budgets, "EXPORT_WAIT", 0.5)
    # Two hold their turns until let go: the other four can only come back refused.
    refused = len(SIZES) - exporting.EXPORTS_AT_ONCE
    results, busy = await export_all_held(sandbox, tmp_path, held, lambda answers: len(answers) >= refused)
    assert held.most == 2
    for size in busy:
        said = text(results[size])
        assert results[size].is_error and "busy" in said and "at most 2 at once" in said, said
        assert "waited 0.5 s" in said and "nothing was written" in said and "again" in said
        assert written(tmp_path, size) == []
    made = [size for size in SIZES if size not in busy]
    assert len(made) == 2 and all(not results[size].is_error for size in made)
    assert all(len(written(tmp_path, size)) == 6 for size in made)


@pytest.fixture
def fresh_lookup() -> Iterator[None]:
    exporting._glibc.cache_clear()
    yield
    exporting._glibc.cache_clear()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim and mallopt")
def test_memory_is_handed_back_through_glibc(fresh_lookup: None) -> None:
    assert exporting._glibc() is not None
    exporting._give_back_memory()


def test_where_the_c_library_is_not_glibc_nothing_is_done(monkeypatch: pytest.MonkeyPatch, fresh_lookup: None) -> None:
    monkeypatch.setattr("sys.platform", "darwin")
    assert exporting._glibc() is None
    exporting._give_back_memory()  # no-ops, not errors
    exporting._keep_memory_returnable.__wrapped__()
