"""`make bench`'s figures for many machines: the added latency of a claim on PostgreSQL over SQLite, and
calls per second through 1 and 3 stateless replicas behind HAProxy on one PostgreSQL (the tests'
own cluster and balancer, tests/postgres.py and tests/replicas.py)."""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' PostgreSQL and HAProxy helpers

from tests.postgres import cluster
from tests.replicas import fleet
from wiro_mcp.journal.records import RunRecord
from wiro_mcp.journal.store import JournalStore

API = "https://api.bench/v1"
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def claim_times(store: JournalStore, runs: int) -> list[float]:
    """Seconds per claim (a budget set, so each one reads the day's spend in its transaction)."""
    times = []
    for n in range(runs):
        record = RunRecord(f"bench-{n}", "acme/m", {"inputs": {"prompt": str(n)}}, prompt=str(n), estimate=0.001)
        start = time.perf_counter()
        store.claim(record, budget=1e6)
        times.append(time.perf_counter() - start)
    return times


def claim_latency(runs: int) -> dict[str, float]:
    """p50 and p99 of a claim on SQLite (the state folder's file) and on PostgreSQL (loopback)."""
    with tempfile.TemporaryDirectory() as folder, cluster() as pg:
        sqlite = JournalStore.open(Path(folder), api=API)
        shared = JournalStore.open(Path(folder), api=API, database_url=pg.url)
        try:
            claim_times(sqlite, 20), claim_times(shared, 20)  # warm: connections, caches
            lite, post = claim_times(sqlite, runs), claim_times(shared, runs)
        finally:
            sqlite.close()
            shared.close()
    return {
        "sqlite_p50": percentile(lite, 0.5),
        "sqlite_p99": percentile(lite, 0.99),
        "pg_p50": percentile(post, 0.5),
        "pg_p99": percentile(post, 0.99),
    }


async def hammer(url: str, body: Callable[[], dict[str, Any]], seconds: float, workers: int) -> float:
    """Calls per second answered (without an error) to `workers` concurrent raw JSON-RPC POSTs of `body()`."""
    done = 0
    stop = time.monotonic() + seconds

    async def worker(http: httpx2.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < stop:
            answer = await http.post(url, headers=HEADERS, json=body())
            if answer.status_code == 200 and '"isError":true' not in answer.text:
                done += 1

    limits = httpx2.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx2.AsyncClient(timeout=30, limits=limits) as http, anyio.create_task_group() as group:
        for _ in range(workers):
            group.start_soon(worker, http)
    return done / seconds


def call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


async def throughput(env: dict[str, str], seconds: float, workers: int) -> dict[str, float]:
    """get_task and generate calls per second through 1 and through 3 replicas (each generate a new
    prompt: a claim, a Run and a start written, every time)."""
    figures: dict[str, float] = {}
    prompts = itertools.count()
    read = call("get_task", {"task_id": "1001", "preview": False})
    with cluster() as pg:
        for count in (1, 3):
            with fleet(env, pg.fresh_database(f"bench_{count}"), count=count) as replicas:
                async with httpx2.AsyncClient(timeout=30) as http:  # task 1001, the one get_task reads
                    await http.post(replicas.url, headers=HEADERS, json=call("generate_image", {"prompt": "seed"}))
                await hammer(replicas.url, lambda: read, 1.0, workers)  # warm every replica
                figures[f"get_task_{count}"] = await hammer(replicas.url, lambda: read, seconds, workers)

                def distinct() -> dict[str, Any]:
                    return call("generate_image", {"prompt": f"p{next(prompts)}", "wait_seconds": 0, "preview": False})

                figures[f"generate_{count}"] = await hammer(replicas.url, distinct, seconds, workers)
    return figures
