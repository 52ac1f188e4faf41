"""People sharing one server and one Wiro account (WIRO_MCP_HTTP_TOKENS_FILE): the file's rules, and,
through three replicas behind HAProxy on one PostgreSQL, two people who cannot read, list, view or
stop each other's tasks (each path tried), with a duplicate guard and a budget each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psycopg
import pytest
from mcp.client.extension import advertise
from mcp.shared.exceptions import MCPError
from mcp_types import TextResourceContents
from pydantic import ValidationError

from tests.helpers import http_session, raw_request, server_env, text
from tests.replicas import fleet
from wiro_mcp.adapter.task_wire import TASKS
from wiro_mcp.config import Settings, settings_problems
from wiro_mcp.people import People, PeopleFileError, hash_token
from wiro_mcp.sandbox import Sandbox

ADA, BOB, STRANGER = "ada-token-0123456789", "bob-token-9876543210", "nobody-token-000000"
IMAGE = {"prompt": "a lighthouse", "wait_seconds": 0, "preview": False}


def tokens_file(folder: Path, bob_budget: str = "") -> Path:
    path = folder / "people.txt"
    path.write_text(
        "# name  token hash  daily budget\n"
        f"ada {hash_token(ADA)}\n"
        f"bob   {hash_token(BOB)}  {bob_budget}  # bob's own budget\n"
        "\n"
    )
    return path


def test_the_tokens_file_gives_each_token_its_person_and_budget(tmp_path: Path) -> None:
    people = People.load(tokens_file(tmp_path, "0.50"))
    ada, bob = people.find(ADA), people.find(BOB)
    assert ada is not None and (ada.owner, ada.name, ada.daily_budget) == ("person:ada", "ada", None)
    assert bob is not None and (bob.owner, bob.daily_budget) == ("person:bob", 0.5)
    assert people.find(STRANGER) is None and people.find("") is None and len(people) == 2
    assert ADA not in (tmp_path / "people.txt").read_text(), "the file keeps hashes only"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("ada sha256:abc", "expected `name sha256:<64 hex digits>"),
        (f"ada {hash_token(ADA)} 1 2", "expected"),
        (f"a/b {hash_token(ADA)}", "expected"),
        (f"ada {hash_token(ADA)} -1", "0 or more"),
        (f"ada {hash_token(ADA)} nan", "0 or more"),
        (f"ada {hash_token(ADA)} cheap", "0 or more"),
        (f"ada {hash_token(ADA)}\nada {hash_token(BOB)}", "already in the file"),
        (f"ada {hash_token(ADA)}\nbob {hash_token(ADA)}", "already in the file"),
        ("# nobody yet", "names nobody"),
    ],
)
def test_a_tokens_file_that_cannot_be_used_names_the_file_and_line(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "people.txt"
    path.write_text(line + "\n")
    with pytest.raises(PeopleFileError) as refused:
        People.load(path)
    assert says in str(refused.value) and str(path) in str(refused.value)
    assert ADA not in str(refused.value)


def test_a_server_with_a_bad_tokens_file_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "people.txt").write_text("ada not-a-hash\n")
    env = {"WIRO_MCP_HTTP_TOKENS_FILE": str(tmp_path / "people.txt"), "WIRO_API_KEY": "k", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "--transport", "http", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "people.txt, line 1" in done.stderr
    missing = {**env, "WIRO_MCP_HTTP_TOKENS_FILE": str(tmp_path / "absent.txt")}
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "--transport", "http"], env=missing, capture_output=True, text=True
    )
    assert done.returncode == 2 and "cannot be read" in done.stderr


def test_hash_token_prints_what_the_file_keeps() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "hash-token"], input=ADA + "\n", capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip() == hash_token(ADA)
    empty = subprocess.run([sys.executable, "-m", "wiro_mcp", "hash-token"], input="", capture_output=True, text=True)
    assert empty.returncode == 2 and "standard input" in empty.stderr


def test_a_database_url_that_cannot_be_read_is_refused_at_start() -> None:
    for bad in ("mysql://x@h/db", "postgresql://wiro:pw@h:notaport/db", "postgresql://wiro:pw@[::1/db"):
        with pytest.raises(ValidationError) as refused:
            Settings.from_env({"WIRO_MCP_DATABASE_URL": bad})
        [problem] = settings_problems(refused.value)
        assert "WIRO_MCP_DATABASE_URL" in problem and "pw@" not in problem


def test_a_state_secret_must_be_long_enough() -> None:
    with pytest.raises(ValidationError) as short:
        Settings.from_env({"WIRO_MCP_STATE_SECRET": "short"})
    assert "WIRO_MCP_STATE_SECRET" in str(short.value) and "short" not in str(short.value).split("input")[0]
    two = Settings.from_env({"WIRO_MCP_STATE_SECRET": "a" * 32 + "," + "b" * 40})
    assert two.state_secret is not None


async def failed(client: Any, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} answered another person's task: {text(result)}"
    return text(result)


@pytest.mark.anyio
@pytest.mark.xdist_group("people-replicas")
async def test_two_people_over_three_replicas_never_reach_each_others_tasks(
    held: Sandbox, database_url: str, tmp_path: Path
) -> None:
    env = server_env(held, WIRO_MCP_HTTP_TOKENS_FILE=str(tokens_file(tmp_path, "0.005")))
    tasks_ext = [advertise(TASKS, {})]
    with fleet(env, database_url) as replicas:
        async with (
            http_session(replicas.url, ADA) as ada,
            http_session(replicas.url, ADA, mode="2026-07-28", extensions=tasks_ext) as ada_tasks,
            http_session(replicas.url, BOB) as bob,
        ):
            pano = (await ada.call_tool("generate_panorama", {**IMAGE, "prompt": "a fjord"})).structured_content
            held.advance_to(pano["task_id"], "task_postprocess_end")  # the clock moves on: before the image
            image = (await ada.call_tool("generate_image", IMAGE)).structured_content
            own_view = await ada.call_tool("view_panorama", {"task_id": pano["task_id"]})
            handle = await raw_request(
                ada_tasks, "tools/call", {"name": "generate_image", "arguments": {**IMAGE, "prompt": "a handle"}}
            )
            said = [
                await failed(bob, "get_task", {"task_id": image["task_id"]}),
                await failed(bob, "get_task", {"task_token": image["task_token"]}),
                await failed(bob, "kill_task", {"task_id": image["task_id"]}),
                await failed(bob, "cancel_task", {"task_id": image["task_id"]}),
                await failed(bob, "view_panorama", {"task_id": pano["task_id"]}),
            ]
            reads = []
            for uri in (
                f"wiro://tasks/{image['task_id']}",
                f"wiro://tasks/{pano['task_id']}/outputs/0",
                f"wiro://tasks/{pano['task_id']}/viewer/0",
            ):
                with pytest.raises(MCPError) as refused:
                    await bob.read_resource(uri)
                reads.append(str(refused.value))
            bobs_list = await bob.call_tool("list_tasks", {})
            adas_list = await ada.call_tool("list_tasks", {})
            twin = (await bob.call_tool("generate_image", IMAGE)).structured_content
            again = (await ada.call_tool("generate_image", IMAGE)).structured_content
            [bobs_spend] = (await bob.read_resource("wiro://spending")).contents
            over = await bob.call_tool("generate_image", {**IMAGE, "prompt": "a second one"})
            ada_more = await ada.call_tool("generate_image", {**IMAGE, "prompt": "a second one"})
            async with httpx2.AsyncClient() as http:  # the gate answers before any MCP
                stranger_status = [
                    (await http.post(replicas.url, json={}, headers=headers)).status_code
                    for headers in ({"Authorization": f"Bearer {STRANGER}"}, {})
                ]
            bob_handle_read: MCPError | None = None
            async with http_session(replicas.url, BOB, mode="2026-07-28", extensions=tasks_ext) as bob_tasks:
                try:
                    await raw_request(bob_tasks, "tasks/get", {"taskId": handle["taskId"]})
                except MCPError as exc:
                    bob_handle_read = exc
    assert not own_view.is_error, "the owner views their panorama"
    assert all("not found among your tasks" in line for line in said), said
    assert all(image["prompt"] not in line for line in said)
    assert all("not found among your tasks" in line for line in reads), reads
    assert held.count("Kill") == 0 and held.count("Cancel") == 0, "nothing of ada's was stopped"
    assert image["task_id"] not in text(bobs_list) and pano["task_id"] not in text(bobs_list)
    assert image["task_id"] in text(adas_list) and pano["task_id"] in text(adas_list)
    assert twin["task_id"] != image["task_id"] and not twin["reused"], "bob's identical call is his own task"
    assert again["task_id"] == image["task_id"] and again["reused"], "ada's identical call joins hers"
    assert over.is_error and "bob's own daily budget" in text(over), text(over)
    assert isinstance(bobs_spend, TextResourceContents)
    spent = json.loads(bobs_spend.text)
    assert spent["yours"]["person"] == "bob" and spent["yours"]["daily_budget_usd"] == 0.005
    assert spent["yours"]["last_24_hours"]["runs"] == 1 and spent["last_24_hours"]["runs"] == 4
    assert "Shared" in spent["note"]
    assert not ada_more.is_error, "bob's budget is his alone"
    assert stranger_status == [401, 401]
    assert bob_handle_read is not None, "bob cannot read ada's MCP task"


@pytest.mark.anyio
async def test_a_persons_budget_holds_when_the_journal_cannot_count(held: Sandbox, tmp_path: Path) -> None:
    from tests.filesystems import read_only_folder
    from tests.helpers import HttpServer

    people = tokens_file(tmp_path, "0.50")
    with read_only_folder(tmp_path / "ro") as folder:
        env = server_env(held, WIRO_MCP_HTTP_TOKENS_FILE=str(people), WIRO_MCP_STATE_DIR=str(folder))
        with HttpServer(env, stateless=True) as server:
            async with http_session(server.url, BOB) as bob, http_session(server.url, ADA) as ada:
                refused = await bob.call_tool("generate_image", IMAGE)
                ran = await ada.call_tool("generate_image", IMAGE)
    assert refused.is_error and "bob's own daily budget" in text(refused) and "Nothing was sent" in text(refused)
    assert not ran.is_error, "ada has no budget of her own and the server none: her run goes, from memory"
    assert held.count("Run") == 1


def test_a_person_with_a_budget_is_refused_a_run_nothing_can_count() -> None:
    from wiro_mcp.money.limits import personal_refusal
    from wiro_mcp.people import Caller

    bob, ada = Caller("person:bob", "bob", 0.5), Caller("person:ada", "ada")
    unpriced = personal_refusal("image run", None, None, bob)
    assert unpriced is not None and "has no estimate" in unpriced and "bob's own daily budget" in unpriced
    uncounted = personal_refusal("image run", "the task journal x cannot be used (full)", None, bob)
    assert uncounted is not None and "cannot be used (full), so bob's" in uncounted
    assert personal_refusal("image run", None, None, ada) is None, "no budget of her own: nothing to count"


OTHER_KEY, OTHER_SECRET = "other-account-key-5678", "other-account-secret-8765"


@pytest.mark.anyio
@pytest.mark.xdist_group("people-replicas")
async def test_each_request_signs_with_its_callers_own_wiro_key_over_three_replicas(
    database_url: str, tmp_path: Path
) -> None:
    from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, ManualClock, SandboxConfig

    config = SandboxConfig(
        queue_seconds=4, run_seconds=10, clock=ManualClock(), grain=False, other_accounts=((OTHER_KEY, OTHER_SECRET),)
    )
    with Sandbox(config) as box:
        env = {k: v for k, v in server_env(box).items() if k not in ("WIRO_API_KEY", "WIRO_API_SECRET")}
        env |= {"WIRO_MCP_CREDENTIALS": "request", "WIRO_MCP_DAILY_BUDGET_USD": "0.01"}  # two images a key
        env["WIRO_MCP_STATE_SECRET"] = "owner-ids-are-keyed-with-this-0123456789"
        with fleet(env, database_url) as replicas:
            async with (
                http_session(replicas.url, f"{SANDBOX_API_KEY}:{SANDBOX_API_SECRET}") as mine,
                http_session(replicas.url, f"{OTHER_KEY}:{OTHER_SECRET}") as theirs,
            ):
                image = (await mine.call_tool("generate_image", IMAGE)).structured_content
                said = [
                    await failed(theirs, "get_task", {"task_id": image["task_id"]}),
                    await failed(theirs, "kill_task", {"task_id": image["task_id"]}),
                    await failed(theirs, "cancel_task", {"task_id": image["task_id"]}),
                ]
                with pytest.raises(MCPError) as refused:
                    await theirs.read_resource(f"wiro://tasks/{image['task_id']}")
                own_read = await mine.call_tool("get_task", {"task_id": image["task_id"], "wait_seconds": 2})
                their_list = await theirs.call_tool("list_tasks", {})
                twin = (await theirs.call_tool("generate_image", IMAGE)).structured_content
                second = await mine.call_tool("generate_image", {**IMAGE, "prompt": "a second one"})
                over = await mine.call_tool("generate_image", {**IMAGE, "prompt": "a third one"})
                wrong = await failed(mine, "get_task", {"task_id": twin["task_id"]})
            keyed = f"{OTHER_KEY}:{OTHER_SECRET}"
            async with http_session(replicas.url, keyed, mode="2026-07-28", extensions=[advertise(TASKS, {})]) as t:
                handle = await raw_request(
                    t, "tools/call", {"name": "generate_image", "arguments": {**IMAGE, "prompt": "t"}}
                )
                [watched] = [task.id for task in box.state.tasks() if task.params.get("prompt") == "t"]
                box.advance_to(watched, "task_postprocess_end")
                with anyio.fail_after(20):
                    while (got := await raw_request(t, "tasks/get", {"taskId": handle["taskId"]}))[
                        "status"
                    ] == "working":
                        await anyio.sleep(0.1)
                [their_spend] = (await t.read_resource("wiro://spending")).contents
            async with httpx2.AsyncClient() as http:
                unsigned = (await http.post(replicas.url, json={})).status_code
        tasks = {t.id: t.account for t in box.state.tasks()}
    with psycopg.connect(database_url) as db:
        stored = " ".join(str(row) for table in ("tasks", "handles") for row in db.execute(f"SELECT * FROM {table}"))
    assert all("not found among your tasks" in line for line in said) and "not found" in str(refused.value)
    assert not own_read.is_error and own_read.structured_content["task_id"] == image["task_id"]
    assert image["task_id"] not in text(their_list)
    assert twin["task_id"] != image["task_id"] and not twin["reused"], "the other key's identical call is its own"
    assert not second.is_error, "the second image fits the key's own budget"
    second_id = second.structured_content["task_id"]
    assert tasks == {image["task_id"]: "", second_id: "", twin["task_id"]: OTHER_KEY, watched: OTHER_KEY}
    assert over.is_error and "the Wiro key …" in text(over) and "each key's own" in text(over)
    assert "not found among your tasks" in wrong
    assert box.count("Kill") == 0 and box.count("Cancel") == 0
    assert unsigned == 401
    assert got["status"] == "completed", got
    assert isinstance(their_spend, TextResourceContents)
    assert json.loads(their_spend.text)["last_24_hours"]["runs"] == 2, "only the key's own runs"
    for secret in (SANDBOX_API_KEY, SANDBOX_API_SECRET, OTHER_KEY, OTHER_SECRET):
        assert secret not in stored, "credentials are never stored"


def test_credentials_from_each_request_exclude_a_server_token_and_odd_bearers_are_no_key() -> None:
    from wiro_mcp.people import key_holder

    for other in ({"WIRO_MCP_HTTP_TOKEN": "t" * 20}, {"WIRO_MCP_HTTP_TOKENS_FILE": "/x"}):
        with pytest.raises(ValidationError) as refused:
            Settings.from_env({"WIRO_MCP_CREDENTIALS": "request", **other})
        assert "cannot be combined" in str(refused.value)
    one, two = key_holder("key-a:secret", b"salt", 1.0), key_holder("key-a", b"salt", 1.0)
    assert one is not None and two is not None and one.owner == two.owner, "the owner is the key's, not the secret's"
    assert one.keys == ("key-a", "secret") and two.keys == ("key-a", None) and "key-a" not in one.owner
    elsewhere = key_holder("key-a", b"other salt", None)
    assert elsewhere is not None and elsewhere.owner != one.owner, "keyed: another server's ids differ"
    assert key_holder("x" * 600, b"salt", None) is None and key_holder("a\x00b", b"salt", None) is None
    assert key_holder(":secret", b"salt", None) is None and "key-a" not in repr(one)
