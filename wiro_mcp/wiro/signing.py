"""Whose Wiro credentials sign a request: the client's own, or, where each request brings its own
(WIRO_MCP_CREDENTIALS=request), the caller's, for everything the task serving them (and the tasks it
starts) sends. Kept in a context variable only: never written anywhere. Imported at start-up (it is
light); the client reads it when it signs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_caller_keys: ContextVar[tuple[str, str | None] | None] = ContextVar("wiro_caller_keys", default=None)


@contextmanager
def signing_as(keys: tuple[str, str | None] | None) -> Iterator[None]:
    """Requests made in this block (and by tasks started in it) sign with `keys` (None: the client's own)."""
    reset = _caller_keys.set(keys) if keys is not None else None
    try:
        yield
    finally:
        if reset is not None:
            _caller_keys.reset(reset)


def caller_keys() -> tuple[str, str | None] | None:
    return _caller_keys.get()
