"""Command line: `wiro-mcp` (the MCP server), `wiro-mcp doctor` (check a setup) and `wiro-mcp sandbox`
(the simulated Wiro API)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings
    from .sandbox.billing import Billing

# The words that name a command rather than a folder after `--input-dirs` (see `command_apart`).
COMMANDS = ("doctor", "sandbox")
# `--sandbox` from the environment, for hosts that set variables rather than arguments (the MCP Bundle).
SANDBOX_ENV = "WIRO_MCP_SANDBOX"
SANDBOX_ON = frozenset({"1", "true", "yes", "on"})
SANDBOX_OFF = frozenset({"", "0", "false", "no", "off"})


def sandbox_wanted(value: str | None) -> bool:
    """WIRO_MCP_SANDBOX read as `--sandbox`: unset, blank or a host's unfilled placeholder is off. Any
    other word raises ValueError: a typo must not quietly mean "off", and so a run on the real account."""
    from .config import unfilled

    word = (value or "").strip().lower()
    if word in SANDBOX_ON:
        return True
    if word in SANDBOX_OFF or unfilled(word):
        return False
    raise ValueError(f"{SANDBOX_ENV}: must be 1, true, yes or on (or 0, false, no, off)")


def command_apart(argv: list[str]) -> list[str]:
    """`argv` with each folder of `--input-dirs` given as its own `--input-dirs=DIR` when a command word
    follows the folders. `--input-dirs` takes every word after it (a host expands the bundle's folders
    setting into several), so argparse alone would take `doctor` there for one more folder. A folder
    named like a command is written `./doctor`."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if not (len(word) >= 3 and "--input-dirs".startswith(word)):  # argparse accepts `--input` too
            out.append(word)
            continue
        folders: list[str] = []
        while i < len(argv) and not argv[i].startswith("-") and argv[i] not in COMMANDS:
            folders.append(argv[i])
            i += 1
        if i < len(argv) and argv[i] in COMMANDS:
            # What follows the command word is the command's: leave it as it is.
            return [*out, *(f"--input-dirs={folder}" for folder in folders), *argv[i:]]
        out += [word, *folders]
    return out


def served(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings the server runs with, and so the ones the doctor checks: the environment's, with the
    folders of `--input-dirs`, and with `--sandbox` pointed at an embedded sandbox started here (it lives
    as long as the process)."""
    from .config import unfilled

    folders = [d for d in args.input_dirs or [] if d.strip() and not unfilled(d)]
    if folders:
        settings = settings.model_copy(update={"input_dirs": os.pathsep.join(folders)})
    if args.sandbox:
        from .sandbox.embedding import embedded

        settings = embedded(settings, args.run_seconds, args.queue_seconds, args.billing)
    return settings


def run_doctor(args: argparse.Namespace) -> None:
    from . import doctor

    checks, status = doctor.run(prepare=lambda settings: served(args, settings))
    sys.stdout.write(doctor.report(checks))
    raise SystemExit(status)


def run_server(args: argparse.Namespace) -> None:
    from pydantic import ValidationError

    from .config import Settings, settings_problems

    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        problems = "; ".join(settings_problems(exc))
        sys.stderr.write(f"wiro-mcp: invalid environment: {problems}\n")
        raise SystemExit(2) from None
    from .doctor import unknown_names

    for check in unknown_names(os.environ):  # a misspelt setting is otherwise silently nothing
        sys.stderr.write(f"wiro-mcp: {check.text}\n")
    if args.transport == "stdio" and sys.stdin.isatty():
        # Started by hand: without this line it would just sit there, waiting for JSON-RPC.
        sys.stderr.write(
            "wiro-mcp is an MCP server: it speaks JSON-RPC on stdin/stdout to a host (Claude Desktop, an IDE) "
            "that starts it. To check a setup run `wiro-mcp doctor`; for options, `wiro-mcp --help`. "
            "Ctrl+C stops it.\n"
        )
    settings = served(args, settings)
    from .adapter.server import create_server  # the SDK's import is most of start-up: after the checks
    from .people import PeopleFileError

    try:
        server = create_server(settings)
    except PeopleFileError as exc:
        sys.stderr.write(f"wiro-mcp: {exc}\n")
        raise SystemExit(2) from None
    if args.transport == "stdio":
        server.run("stdio")
        return
    from .adapter.http_transport import build_app, serve

    token = settings.http_token.get_secret_value() if settings.http_token else None
    try:
        app = build_app(
            server,
            host=args.host,
            port=args.port,
            token=token,
            stateless=args.stateless,
            allowed_hosts=args.allowed_host,
        )
    except ValueError as exc:
        sys.stderr.write(f"wiro-mcp: {exc}\n")
        raise SystemExit(2) from None
    serve(app, args.host, args.port)


def parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="wiro-mcp", description=__doc__)
    parser.add_argument("--version", action="version", version=f"wiro-mcp {__version__}")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=f"serve against an embedded sandbox instead of api.wiro.ai (nothing is billed); {SANDBOX_ENV}=1 "
        "does the same",
    )
    _sandbox_options(parser, "--sandbox: ")
    parser.add_argument(
        "--input-dirs",
        nargs="*",
        action="extend",
        metavar="DIR",
        help="folders whose pictures may be used as input images (instead of WIRO_MCP_INPUT_DIRS); a command "
        "after them (doctor, sandbox) is the command: write a folder named like one ./doctor",
    )
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default: stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP: address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP: port (default: 8000)")
    parser.add_argument(
        "--stateless", action="store_true", help="HTTP: no MCP sessions, so any instance can answer any request"
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="HTTP: a Host name clients use (e.g. behind a reverse proxy); repeatable",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser(
        "doctor",
        help="check the setup (credentials, socket, folders, journal) and say what to fix",
        description="Check the setup this environment and these options (--sandbox, --input-dirs) give the "
        "server; exit status 1 when a check fails.",
    )
    sub.add_parser(
        "hash-token",
        help="print the hash of a token read from standard input, for the tokens file",
        description="Reads one token from standard input and prints `sha256:<hex>`, the form "
        "WIRO_MCP_HTTP_TOKENS_FILE keeps (the token itself is never written anywhere).",
    )
    sandbox = sub.add_parser("sandbox", help="run the simulated Wiro API in the foreground")
    sandbox.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    sandbox.add_argument("--host", default="127.0.0.1")
    _sandbox_options(sandbox, "")
    return parser


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (sys.argv by default) as the commands read it, `--sandbox` set by WIRO_MCP_SANDBOX
    too; a mistake exits with status 2 and says what is wrong."""
    words = parser()
    args = words.parse_args(command_apart(sys.argv[1:] if argv is None else argv))
    if args.command != "sandbox":
        try:
            args.sandbox = args.sandbox or sandbox_wanted(os.environ.get(SANDBOX_ENV))
        except ValueError as exc:
            sys.stderr.write(f"wiro-mcp: invalid environment: {exc}\n")
            raise SystemExit(2) from None
    given = (args.run_seconds, args.queue_seconds, args.billing)
    if args.command is None and not args.sandbox and given != (*DURATIONS, BILLING):
        words.error("--run-seconds, --queue-seconds and --billing apply to --sandbox")
    return args


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # One line per HTTP request is noise in a host's log; our own client logs what matters.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if args.command == "sandbox":
        from .sandbox.embedding import run_alone

        run_alone(args.port, args.host, args.run_seconds, args.queue_seconds, args.billing)
        return
    if args.command == "hash-token":
        from .people import hash_token

        token = sys.stdin.readline().strip()
        if not token:
            sys.stderr.write("wiro-mcp hash-token: give the token on standard input\n")
            raise SystemExit(2)
        sys.stdout.write(hash_token(token) + "\n")
        return
    if args.command == "doctor":
        logging.getLogger("wiro_mcp").setLevel(logging.ERROR)  # the report says it all
        run_doctor(args)
    run_server(args)


# How long a sandbox task waits in the queue and then runs (run, queue), and how it is billed, unless told otherwise.
DURATIONS = (2.5, 0.5)
BILLING: Billing = "per_work"


def _sandbox_options(parser: argparse.ArgumentParser, prefix: str) -> None:
    run, queue = DURATIONS
    parser.add_argument(
        "--run-seconds", type=float, default=run, metavar="S", help=f"{prefix}how long each task runs (default {run})"
    )
    parser.add_argument(
        "--queue-seconds",
        type=float,
        default=queue,
        metavar="S",
        help=f"{prefix}how long each task waits in the queue (default {queue})",
    )
    parser.add_argument(
        "--billing",
        choices=["per_work", "per_run"],
        default=BILLING,
        help=f"{prefix}per_work: a run's price grows with its pixels and steps; per_run: one price per run "
        f"(default {BILLING})",
    )
