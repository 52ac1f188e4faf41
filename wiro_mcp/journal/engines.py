"""Where the journal's rows live: one interface, two engines.

The store (store.py) speaks SQL to a `Connection` inside a transaction an engine gives it:
`write()` serialises every write of one API (a claim checks the identical call and the budget in
the same transaction, so two servers cannot both take the last dollar); `read()` is a consistent
read. Both turn the engine's failures into `JournalError`, which names the journal and the cause.

- `SqliteEngine`: the embedded default, one file per machine (`BEGIN IMMEDIATE` under an
  in-process lock; other processes wait on SQLite's lock).
- `PostgresEngine` (postgres.py): a shared database for many servers and machines.

The SQL is written once, with `?` for parameters; the PostgreSQL connection translates.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from .. import budgets
from .records import JournalError

log = logging.getLogger(__name__)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the store's SQL needs of a connection inside a transaction (sqlite3's satisfies it)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...


class Engine(Protocol):
    where: str  # how a person recognises the journal: its file, or the database (no password)
    shared: bool  # other machines write it too: no run may start without its claim

    def write(self, *, durable: bool = True) -> AbstractContextManager[Connection]: ...
    def read(self) -> AbstractContextManager[Connection]: ...
    def close(self) -> None: ...


def cause_of(exc: BaseException) -> str:
    """A short cause for a person: the engine's words (e.g. "database or disk is full"), or the OS's."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def shown_url(url: str) -> str:
    """The URL without its password (and without parameters, which may carry one); never raises."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{parts.username}@{host}" if parts.username else host
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return "the PostgreSQL database (its URL cannot be read)"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def folder_problem(folder: Path) -> str | None:
    """What the OS says when a file is made in `folder` ("Read-only file system", "No space left on
    device"): clearer than SQLite's "unable to open database file"."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


class SqliteEngine:
    """One SQLite connection shared by the process's threads under a lock. `durable=False` commits
    without waiting for the disk (WAL still survives the process dying)."""

    shared = False

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.where = where

    @classmethod
    def open(cls, path: Path) -> tuple[SqliteEngine, str | None]:
        """The journal file at `path`, or one in memory and why (logged once) when the file fails."""
        from .schema import NewerJournal, connect

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(connect(str(path), wait=budgets.LOCK_WAIT), str(path)), None
        except (OSError, sqlite3.Error, NewerJournal) as exc:
            problem = f"the task journal {path} cannot be used ({folder_problem(path.parent) or cause_of(exc)})"
            log.warning("%s; tasks are remembered in memory until this server stops", problem)
            return cls(connect(":memory:", wait=budgets.LOCK_WAIT), "in memory"), problem

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        with self._lock, self._failures():
            if not durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):  # SQLite may have ended it already
                        self._db.execute("ROLLBACK")
                    raise
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
            finally:
                if not durable:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._lock, self._failures():
            yield self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _failures(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise JournalError(self.where, cause_of(exc)) from exc
