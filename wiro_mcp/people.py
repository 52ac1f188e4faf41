"""Who is calling: the owner of the tasks a request starts and may see.

A server has one owner (stdio; HTTP with no token or with WIRO_MCP_HTTP_TOKEN): every task is theirs,
as before. Signed in with the team's identity provider (WIRO_MCP_AUTH_ISSUER, auth/tokens.py), each
person is the issuer's subject. With a tokens file (WIRO_MCP_HTTP_TOKENS_FILE) each person has a
token of their own. Either way their tasks, their identical-call guard and their daily budget are theirs
alone; another person's task id answers "not found". The file has one line per person:

    # name   token hash                                                               daily budget (optional)
    ada      sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae  5.00

`wiro-mcp hash-token` prints the hash of a token read from standard input. Only hashes are kept:
the file gives no token away. The service reads the caller of the request it serves from `current()`;
the adapter sets it (`acting_as`) for each request from its bearer token.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from .text import shown

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
HASH = re.compile(r"sha256:[0-9a-f]{64}")
MAX_PEOPLE = 10_000
COMMENT = re.compile(r"(?:^|\s)#")


@dataclass(frozen=True)
class Caller:
    owner: str  # "" for the one owner of a server without a tokens file
    name: str | None = None
    daily_budget: float | None = None  # this person's own daily budget, on top of the server's
    # The Wiro credentials the request brought (WIRO_MCP_CREDENTIALS=request): in memory, never stored.
    keys: tuple[str, str | None] | None = field(default=None, repr=False)

    @property
    def budget_words(self) -> str:
        """Whose budget a refusal names."""
        if self.keys is not None:
            return f"the daily budget of {self.name} (WIRO_MCP_DAILY_BUDGET_USD, each key's own)"
        if self.owner.startswith(SIGNED_IN):
            return f"{self.name}'s own daily budget (their sign-in's, WIRO_MCP_AUTH_DAILY_BUDGET_USD)"
        return f"{self.name}'s own daily budget (the tokens file)"


ONE_OWNER = Caller("")
_current: ContextVar[Caller] = ContextVar("wiro_mcp_caller", default=ONE_OWNER)


def current() -> Caller:
    return _current.get()


@contextmanager
def acting_as(caller: Caller) -> Iterator[None]:
    reset = _current.set(caller)
    try:
        yield
    finally:
        _current.reset(reset)


# Every owner id is made here (and read back by `of_owner`): whose a task, its identical-call guard, an MCP
# task and a spend are. "" is the server's one owner; then one prefix per kind of caller.
PERSON, KEY, SIGNED_IN = "person:", "key:", "oauth:"


def person_owner(name: str) -> str:
    """A person of the tokens file."""
    return PERSON + name


def signed_in_owner(issuer: str, subject: str) -> str:
    """A person signed in with the identity provider: a digest of who signed them in, so whatever the
    subject holds it never reaches the journal or a log as text."""
    return SIGNED_IN + hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:40]


def handle_owner(caller: Caller, bearer: str | None, *, over_http: bool) -> str:
    """Whose an MCP task is: the caller's own owner, else (the server's one owner) the client that asked:
    over stdio the one client, over HTTP the bearer token it authenticated with, as a hash."""
    if caller.owner:
        return caller.owner
    if not over_http:
        return "local"
    return "http:" + hashlib.sha256(bearer.encode()).hexdigest()[:32] if bearer else "http"


def of_owner(owner: str) -> Caller:
    """The caller to act as for work done later for a recorded owner (an MCP task's follow, its cancel):
    the person, or the server's one owner (whose handles carry their transport's name)."""
    if owner.startswith(PERSON):
        return Caller(owner, owner.removeprefix(PERSON))
    if owner.startswith(SIGNED_IN):  # known by a digest of who signed them in
        return Caller(owner, "the signed-in person")
    return Caller(owner) if owner.startswith(KEY) else ONE_OWNER  # a key's: its keys come with the work


def key_holder(bearer: str, salt: bytes, daily_budget: float | None) -> Caller | None:
    """The caller of a request that brings its own Wiro credentials: `key` or `key:secret`. Its owner
    id is a keyed hash of the key (the key itself is never kept); the server's daily budget holds for
    each key's own runs (each is its own Wiro account). None for a bearer that is no key."""
    key, _, secret = bearer.partition(":")
    if not key or len(bearer) > 512 or not key.isprintable() or not secret.isprintable():
        return None
    owner = KEY + hmac.new(salt, key.encode(), hashlib.sha256).hexdigest()[:32]
    return Caller(owner, f"the Wiro key …{key[-4:]}", daily_budget, (key, secret or None))


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class PeopleFileError(ValueError):
    """The tokens file (or the sign-in's budgets file) cannot be used; the message names the file and the line."""


def _lines(path: Path, what: str) -> list[tuple[str, list[str]]]:
    """A people file's lines that say something: (where, its fields), comments and blanks left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PeopleFileError(f"the {what} {path} cannot be read ({exc})") from exc
    # A comment starts at a `#` that begins the line or follows a space: a subject may hold one (`abc#1`).
    found = [(f"{path}, line {n}", COMMENT.split(line, 1)[0].split()) for n, line in enumerate(text.splitlines(), 1)]
    return [(where, fields) for where, fields in found if fields]


def _budget(text: str, where: str) -> float:
    try:
        budget = float(text)
    except ValueError:
        budget = -1.0
    if not math.isfinite(budget) or budget < 0:
        raise PeopleFileError(f"{where}: the daily budget must be a number of USD, 0 or more")
    return budget


def load_budgets(path: Path) -> dict[str, float]:
    """WIRO_MCP_AUTH_BUDGETS_FILE: each signed-in person's own daily budget, a line each:
    `<subject> <daily budget in USD>`, the subject as the identity provider writes it in the token's
    `sub` (the one claim a person cannot choose)."""
    budgets: dict[str, float] = {}
    for where, fields in _lines(path, "budgets file"):
        if len(fields) != 2 or len(fields[0]) > 255:
            raise PeopleFileError(f"{where}: expected `<subject> <daily budget in USD>`, the subject as in the token")
        if fields[0] in budgets:
            raise PeopleFileError(f"{where}: {shown(fields[0], 80)} is already in the file")
        budgets[fields[0]] = _budget(fields[1], where)
        if len(budgets) > MAX_PEOPLE:
            raise PeopleFileError(f"{path}: more than {MAX_PEOPLE} people")
    return budgets


class People:
    def __init__(self, people: dict[str, Caller]) -> None:
        self._by_hash = people  # token hash -> the person

    @classmethod
    def load(cls, path: Path) -> People:
        people: dict[str, Caller] = {}
        names: set[str] = set()
        for where, fields in _lines(path, "tokens file"):
            if len(fields) not in (2, 3) or not NAME.fullmatch(fields[0]) or not HASH.fullmatch(fields[1]):
                raise PeopleFileError(
                    f"{where}: expected `name sha256:<64 hex digits> [daily budget in USD]` "
                    "(make the hash with `wiro-mcp hash-token`)"
                )
            budget = _budget(fields[2], where) if len(fields) == 3 else None
            if fields[0] in names or fields[1] in people:
                raise PeopleFileError(f"{where}: {fields[0]} or that token hash is already in the file")
            names.add(fields[0])
            people[fields[1]] = Caller(person_owner(fields[0]), fields[0], budget)
            if len(people) > MAX_PEOPLE:
                raise PeopleFileError(f"{path}: more than {MAX_PEOPLE} people")
        if not people:
            raise PeopleFileError(f"the tokens file {path} names nobody")
        return cls(people)

    def find(self, token: str) -> Caller | None:
        """The person whose token this is. Looked up by the token's SHA-256: the time a lookup takes
        tells nothing about any token (a caller cannot choose what the hash of a guess looks like)."""
        return self._by_hash.get(hash_token(token))

    def __len__(self) -> int:
        return len(self._by_hash)
