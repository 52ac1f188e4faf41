"""What the journal keeps and answers, as types: a run before it has a task, a task as the journal
knows it, the spend, a bill, what a claim found, one read for a quote, a note of a task's state; and
the error of a store that cannot be read or written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import LocalError

# (task id, reported cost, the task's estimate) -> the cost that counts (None: not believed).
CostCheck = Callable[[str, float | None, float | None], float | None]


class JournalError(LocalError):
    """The journal could not be read or written; `where` is its file, `cause` what went wrong."""

    def __init__(self, where: str, cause: str) -> None:
        super().__init__(f"the task journal {where} cannot be written ({cause})")
        self.where = where
        self.cause = cause


@dataclass(frozen=True)
class RunRecord:
    """What the journal keeps of a run before it has a task: the call's key and what was asked."""

    key: str
    model: str
    arguments: Mapping[str, Any]
    prompt: str | None = None
    estimate: float | None = None
    work: Mapping[str, float] = field(default_factory=dict)
    owner: str = ""  # whose run it is (people.py)


@dataclass(frozen=True)
class Entry:
    """One task as the journal knows it."""

    row: int
    task_id: str | None
    token: str | None
    model: str
    prompt: str | None
    created: float
    state: str
    status: str | None
    estimate_usd: float | None
    cost_usd: float | None
    arguments: dict[str, Any]
    work: dict[str, float] = field(default_factory=dict)
    doubt: str | None = None  # why a claim is in doubt (its Run's answer was lost), when it is
    claimed_by: str | None = None
    owner: str = ""  # whose task it is (people.py)


@dataclass(frozen=True)
class Spend:
    """The last 24 hours: what Wiro billed, what is still running (by its estimate), and how many runs."""

    billed: float
    pending: float
    runs: int

    @property
    def total(self) -> float:
        return self.billed + self.pending


@dataclass(frozen=True)
class Bill:
    """A billed run: its task, the work it asked for, what Wiro billed and its GPU seconds."""

    task_id: str
    work: Mapping[str, float]
    cost: float
    seconds: float | None = None


@dataclass(frozen=True)
class Claimed:
    """The run's place is ours: a `starting` row that holds it (and its estimate) until the Run's answer."""

    row: int


@dataclass(frozen=True)
class Joined:
    """An identical task is in flight: the call joins it."""

    entry: Entry
    task_id: str


@dataclass(frozen=True)
class Waiting:
    """Another live process is starting the identical run right now."""

    entry: Entry


@dataclass(frozen=True)
class InDoubt:
    """An identical claim's Run may have started a task nobody recorded."""

    entry: Entry


@dataclass(frozen=True)
class OverBudget:
    """The run does not fit the daily budget: the spend so far (the person's own, when it is their
    budget it does not fit)."""

    spend: Spend
    personal: bool = False


# What `claim()` found: one of these.
Claim = Claimed | Joined | Waiting | InDoubt | OverBudget


@dataclass(frozen=True)
class ClaimOutlook:
    """One read for a quote: the identical task in flight (with a task id) and the spend."""

    in_flight: Entry | None
    spend: Spend


@dataclass(frozen=True)
class Note:
    """A task's latest state as a follower saw it."""

    state: str
    status: str
    cost: float | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class Unwritten:
    """A start Wiro answered that the journal could not take yet."""

    record: RunRecord
    row: int | None
    task_id: str
    token: str | None


@dataclass(frozen=True)
class JournalStatus:
    """Where the journal is and whether it keeps up: for wiro://spending and the limits."""

    where: str
    memory_only: str | None  # why the journal's file could not be used at all (it lives in memory)
    write_problem: str | None  # why the last write failed, until one succeeds
    unwritten: int  # starts kept in memory until the journal takes them

    @property
    def problem(self) -> str | None:
        return self.memory_only or self.write_problem
