"""The MCP tasks hosts hold, as journal rows: one handle on one Wiro task each.

A handle is what a host keeps instead of an open call: its id (random, unguessable), whose it is
(the owner: who the request authenticated as), Wiro's task id and token (none yet while the call
waits for the person's answer: `pending` keeps that call; `ended` says how it ended without one),
the tool that started it and how its
result is to be shown, and until when it is kept. It is written (durably) before the host is
told its id, so a `tasks/get` after a crash or a restart still finds it. A state that is not final is
not kept here: it is Wiro's, read again when asked; a final one is (`ended`), so it never moves again,
after a restart or on another server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .engines import Connection

COLUMNS = "id, owner, task_id, token, tool, shown, pending, ended, created, expires"


@dataclass(frozen=True)
class HandleRow:
    id: str
    owner: str
    task_id: str | None
    token: str | None
    tool: str
    shown: dict[str, Any]  # how the result is shown: the preview asked for, whether the host has the viewer
    pending: dict[str, Any] | None  # the call waiting for the person's answer (no task yet)
    # How it ended, for good: {"status", "message", "refusal"} without a task; with one, also its result
    # ("outcome": the result, notes and headline as the host was to see them; no previews).
    ended: dict[str, Any] | None
    created: float
    expires: float | None  # None: kept as long as the journal is


def keep(db: Connection, api: str, handle: HandleRow) -> None:
    """Write `handle` (a new one, or the same id with its task or its pending call changed); the expired go."""
    db.execute("DELETE FROM handles WHERE api = ? AND expires IS NOT NULL AND expires < ?", (api, handle.created))
    db.execute(
        "INSERT INTO handles (id, api, owner, task_id, token, tool, shown, pending, ended, created, expires)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET api = excluded.api,"
        " owner = excluded.owner, task_id = excluded.task_id, token = excluded.token, tool = excluded.tool,"
        " shown = excluded.shown, pending = excluded.pending, ended = excluded.ended, created = excluded.created,"
        " expires = excluded.expires",
        (
            handle.id,
            api,
            handle.owner,
            handle.task_id,
            handle.token,
            handle.tool,
            json.dumps(handle.shown),
            json.dumps(handle.pending) if handle.pending is not None else None,
            json.dumps(handle.ended) if handle.ended is not None else None,
            handle.created,
            handle.expires,
        ),
    )


def find(db: Connection, api: str, handle_id: str) -> HandleRow | None:
    values = db.execute(f"SELECT {COLUMNS} FROM handles WHERE api = ? AND id = ?", (api, handle_id)).fetchone()
    return _row(values) if values else None


def of_owner(db: Connection, api: str, owner: str, now: float, limit: int, offset: int) -> list[HandleRow]:
    rows = db.execute(
        f"SELECT {COLUMNS} FROM handles WHERE api = ? AND owner = ? AND (expires IS NULL OR expires >= ?)"
        " ORDER BY created DESC, id LIMIT ? OFFSET ?",
        (api, owner, now, limit, offset),
    ).fetchall()
    return [_row(values) for values in rows]


def _row(values: tuple[Any, ...]) -> HandleRow:
    handle_id, owner, task_id, token, tool, shown, pending, ended, created, expires = values
    return HandleRow(
        handle_id, owner, task_id, token, tool, _object(shown) or {}, _object(pending), _object(ended), created, expires
    )


def _object(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
