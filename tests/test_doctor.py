"""`wiro-mcp doctor`: one line per check, what to do when one is off, exit status 1 on a failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wiro_mcp import doctor
from wiro_mcp.sandbox import Sandbox, SandboxConfig

from .helpers import server_env

pytestmark = pytest.mark.anyio


def levels(checks: list[doctor.Check]) -> dict[str, str]:
    return {check.name: check.level for check in checks}


def said(checks: list[doctor.Check], name: str) -> str:
    return next(check.text for check in checks if check.name == name)


async def test_a_good_setup_passes_every_check(sandbox: Sandbox, tmp_path: Path) -> None:
    env = server_env(sandbox, WIRO_MCP_OUTPUT_DIR=str(tmp_path), WIRO_MCP_INPUT_DIRS=str(tmp_path))
    checks = await doctor.examine(env)
    assert set(levels(checks).values()) == {"ok"}, [c.line() for c in checks]
    assert said(checks, "mode").startswith("signed requests")
    assert "accepts them" in said(checks, "credentials")
    assert said(checks, "socket").endswith("connects and answers")
    assert str(tmp_path) in said(checks, "output folder") and "writable" in said(checks, "output folder")
    assert "journal.sqlite3" in said(checks, "journal")
    # The check is free: one read of a task that does not exist, nothing started.
    assert sandbox.count("Task/Detail") == 1 and sandbox.count("Run/") == 0


async def test_wrong_credentials_fail_and_say_where_keys_come_from(sandbox: Sandbox) -> None:
    checks = await doctor.examine(server_env(sandbox, WIRO_API_SECRET="not-the-secret"))
    assert levels(checks)["credentials"] == "fail"
    assert "refused them" in said(checks, "credentials") and "https://wiro.ai" in said(checks, "credentials")
    assert "not-the-secret" not in "".join(c.line() for c in checks)


async def test_a_key_only_setup_against_a_signed_project_is_refused(sandbox: Sandbox) -> None:
    env = server_env(sandbox)
    del env["WIRO_API_SECRET"]
    checks = await doctor.examine(env)
    assert said(checks, "mode").startswith("key-only")
    assert levels(checks)["credentials"] == "fail"


async def test_a_key_only_project_is_fine_without_a_secret() -> None:
    with Sandbox(SandboxConfig(api_secret=None, grain=False)) as box:
        checks = await doctor.examine(server_env(box))
    assert levels(checks)["mode"] == levels(checks)["credentials"] == "ok"


async def test_no_key_fails_with_what_to_do() -> None:
    checks = await doctor.examine({})
    assert levels(checks)["credentials"] == "fail"
    assert "WIRO_API_KEY is not set" in said(checks, "credentials")


@pytest.mark.parametrize("how", ["refused", "nothing listening"])
async def test_a_closed_socket_is_a_warning_since_polling_still_works(sandbox: Sandbox, how: str) -> None:
    env = server_env(sandbox)
    if how == "refused":
        sandbox.sockets.mode = "refuse"
    else:
        env["WIRO_SOCKET_URL"] = "ws://127.0.0.1:9/socket/v1"
    checks = await doctor.examine(env)
    assert levels(checks)["socket"] == "warn"
    assert "polling" in said(checks, "socket")
    assert levels(checks)["credentials"] == "ok"


async def test_folders_that_do_not_exist_fail(sandbox: Sandbox, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    env = server_env(sandbox, WIRO_MCP_OUTPUT_DIR=str(missing), WIRO_MCP_INPUT_DIRS=str(missing))
    checks = await doctor.examine(env)
    assert levels(checks)["output folder"] == levels(checks)["input folder"] == "fail"
    assert "WIRO_MCP_OUTPUT_DIR" in said(checks, "output folder")
    assert "WIRO_MCP_INPUT_DIRS" in said(checks, "input folder")


async def test_an_unusable_journal_folder_is_a_warning_and_a_failure_under_a_limit(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = server_env(sandbox, WIRO_MCP_STATE_DIR=str(blocker / "state"))
    checks = await doctor.examine(env)
    assert levels(checks)["journal"] == "warn"
    assert "WIRO_MCP_STATE_DIR" in said(checks, "journal")
    limited = await doctor.examine({**env, "WIRO_MCP_DAILY_BUDGET_USD": "2"})
    assert levels(limited)["journal"] == "fail"
    assert "no run starts while WIRO_MCP_DAILY_BUDGET_USD is set" in said(limited, "journal")


async def test_runs_left_in_doubt_are_a_warning(sandbox: Sandbox, state_dir: Path) -> None:
    from wiro_mcp.journal.records import Claimed, RunRecord
    from wiro_mcp.journal.store import JournalStore

    j = JournalStore.open(state_dir, api=sandbox.base_url)
    claim = j.claim(RunRecord("k", "acme/m", {}), budget=None)
    assert isinstance(claim, Claimed)
    j.doubt(claim.row, "lost")
    j.close()
    checks = await doctor.examine(server_env(sandbox))
    assert levels(checks)["journal"] == "warn" and "1 run(s) sent by a server that stopped" in said(checks, "journal")


async def test_a_malformed_setting_is_named() -> None:
    checks = await doctor.examine({"WIRO_API_BASE_URL": "not a url", "WIRO_API_KEY": "k"})
    assert [c.level for c in checks] == ["ok", "fail"]
    assert said(checks, "settings").startswith("WIRO_API_BASE_URL: must be a http:// or https:// URL")


def test_the_command_prints_one_line_per_check_and_exits_1_on_a_failure(sandbox: Sandbox) -> None:
    def doctor_run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wiro_mcp", "doctor"],
            env={"PATH": "/usr/bin:/bin", **server_env(sandbox, **env)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = doctor_run()
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["ok"] * (len(lines) - 1)
    assert lines[-1].startswith("Ready")
    bad = doctor_run(WIRO_API_SECRET="wrong")
    assert bad.returncode == 1
    assert any(line.startswith("fail  credentials:") for line in bad.stdout.splitlines())
    assert bad.stdout.splitlines()[-1] == "1 check failed: fix the lines marked fail, then run again."


def run_command(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # stdin closed: were the command word taken for something else, the server would stop at once.
    return subprocess.run(
        [sys.executable, "-m", "wiro_mcp", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_the_command_checks_the_folders_given_with_input_dirs(sandbox: Sandbox, tmp_path: Path) -> None:
    pictures, missing = tmp_path / "pictures", tmp_path / "nope"
    pictures.mkdir()
    # As the bundle starts it: the folders expanded after --input-dirs, then the command word.
    done = run_command(["--input-dirs", str(pictures), str(missing), "doctor"], server_env(sandbox))
    lines = done.stdout.splitlines()
    assert f"ok    input folder: {pictures} (readable)" in lines, done.stdout + done.stderr
    assert f"fail  input folder: {missing} does not exist: create it or fix --input-dirs" in lines
    assert done.returncode == 1
    good = run_command(["--input-dirs", str(pictures), "doctor"], server_env(sandbox))
    assert good.returncode == 0, good.stdout + good.stderr


@pytest.mark.parametrize("how", ["--sandbox", "WIRO_MCP_SANDBOX"])
def test_the_doctor_checks_the_embedded_sandbox_when_the_server_would_use_it(how: str, tmp_path: Path) -> None:
    # No key, and a Wiro nobody answers at: every check that passes passed against the sandbox.
    env = {
        "WIRO_API_BASE_URL": "http://127.0.0.1:9/v1",
        "WIRO_SOCKET_URL": "ws://127.0.0.1:9/socket/v1",
        # The platform's state folder, were it used, inside the test's own.
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    args = ["doctor"]
    if how == "--sandbox":
        args.insert(0, "--sandbox")
    else:
        env["WIRO_MCP_SANDBOX"] = "1"
    # No WIRO_MCP_STATE_DIR: a sandbox's journal is a temporary folder of its own, as the server's is.
    done = run_command(args, env)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = dict(line.split(": ", 1) for line in done.stdout.splitlines()[1:-1])
    assert set(name.split()[0] for name in checks) == {"ok"}, done.stdout
    mode = checks["ok    mode"]
    assert mode.startswith("the embedded sandbox at http://127.0.0.1:") and "nothing is billed" in mode
    assert checks["ok    credentials"].startswith("http://127.0.0.1:") and "accepts them" in checks["ok    credentials"]
    assert checks["ok    socket"].startswith("ws://127.0.0.1:") and checks["ok    socket"].endswith("answers")
    assert "wiro-mcp-sandbox-" in checks["ok    journal"], "not the real journal"
    assert not (tmp_path / "state").exists()


def test_with_credentials_from_each_request_no_server_key_is_needed() -> None:
    checks, _ = doctor.run({"WIRO_MCP_CREDENTIALS": "request"})
    assert levels(checks)["credentials"] == "ok" and "each HTTP request brings its own" in said(checks, "credentials")


async def test_a_misspelt_setting_is_named_with_the_nearest_one(sandbox: Sandbox) -> None:
    """Was: WIRO_MCP_SANBOX=1 went unnoticed (and the limits' line pointed to a README section that is not there)."""
    env = server_env(sandbox, WIRO_MCP_SANBOX="1", WIRO_MCP_DAILY_BUDGT_USD="5", WIRO_ZZZ="x")
    checks = await doctor.examine(env)
    warned = [c.text for c in checks if c.name == "settings" and c.level == "warn"]
    assert warned == [
        "WIRO_MCP_DAILY_BUDGT_USD is not a wiro-mcp setting and is ignored: did you mean WIRO_MCP_DAILY_BUDGET_USD?",
        "WIRO_MCP_SANBOX is not a wiro-mcp setting and is ignored: did you mean WIRO_MCP_SANDBOX?",
        "WIRO_ZZZ is not a wiro-mcp setting and is ignored: no setting has a name like it",
    ]
    assert "docs/money.md" in said(checks, "spending limits") and "README" not in said(checks, "spending limits")


def test_the_server_says_so_on_stderr_at_start(sandbox: Sandbox) -> None:
    env = {**server_env(sandbox), "WIRO_MCP_SANBOX": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp"], input="", capture_output=True, text=True, env=env, timeout=60
    )
    assert "wiro-mcp: WIRO_MCP_SANBOX is not a wiro-mcp setting and is ignored: did you mean WIRO_MCP_SANDBOX?" in (
        done.stderr
    )
