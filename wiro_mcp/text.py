"""Text that is safe to show an agent or write to a log: echoed values cut short, control and bidi
characters escaped, URLs without credentials. Every message that repeats something a caller, Wiro
or an environment variable gave us goes through here."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ECHO_LIMIT = 100
# A failed task's debugerror as a result shows it: its first and last lines, within about this.
EXCERPT_LIMIT = 2000

# C0 and C1 controls (a terminal's ESC, NUL, DEL) and the characters that reorder text (bidi
# embeddings, overrides and isolates: an RLO makes "gpj.exe" read "exe.jpg").
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clip(value: Any, limit: int = ECHO_LIMIT) -> str:
    """`repr(value)` of at most `limit` characters (a 1 MB prompt must not make a 1 MB error)."""
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    return f"{shown[: limit - 1]}… ({len(str(value))} characters)"


def clip_text(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` cut to about `limit` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


def shown(text: str, limit: int = ECHO_LIMIT) -> str:
    """Untrusted text quoted in one line: cut short, with controls, line breaks and bidi characters escaped."""
    return printable(clip_text(text, limit), lines=False)


def quoted(text: str) -> str:
    """Words someone else wrote (Wiro's) inside our sentence: in double quotes with none inside, so where
    they end is plain and nothing in them reads as ours."""
    return '"' + text.replace('"', "'") + '"'


def printable(text: str, *, lines: bool = True) -> str:
    """`text` with every control and bidi character shown as an escape (`\\x1b`, `\\u202e`): what is
    shown is what is there. `lines=False` escapes line breaks and tabs too (one-line texts)."""
    pattern = _HIDDEN if lines else _ONE_LINE
    return pattern.sub(_escape, text)


_ONE_LINE = re.compile(_HIDDEN.pattern[:-1] + "\\t\\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """A long log (a failed task's debugerror) as its first and last lines within about `limit`
    characters, with how much was left out between them."""
    if len(text) <= limit:
        return text
    half = limit // 2
    head, tail = text[:half], text[-half:]
    if "\n" in head[half // 2 :]:
        head = head[: head.rindex("\n")]
    if "\n" in tail[: half // 2]:
        tail = tail[tail.index("\n") + 1 :]
    left_out = len(text) - len(head) - len(tail)
    return f"{head}\n… ({left_out} characters left out) …\n{tail}"


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
