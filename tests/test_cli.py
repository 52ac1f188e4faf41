"""The command line: stdout carries only JSON-RPC, bad environments are refused by name, and the
sandbox command prints its base URL first."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from typing import Any

import httpx2
import pytest

from wiro_mcp.sandbox import Sandbox, SandboxConfig

from .helpers import server_env, stdio_session, text

MESSAGES: list[dict[str, Any]] = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {
            "name": "generate_image",
            "arguments": {"prompt": "raw stdout check", "preview": False},
            "_meta": {"progressToken": "p"},
        },
    },
    {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "get_task", "arguments": {}}},
]


def test_stdout_carries_nothing_but_json_rpc() -> None:
    # The embedded sandbox, the server's logging and the task socket all run in this process:
    # every line on stdout must still be a JSON-RPC message.
    process = subprocess.Popen(
        [sys.executable, "-m", "wiro_mcp", "--sandbox", "--run-seconds", "0.3", "--queue-seconds", "0.1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    lines: list[str] = []
    try:
        for message in MESSAGES:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
            if "id" not in message:
                continue
            while True:
                line = process.stdout.readline()
                assert line, f"the server closed stdout: {process.stderr.read() if process.stderr else ''}"
                lines.append(line)
                if json.loads(line).get("id") == message["id"]:
                    break
    finally:
        process.stdin.close()
        process.wait(timeout=20)
    parsed = [json.loads(line) for line in lines]
    assert all(p.get("jsonrpc") == "2.0" for p in parsed)
    call = next(p for p in parsed if p.get("id") == 3)
    assert call["result"]["structuredContent"]["state"] == "succeeded"
    # --run-seconds reaches the embedded sandbox (its default is 2.5 s).
    assert call["result"]["structuredContent"]["elapsed_seconds"] == pytest.approx(0.3, abs=0.01)
    # The agent is told that nothing was billed, in the result and in the server's instructions.
    assert call["result"]["structuredContent"]["sandbox"] is True
    said = call["result"]["content"][0]["text"]
    assert "(sandbox: nothing billed, the money is simulated; a real run would cost about $" in said
    assert "nothing is billed" in next(p for p in parsed if p.get("id") == 1)["result"]["instructions"]
    assert any(p.get("method") == "notifications/progress" for p in parsed), "progress arrived as JSON-RPC"
    assert next(p for p in parsed if p.get("id") == 4)["result"]["isError"] is True
    stderr = process.stderr.read() if process.stderr else ""
    assert "using the embedded sandbox" in stderr
    assert "DeprecationWarning" not in stderr, "no deprecation noise the user cannot act on"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WIRO_MCP_WAIT_SECONDS", "soon", "valid number"),
        # Refused at start-up, before any call could look as if it reached Wiro.
        ("WIRO_API_BASE_URL", "not a url", "must be a http:// or https:// URL like https://api.wiro.ai/v1"),
        ("WIRO_SOCKET_URL", "https://socket.wiro.ai/v1", "must be a ws:// or wss:// URL"),
        # A typo must not quietly mean "off", and so a run billed to the real account.
        ("WIRO_MCP_SANDBOX", "ture", "must be 1, true, yes or on (or 0, false, no, off)"),
    ],
)
def test_a_bad_environment_is_refused_by_name(name: str, value: str, says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp"],
        env={"PATH": "/usr/bin:/bin", name: value},
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("wiro-mcp: invalid environment: ")
    assert name in done.stderr and says in done.stderr
    assert done.stdout == ""


def test_version_and_options_that_need_the_sandbox() -> None:
    from wiro_mcp import __version__

    shown = subprocess.run([sys.executable, "-m", "wiro_mcp", "--version"], capture_output=True, text=True, timeout=30)
    assert (shown.returncode, shown.stdout.strip()) == (0, f"wiro-mcp {__version__}")
    refused = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "--run-seconds", "3"], capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 2
    assert "--run-seconds, --queue-seconds and --billing apply to --sandbox" in refused.stderr


def test_started_in_a_terminal_it_says_what_it_is() -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "wiro_mcp", "--sandbox"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(follower)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("wiro-mcp is an MCP server: it speaks JSON-RPC on stdin/stdout")
        assert "wiro-mcp doctor" in first
    finally:
        process.kill()
        process.wait(timeout=10)
        os.close(leader)


def test_sandbox_command_prints_its_base_url_first() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "wiro_mcp", "sandbox", "--run-seconds", "0.2", "--queue-seconds", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/v1")
        assert process.stdout.readline().strip() == "WIRO_API_KEY=sandbox-key"
        shown = dict(process.stdout.readline().strip().split("=", 1) for _ in range(3))
        # Everything a server needs, the socket included (without it a server polls and logs failures).
        assert shown["WIRO_API_BASE_URL"] == base
        assert shown["WIRO_SOCKET_URL"] == base.replace("http://", "ws://").removesuffix("/v1") + "/socket/v1"
        deadline = time.monotonic() + 10
        with httpx2.Client() as http:
            while True:
                try:
                    answer = http.post(
                        f"{base}/Task/Detail", json={"taskid": "1"}, headers={"x-api-key": "sandbox-key"}
                    )
                    break
                except httpx2.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
        assert answer.status_code == 401, "the fixed credentials are signed: a key alone is refused"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.anyio
async def test_the_api_secret_appears_in_no_result_and_no_log_line() -> None:
    secret = "s3cr3t-" + secrets.token_hex(12)
    with Sandbox(SandboxConfig(api_secret=secret, queue_seconds=0.1, run_seconds=0.3, grain=False)) as box:
        seen: list[str] = []
        async with stdio_session(server_env(box)) as s:
            calls: list[tuple[str, dict[str, Any]]] = [
                ("generate_image", {"prompt": "a cat"}),
                ("generate_image", {"prompt": "[sandbox:fail] a cat"}),
                ("get_task", {"task_id": "999999"}),
                ("generate_panorama", {"prompt": "x", "steps": 0}),
            ]
            for name, arguments in calls:
                result = await s.call(name, arguments)
                seen.append(result.model_dump_json())
            box.inject("bad_credentials", "Task/Detail")
            seen.append((await s.call("get_task", {"task_id": "1001"})).model_dump_json())
            box.inject("html", "Run")
            seen.append((await s.call("generate_image", {"prompt": "y"})).model_dump_json())
            stderr = s.stderr
    assert stderr.strip(), "the server did log something to scan"
    for blob in [*seen, stderr]:
        assert secret not in blob


def test_settings_a_host_left_unfilled_are_unset() -> None:
    from wiro_mcp.config import Settings, unfilled

    # An MCP Bundle's optional settings that the person left empty arrive as their placeholders.
    settings = Settings.from_env(
        {"WIRO_API_KEY": "k", "WIRO_API_SECRET": "${user_config.api_secret}", "WIRO_MCP_DAILY_BUDGET_USD": " ${x} "}
    )
    assert settings.api_secret is None and settings.daily_budget_usd is None
    assert unfilled("${user_config.input_dirs}") and not unfilled("${a}/${b}") and not unfilled("/home/${x")


@pytest.mark.parametrize(
    ("argv", "command", "folders"),
    [
        # A host expands the bundle's folders setting into several words, then a person adds a command.
        (["--input-dirs", "a", "b", "doctor"], "doctor", ["a", "b"]),
        (["--input-dirs", "doctor"], "doctor", None),
        (["--sandbox", "--input-dirs", "a", "sandbox", "--port", "9"], "sandbox", ["a"]),
        (["--input", "a", "doctor"], "doctor", ["a"]),  # argparse's abbreviation of the option
        # The server as today: every word after --input-dirs is a folder, the last option included.
        (["--sandbox", "--input-dirs", "a", "b"], None, ["a", "b"]),
        (["--input-dirs", "a", "--transport", "http"], None, ["a"]),
        (["--input-dirs", "${user_config.input_dirs}"], None, ["${user_config.input_dirs}"]),
        (["--input-dirs", "./doctor"], None, ["./doctor"]),
        (["--input-dirs", "a", "--input-dirs", "b", "doctor"], "doctor", ["a", "b"]),
    ],
)
def test_a_command_word_after_the_folders_is_the_command(
    argv: list[str], command: str | None, folders: list[str] | None
) -> None:
    from wiro_mcp.cli import arguments

    args = arguments(argv)
    assert (args.command, args.input_dirs) == (command, folders)
    if command == "sandbox":
        assert args.port == 9, "the options after the command word stay the command's"


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("", False),
        (None, False),
        ("${user_config.sandbox}", False),  # a bundle whose setting nothing filled in
    ],
)
def test_wiro_mcp_sandbox_reads_as_the_sandbox_flag(value: str | None, wanted: bool) -> None:
    from wiro_mcp.cli import sandbox_wanted

    assert sandbox_wanted(value) is wanted


@pytest.mark.anyio
async def test_wiro_mcp_sandbox_runs_the_server_against_the_sandbox_without_a_key() -> None:
    # Pointed at nothing: only the embedded sandbox can answer.
    env = server_env(
        None,
        PATH="/usr/bin:/bin",
        WIRO_MCP_SANDBOX="true",
        WIRO_API_BASE_URL="http://127.0.0.1:9/v1",
        WIRO_SOCKET_URL="ws://127.0.0.1:9/socket/v1",
    )
    # --run-seconds is accepted: the variable counts as --sandbox.
    async with stdio_session(env, ["--run-seconds", "0.3", "--queue-seconds", "0.1"]) as s:
        result = await s.call("generate_image", {"prompt": "no account needed", "preview": False})
        stderr = s.stderr
    assert result.structured_content is not None, text(result)
    assert result.structured_content["state"] == "succeeded", text(result)
    assert result.structured_content["sandbox"] is True
    assert "(sandbox: nothing billed" in text(result)
    assert "using the embedded sandbox" in stderr
