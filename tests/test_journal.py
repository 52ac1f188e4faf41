"""The task journal on its own: claims, joins, spend, and what it does when the disk will not help."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from wiro_mcp import journal as journal_module
from wiro_mcp.journal import CLAIM_TTL, DAY, FILE_NAME, Journal
from wiro_mcp.models import Task
from wiro_mcp.records import Records

API = "https://api.example/v1"


def journal(folder: Path, api: str = API) -> Journal:
    return Journal.open(folder, api=api)


def start(j: Journal, key: str, task_id: str, *, estimate: float = 0.04, budget: float | None = None) -> int:
    claim = j.claim(
        key, model="acme/m", arguments={"inputs": {"prompt": key}}, prompt=key, estimate=estimate, budget=budget
    )
    assert claim.row is not None, claim
    j.started(claim.row, task_id, f"token-{task_id}")
    return claim.row


def test_an_identical_call_joins_the_task_in_flight_until_it_ends(tmp_path: Path) -> None:
    j = journal(tmp_path)
    start(j, "k", "1001")
    joined = j.claim("k", model="acme/m", arguments={}, prompt=None, estimate=0.04, budget=None)
    assert joined.joined is not None and joined.joined.task_id == "1001" and joined.joined.token == "token-1001"
    assert j.claim("k", model="acme/m", arguments={}, prompt=None, estimate=0.04, budget=None, join=False).row
    j.flush({"1001": ("succeeded", "task_postprocess_end", 0.039)})
    fresh = j.claim("other", model="acme/m", arguments={}, prompt=None, estimate=0.04, budget=None)
    assert fresh.row is not None
    after = journal(tmp_path).claim("k", model="acme/m", arguments={}, prompt=None, estimate=0.04, budget=None)
    assert after.joined is None and after.waiting, "the join=False claim above is still starting"


def test_a_claim_still_starting_makes_an_identical_call_wait_unless_its_process_is_gone(tmp_path: Path) -> None:
    j = journal(tmp_path)
    first = j.claim("k", model="acme/m", arguments={}, prompt=None, estimate=None, budget=None)
    assert first.row is not None
    second = journal(tmp_path).claim("k", model="acme/m", arguments={}, prompt=None, estimate=None, budget=None)
    assert second.waiting
    j.abandon(first.row)
    assert journal(tmp_path).claim("k", model="acme/m", arguments={}, prompt=None, estimate=None, budget=None).row
    # A claim written by a process that no longer runs, or too long ago, holds nothing back.
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE tasks SET claimed_by = ? WHERE state = 'starting'", (f"{os.uname().nodename}:999999999",))
    assert journal(tmp_path).claim("k", model="acme/m", arguments={}, prompt=None, estimate=None, budget=None).row
    late = time.time() + CLAIM_TTL + 1
    assert j.claim("k", model="acme/m", arguments={}, prompt=None, estimate=None, budget=None, now=late).row


def test_spend_counts_bills_and_the_estimates_of_runs_not_finished(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for task_id, state, cost in (
        ("1", "succeeded", 0.05),  # billed
        ("2", "failed", None),  # failed runs are free
        ("3", "cancelled", 0.01),  # a cancelled run pays for its seconds
        ("4", "running", None),  # its estimate, 0.04
        ("5", "succeeded", None),  # its cost never came: the estimate
    ):
        start(j, f"k{task_id}", task_id)
        j.flush({task_id: (state, "s", cost)})
    start(j, "old", "6")
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE tasks SET created = created - ?, cost_usd = 5 WHERE task_id = '6'", (DAY + 60,))
    spend = j.spend()
    assert spend.billed == pytest.approx(0.06) and spend.pending == pytest.approx(0.08) and spend.runs == 5


def test_the_daily_budget_is_checked_in_the_claim_so_concurrent_calls_cannot_both_fit(tmp_path: Path) -> None:
    journal(tmp_path)  # create the file first
    results: list[object] = []
    gate = threading.Barrier(8)

    def call(n: int) -> None:
        j = journal(tmp_path)  # one connection each, as separate processes would have
        gate.wait()
        results.append(
            j.claim(f"key-{n}", model="acme/m", arguments={}, prompt=None, estimate=0.3, budget=1.0).row is not None
        )

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 3, "3 × $0.30 fits in $1.00, a fourth does not"
    over = journal(tmp_path).claim("more", model="acme/m", arguments={}, prompt=None, estimate=0.3, budget=1.0)
    assert over.over_budget is not None and over.over_budget.total == pytest.approx(0.9)


def test_recent_tasks_newest_first_with_filters(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for n in range(5):
        start(j, f"k{n}", str(1000 + n))
    j.flush({"1001": ("succeeded", "s", 0.01), "1003": ("failed", "s", 0.0)})
    assert [e.task_id for e in j.recent(3)] == ["1004", "1003", "1002"]
    assert [e.task_id for e in j.recent(10, state="succeeded")] == ["1001"]
    assert j.recent(10, model="other/model") == []
    assert journal(tmp_path, api="https://elsewhere/v1").recent(10) == [], "each API has its own tasks"
    found = j.find(token="token-1002")
    assert found is not None and found.task_id == "1002" and found.model == "acme/m" and found.prompt == "k2"
    assert found.arguments == {"inputs": {"prompt": "k2"}}


@pytest.mark.parametrize("damage", ["a file where the folder should be", "a corrupt database"])
def test_a_journal_that_cannot_be_used_is_said_once_and_replaced_by_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    # (Tests run as root here, which ignores a read-only folder's permissions: these two fail the same way.)
    folder = tmp_path / "state"
    if damage.startswith("a file"):
        folder.write_text("")
    else:
        folder.mkdir()
        (folder / FILE_NAME).write_bytes(b"this is not an SQLite database" * 100)
    with caplog.at_level(logging.WARNING, logger="wiro_mcp"):
        j = journal(folder)
        start(j, "k", "1001")
        assert j.find(task_id="1001") is not None, "it still remembers, in memory"
    assert j.path is None and j.problem
    assert len([r for r in caplog.records if "task journal" in r.getMessage()]) == 1


WRITER = """
import sys
from pathlib import Path
from wiro_mcp.journal import Journal
j = Journal.open(Path(sys.argv[1]), api="https://api.example/v1")
n = 0
while True:
    n += 1
    claim = j.claim(f"key-{n}", model="acme/m", arguments={"inputs": {"n": n}}, prompt="p" * 2000, estimate=0.01,
                    budget=None)
    j.started(claim.row, str(n), f"t{n}")
    print(n, flush=True)
"""


def test_a_writer_killed_mid_write_loses_no_committed_record(tmp_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    committed = [writer.stdout.readline().strip() for _ in range(200)]
    writer.send_signal(signal.SIGKILL)  # mid-transaction, most likely: it writes as fast as it can
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    reopened = journal(tmp_path)
    known = {e.task_id for e in reopened.recent(10_000)}
    assert set(committed) <= known, "every task whose commit returned is there"


@pytest.mark.anyio
async def test_a_flush_waits_for_the_batch_a_background_writer_has_taken(tmp_path: Path) -> None:
    """The identical-call check flushes, then asks the journal: a state the background writer has taken
    but not yet written must not leave the ended task looking in flight (CI once joined it)."""
    records = Records(tmp_path, api=API)
    j = await records.journal()
    start(j, "k", "1001")
    records.note(Task(id="1001", status="task_cancel"))
    entered, release = threading.Event(), threading.Event()
    write = j.flush

    def slow_flush(pending: Any) -> None:
        entered.set()
        release.wait(10)
        write(pending)

    j.flush = slow_flush  # type: ignore[method-assign]
    async with anyio.create_task_group() as group:
        group.start_soon(records.flush)  # the background batch, stuck in its thread
        await anyio.to_thread.run_sync(entered.wait, 10)
        threading.Timer(0.2, release.set).start()
        await records.flush()
        assert j.look("k")[0] is None, "the cancelled task is written before the foreground flush returns"
    await records.close()


def test_servers_opening_a_new_journal_together_all_get_the_file(tmp_path: Path) -> None:
    """Switching a new file to WAL answers "locked" at once to all but one opener, without SQLite's busy
    wait: a server that took that as final would keep its tasks in memory and miss the others' (CI saw
    two server processes start two tasks for one call)."""
    for trial in range(40):
        folder = tmp_path / str(trial)
        together = threading.Barrier(4)
        problems: list[str | None] = []

        def open_it(
            folder: Path = folder, together: threading.Barrier = together, problems: list[str | None] = problems
        ) -> None:
            together.wait()
            opened = journal(folder)
            problems.append(opened.problem)
            opened.close()

        openers = [threading.Thread(target=open_it) for _ in range(4)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
        assert problems == [None] * 4, f"trial {trial}: {problems}"


def test_a_journal_locked_for_longer_than_the_open_wait_is_used_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    journal(tmp_path).close()
    monkeypatch.setattr(journal_module, "OPEN_SECONDS", 0.3)
    holder = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")  # back out of WAL: the next open must switch again
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            opened = journal(tmp_path)
            waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert opened.path is None and opened.problem is not None and "locked" in opened.problem
    assert waited >= 0.3, "it waited for the other process first"
    assert any("cannot be used" in r.getMessage() for r in caplog.records)
