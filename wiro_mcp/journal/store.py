"""The task journal: every task the wiro-mcp servers sharing it start, kept across restarts: in SQLite
(one machine's servers) or PostgreSQL (many machines'; engines.py, postgres.py).

One row per task (columns: schema.py; a local file by name and SHA-256, never its bytes), whose it
is (people.py). Several server processes (two host windows, replicas behind a balancer) share it:

- `claim()` is one write transaction, serialised with every other write of the API: it finds the
  identical task in flight (or another process starting it, or a claim left in doubt), checks the
  daily budget, and otherwise writes a `starting` row that holds the call's place (and its estimate,
  so two concurrent calls cannot both fit the last dollar).
- `started()` records the task id once Wiro answered (it inserts the row if the claim is gone);
  `abandon()` removes a claim whose Run was refused; `doubt()` marks one whose Run's answer was lost,
  and `adopt()` gives it the task Wiro's task list shows. A claim whose process died before its task
  id came is in doubt too: an identical call must find out first (see reconcile.py).
- States, costs and seconds seen later are written by `write_notes()` in one transaction (the access
  layer gathers them); a reported cost passes the caller's check there before it counts.

SQLite runs in WAL mode with `synchronous=FULL`: a committed row survives the process being killed at
any moment (and a power cut). A journal file that cannot be opened (a read-only folder, a corrupt
file, one from a newer version) is reported once in the log and replaced by one in memory, with
`problem` saying why. A write that fails later (a full disk, a lock held past `LOCK_WAIT`) raises
`JournalError`, which names the file (or database) and the cause. A PostgreSQL journal that cannot
be reached is never replaced: opening it raises JournalError, and the next call tries again. Calls
are blocking and short: the service runs them in a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from .engines import Connection, Engine, SqliteEngine, shown_url
from .records import (
    Bill,
    Claim,
    Claimed,
    ClaimOutlook,
    CostCheck,
    Entry,
    Joined,
    JournalError,
    Note,
    OverBudget,
    RunRecord,
    Spend,
)
from .rows import (
    COLUMNS,
    JOIN_WINDOW,
    STARTING,
    bills_of,
    claim_held,
    day_spend,
    estimates_of,
    given_back,
    has_task,
    in_flight,
    insert,
    row_entry,
    this_process,
)
from .schema import NewerJournal

P = ParamSpec("P")
T = TypeVar("T")

FILE_NAME = "journal.sqlite3"


class JournalStore:
    def __init__(self, engine: Engine, *, api: str, path: Path | None, problem: str | None) -> None:
        self._engine = engine
        self._api = api
        self.path = path  # the SQLite file; None in memory or in PostgreSQL
        self.problem = problem  # why the file is not used, when it is not
        self.process = this_process()  # who claims: this process (host:pid), not a person

    @classmethod
    def open(cls, folder: Path, *, api: str, database_url: str | None = None) -> JournalStore:
        """The journal in PostgreSQL when `database_url` is given (JournalError when it cannot be
        reached: a shared journal is never replaced by a private one); else the file in `folder`, or
        one in memory (with the reason logged once) when that fails."""
        if database_url is not None:
            from .postgres import PostgresEngine  # psycopg is loaded only where a database is set

            try:
                return cls(PostgresEngine(database_url, api=api), api=api, path=None, problem=None)
            except NewerJournal as exc:
                raise JournalError(shown_url(database_url), str(exc)) from exc
        engine, problem = SqliteEngine.open(folder / FILE_NAME)
        return cls(engine, api=api, path=None if problem else folder / FILE_NAME, problem=problem)

    @property
    def where(self) -> str:
        return self._engine.where

    @property
    def shared(self) -> bool:
        """Servers on other machines write this journal too."""
        return self._engine.shared

    def close(self) -> None:
        self._engine.close()

    # -- starting a task -------------------------------------------------------------------

    def claim(
        self,
        record: RunRecord,
        *,
        budget: float | None,
        join: bool = True,
        now: float | None = None,
        personal_budget: float | None = None,
    ) -> Claim:
        """`budget` holds for everyone's spend, `personal_budget` for the record's owner's own."""
        now = time.time() if now is None else now
        with self._engine.write() as db:
            found = in_flight(db, self._api, record.key, now, record.owner) if join else None
            if found is not None:
                return found
            if record.estimate is not None:
                for limit, owner in ((budget, None), (personal_budget, record.owner)):
                    if limit is None:
                        continue
                    spend = day_spend(db, self._api, now, owner)
                    if spend.total + record.estimate > limit + 1e-9:
                        return OverBudget(spend, personal=owner is not None)
            return Claimed(insert(db, self._api, record, now, state=STARTING, claimed_by=self.process))

    def started(self, record: RunRecord, row: int | None, task_id: str, token: str | None) -> None:
        """Wiro started `task_id` for the claim in `row` (None: the run had no claim row)."""
        now = time.time()
        with self._engine.write() as db:
            # Already recorded: a reconciliation found it first (for another owner's claim: it is given back).
            if has_task(db, self._api, task_id) and not given_back(db, self._api, task_id, record.owner, now):
                if row is not None:
                    db.execute("DELETE FROM tasks WHERE row = ? AND task_id IS NULL", (row,))
                return
            updated = 0
            if row is not None:
                updated = db.execute(
                    "UPDATE tasks SET task_id = ?, token = ?, state = 'queued', updated = ?, claimed_by = NULL,"
                    " doubt = NULL WHERE row = ? AND task_id IS NULL",
                    (task_id, token, now, row),
                ).rowcount
            if not updated:  # the claim is gone (taken for dead after a very slow Run), or never was
                insert(db, self._api, record, now, state="queued", task_id=task_id, token=token)

    def abandon(self, row: int) -> None:
        """The Run was refused: the claim goes (no task exists to remember)."""
        with self._engine.write() as db:
            db.execute("DELETE FROM tasks WHERE row = ? AND state = ? AND task_id IS NULL", (row, STARTING))

    def doubt(self, row: int, why: str) -> None:
        """The Run may have started a task whose id never came: the claim stays, held by no process, so
        an identical call finds out from Wiro first (and its estimate still counts in the spend)."""
        with self._engine.write() as db:
            db.execute(
                "UPDATE tasks SET claimed_by = NULL, doubt = ?, updated = ? WHERE row = ? AND task_id IS NULL",
                (why[:500], time.time(), row),
            )

    def adopt(self, row: int, task_id: str, token: str | None, state: str, status: str) -> None:
        """Wiro's task list shows the task a claim in doubt started: the claim becomes that task."""
        with self._engine.write() as db:
            if has_task(db, self._api, task_id):  # recorded already: the claim goes if it is the same owner's
                db.execute(
                    "DELETE FROM tasks WHERE row = ? AND task_id IS NULL AND owner = (SELECT owner FROM tasks"
                    " WHERE api = ? AND task_id = ?)",
                    (row, self._api, task_id),
                )
                return
            db.execute(
                "UPDATE tasks SET task_id = ?, token = ?, state = ?, status = ?, claimed_by = NULL, doubt = NULL,"
                " updated = ? WHERE row = ? AND task_id IS NULL",
                (task_id, token, state, status, time.time(), row),
            )

    def doubtful(self, now: float | None = None) -> list[Entry]:
        """Claims of the last day whose task id never came and whose process no longer holds them."""
        now = time.time() if now is None else now
        with self._engine.read() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM tasks WHERE api = ? AND state = ? AND task_id IS NULL AND created >= ?"
                " ORDER BY row",
                (self._api, STARTING, now - JOIN_WINDOW),
            ).fetchall()
        return [entry for entry in map(row_entry, rows) if not claim_held(entry, now)]

    def models_of(self, task_ids: list[str]) -> dict[str, str]:
        """The model of each of `task_ids` the journal has."""
        if not task_ids:
            return {}
        marks = ",".join("?" * len(task_ids))
        with self._engine.read() as db:
            rows = db.execute(
                f"SELECT task_id, model FROM tasks WHERE api = ? AND task_id IN ({marks})", (self._api, *task_ids)
            ).fetchall()
        return {task_id: model for task_id, model in rows}

    def look(self, key: str | None, owner: str = "") -> ClaimOutlook:
        """One read for a quote: the identical task in flight with a task id (a claim still starting does
        not count here; None without a key), and the last 24 hours' spend."""
        now = time.time()
        with self._engine.read() as db:
            found = in_flight(db, self._api, key, now, owner) if key is not None else None
            spend = day_spend(db, self._api, now)
        return ClaimOutlook(found.entry if isinstance(found, Joined) else None, spend)

    # -- what became of tasks --------------------------------------------------------------

    def write_notes(self, pending: Mapping[str, Note], check: CostCheck) -> None:
        """Write tasks' latest states in one transaction (for tasks the journal has). A reported cost
        counts only as `check` lets it; one it does not believe leaves the cost unknown, so the spend
        keeps counting the estimate. Raises JournalError (the caller keeps the notes for later)."""
        if not pending:
            return
        now = time.time()
        # A state seen is not worth an fsync: a crash loses at most the latest few, which the next read
        # of the task restores (claims and task ids stay fully synchronous).
        with self._engine.write(durable=False) as db:
            costed = [task_id for task_id, n in pending.items() if n.cost is not None]
            estimates = estimates_of(db, self._api, costed)
            db.executemany(
                "UPDATE tasks SET state = ?, status = ?, cost_usd = COALESCE(?, cost_usd),"
                " seconds = COALESCE(?, seconds), updated = ? WHERE api = ? AND task_id = ?",
                [
                    (
                        n.state,
                        n.status,
                        check(task_id, n.cost, estimates.get(task_id)) if n.cost is not None else None,
                        n.seconds,
                        now,
                        self._api,
                        task_id,
                    )
                    for task_id, n in pending.items()
                ],
            )

    # -- reading ----------------------------------------------------------------------------

    def entry(self, row: int) -> Entry | None:
        with self._engine.read() as db:
            values = db.execute(f"SELECT {COLUMNS} FROM tasks WHERE row = ?", (row,)).fetchone()
        return row_entry(values) if values else None

    def find(self, *, task_id: str | None = None, token: str | None = None, owner: str | None = None) -> Entry | None:
        """The task with that id or token (only if it is `owner`'s, when given)."""
        column, value = ("task_id", task_id) if task_id is not None else ("token", token)
        mine = " AND owner = ?" if owner is not None else ""
        with self._engine.read() as db:
            values = db.execute(
                f"SELECT {COLUMNS} FROM tasks WHERE api = ? AND {column} = ?{mine} ORDER BY row DESC LIMIT 1",
                (self._api, value, *((owner,) if owner is not None else ())),
            ).fetchone()
        return row_entry(values) if values else None

    def recent(
        self, limit: int, *, model: str | None = None, state: str | None = None, owner: str | None = None
    ) -> list[Entry]:
        where, values = ["api = ?", "task_id IS NOT NULL"], [self._api]
        if owner is not None:
            where.append("owner = ?")
            values.append(owner)
        if model is not None:
            where.append("model = ?")
            values.append(model)
        if state is not None:
            where.append("state = ?")
            values.append(state)
        with self._engine.read() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM tasks WHERE {' AND '.join(where)} ORDER BY created DESC, row DESC LIMIT ?",
                (*values, limit),
            ).fetchall()
        return [row_entry(r) for r in rows]

    def spend(self, now: float | None = None, owner: str | None = None) -> Spend:
        """The last 24 hours' spend of everyone, or of `owner`."""
        with self._engine.read() as db:
            return day_spend(db, self._api, time.time() if now is None else now, owner)

    def bills(self, model: str, *, since: float) -> tuple[Bill, ...]:
        with self._engine.read() as db:
            return bills_of(db, self._api, model, since)

    # -- any other table (the handles) ---------------------------------------------------------

    def writing(self, change: Callable[Concatenate[Connection, str, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`change(db, api, *args)` in one durable write transaction."""
        with self._engine.write() as db:
            return change(db, self._api, *args, **kwargs)

    def reading(self, query: Callable[Concatenate[Connection, str, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._engine.read() as db:
            return query(db, self._api, *args, **kwargs)
