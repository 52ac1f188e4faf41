"""The journal in a shared PostgreSQL database (`WIRO_MCP_DATABASE_URL`): many servers on many machines
keep one journal, so the duplicate guard and the daily budget hold across all of them.

- Connections come from a psycopg_pool pool (checked before each use, so a restarted database costs
  no failed call). The store's calls are short and blocking and run in worker threads, so the pool
  is the synchronous one: one code path for both engines, as concurrent as the threads.
- Every write transaction first takes a transaction-level advisory lock on its API
  (`pg_advisory_xact_lock`): writes of one API are serialised as SQLite's `BEGIN IMMEDIATE` serialises
  them, so a claim's identical-call check and budget check see every other claim. The lock waits at
  most `budgets.LOCK_WAIT` (`lock_timeout`).
- The schema is SQLite's (schema.py), with PostgreSQL's types; its version is in `journal_version`.
  Migrations run at open, in one transaction, under an advisory lock, so servers starting together
  migrate once.
- A database that cannot be reached fails the call with a JournalError naming it (after one wait of
  `budgets.DATABASE_WAIT` for the pool; later calls fail at once for `budgets.DATABASE_DOWN`, then one direct
  connection tells whether it is back, and a new pool serves from then on).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .. import budgets
from .engines import Connection, Cursor, cause_of, shown_url
from .records import JournalError
from .schema import MIGRATIONS, VERSION, NewerJournal, statements

POOL_SIZE = 10
MIGRATION_LOCK = 7341205  # the advisory lock migrations hold (any number no other lock uses)


def lock_key(api: str) -> int:
    """A stable signed 64-bit number for `api`: the advisory lock its writes take."""
    return int.from_bytes(hashlib.sha256(api.encode()).digest()[:8], "big", signed=True)


@functools.lru_cache(maxsize=256)
def translated(sql: str) -> str:
    """The store's SQL (`?` parameters, SQLite's) as psycopg wants it (`%s`; a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def pg_ddl(script: str) -> str:
    return script.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").replace(
        " REAL", " DOUBLE PRECISION"
    )


class PgConnection:
    """A psycopg connection inside a transaction, speaking the store's SQL."""

    returning = True  # an INSERT returns its row's id (SQLite's cursor has lastrowid)

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        return self._connection.execute(translated(sql), without_nul(parameters))

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        cursor = self._connection.cursor()
        cursor.executemany(translated(sql), [without_nul(row) for row in parameters])
        return cursor


def without_nul(parameters: Any) -> Any:
    """PostgreSQL's text cannot hold U+0000, which SQLite's can (a prompt, a status from Wiro): it goes."""
    return tuple(p.replace("\x00", "") if isinstance(p, str) else p for p in parameters)


class PostgresEngine:
    shared = True

    def __init__(self, url: str, *, api: str) -> None:
        self.where = shown_url(url)
        self._url = url
        self._lock = lock_key(api)
        self._down_until = 0.0
        self._down_cause = ""
        self._guard = threading.Lock()
        options = f"-c lock_timeout={int(budgets.LOCK_WAIT * 1000)} -c statement_timeout=30000"
        self._connect_args: dict[str, Any] = {
            "connect_timeout": max(1, round(budgets.DATABASE_CONNECT)),
            "application_name": "wiro-mcp",
            "options": options,
        }
        self._pool: ConnectionPool | None = None
        with self._failures():
            self._migrate()
        self._pool = self._new_pool()

    def _new_pool(self) -> ConnectionPool:
        pool = ConnectionPool(
            self._url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs=self._connect_args,
            timeout=budgets.DATABASE_WAIT,
            check=ConnectionPool.check_connection,
            name="wiro-mcp journal",
            open=False,
        )
        pool.open(wait=False)
        return pool

    def _migrate(self) -> None:
        with psycopg.connect(self._url, **self._connect_args) as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            connection.execute("CREATE TABLE IF NOT EXISTS journal_version (version INTEGER NOT NULL)")
            found = connection.execute("SELECT max(version) FROM journal_version").fetchone()
            current = int(found[0]) if found and found[0] is not None else 0
            if current > VERSION:
                raise NewerJournal(
                    f"it was written by a newer wiro-mcp (journal version {current}, this one knows {VERSION})"
                )
            for version in range(current + 1, VERSION + 1):
                for statement in statements(pg_ddl(MIGRATIONS[version])):
                    connection.execute(statement)
            if current < VERSION:
                connection.execute("DELETE FROM journal_version")
                connection.execute("INSERT INTO journal_version (version) VALUES (%s)", (VERSION,))

    def write(self, *, durable: bool = True) -> AbstractContextManager[Connection]:
        return self._transaction(write=True, durable=durable)

    def read(self) -> AbstractContextManager[Connection]:
        return self._transaction(write=False, durable=True)

    @contextmanager
    def _transaction(self, *, write: bool, durable: bool) -> Iterator[Connection]:
        """One transaction on a pooled connection; a write first takes the API's advisory lock."""
        used: list[ConnectionPool] = []
        with self._failures(used):
            used.append(self._ready())
            with used[0].connection() as connection, connection.transaction():
                if write:
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))
                if not durable:
                    connection.execute("SET LOCAL synchronous_commit = off")
                yield PgConnection(connection)

    def close(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout=1.0)

    def _ready(self) -> ConnectionPool:
        """The pool; after the database went away, a new one once it answers again (the old pool's
        reconnection backs off for minutes; a new one connects at once)."""
        with self._guard:
            if self._pool is not None:
                return self._pool
            if time.monotonic() < self._down_until:
                raise JournalError(self.where, self._down_cause)
            cause = self._probe()
            if cause is not None:
                self._down_until, self._down_cause = time.monotonic() + budgets.DATABASE_DOWN, cause
                raise JournalError(self.where, cause)
            self._pool = self._new_pool()
            return self._pool

    @contextmanager
    def _failures(self, used: list[ConnectionPool] | None = None) -> Iterator[None]:
        """psycopg's failures as JournalError (never with the password). Only a database that does not
        answer a direct connection is taken for gone: a pool whose connections are all busy is not."""
        try:
            yield
        except PoolClosed as exc:  # replaced under this call after the database went away
            raise JournalError(self.where, "the database went away during this call; call again") from exc
        except PoolTimeout as exc:
            cause = self._probe()
            if cause is None:
                busy = f"no free connection within {budgets.DATABASE_WAIT:g} s (all {POOL_SIZE} busy)"
                raise JournalError(self.where, busy) from exc
            self._down(cause, used[0] if used else None)
            raise JournalError(self.where, cause) from exc
        except psycopg.OperationalError as exc:
            if self._broken(exc):
                self._down(self._cause(exc), used[0] if used else None)
            raise JournalError(self.where, self._cause(exc)) from exc
        except (psycopg.Error, OSError) as exc:
            raise JournalError(self.where, self._cause(exc)) from exc

    def _cause(self, exc: BaseException) -> str:
        """The database's words without the password (libpq may quote parts of the URL)."""
        text = cause_of(exc)
        secret = urlsplit(self._url).password if "@" in self._url else None
        for hidden in {secret, unquote(secret)} if secret else set():
            text = text.replace(hidden, "***")
        return text.replace(self._url, self.where)

    def _down(self, cause: str, pool: ConnectionPool | None) -> None:
        """The database went away: the pool the call used goes (its connections are broken; a newer one
        stays), calls fail at once for budgets.DATABASE_DOWN, then a new pool is made once the database answers."""
        with self._guard:
            if pool is None or self._pool is pool:
                pool, self._pool = self._pool, None
            else:
                pool = None
            self._down_until, self._down_cause = time.monotonic() + budgets.DATABASE_DOWN, cause
        if pool is not None:
            pool.close(timeout=0.5)

    @staticmethod
    def _broken(exc: psycopg.OperationalError) -> bool:
        """A connection that failed (not a lock or statement that timed out)."""
        return exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))

    def _probe(self) -> str | None:
        """Why no connection came: the database's own refusal, read with one direct connection."""
        try:
            psycopg.connect(self._url, **self._connect_args).close()
        except psycopg.Error as exc:
            return self._cause(exc)
        return None
