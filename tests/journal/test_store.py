"""The task journal on its own: claims, joins, spend, and what it does when the disk will not help."""

from __future__ import annotations

import logging
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.journal.helpers import accept, record, start
from wiro_mcp import budgets
from wiro_mcp.journal import handle_rows
from wiro_mcp.journal import schema as journal_schema
from wiro_mcp.journal.access import Journal
from wiro_mcp.journal.handle_rows import HandleRow
from wiro_mcp.journal.records import JournalError, RunRecord
from wiro_mcp.journal.store import FILE_NAME, JournalStore
from wiro_mcp.wiro.answers import Task

API = "https://api.example/v1"


def journal(folder: Path, api: str = API) -> JournalStore:
    return JournalStore.open(folder, api=api)


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
    j.writing(handle_rows.keep, row)
    assert j.reading(handle_rows.find, "h1") == row
    found = j.find(task_id="901")
    assert found is not None and found.prompt == "v2"
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (journal_schema.VERSION,)


def test_a_version_3_journal_gives_its_tasks_to_the_servers_one_owner(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:  # what wiro-mcp wrote before people (issue 21)
        db.executescript("".join(journal_schema.MIGRATIONS[v] for v in (1, 2, 3)))
        db.execute("PRAGMA user_version = 3")
        db.execute(
            "INSERT INTO tasks (api, task_id, token, model, arguments, call_key, prompt, created, updated, state,"
            " estimate_usd) VALUES (?, '902', 't', 'acme/m', '{}', 'k', 'v3', ?, ?, 'running', 0.04)",
            (API, time.time(), time.time()),
        )
    j = journal(tmp_path)
    assert j.find(task_id="902", owner="") is not None and j.find(task_id="902", owner="person:ada") is None
    assert j.spend(owner="").pending == pytest.approx(0.04) and j.spend(owner="person:ada").runs == 0
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (journal_schema.VERSION,)


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
    pages = j.reading(lambda db, api: db.execute("PRAGMA page_count").fetchone()[0])
    j.reading(lambda db, api: db.execute(f"PRAGMA max_page_count = {pages}"))
    with pytest.raises(JournalError) as full:
        for n in range(200):
            j.claim(RunRecord(f"big-{n}", "acme/m", {"inputs": {"prompt": "x" * 4000}}), budget=None)
    assert "full" in full.value.cause and str(tmp_path) in str(full.value)
    assert j.spend().runs >= 1, "still readable"


def test_a_claim_is_judged_dead_only_by_a_process_of_the_same_host_and_pid_namespace() -> None:
    from wiro_mcp.journal.rows import process_alive, this_host

    def gone(pid: int) -> None:
        raise ProcessLookupError(pid)

    assert not process_alive(f"{this_host()}:4242", probe=gone)
    assert process_alive(f"{socket.gethostname()}/1:4242", probe=gone), "another PID namespace: age decides"
    assert process_alive("elsewhere:4242", probe=gone) and process_alive(None, probe=gone)
