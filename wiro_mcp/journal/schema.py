"""The journal's SQLite file: its tables, the migrations between versions, and opening it safely.

The version is SQLite's `user_version`. A file from before versions existed (no `user_version`, a
`tasks` table) is version 1. Each migration runs in one `BEGIN IMMEDIATE` transaction that checks the
version again inside it, so servers opening an old file together migrate it once. A file written by a
newer wiro-mcp (a version above ours) is not touched: the journal reports it as unusable.
"""

from __future__ import annotations

import random
import sqlite3
import time

VERSION = 5

_V1 = """
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

# Version 2: what a run asked for (the work its cost grows with) and its GPU seconds, so that bills
# teach estimates; and why a claim is in doubt (its Run's answer was lost).
_V2 = """
ALTER TABLE tasks ADD COLUMN work TEXT;
ALTER TABLE tasks ADD COLUMN seconds REAL;
ALTER TABLE tasks ADD COLUMN doubt TEXT;
CREATE INDEX IF NOT EXISTS tasks_by_model ON tasks (api, model, created);
"""

# Version 3: the MCP tasks hosts hold (a handle on one Wiro task each): whose it is, which task (none
# yet while the call waits for the person's answer, which `pending` keeps; `ended` when it ended with
# none: declined, or cancelled before the answer), how its result is to be shown, and until when.
_V3 = """
CREATE TABLE IF NOT EXISTS handles (
    id TEXT PRIMARY KEY,
    api TEXT NOT NULL,
    owner TEXT NOT NULL,
    task_id TEXT,
    token TEXT,
    tool TEXT NOT NULL,
    shown TEXT NOT NULL,
    pending TEXT,
    ended TEXT,
    created REAL NOT NULL,
    expires REAL
);
CREATE INDEX IF NOT EXISTS handles_by_owner ON handles (api, owner, created);
"""

# Version 4: whose each task is (people.py: "" for a server's one owner, "person:<name>" for a person of
# a tokens file): their identical calls, their spend and their reads are theirs alone.
_V4 = """
ALTER TABLE tasks ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS tasks_by_owner ON tasks (api, owner, created);
"""

# Version 5: the price cache, for servers that share a database (journal/prices.py).
_V5 = """
CREATE TABLE IF NOT EXISTS prices (
    api TEXT NOT NULL,
    model TEXT NOT NULL,
    at REAL NOT NULL,
    figures TEXT NOT NULL,
    PRIMARY KEY (api, model)
);
"""

MIGRATIONS = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5}


class NewerJournal(Exception):
    """The file was written by a newer wiro-mcp."""


def connect(target: str, *, wait: float) -> sqlite3.Connection:
    """An open journal at the current version. Servers started together (a host starting several, or
    two hosts) open it at the same moment: switching to WAL and creating the tables can then answer
    "database is locked" at once, without SQLite's busy wait (it refuses to wait where two connections
    could deadlock), so a locked open is tried again, from scratch, until `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        connection = sqlite3.connect(target, timeout=wait, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            migrate(connection)
            connection.execute("SELECT COUNT(*) FROM tasks").fetchone()
            return connection
        except sqlite3.OperationalError as exc:
            connection.close()
            if not locked(exc) or time.monotonic() > deadline:
                raise
        except BaseException:
            connection.close()
            raise
        time.sleep(random.uniform(0.005, 0.05))  # apart, so that the openers do not meet again


def version_of(db: sqlite3.Connection) -> int:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'").fetchone():
        return 1  # written before the journal had versions
    return version


def migrate(db: sqlite3.Connection) -> None:
    """Bring the file to VERSION, one migration per transaction."""
    while (current := version_of(db)) < VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            if version_of(db) == current:  # nobody migrated it while we waited for the lock
                for statement in statements(MIGRATIONS[current + 1]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {current + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    if current > VERSION:
        raise NewerJournal(f"it was written by a newer wiro-mcp (journal version {current}, this one knows {VERSION})")


def statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def locked(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:  # extended codes (e.g. SQLITE_BUSY_RECOVERY) keep the primary one in the low byte
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
