"""What the journal's tests share: a run's record, a cost check that believes everything, a claim that
must be ours, and a started task."""

from __future__ import annotations

from wiro_mcp.journal.records import Claim, Claimed, RunRecord
from wiro_mcp.journal.store import JournalStore


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
