"""The task journal: every task this machine's wiro-mcp servers start, in SQLite, kept across restarts.

One row per task: the API it went to, Wiro's id and token, the model, the arguments as sent (a
local file by name and SHA-256, never its bytes), the call's key, the prompt, when, the state, the
estimate and the real cost. Several server processes (two host windows) share the file:

- `claim()` is one `BEGIN IMMEDIATE` transaction: it finds the identical task in flight (or another
  process starting it), checks the daily budget, and otherwise writes a `starting` row that holds the
  call's place (and its estimate, so two concurrent calls cannot both fit the last dollar).
- `started()` fills in the task id once Wiro answered; `abandon()` removes a claim whose Run failed.
- States and costs seen later are buffered by `note()` and written by `flush()` in one transaction.

WAL mode with `synchronous=FULL`: a committed row survives the process being killed at any moment
(and a power cut). A journal that cannot be opened (a read-only folder, a corrupt file) is reported
once in the log and replaced by one in memory: the server keeps working, remembering tasks until it
stops. Calls are blocking and short: the service runs them in a worker thread.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "journal.sqlite3"
DAY = 24 * 3600.0
# A claim older than this whose task id never came is taken to be dead (its process crashed mid-Run).
CLAIM_TTL = 120.0
# How long opening waits for other processes opening (or creating) the same journal at the same moment.
OPEN_SECONDS = 10.0
# An identical call joins a task in flight only if it started within this window.
JOIN_WINDOW = DAY
STARTING = "starting"
OPEN_STATES = (STARTING, "queued", "running")

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    api TEXT NOT NULL,
    task_id TEXT,
    token TEXT,
    model TEXT NOT NULL,
    arguments TEXT NOT NULL,
    call_key TEXT NOT NULL,
    prompt TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    state TEXT NOT NULL,
    status TEXT,
    estimate_usd REAL,
    cost_usd REAL,
    claimed_by TEXT,
    UNIQUE (api, task_id)
);
CREATE INDEX IF NOT EXISTS tasks_by_key ON tasks (api, call_key, state);
CREATE INDEX IF NOT EXISTS tasks_by_time ON tasks (api, created);
CREATE INDEX IF NOT EXISTS tasks_by_token ON tasks (api, token);
"""


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
class Claim:
    """What `claim()` found: `joined` (an identical task in flight), `waiting` (another process is
    starting it), `over_budget` (the spend so far), or a new row of our own in `row`."""

    row: int | None = None
    joined: Entry | None = None
    waiting: bool = False
    over_budget: Spend | None = None


class Journal:
    def __init__(self, connection: sqlite3.Connection, *, api: str, path: Path | None, problem: str | None) -> None:
        self._db = connection
        self._api = api
        self.path = path  # None: in memory
        self.problem = problem  # why the file is not used, when it is not
        self._lock = threading.Lock()
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._pending: dict[str, tuple[str, str, float | None]] = {}
        self._written: dict[str, tuple[str, str, float | None]] = {}
        self._write_failed = False

    @classmethod
    def open(cls, folder: Path, *, api: str) -> Journal:
        """The journal in `folder`, or one in memory (with the reason logged once) when that fails."""
        path = folder / FILE_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            connection = _connect(str(path))
            return cls(connection, api=api, path=path, problem=None)
        except (OSError, sqlite3.Error) as exc:
            problem = f"the task journal {path} cannot be used ({exc})"
            log.warning("%s; tasks are remembered in memory until this server stops", problem)
            return cls(_connect(":memory:"), api=api, path=None, problem=problem)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- starting a task -------------------------------------------------------------------

    def claim(
        self,
        key: str,
        *,
        model: str,
        arguments: Mapping[str, Any],
        prompt: str | None,
        estimate: float | None,
        budget: float | None,
        join: bool = True,
        now: float | None = None,
    ) -> Claim:
        now = time.time() if now is None else now
        with self._write() as db:
            if join:
                found = self._in_flight(db, key, now)
                if found is not None:
                    return Claim(joined=found) if found.task_id else Claim(waiting=True)
            if budget is not None and estimate is not None:
                spend = _spend(db, self._api, now)
                if spend.total + estimate > budget + 1e-9:
                    return Claim(over_budget=spend)
            cursor = db.execute(
                "INSERT INTO tasks (api, model, arguments, call_key, prompt, created, updated, state, estimate_usd,"
                " claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self._api, model, json.dumps(arguments), key, prompt, now, now, STARTING, estimate, self._owner),
            )
            assert cursor.lastrowid is not None
            return Claim(row=cursor.lastrowid)

    def started(self, row: int, task_id: str, token: str | None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE tasks SET task_id = ?, token = ?, state = 'queued', updated = ?, claimed_by = NULL"
                " WHERE row = ?",
                (task_id, token, time.time(), row),
            )

    def abandon(self, row: int) -> None:
        """The Run was refused or failed: the claim goes (no task exists to remember)."""
        with self._write() as db:
            db.execute("DELETE FROM tasks WHERE row = ? AND state = ?", (row, STARTING))

    def look(self, key: str | None) -> tuple[Entry | None, Spend]:
        """One read for a quote: the identical task in flight with a task id (a claim still starting does
        not count here; None without a key), and the last 24 hours' spend."""
        now = time.time()
        with self._lock:
            found = self._in_flight(self._db, key, now) if key is not None else None
            spend = _spend(self._db, self._api, now)
        return (found if found is not None and found.task_id is not None else None), spend

    def _in_flight(self, db: sqlite3.Connection, key: str, now: float) -> Entry | None:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM tasks WHERE api = ? AND call_key = ? AND state IN (?, ?, ?) AND created >= ?"
            " ORDER BY row DESC",
            (self._api, key, *OPEN_STATES, now - JOIN_WINDOW),
        ).fetchall()
        for values in rows:
            entry = _entry(values)
            if entry.task_id is not None:
                return entry
            claimed_by = values[-1]
            if now - entry.created < CLAIM_TTL and _alive(claimed_by):
                return entry
        return None

    # -- what became of tasks --------------------------------------------------------------

    def note(self, task_id: str, state: str, status: str, cost: float | None) -> bool:
        """Remember a task's latest state for the next flush; True when there is something new."""
        seen = (state, status, cost)
        if self._written.get(task_id) == seen or self._pending.get(task_id) == seen:
            return False
        self._pending[task_id] = seen
        return True

    def take_notes(self) -> dict[str, tuple[str, str, float | None]]:
        """What `note()` gathered since the last call (taken on the event loop's thread, then flushed)."""
        pending, self._pending = self._pending, {}
        return pending

    def flush(self, pending: Mapping[str, tuple[str, str, float | None]]) -> None:
        """Write notes taken by `take_notes()` in one transaction (for tasks the journal has)."""
        if not pending:
            return
        now = time.time()
        try:
            # A state seen is not worth an fsync: a crash loses at most the latest few, which the next
            # read of the task restores (claims and task ids stay fully synchronous).
            with self._write(durable=False) as db:
                db.executemany(
                    "UPDATE tasks SET state = ?, status = ?, cost_usd = COALESCE(?, cost_usd), updated = ?"
                    " WHERE api = ? AND task_id = ?",
                    [(s, st, c, now, self._api, task_id) for task_id, (s, st, c) in pending.items()],
                )
        except sqlite3.Error as exc:
            if not self._write_failed:
                self._write_failed = True
                log.warning("the task journal %s could not be updated (%s); not logged again", self.path, exc)
            return
        self._written.update(pending)

    # -- reading ----------------------------------------------------------------------------

    def find(self, *, task_id: str | None = None, token: str | None = None) -> Entry | None:
        column, value = ("task_id", task_id) if task_id is not None else ("token", token)
        with self._lock:
            values = self._db.execute(
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
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE {' AND '.join(where)} ORDER BY created DESC, row DESC LIMIT ?",
                (*values, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def spend(self, now: float | None = None) -> Spend:
        with self._lock:
            return _spend(self._db, self._api, time.time() if now is None else now)

    def _write(self, *, durable: bool = True) -> _Transaction:
        return _Transaction(self._db, self._lock, durable)


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT` under the in-process lock (other processes wait on SQLite's);
    `durable=False` commits without waiting for the disk (WAL still survives the process dying)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock, durable: bool) -> None:
        self._db, self._lock, self._durable = db, lock, durable

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            if not self._durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._restore()
            self._lock.release()
            raise
        return self._db

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            self._db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self._restore()
            self._lock.release()

    def _restore(self) -> None:
        if not self._durable:
            self._db.execute("PRAGMA synchronous=FULL")


_COLUMNS = "row, task_id, token, model, prompt, created, state, status, estimate_usd, cost_usd, arguments, claimed_by"


def _entry(values: tuple[Any, ...]) -> Entry:
    try:
        arguments = json.loads(values[10])
    except ValueError:
        arguments = {}
    arguments = arguments if isinstance(arguments, dict) else {}
    row, task_id, token, model, prompt, created, state, status, estimate, cost = values[:10]
    return Entry(row, task_id, token, model, prompt, created, state, status, estimate, cost, arguments=arguments or {})


def _spend(db: sqlite3.Connection, api: str, now: float) -> Spend:
    """Real costs where Wiro reported them; estimates for runs not finished (and finished ones whose
    cost is not known yet); nothing for failed or cancelled runs whose cost never came."""
    billed, pending, runs = db.execute(
        "SELECT COALESCE(SUM(cost_usd), 0),"
        " COALESCE(SUM(CASE WHEN cost_usd IS NULL AND state IN (?, ?, ?, 'succeeded') THEN estimate_usd END), 0),"
        " COUNT(*) FROM tasks WHERE api = ? AND created >= ?",
        (*OPEN_STATES, api, now - DAY),
    ).fetchone()
    return Spend(float(billed), float(pending), int(runs))


def _connect(target: str) -> sqlite3.Connection:
    """An open, prepared journal. Servers started together (a host starting several, or two hosts)
    open it at the same moment: switching to WAL and creating the tables can then answer "database is
    locked" at once, without SQLite's busy wait (it refuses to wait where two connections could
    deadlock), so a locked open is tried again, from scratch, until OPEN_SECONDS have passed."""
    deadline = time.monotonic() + OPEN_SECONDS
    while True:
        connection = sqlite3.connect(target, timeout=OPEN_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(SCHEMA)
            connection.execute("SELECT COUNT(*) FROM tasks").fetchone()
            return connection
        except sqlite3.OperationalError as exc:
            connection.close()
            if not _locked(exc) or time.monotonic() > deadline:
                raise
        except BaseException:
            connection.close()
            raise
        time.sleep(random.uniform(0.005, 0.05))  # apart, so that the openers do not meet again


def _locked(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:  # extended codes (e.g. SQLITE_BUSY_RECOVERY) keep the primary one in the low byte
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


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
