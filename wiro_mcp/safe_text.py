"""Text that is safe to show an agent or write to a log: echoed values cut short, URLs without
credentials. Every message that repeats something a caller or an environment variable gave us
goes through here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

ECHO_LIMIT = 100


def clip(value: Any, limit: int = ECHO_LIMIT) -> str:
    """`repr(value)` of at most `limit` characters (a 1 MB prompt must not make a 1 MB error)."""
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    return f"{shown[: limit - 1]}… ({len(str(value))} characters)"


def redact_url(url: str) -> str:
    """The URL without a user name or password in it (`https://user:pw@host/x` -> `https://***@host/x`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))
