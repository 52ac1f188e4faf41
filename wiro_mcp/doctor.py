"""`wiro-mcp doctor`: check a setup the way the server will use it, one line per check.

Each check says what it found and, when something is off, what to do. Nothing here costs money:
the credentials are tried with one read of a task that does not exist (Wiro answers "no such task"
to a key it accepts, and an authentication error to one it does not), the socket with a WebSocket
ping. A `fail` is something that stops tool calls from working (the exit status is then 1); a
`warn` is something that works worse than it could. The settings checked are the ones the server would
run with: the environment's, with the command line's `--input-dirs` folders and, under `--sandbox` (or
WIRO_MCP_SANDBOX), an embedded sandbox started for the checks.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio

from . import __version__, budgets
from .config import Settings, settings_problems
from .text import shown

Level = Literal["ok", "warn", "fail"]
KEYS_HELP = (
    "copy the API key (and the secret, if the project has one) from a project in your Wiro dashboard at "
    "https://wiro.ai, then set WIRO_API_KEY and WIRO_API_SECRET"
)
# A task id no account has: reading it is free and harmless.
NO_SUCH_TASK = "0"


@dataclass(frozen=True)
class Check:
    level: Level
    name: str
    text: str

    def line(self) -> str:
        return f"{self.level:<5} {self.name}: {self.text}"


# What the command line makes of the environment's settings before the server uses them (`cli.served`:
# the folders of --input-dirs, the embedded sandbox of --sandbox), so the doctor checks the same.
Prepare = Callable[[Settings], Settings]


def run(environ: Mapping[str, str] | None = None, *, prepare: Prepare | None = None) -> tuple[list[Check], int]:
    """Every check against `environ` (os.environ by default); the checks and the exit status."""
    checks = anyio.run(examine, dict(os.environ if environ is None else environ), prepare)
    return checks, 1 if any(c.level == "fail" for c in checks) else 0


async def examine(environ: Mapping[str, str], prepare: Prepare | None = None) -> list[Check]:
    from pydantic import ValidationError

    checks = [versions(), *unknown_names(environ)]
    try:
        given = Settings.from_env(environ)
    except ValidationError as exc:
        return checks + [Check("fail", "settings", problem) for problem in settings_problems(exc)]
    settings = given if prepare is None else prepare(given)
    # A folder to fix is named where it was given.
    folders_from = "--input-dirs" if settings.input_dirs != given.input_dirs else "WIRO_MCP_INPUT_DIRS"
    checks.append(mode(settings))
    if settings.api_key is not None:
        checks.append(await credentials(settings))
    checks.append(await socket(settings))
    checks.append(output_folder(settings.output_dir))
    checks += input_folders(settings, folders_from)
    checks.append(journal(settings))
    checks.append(limits(settings))
    if settings.auth_issuer is not None:
        checks.append(await sign_in(settings.auth_issuer, settings.auth_jwks_url))
    return checks


async def sign_in(issuer: str, jwks_url: str | None) -> Check:
    from .auth.keys import IssuerError, survey

    try:
        return Check("ok", "sign-in", await survey(issuer, jwks_url))
    except IssuerError as exc:
        return Check("fail", "sign-in", f"{exc}: nobody can sign in (check WIRO_MCP_AUTH_ISSUER)")


# Names read outside the settings: the command line's, and the tests' own.
OTHER_NAMES = frozenset({"WIRO_MCP_SANDBOX", "WIRO_MCP_CHROMIUM", "WIRO_MCP_UPDATE_SCREENSHOTS"})


def known_names() -> frozenset[str]:
    """Every WIRO_* variable wiro-mcp reads."""
    return frozenset(f.alias for f in Settings.model_fields.values() if f.alias) | OTHER_NAMES


def unknown_names(environ: Mapping[str, str]) -> list[Check]:
    """A WIRO_* variable wiro-mcp does not read (a misspelt one is silently nothing), with the nearest name."""
    import difflib

    known = known_names()
    checks = []
    for name in sorted(n for n in environ if n.upper().startswith("WIRO_") and n not in known)[:20]:
        nearest = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {nearest[0]}?" if nearest else "no setting has a name like it"
        checks.append(Check("warn", "settings", f"{shown(name, 60)} is not a wiro-mcp setting and is ignored: {hint}"))
    return checks


def versions() -> Check:
    from importlib.metadata import PackageNotFoundError, version

    try:
        sdk = version("mcp")
    except PackageNotFoundError:  # pragma: no cover - the SDK is a dependency
        sdk = "not installed"
    where = f"{platform.system() or sys.platform} {platform.machine()}".strip()
    return Check("ok", "versions", f"wiro-mcp {__version__}, mcp {sdk}, Python {platform.python_version()} ({where})")


def mode(settings: Settings) -> Check:
    if settings.sandbox:
        from .text import redact_url

        return Check(
            "ok",
            "mode",
            f"the embedded sandbox at {redact_url(settings.base_url)} (--sandbox or WIRO_MCP_SANDBOX): the checks "
            "below ran against it; no Wiro account is needed and nothing is billed",
        )
    if settings.api_key is None and settings.credentials == "request":
        return Check("ok", "credentials", "each HTTP request brings its own (WIRO_MCP_CREDENTIALS=request)")
    if settings.api_key is None:
        return Check("fail", "credentials", f"WIRO_API_KEY is not set; {KEYS_HELP}")
    if settings.api_secret is None:
        return Check(
            "ok",
            "mode",
            "key-only (no WIRO_API_SECRET): right for a Wiro project made without a secret; "
            "if the project has one, set it, or every call is refused",
        )
    return Check("ok", "mode", "signed requests (WIRO_API_KEY and WIRO_API_SECRET)")


async def credentials(settings: Settings) -> Check:
    from .errors import AuthenticationError, NotFoundError, WiroError
    from .text import redact_url
    from .wiro.client import WiroClient
    from .wiro.refs import TaskRef

    where = redact_url(settings.base_url)
    async with WiroClient.from_settings(settings) as client:
        try:
            deadline = anyio.current_time() + budgets.DOCTOR_REQUEST
            await client.task_detail(TaskRef(task_id=NO_SUCH_TASK), deadline=deadline)
        except NotFoundError:
            pass  # what a key Wiro accepts gets for a task that does not exist
        except AuthenticationError as exc:
            return Check("fail", "credentials", f"{where} refused them ({exc.message}); {KEYS_HELP}")
        except WiroError as exc:
            return Check("fail", "credentials", f"{where} could not be asked: {exc}")
    return Check("ok", "credentials", f"{where} accepts them (checked with a free read of a task that does not exist)")


async def socket(settings: Settings) -> Check:
    if not settings.push:
        return Check("ok", "socket", "off (WIRO_MCP_PUSH=false): task progress comes by polling")
    import httpx2
    from httpx2.websockets import AsyncWebSocketClient

    from .text import redact_url
    from .wiro.client import tls_context

    shown = redact_url(settings.socket_url)
    polling = "the server still works, by polling (progress comes in steps of a few seconds)"
    try:
        async with httpx2.AsyncClient(verify=tls_context(), timeout=budgets.DOCTOR_SOCKET) as http:
            with anyio.fail_after(budgets.DOCTOR_SOCKET):
                async with AsyncWebSocketClient(http).connect(settings.socket_url) as session:
                    pong = await session.ping()
                    await pong.wait()
    except TimeoutError:
        return Check("warn", "socket", f"{shown} did not answer within {budgets.DOCTOR_SOCKET:g} s; {polling}")
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        return Check("warn", "socket", f"{shown} cannot be used ({reason}); {polling}")
    return Check("ok", "socket", f"{shown} connects and answers")


def output_folder(folder: Path | None) -> Check:
    if folder is None:
        return Check(
            "ok", "output folder", "not set: results link to Wiro's URLs (set WIRO_MCP_OUTPUT_DIR to keep files)"
        )
    folder = folder.expanduser()
    if not folder.is_dir():
        return Check("fail", "output folder", f"{folder} does not exist: create it or fix WIRO_MCP_OUTPUT_DIR")
    if not _writable(folder):
        return Check("fail", "output folder", f"{folder} cannot be written: fix its permissions or choose another")
    return Check("ok", "output folder", f"{folder} (writable)")


def input_folders(settings: Settings, named: str = "WIRO_MCP_INPUT_DIRS") -> list[Check]:
    """One line per folder that input images may come from; `named` is where the folders were given."""
    folders = settings.allowed_input_dirs
    if not folders:
        return [
            Check(
                "ok",
                "input folders",
                "none: local files cannot be used as input_image (URLs can; see WIRO_MCP_INPUT_DIRS)",
            )
        ]
    found = []
    for folder in folders:
        if not folder.is_dir():
            found.append(Check("fail", "input folder", f"{folder} does not exist: create it or fix {named}"))
        elif not os.access(folder, os.R_OK | os.X_OK):
            found.append(Check("fail", "input folder", f"{folder} cannot be read: fix its permissions"))
        else:
            found.append(Check("ok", "input folder", f"{folder} (readable)"))
    return found


def journal(settings: Settings) -> Check:
    from .journal.records import JournalError
    from .journal.store import JournalStore
    from .money.limits import Limits

    folder = settings.state_folder
    limited = Limits.from_settings(settings)
    database = settings.database_url.get_secret_value() if settings.database_url is not None else None
    try:
        opened = JournalStore.open(folder, api=settings.base_url, database_url=database)
    except JournalError as exc:  # only a shared database raises: it is never replaced by a private journal
        return Check("fail", "journal", f"{exc}: no run starts until it can be reached; reads still work")
    try:
        problem = opened.problem or (None if opened.shared or _writable(folder) else f"{folder} cannot be written")
        if problem is not None and limited.counted:
            return Check(
                "fail",
                "journal",
                f"{problem}: no run starts while {limited.counted_names()} is set, since what runs cost cannot be "
                "counted; fix the folder or set WIRO_MCP_STATE_DIR",
            )
        if problem is not None:
            return Check(
                "warn",
                "journal",
                f"{problem}: tasks are forgotten when the server stops; fix the folder or set WIRO_MCP_STATE_DIR",
            )
        spend = opened.spend()
        doubts = len(opened.doubtful())
        text = f"{opened.where} ({spend.runs} runs in the last 24 h, ${spend.total:.4f})"
        if doubts:
            return Check(
                "warn",
                "journal",
                f"{text}; {doubts} run(s) sent by a server that stopped before Wiro answered: the server looks "
                "for them in Wiro's task list",
            )
        return Check("ok", "journal", text)
    finally:
        opened.close()


def limits(settings: Settings) -> Check:
    named: tuple[tuple[str, float | None], ...] = (("at most", settings.max_run_usd),)
    named += (("per day", settings.daily_budget_usd), ("ask above", settings.confirm_above_usd))
    parts = [f"{label} ${value:g}" for label, value in named if value is not None]
    if not parts:
        return Check("ok", "spending limits", "none set (see WIRO_MCP_DAILY_BUDGET_USD and docs/money.md)")
    return Check("ok", "spending limits", ", ".join(parts))


def _writable(folder: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".wiro-mcp-doctor-"):
            return True
    except OSError:
        return False


def report(checks: list[Check]) -> str:
    failed = sum(c.level == "fail" for c in checks)
    lines = [c.line() for c in checks]
    if failed:
        lines.append(f"{failed} check{'s' if failed != 1 else ''} failed: fix the lines marked fail, then run again.")
    else:
        lines.append("Ready: a host can start this server with the same environment and options.")
    return "\n".join(lines) + "\n"
