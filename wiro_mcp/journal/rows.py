"""The journal's rows, in SQL both engines run: a row as an `Entry`, the spend of the last day in one
query, the identical call's place, and whether a claim is still held by a live process."""

from __future__ import annotations

import functools
import json
import os
import socket
from collections.abc import Callable
from typing import Any

from .. import budgets
from .engines import Connection
from .records import Bill, Entry, InDoubt, Joined, JournalError, RunRecord, Spend, Waiting

DAY = 24 * 3600.0
STARTING = "starting"
OPEN_STATES = (STARTING, "queued", "running")
# An identical call joins a task in flight only if it started within this window.
JOIN_WINDOW = DAY
# The most bills one estimate looks at (the newest).
BILLS_LIMIT = 2000


COLUMNS = (
    "row, task_id, token, model, prompt, created, state, status, estimate_usd, cost_usd, arguments, work, doubt,"
    " claimed_by, owner"
)


def row_entry(values: tuple[Any, ...]) -> Entry:
    try:
        arguments = json.loads(values[10])
    except (TypeError, ValueError):
        arguments = {}
    arguments = arguments if isinstance(arguments, dict) else {}
    row, task_id, token, model, prompt, created, state, status, estimate, cost = values[:10]
    return Entry(
        row,
        task_id,
        token,
        model,
        prompt,
        created,
        state,
        status,
        estimate,
        cost,
        arguments=arguments,
        work=row_work(values[11]),
        doubt=values[12],
        claimed_by=values[13],
        owner=values[14] or "",
    )


def row_work(raw: Any) -> dict[str, float]:
    try:
        work = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    if not isinstance(work, dict):
        return {}
    return {str(k): float(v) for k, v in work.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def day_spend(db: Connection, api: str, now: float, owner: str | None = None) -> Spend:
    """Real costs where Wiro reported them; estimates for runs not finished (and finished ones whose
    cost is not known yet, or was not believed); nothing for failed or cancelled runs whose cost never
    came. Claims in doubt count at their estimate: their Run may have started a task."""
    billed, pending, runs = db.execute(
        "SELECT COALESCE(SUM(cost_usd), 0),"
        " COALESCE(SUM(CASE WHEN cost_usd IS NULL AND state IN (?, ?, ?, 'succeeded') THEN estimate_usd END), 0),"
        " COUNT(*) FROM tasks WHERE api = ? AND created >= ?" + (" AND owner = ?" if owner is not None else ""),
        (*OPEN_STATES, api, now - DAY, *((owner,) if owner is not None else ())),
    ).fetchone()
    return Spend(float(billed), float(pending), int(runs))


def claim_held(entry: Entry, now: float) -> bool:
    """Whether a claim is still held by a live process that is starting its run."""
    return entry.claimed_by is not None and now - entry.created < budgets.CLAIM_TTL and process_alive(entry.claimed_by)


@functools.cache
def this_host() -> str:
    """This machine as claims name it: its host name and, on Linux, its PID namespace, so containers
    that share a host name (host networking) but not their process ids never judge each other's."""
    try:
        space = f"/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        space = ""
    return socket.gethostname() + space


def this_process() -> str:
    return f"{this_host()}:{os.getpid()}"


def process_alive(claimed_by: str | None, *, probe: Callable[[int], None] | None = None) -> bool:
    """Whether the process that wrote a claim still runs: known for a process on this host (POSIX);
    otherwise assumed, and the claim's age decides."""
    host, _, pid = (claimed_by or "").rpartition(":")
    if host != this_host() or not pid.isdigit() or os.name != "posix":
        return True
    try:
        (probe or (lambda p: os.kill(p, 0)))(int(pid))
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# -- queries the store's transactions share -----------------------------------------------------------


def in_flight(db: Connection, api: str, key: str, now: float, owner: str) -> Joined | Waiting | InDoubt | None:
    """The owner's identical call's place, best first: a task in flight, a live claim, a claim in doubt."""
    rows = db.execute(
        f"SELECT {COLUMNS} FROM tasks WHERE api = ? AND call_key = ? AND owner = ? AND state IN (?, ?, ?)"
        " AND created >= ? ORDER BY row DESC",
        (api, key, owner, *OPEN_STATES, now - JOIN_WINDOW),
    ).fetchall()
    entries = [row_entry(values) for values in rows]
    for entry in entries:
        if entry.task_id is not None:
            return Joined(entry, entry.task_id)
    for entry in entries:
        if claim_held(entry, now):
            return Waiting(entry)
    return InDoubt(entries[0]) if entries else None


def insert(
    db: Connection,
    api: str,
    record: RunRecord,
    now: float,
    *,
    state: str,
    task_id: str | None = None,
    token: str | None = None,
    claimed_by: str | None = None,
) -> int:
    found = db.execute(
        "INSERT INTO tasks (api, task_id, token, model, arguments, call_key, prompt, created, updated, state,"
        " estimate_usd, claimed_by, work, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        + (" RETURNING row" if getattr(db, "returning", False) else ""),
        (
            api,
            task_id,
            token,
            record.model,
            json.dumps(dict(record.arguments), default=str),
            record.key,
            record.prompt,
            now,
            now,
            state,
            record.estimate,
            claimed_by,
            json.dumps(dict(record.work)),
            record.owner,
        ),
    )
    # SQLite gives the row's id as lastrowid (RETURNING needs SQLite 3.35, newer than some systems');
    # PostgreSQL returns it.
    row = found.fetchone()[0] if getattr(db, "returning", False) else getattr(found, "lastrowid", None)
    if row is None:  # pragma: no cover - both engines give the new row's id
        raise JournalError("the journal", "no row id for the new claim")
    return int(row)


def has_task(db: Connection, api: str, task_id: str) -> bool:
    found = db.execute("SELECT 1 FROM tasks WHERE api = ? AND task_id = ?", (api, task_id)).fetchone()
    return found is not None


def given_back(db: Connection, api: str, task_id: str, owner: str, now: float) -> bool:
    """A reconciliation gave `task_id` to a claim in doubt of another owner (their identical call, in doubt
    while ours ran): the task is the starter's, so that claim goes back to doubt (an identical call of
    theirs asks Wiro again). True when it was given back."""
    taken = db.execute("SELECT row, owner FROM tasks WHERE api = ? AND task_id = ?", (api, task_id)).fetchone()
    if taken is None or taken[1] == owner:
        return False
    db.execute(
        "UPDATE tasks SET task_id = NULL, token = NULL, state = ?, claimed_by = NULL, doubt = ?, updated = ?"
        " WHERE row = ?",
        (STARTING, "the task Wiro's list seemed to show was another person's", now, taken[0]),
    )
    return True


def estimates_of(db: Connection, api: str, task_ids: list[str]) -> dict[str, float | None]:
    if not task_ids:
        return {}
    marks = ",".join("?" * len(task_ids))
    rows = db.execute(
        f"SELECT task_id, estimate_usd FROM tasks WHERE api = ? AND task_id IN ({marks})", (api, *task_ids)
    ).fetchall()
    return dict(rows)


def bills_of(db: Connection, api: str, model: str, since: float) -> tuple[Bill, ...]:
    """The model's succeeded runs since `since` whose cost Wiro billed (and we believed), newest first."""
    rows = db.execute(
        "SELECT task_id, work, cost_usd, seconds FROM tasks WHERE api = ? AND model = ? AND created >= ?"
        " AND state = 'succeeded' AND cost_usd IS NOT NULL AND work IS NOT NULL AND task_id IS NOT NULL"
        " ORDER BY row DESC LIMIT ?",
        (api, model, since, BILLS_LIMIT),
    ).fetchall()
    return tuple(Bill(task_id, row_work(work), float(cost), seconds) for task_id, work, cost, seconds in rows)
