"""What only the PostgreSQL journal does: migrations in the database, a database that cannot be
reached or goes away mid-run (the store, and the server around it), and servers opening it together.
Everything both engines share is in test_contract.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import anyio
import psycopg
import pytest

from tests.helpers import connect, text
from tests.postgres import Cluster, cluster, free_port
from wiro_mcp import budgets
from wiro_mcp.journal import schema
from wiro_mcp.journal.postgres import pg_ddl
from wiro_mcp.journal.records import Claimed, JournalError, RunRecord
from wiro_mcp.journal.store import JournalStore
from wiro_mcp.sandbox import Sandbox

API = "https://api.example/v1"


def record(key: str) -> RunRecord:
    return RunRecord(key, "acme/m", {"inputs": {"prompt": key}}, prompt=key, estimate=0.04)


def test_a_database_at_the_previous_version_is_migrated_with_its_rows(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url) as db:
        for version in range(1, schema.VERSION):
            for statement in schema.statements(pg_ddl(schema.MIGRATIONS[version])):
                db.execute(statement)
        db.execute("CREATE TABLE journal_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO journal_version VALUES (%s)", (schema.VERSION - 1,))
        db.execute(
            "INSERT INTO tasks (api, task_id, model, arguments, call_key, created, updated, state, work)"
            " VALUES (%s, '77', 'acme/m', '{}', 'k', 1.0, 1.0, 'succeeded', '{\"steps\": 4}')",
            (API,),
        )
    store = JournalStore.open(tmp_path, api=API, database_url=database_url)
    try:
        kept = store.find(task_id="77")
        assert kept is not None and kept.work == {"steps": 4.0} and kept.state == "succeeded"
        assert store.find(task_id="77", owner="") == kept, "a task from before people is the one owner's"
        assert store.find(task_id="77", owner="person:ada") is None
    finally:
        store.close()
    with psycopg.connect(database_url) as db:
        assert db.execute("SELECT version FROM journal_version").fetchall() == [(schema.VERSION,)]


def test_a_database_from_a_newer_wiro_mcp_is_left_alone(database_url: str, tmp_path: Path) -> None:
    with psycopg.connect(database_url) as db:
        db.execute("CREATE TABLE journal_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO journal_version VALUES (%s)", (schema.VERSION + 1,))
    with pytest.raises(JournalError) as refused:
        JournalStore.open(tmp_path, api=API, database_url=database_url)
    assert "newer wiro-mcp" in refused.value.cause
    with psycopg.connect(database_url) as db:
        tables = db.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'tasks'").fetchone()
    assert tables == (0,), "nothing was created in it"


def test_servers_opening_a_new_database_together_migrate_it_once(database_url: str, tmp_path: Path) -> None:
    stores: list[JournalStore] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(6)

    def open_one() -> None:
        gate.wait()
        try:
            stores.append(JournalStore.open(tmp_path, api=API, database_url=database_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [] and len(stores) == 6
        assert isinstance(stores[0].claim(record("k"), budget=None), Claimed)
        assert stores[5].entry(1) is not None, "all of them see the same tables"
    finally:
        for store in stores:
            store.close()


def test_a_database_that_cannot_be_reached_is_a_journal_error_naming_it_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://wiro:s3cret-word@127.0.0.1:{free_port()}/wiro"
    with pytest.raises(JournalError) as refused:
        JournalStore.open(tmp_path, api=API, database_url=url)
    assert refused.value.where == f"postgresql://wiro@127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/wiro"
    assert "refused" in refused.value.cause.lower()
    assert "s3cret" not in str(refused.value)


@pytest.fixture
def own_cluster() -> object:
    """A cluster of this test's own, which it may stop and start (the shared one is not stopped)."""
    with cluster() as made:
        yield made


def test_a_database_that_goes_away_and_comes_back_fails_calls_meanwhile_and_serves_after(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    store = JournalStore.open(tmp_path, api=API, database_url=own_cluster.url)
    try:
        row = store.claim(record("before"), budget=None)
        assert isinstance(row, Claimed)
        own_cluster.stop()
        for attempt in (lambda: store.claim(record("during"), budget=None), lambda: store.spend()):
            with pytest.raises(JournalError) as down:
                attempt()
            assert down.value.where == own_cluster.url
        own_cluster.start()
        time.sleep(budgets.DATABASE_DOWN)  # the refusals above keep for this long
        assert isinstance(store.claim(record("after"), budget=None), Claimed), "a new pool, at once"
        assert store.entry(row.row) is not None and store.spend().runs == 2, "nothing committed was lost"
    finally:
        store.close()


IMAGE = {"prompt": "a lighthouse", "wait_seconds": 0, "preview": False}


@pytest.mark.anyio
async def test_through_the_server_reads_answer_while_the_database_is_down_and_runs_wait_for_it(
    own_cluster: Cluster, held: Sandbox
) -> None:
    async with connect(held, WIRO_MCP_DATABASE_URL=own_cluster.url) as client:
        first = (await client.call_tool("generate_image", IMAGE)).structured_content
        own_cluster.stop()
        read = await client.call_tool("get_task", {"task_id": first["task_id"]})
        listed = await client.call_tool("list_tasks", {})
        refused = await client.call_tool("generate_image", {**IMAGE, "prompt": "a harbour"})
        again = await client.call_tool("generate_image", IMAGE)
        own_cluster.start()
        await anyio.sleep(budgets.RETRY_OPEN)  # the refusals above keep for this long
        fresh = await client.call_tool("generate_image", {**IMAGE, "prompt": "a harbour"})
        twin = await client.call_tool("generate_image", {**IMAGE, "prompt": "a harbour"})
    assert not read.is_error and read.structured_content["task_id"] == first["task_id"]
    assert not listed.is_error and first["task_id"] in text(listed)
    assert refused.is_error and "shared task journal" in text(refused) and own_cluster.url in text(refused)
    assert "Nothing was sent to Wiro" in text(refused)
    assert not again.is_error and again.structured_content["reused"], "this server still knows its task in flight"
    assert not fresh.is_error and not fresh.structured_content["reused"], text(fresh)
    harbour = fresh.structured_content["task_id"]
    assert twin.structured_content["task_id"] == harbour and twin.structured_content["reused"]
    assert held.count("Run") == 2, "one for the first call, one for the harbour after the database came back"


def test_the_doctor_checks_the_shared_database(database_url: str) -> None:
    from wiro_mcp import doctor

    env = {"WIRO_MCP_DATABASE_URL": database_url, "WIRO_API_KEY": "k"}
    [check] = [c for c in doctor.run(env)[0] if c.name == "journal"]
    assert check.level == "ok" and database_url in check.text and "0 runs in the last 24 h" in check.text
    away = f"postgresql://wiro:pw-not-shown@127.0.0.1:{free_port()}/wiro"
    [down] = [c for c in doctor.run({**env, "WIRO_MCP_DATABASE_URL": away})[0] if c.name == "journal"]
    assert down.level == "fail" and "refused" in down.text.lower() and "pw-not-shown" not in down.text


def test_a_pool_whose_connections_are_all_busy_is_not_a_database_gone(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wiro_mcp.journal import postgres

    monkeypatch.setattr(postgres, "POOL_SIZE", 2)
    store = JournalStore.open(tmp_path, api=API, database_url=database_url)
    holding, release = threading.Barrier(3), threading.Event()

    def hold(db: object, api: str) -> None:
        holding.wait()
        release.wait(10)

    readers = [threading.Thread(target=store.reading, args=(hold,)) for _ in range(2)]
    try:
        for reader in readers:
            reader.start()
        holding.wait()
        with pytest.raises(JournalError) as busy:
            store.claim(record("while busy"), budget=None)
        release.set()
        for reader in readers:
            reader.join()
        assert "busy" in busy.value.cause
        assert isinstance(store.claim(record("right after"), budget=None), Claimed), "no outage was assumed"
    finally:
        release.set()
        store.close()


def test_the_password_never_shows_in_an_error(postgres: Cluster, tmp_path: Path) -> None:
    url = f"postgresql://wiro:se cret%zz@127.0.0.1:{postgres.port}/wiro"
    with pytest.raises(JournalError) as refused:
        JournalStore.open(tmp_path, api=API, database_url=url)
    assert "se cret" not in str(refused.value) and "cret%zz" not in str(refused.value)


def test_a_prompt_with_a_nul_character_is_kept_without_it(database_url: str, tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path, api=API, database_url=database_url)
    try:
        claim = store.claim(RunRecord("k", "acme/m", {"inputs": {"prompt": "a\x00b"}}, prompt="a\x00b"), budget=None)
        assert isinstance(claim, Claimed)
        entry = store.entry(claim.row)
        assert entry is not None and entry.prompt == "ab"
    finally:
        store.close()
