"""The journal's contract, on both engines: every test here runs on SQLite and on a real PostgreSQL
(tests/postgres.py starts one). What only one engine does (a file that cannot be used, a full disk,
SQLite's locks) is in test_store.py and test_postgres.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.journal.helpers import accept, claimed, record, start
from wiro_mcp.budgets import CLAIM_TTL
from wiro_mcp.journal.records import Claimed, InDoubt, Joined, Note, OverBudget, Waiting
from wiro_mcp.journal.rows import DAY, this_host
from wiro_mcp.journal.store import JournalStore

API = "https://api.example/v1"
Opener = Callable[..., JournalStore]


@pytest.fixture(params=["sqlite", "postgres"])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the journal anew at each call (a connection of its own, as another server process has)."""
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    stores: list[JournalStore] = []

    def open_one(api: str = API) -> JournalStore:
        stores.append(JournalStore.open(tmp_path, api=api, database_url=url))
        return stores[-1]

    yield open_one
    for store in stores:
        store.close()


def test_an_identical_call_joins_the_task_in_flight_until_it_ends(opened: Opener) -> None:
    j = opened()
    start(j, "k", "1001")
    joined = j.claim(record("k"), budget=None)
    assert isinstance(joined, Joined) and joined.task_id == "1001" and joined.entry.token == "token-1001"
    assert isinstance(j.claim(record("k"), budget=None, join=False), Claimed)
    j.write_notes({"1001": Note("succeeded", "task_postprocess_end", 0.039)}, accept)
    fresh = j.claim(record("other"), budget=None)
    assert isinstance(fresh, Claimed)
    after = opened().claim(record("k"), budget=None)
    assert isinstance(after, Waiting), "the join=False claim above is still starting"


def test_a_claim_still_starting_makes_an_identical_call_wait_and_one_whose_process_is_gone_is_in_doubt(
    opened: Opener,
) -> None:
    j = opened()
    first = j.claim(record("k", estimate=None), budget=None)
    row = claimed(first)
    second = opened().claim(record("k", estimate=None), budget=None)
    assert isinstance(second, Waiting) and second.entry.row == row
    j.abandon(row)
    assert isinstance(opened().claim(record("k", estimate=None), budget=None), Claimed)
    # A claim written by a process that no longer runs, or too long ago, may have started a task nobody
    # recorded: an identical call must find out first.
    gone = f"{this_host()}:999999999"
    j.writing(lambda db, api: db.execute("UPDATE tasks SET claimed_by = ? WHERE state = 'starting'", (gone,)))
    doubt = opened().claim(record("k", estimate=None), budget=None)
    assert isinstance(doubt, InDoubt)
    late = time.time() + CLAIM_TTL + 1
    assert isinstance(j.claim(record("k", estimate=None), budget=None, now=late), InDoubt)
    assert [e.row for e in j.doubtful()] == [doubt.entry.row]
    assert isinstance(j.claim(record("k", estimate=None), budget=None, join=False), Claimed), "allow_duplicate"


def test_a_claim_in_doubt_is_adopted_by_the_task_wiro_shows_or_dropped(opened: Opener) -> None:
    j = opened()
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


def test_a_start_whose_claim_is_gone_is_recorded_all_the_same(opened: Opener) -> None:
    j = opened()
    claim = j.claim(record("k"), budget=None)
    row = claimed(claim)
    j.abandon(row)  # e.g. another process took the claim for dead after a very slow Run
    j.started(record("k"), row, "1001", "tok")
    j.started(record("memory"), None, "1002", None)  # a run that had no claim row at all
    j.started(record("memory"), None, "1002", None)  # written twice (a retry): one row
    assert {e.task_id for e in j.recent(10)} == {"1001", "1002"}
    found = j.find(task_id="1001")
    assert found is not None and found.state == "queued" and found.estimate_usd == pytest.approx(0.04)


def test_spend_counts_bills_and_the_estimates_of_runs_not_finished(opened: Opener) -> None:
    j = opened()
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
    j.writing(
        lambda db, api: db.execute(
            "UPDATE tasks SET created = created - ?, cost_usd = 5 WHERE task_id = '6'", (DAY + 60,)
        )
    )
    spend = j.spend()
    assert spend.billed == pytest.approx(0.06) and spend.pending == pytest.approx(0.08) and spend.runs == 5


def test_the_daily_budget_is_checked_in_the_claim_so_concurrent_calls_cannot_both_fit(opened: Opener) -> None:
    opened()  # create the file (or the tables) first
    results: list[object] = []
    gate = threading.Barrier(8)

    def call(n: int) -> None:
        j = opened()  # one connection each, as separate processes would have
        gate.wait()
        results.append(isinstance(j.claim(record(f"key-{n}", estimate=0.3), budget=1.0), Claimed))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 3, "3 × $0.30 fits in $1.00, a fourth does not"
    over = opened().claim(record("more", estimate=0.3), budget=1.0)
    assert isinstance(over, OverBudget) and over.spend.total == pytest.approx(0.9)


def test_recent_tasks_newest_first_with_filters(opened: Opener) -> None:
    j = opened()
    for n in range(5):
        start(j, f"k{n}", str(1000 + n))
    j.write_notes({"1001": Note("succeeded", "s", 0.01), "1003": Note("failed", "s", 0.0)}, accept)
    assert [e.task_id for e in j.recent(3)] == ["1004", "1003", "1002"]
    assert [e.task_id for e in j.recent(10, state="succeeded")] == ["1001"]
    assert j.recent(10, model="other/model") == []
    assert opened(api="https://elsewhere/v1").recent(10) == [], "each API has its own tasks"
    found = j.find(token="token-1002")
    assert found is not None and found.task_id == "1002" and found.model == "acme/m" and found.prompt == "k2"
    assert found.arguments == {"inputs": {"prompt": "k2"}}


def test_a_cost_the_check_does_not_believe_counts_at_the_estimate_and_teaches_nothing(opened: Opener) -> None:
    j = opened()
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


def test_a_task_adopted_for_another_owners_claim_goes_back_to_its_starter(opened: Opener) -> None:
    j = opened()
    ada, bob = replace(record("same"), owner="person:ada"), replace(record("same"), owner="person:bob")
    ada_row, bob_row = claimed(j.claim(ada, budget=None)), claimed(j.claim(bob, budget=None))
    assert ada_row != bob_row, "identical calls of two people are two claims"
    j.doubt(ada_row, "lost")
    j.adopt(ada_row, "1001", "tok", "running", "task_start")  # Wiro's list seemed to show ada's run: bob's
    j.started(bob, bob_row, "1001", "tok")  # bob's Run answers: the task is his
    assert j.find(task_id="1001", owner="person:bob") is not None
    assert j.find(task_id="1001", owner="person:ada") is None
    back = j.entry(ada_row)
    assert back is not None and back.task_id is None and back.doubt is not None, "ada's claim is in doubt again"
    j.adopt(ada_row, "1001", "tok", "running", "task_start")  # and adopting bob's task again leaves it so
    assert j.entry(ada_row) is not None and j.find(task_id="1001", owner="person:bob") is not None
