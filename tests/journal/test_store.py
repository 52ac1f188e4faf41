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

from wiro_mcp import budgets
from wiro_mcp.budgets import CLAIM_TTL
from wiro_mcp.journal import handles
from wiro_mcp.journal import schema as journal_schema
from wiro_mcp.journal.access import Journal
from wiro_mcp.journal.handles import HandleRow
from wiro_mcp.journal.records import Claim, Claimed, InDoubt, Joined, JournalError, Note, OverBudget, RunRecord, Waiting
from wiro_mcp.journal.rows import DAY
from wiro_mcp.journal.store import FILE_NAME, JournalStore
from wiro_mcp.wiro.answers import Task

API = "https://api.example/v1"


def journal(folder: Path, api: str = API) -> JournalStore:
    return JournalStore.open(folder, api=api)


def record(key: str, *, estimate: float | None = 0.04, work: dict[str, float] | None = None) -> RunRecord:
    return RunRecord(key, "acme/m", {"inputs": {"prompt": key}}, prompt=key, estimate=estimate, work=work or {})


def accept(_task_id: str, reported: float | None, _estimate: float | None) -> float | None:
    return reported


def claimed(claim: Claim) -> int:
    """The row of a claim that must be ours."""
    assert isinstance(claim, Claimed), claim
    return claim.row


def start(j: JournalStore, key: str, task_id: str, *, estimate: float = 0.04, budget: float | None = None) -> int:
    claim = j.claim(record(key, estimate=estimate), budget=budget)
    row = claimed(claim)
    j.started(record(key, estimate=estimate), row, task_id, f"token-{task_id}")
    return row


def test_an_identical_call_joins_the_task_in_flight_until_it_ends(tmp_path: Path) -> None:
    j = journal(tmp_path)
    start(j, "k", "1001")
    joined = j.claim(record("k"), budget=None)
    assert isinstance(joined, Joined) and joined.task_id == "1001" and joined.entry.token == "token-1001"
    assert isinstance(j.claim(record("k"), budget=None, join=False), Claimed)
    j.write_notes({"1001": Note("succeeded", "task_postprocess_end", 0.039)}, accept)
    fresh = j.claim(record("other"), budget=None)
    assert isinstance(fresh, Claimed)
    after = journal(tmp_path).claim(record("k"), budget=None)
    assert isinstance(after, Waiting), "the join=False claim above is still starting"


def test_a_claim_still_starting_makes_an_identical_call_wait_and_one_whose_process_is_gone_is_in_doubt(
    tmp_path: Path,
) -> None:
    j = journal(tmp_path)
    first = j.claim(record("k", estimate=None), budget=None)
    row = claimed(first)
    second = journal(tmp_path).claim(record("k", estimate=None), budget=None)
    assert isinstance(second, Waiting) and second.entry.row == row
    j.abandon(row)
    assert isinstance(journal(tmp_path).claim(record("k", estimate=None), budget=None), Claimed)
    # A claim written by a process that no longer runs, or too long ago, may have started a task nobody
    # recorded: an identical call must find out first.
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE tasks SET claimed_by = ? WHERE state = 'starting'", (f"{os.uname().nodename}:999999999",))
    doubt = journal(tmp_path).claim(record("k", estimate=None), budget=None)
    assert isinstance(doubt, InDoubt)
    late = time.time() + CLAIM_TTL + 1
    assert isinstance(j.claim(record("k", estimate=None), budget=None, now=late), InDoubt)
    assert [e.row for e in j.doubtful()] == [doubt.entry.row]
    assert isinstance(j.claim(record("k", estimate=None), budget=None, join=False), Claimed), "allow_duplicate"


def test_a_claim_in_doubt_is_adopted_by_the_task_wiro_shows_or_dropped(tmp_path: Path) -> None:
    j = journal(tmp_path)
    claim = j.claim(record("k"), budget=None)
    row = claimed(claim)
    j.doubt(row, "Wiro's answer to its Run was lost: a timeout")
    [entry] = j.doubtful()
    assert entry.doubt is not None and "answer" in entry.doubt and entry.claimed_by is None
    assert j.spend().pending == pytest.approx(0.04), "a claim in doubt still counts at its estimate"
    j.adopt(row, "1001", "tok", "running", "task_start")
    adopted = j.find(task_id="1001")
    assert adopted is not None and adopted.row == row and adopted.state == "running" and not j.doubtful()
    assert isinstance(j.claim(record("k"), budget=None), Joined), "an identical call now joins it"
    other = j.claim(record("k2"), budget=None)
    other_row = claimed(other)
    j.doubt(other_row, "lost")
    j.adopt(other_row, "1001", "tok", "running", "task_start")  # a task another row already has
    assert j.entry(other_row) is None and j.find(task_id="1001") == adopted
    third = j.claim(record("k3"), budget=None)
    third_row = claimed(third)
    j.abandon(third_row)
    assert j.entry(third_row) is None


def test_a_start_whose_claim_is_gone_is_recorded_all_the_same(tmp_path: Path) -> None:
    j = journal(tmp_path)
    claim = j.claim(record("k"), budget=None)
    row = claimed(claim)
    j.abandon(row)  # e.g. another process took the claim for dead after a very slow Run
    j.started(record("k"), row, "1001", "tok")
    j.started(record("memory"), None, "1002", None)  # a run that had no claim row at all
    j.started(record("memory"), None, "1002", None)  # written twice (a retry): one row
    assert {e.task_id for e in j.recent(10)} == {"1001", "1002"}
    found = j.find(task_id="1001")
    assert found is not None and found.state == "queued" and found.estimate_usd == pytest.approx(0.04)


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
        j.write_notes({task_id: Note(state, "s", cost)}, accept)
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
        results.append(isinstance(j.claim(record(f"key-{n}", estimate=0.3), budget=1.0), Claimed))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 3, "3 × $0.30 fits in $1.00, a fourth does not"
    over = journal(tmp_path).claim(record("more", estimate=0.3), budget=1.0)
    assert isinstance(over, OverBudget) and over.spend.total == pytest.approx(0.9)


def test_recent_tasks_newest_first_with_filters(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for n in range(5):
        start(j, f"k{n}", str(1000 + n))
    j.write_notes({"1001": Note("succeeded", "s", 0.01), "1003": Note("failed", "s", 0.0)}, accept)
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
from wiro_mcp.journal.store import JournalStore
from wiro_mcp.journal.records import RunRecord
j = JournalStore.open(Path(sys.argv[1]), api="https://api.example/v1")
n = 0
while True:
    n += 1
    run = RunRecord(f"key-{n}", "acme/m", {"inputs": {"n": n}}, prompt="p" * 2000, estimate=0.01)
    claim = j.claim(run, budget=None)
    j.started(run, claim.row, str(n), f"t{n}")  # always a Claimed: every key is new
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
    records = Journal(tmp_path, api=API, cost_check=accept)
    j = await records.store()
    start(j, "k", "1001")
    records.note(Task(id="1001", status="task_cancel"))
    entered, release = threading.Event(), threading.Event()
    write = j.write_notes

    def slow_flush(pending: Any, check: Any) -> None:
        entered.set()
        release.wait(10)
        write(pending, check)

    j.write_notes = slow_flush  # type: ignore[method-assign]
    async with anyio.create_task_group() as group:
        group.start_soon(records.flush)  # the background batch, stuck in its thread
        await anyio.to_thread.run_sync(entered.wait, 10)
        threading.Timer(0.2, release.set).start()
        await records.flush()
        look = j.look("k")
        assert look.in_flight is None, "the cancelled task is written before the foreground flush returns"
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
    monkeypatch.setattr(budgets, "LOCK_WAIT", 0.3)
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


def test_a_journal_from_the_previous_version_is_migrated_with_its_rows(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:  # what wiro-mcp wrote before versions (issue 13)
        db.executescript(journal_schema.MIGRATIONS[1])
        db.execute(
            "INSERT INTO tasks (api, task_id, token, model, arguments, call_key, prompt, created, updated, state,"
            " estimate_usd, cost_usd)"
            " VALUES (?, '900', 't', 'acme/m', '{}', 'k', 'old', ?, ?, 'succeeded', 0.04, 0.05)",
            (API, time.time(), time.time()),
        )
    j = journal(tmp_path)
    assert j.problem is None
    old = j.find(task_id="900")
    assert old is not None and old.prompt == "old" and old.work == {} and old.doubt is None
    assert j.spend().billed == pytest.approx(0.05)
    assert j.bills("acme/m", since=0) == (), "a run from before the work was recorded teaches no floor"
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (journal_schema.VERSION,)
    j.close()
    assert journal(tmp_path).find(task_id="900") == old, "opened again: nothing migrates twice"


def test_a_version_2_journal_gains_the_mcp_tasks_table_and_keeps_its_rows(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:  # what wiro-mcp wrote before MCP Tasks (issue 18)
        db.executescript(journal_schema.MIGRATIONS[1] + journal_schema.MIGRATIONS[2])
        db.execute("PRAGMA user_version = 2")
        db.execute(
            "INSERT INTO tasks (api, task_id, token, model, arguments, call_key, prompt, created, updated, state,"
            " work, seconds) VALUES (?, '901', 't', 'acme/m', '{}', 'k', 'v2', ?, ?, 'succeeded', '{}', 2.5)",
            (API, time.time(), time.time()),
        )
    j = journal(tmp_path)
    row = HandleRow("h1", "local", "901", "t", "generate_image", {"preview": "none"}, None, None, time.time(), None)
    j.writing(handles.keep, row)
    assert j.reading(handles.find, "h1") == row
    found = j.find(task_id="901")
    assert found is not None and found.prompt == "v2"
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)


def test_a_journal_from_a_newer_wiro_mcp_is_left_alone(tmp_path: Path) -> None:
    journal(tmp_path).close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute(f"PRAGMA user_version = {journal_schema.VERSION + 1}")
    j = journal(tmp_path)
    assert j.path is None and j.problem is not None and "newer wiro-mcp" in j.problem


def test_a_full_disk_or_a_lock_held_past_the_wait_is_a_journal_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budgets, "LOCK_WAIT", 0.2)
    j = journal(tmp_path)
    start(j, "k0", "1")
    holder = sqlite3.connect(tmp_path / FILE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(JournalError) as locked:
            j.claim(record("k1"), budget=None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked" in locked.value.cause and locked.value.where == str(tmp_path / FILE_NAME)
    assert j.find(task_id="1") is not None, "reads never wait for a writer"
    # SQLite's own "disk is full", as a filesystem without room gives it: the file may not grow.
    pages = j._db.execute("PRAGMA page_count").fetchone()[0]
    j._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(JournalError) as full:
        for n in range(200):
            j.claim(RunRecord(f"big-{n}", "acme/m", {"inputs": {"prompt": "x" * 4000}}), budget=None)
    assert "full" in full.value.cause and str(tmp_path) in str(full.value)
    assert j.spend().runs >= 1, "still readable"


def test_a_cost_the_check_does_not_believe_counts_at_the_estimate_and_teaches_nothing(tmp_path: Path) -> None:
    j = journal(tmp_path)
    for task_id in ("1", "2"):
        claim = j.claim(record(f"k{task_id}", estimate=0.04, work={"steps": 10}), budget=None)
        j.started(record(f"k{task_id}", estimate=0.04, work={"steps": 10}), claimed(claim), task_id, None)
    seen: list[tuple[str, float | None, float | None]] = []

    def believe_positive(task_id: str, reported: float | None, estimate: float | None) -> float | None:
        seen.append((task_id, reported, estimate))
        return reported if reported is not None and reported >= 0 else None

    j.write_notes({"1": Note("succeeded", "s", -0.94, 3.0), "2": Note("succeeded", "s", 0.05, 2.5)}, believe_positive)
    assert sorted(seen) == [("1", -0.94, 0.04), ("2", 0.05, 0.04)], "the check sees each task's estimate"
    assert j.spend().billed == pytest.approx(0.05) and j.spend().pending == pytest.approx(0.04)
    [bill] = j.bills("acme/m", since=0)
    assert (bill.task_id, bill.cost, bill.seconds, dict(bill.work)) == ("2", 0.05, 2.5, {"steps": 10.0})
    assert j.bills("acme/m", since=time.time() + 10) == (), "older bills are left out"
    assert j.bills("other/m", since=0) == ()
