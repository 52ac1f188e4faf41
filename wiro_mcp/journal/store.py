"""The task journal: every task this machine's wiro-mcp servers start, in SQLite, kept across restarts.

One row per task: the API it went to, Wiro's id and token, the model, the arguments as sent (a
local file by name and SHA-256, never its bytes), the call's key, the prompt, when, the state, the
work asked for, the estimate, the billed cost and the GPU seconds. Several server processes (two
host windows) share the file:

- `claim()` is one `BEGIN IMMEDIATE` transaction: it finds the identical task in flight (or another
  process starting it, or a claim left in doubt), checks the daily budget, and otherwise writes a
  `starting` row that holds the call's place (and its estimate, so two concurrent calls cannot both
  fit the last dollar).
- `started()` records the task id once Wiro answered (it inserts the row if the claim is gone);
  `abandon()` removes a claim whose Run was refused; `doubt()` marks one whose Run's answer was lost,
  and `adopt()` gives it the task Wiro's task list shows. A claim whose process died before its task
  id came is in doubt too: an identical call must find out first (see reconcile.py).
- States, costs and seconds seen later are buffered by `note()` and written by `flush()` in one
  transaction; a reported cost passes the caller's check there before it counts.

WAL mode with `synchronous=FULL`: a committed row survives the process being killed at any moment
(and a power cut). A journal that cannot be opened (a read-only folder, a corrupt file, one from a
newer version) is reported once in the log and replaced by one in memory, with `problem` saying why.
A write that fails later (a full disk, a lock held past `LOCK_WAIT`) raises `JournalError`, which
names the file and the cause. Calls are blocking and short: the service runs them in a worker thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import budgets
from ..errors import LocalError
from .schema import NewerJournal, connect

log = logging.getLogger(__name__)

FILE_NAME = "journal.sqlite3"
DAY = 24 * 3600.0
# An identical call joins a task in flight only if it started within this window.
JOIN_WINDOW = DAY
STARTING = "starting"
OPEN_STATES = (STARTING, "queued", "running")
# The most bills one estimate looks at (the newest).
BILLS_LIMIT = 2000

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
class Claim:
    """What `claim()` found: `joined` (an identical task in flight), `waiting` (another live process is
    starting it), `doubt` (a claim whose Run may have started a task nobody recorded), `over_budget`
    (the spend so far), or a new row of our own in `row`."""

    row: int | None = None
    joined: Entry | None = None
    waiting: Entry | None = None
    doubt: Entry | None = None
    over_budget: Spend | None = None


@dataclass(frozen=True)
class Look:
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


class JournalStore:
    def __init__(self, connection: sqlite3.Connection, *, api: str, path: Path | None, problem: str | None) -> None:
        self._db = connection
        self._api = api
        self.path = path  # None: in memory
        self.problem = problem  # why the file is not used, when it is not
        self._lock = threading.Lock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._pending: dict[str, Note] = {}
        self._written: dict[str, Note] = {}

    @classmethod
    def open(cls, folder: Path, *, api: str) -> JournalStore:
        """The journal in `folder`, or one in memory (with the reason logged once) when that fails."""
        path = folder / FILE_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            connection = connect(str(path), wait=budgets.LOCK_WAIT)
            return cls(connection, api=api, path=path, problem=None)
        except (OSError, sqlite3.Error, NewerJournal) as exc:
            problem = f"the task journal {path} cannot be used ({_folder_problem(folder) or _cause(exc)})"
            log.warning("%s; tasks are remembered in memory until this server stops", problem)
            return cls(connect(":memory:", wait=budgets.LOCK_WAIT), api=api, path=None, problem=problem)

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else "in memory"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- starting a task -------------------------------------------------------------------

    def claim(self, record: RunRecord, *, budget: float | None, join: bool = True, now: float | None = None) -> Claim:
        now = time.time() if now is None else now
        with self._write() as db:
            if join:
                kind, entry = self._in_flight(db, record.key, now)
                if kind == "task":
                    return Claim(joined=entry)
                if kind == "starting":
                    return Claim(waiting=entry)
                if kind == "doubt":
                    return Claim(doubt=entry)
            if budget is not None and record.estimate is not None:
                spend = _spend(db, self._api, now)
                if spend.total + record.estimate > budget + 1e-9:
                    return Claim(over_budget=spend)
            return Claim(row=self._insert(db, record, now, state=STARTING, claimed_by=self.owner))

    def started(self, record: RunRecord, row: int | None, task_id: str, token: str | None) -> None:
        """Wiro started `task_id` for the claim in `row` (None: the run had no claim row)."""
        now = time.time()
        with self._write() as db:
            if self._has_task(db, task_id):  # already recorded (a reconciliation found it first)
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
                self._insert(db, record, now, state="queued", task_id=task_id, token=token)

    def abandon(self, row: int) -> None:
        """The Run was refused: the claim goes (no task exists to remember)."""
        with self._write() as db:
            db.execute("DELETE FROM tasks WHERE row = ? AND state = ? AND task_id IS NULL", (row, STARTING))

    def doubt(self, row: int, why: str) -> None:
        """The Run may have started a task whose id never came: the claim stays, held by no process, so
        an identical call finds out from Wiro first (and its estimate still counts in the spend)."""
        with self._write() as db:
            db.execute(
                "UPDATE tasks SET claimed_by = NULL, doubt = ?, updated = ? WHERE row = ? AND task_id IS NULL",
                (why[:500], time.time(), row),
            )

    def adopt(self, row: int, task_id: str, token: str | None, state: str, status: str) -> None:
        """Wiro's task list shows the task a claim in doubt started: the claim becomes that task."""
        with self._write() as db:
            if self._has_task(db, task_id):
                db.execute("DELETE FROM tasks WHERE row = ? AND task_id IS NULL", (row,))
                return
            db.execute(
                "UPDATE tasks SET task_id = ?, token = ?, state = ?, status = ?, claimed_by = NULL, doubt = NULL,"
                " updated = ? WHERE row = ? AND task_id IS NULL",
                (task_id, token, state, status, time.time(), row),
            )

    def doubtful(self, now: float | None = None) -> list[Entry]:
        """Claims of the last day whose task id never came and whose process no longer holds them."""
        now = time.time() if now is None else now
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE api = ? AND state = ? AND task_id IS NULL AND created >= ?"
                " ORDER BY row",
                (self._api, STARTING, now - JOIN_WINDOW),
            ).fetchall()
        return [entry for entry in map(_entry, rows) if not _held(entry, now)]

    def models_of(self, task_ids: list[str]) -> dict[str, str]:
        """The model of each of `task_ids` the journal has."""
        if not task_ids:
            return {}
        marks = ",".join("?" * len(task_ids))
        with self._reading() as db:
            rows = db.execute(
                f"SELECT task_id, model FROM tasks WHERE api = ? AND task_id IN ({marks})", (self._api, *task_ids)
            ).fetchall()
        return {task_id: model for task_id, model in rows}

    def look(self, key: str | None) -> Look:
        """One read for a quote: the identical task in flight with a task id (a claim still starting does
        not count here; None without a key), and the last 24 hours' spend."""
        now = time.time()
        with self._reading() as db:
            kind, found = self._in_flight(db, key, now) if key is not None else (None, None)
            spend = _spend(db, self._api, now)
        return Look(found if kind == "task" else None, spend)

    def _in_flight(
        self, db: sqlite3.Connection, key: str, now: float
    ) -> tuple[Literal["task", "starting", "doubt"] | None, Entry | None]:
        """The identical call's place, best first: a task in flight, a live claim, a claim in doubt."""
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM tasks WHERE api = ? AND call_key = ? AND state IN (?, ?, ?) AND created >= ?"
            " ORDER BY row DESC",
            (self._api, key, *OPEN_STATES, now - JOIN_WINDOW),
        ).fetchall()
        entries = [_entry(values) for values in rows]
        for entry in entries:
            if entry.task_id is not None:
                return "task", entry
        for entry in entries:
            if _held(entry, now):
                return "starting", entry
        return ("doubt", entries[0]) if entries else (None, None)

    def _insert(
        self,
        db: sqlite3.Connection,
        record: RunRecord,
        now: float,
        *,
        state: str,
        task_id: str | None = None,
        token: str | None = None,
        claimed_by: str | None = None,
    ) -> int:
        cursor = db.execute(
            "INSERT INTO tasks (api, task_id, token, model, arguments, call_key, prompt, created, updated, state,"
            " estimate_usd, claimed_by, work) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._api,
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
            ),
        )
        if cursor.lastrowid is None:  # pragma: no cover - SQLite always gives an INSERT its row id
            raise JournalError(self.where, "no row id for the new claim")
        return cursor.lastrowid

    def _has_task(self, db: sqlite3.Connection, task_id: str) -> bool:
        found = db.execute("SELECT 1 FROM tasks WHERE api = ? AND task_id = ?", (self._api, task_id)).fetchone()
        return found is not None

    # -- what became of tasks --------------------------------------------------------------

    def note(self, task_id: str, note: Note) -> bool:
        """Remember a task's latest state for the next flush; True when there is something new."""
        if self._written.get(task_id) == note or self._pending.get(task_id) == note:
            return False
        self._pending[task_id] = note
        return True

    def take_notes(self) -> dict[str, Note]:
        """What `note()` gathered since the last call (taken on the event loop's thread, then flushed)."""
        pending, self._pending = self._pending, {}
        return pending

    def requeue(self, notes: Mapping[str, Note]) -> None:
        """Notes whose flush failed, kept for the next one (newer notes of the same task win)."""
        self._pending = {**notes, **self._pending}

    def flush(self, pending: Mapping[str, Note], check: CostCheck) -> None:
        """Write notes taken by `take_notes()` in one transaction (for tasks the journal has). A reported
        cost counts only as `check` lets it; one it does not believe leaves the cost unknown, so the spend
        keeps counting the estimate. Raises JournalError (the caller keeps the notes for later)."""
        if not pending:
            return
        now = time.time()
        # A state seen is not worth an fsync: a crash loses at most the latest few, which the next read
        # of the task restores (claims and task ids stay fully synchronous).
        with self._write(durable=False) as db:
            costed = [task_id for task_id, n in pending.items() if n.cost is not None]
            estimates = self._estimates(db, costed)
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
        self._written.update(pending)

    def _estimates(self, db: sqlite3.Connection, task_ids: list[str]) -> dict[str, float | None]:
        if not task_ids:
            return {}
        marks = ",".join("?" * len(task_ids))
        rows = db.execute(
            f"SELECT task_id, estimate_usd FROM tasks WHERE api = ? AND task_id IN ({marks})", (self._api, *task_ids)
        ).fetchall()
        return dict(rows)

    # -- reading ----------------------------------------------------------------------------

    def entry(self, row: int) -> Entry | None:
        with self._reading() as db:
            values = db.execute(f"SELECT {_COLUMNS} FROM tasks WHERE row = ?", (row,)).fetchone()
        return _entry(values) if values else None

    def find(self, *, task_id: str | None = None, token: str | None = None) -> Entry | None:
        column, value = ("task_id", task_id) if task_id is not None else ("token", token)
        with self._reading() as db:
            values = db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE api = ? AND {column} = ? ORDER BY row DESC LIMIT 1",
                (self._api, value),
            ).fetchone()
        return _entry(values) if values else None

    def recent(self, limit: int, *, model: str | None = None, state: str | None = None) -> list[Entry]:
        where, values = ["api = ?", "task_id IS NOT NULL"], [self._api]
        if model is not None:
            where.append("model = ?")
            values.append(model)
        if state is not None:
            where.append("state = ?")
            values.append(state)
        with self._reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE {' AND '.join(where)} ORDER BY created DESC, row DESC LIMIT ?",
                (*values, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def spend(self, now: float | None = None) -> Spend:
        with self._reading() as db:
            return _spend(db, self._api, time.time() if now is None else now)

    def bills(self, model: str, *, since: float) -> tuple[Bill, ...]:
        with self._reading() as db:
            return self._bills(db, model, since)

    def _bills(self, db: sqlite3.Connection, model: str, since: float) -> tuple[Bill, ...]:
        """The model's succeeded runs since `since` whose cost Wiro billed (and we believed), newest first."""
        rows = db.execute(
            "SELECT task_id, work, cost_usd, seconds FROM tasks WHERE api = ? AND model = ? AND created >= ?"
            " AND state = 'succeeded' AND cost_usd IS NOT NULL AND work IS NOT NULL AND task_id IS NOT NULL"
            " ORDER BY row DESC LIMIT ?",
            (self._api, model, since, BILLS_LIMIT),
        ).fetchall()
        return tuple(Bill(task_id, _work(work), float(cost), seconds) for task_id, work, cost, seconds in rows)

    # -- transactions -----------------------------------------------------------------------

    def _write(self, *, durable: bool = True) -> _Transaction:
        return _Transaction(self._db, self._lock, durable, self.where)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise JournalError(self.where, _cause(exc)) from exc


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT` under the in-process lock (other processes wait on SQLite's, up to
    LOCK_WAIT); `durable=False` commits without waiting for the disk (WAL still survives the process
    dying). A failure of SQLite's rolls back and becomes a JournalError."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock, durable: bool, where: str) -> None:
        self._db, self._lock, self._durable, self._where = db, lock, durable, where

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            if not self._durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._restore()
            self._lock.release()
            if isinstance(exc, sqlite3.Error):
                raise JournalError(self._where, _cause(exc)) from exc
            raise
        return self._db

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, *rest: object) -> None:
        try:
            if kind is None:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise JournalError(self._where, _cause(exc)) from exc
            else:
                self._rollback()
                if isinstance(value, sqlite3.Error):
                    raise JournalError(self._where, _cause(value)) from value
        finally:
            self._restore()
            self._lock.release()

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # no transaction left to roll back (SQLite ended it)
            self._db.execute("ROLLBACK")

    def _restore(self) -> None:
        if not self._durable:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA synchronous=FULL")


_COLUMNS = (
    "row, task_id, token, model, prompt, created, state, status, estimate_usd, cost_usd, arguments, work, doubt,"
    " claimed_by"
)


def _entry(values: tuple[Any, ...]) -> Entry:
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
        work=_work(values[11]),
        doubt=values[12],
        claimed_by=values[13],
    )


def _work(raw: Any) -> dict[str, float]:
    try:
        work = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    if not isinstance(work, dict):
        return {}
    return {str(k): float(v) for k, v in work.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _spend(db: sqlite3.Connection, api: str, now: float) -> Spend:
    """Real costs where Wiro reported them; estimates for runs not finished (and finished ones whose
    cost is not known yet, or was not believed); nothing for failed or cancelled runs whose cost never
    came. Claims in doubt count at their estimate: their Run may have started a task."""
    billed, pending, runs = db.execute(
        "SELECT COALESCE(SUM(cost_usd), 0),"
        " COALESCE(SUM(CASE WHEN cost_usd IS NULL AND state IN (?, ?, ?, 'succeeded') THEN estimate_usd END), 0),"
        " COUNT(*) FROM tasks WHERE api = ? AND created >= ?",
        (*OPEN_STATES, api, now - DAY),
    ).fetchone()
    return Spend(float(billed), float(pending), int(runs))


def _held(entry: Entry, now: float) -> bool:
    """Whether a claim is still held by a live process that is starting its run."""
    return entry.claimed_by is not None and now - entry.created < budgets.CLAIM_TTL and _alive(entry.claimed_by)


def _cause(exc: BaseException) -> str:
    """A short cause for a person: SQLite's words (e.g. "database or disk is full"), or the OS's."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _folder_problem(folder: Path) -> str | None:
    """What the OS says when a file is made in `folder` ("Read-only file system", "No space left on
    device"): clearer than SQLite's "unable to open database file"."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def _alive(owner: str | None, *, probe: Callable[[int], None] | None = None) -> bool:
    """Whether the process that wrote a claim still runs: known for a process on this host (POSIX);
    otherwise assumed, and the claim's age decides."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or os.name != "posix":
        return True
    try:
        (probe or (lambda p: os.kill(p, 0)))(int(pid))
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
