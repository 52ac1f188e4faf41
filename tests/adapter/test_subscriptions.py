"""Resource subscriptions through the real protocol: notifications/resources/updated for wiro://tasks/{id}
(once per state change) and wiro://spending (a claim, a bill), on 2025-11-25 (resources/subscribe on
a session) and 2026-07-28 (subscriptions/listen), bounded, and each person hearing only of their own.

A task's state is moved by the held sandbox and then read through its resource: the read is the
snapshot the server sees, so nothing waits on the follower's schedule."""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import ResourceUpdatedNotification, TextResourceContents

from tests.helpers import HttpServer, connect, http_session, server_env, settings_for
from wiro_mcp.adapter import server as server_module
from wiro_mcp.adapter.server import create_server
from wiro_mcp.adapter.subscriptions import MAX_SUBSCRIPTIONS, Subscriptions
from wiro_mcp.people import hash_token
from wiro_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

# The two generations, as the SDK's Client is asked for them ("auto": 2026-07-28 through server/discover).
MODERN, LEGACY = "auto", "legacy"
SPENDING = "wiro://spending"
IMAGE = {"prompt": "a lighthouse", "wait_seconds": 0, "preview": False}
ADA, BOB = "ada-token-0123456789", "bob-token-9876543210"


class Heard:
    """The notifications/resources/updated a client received, in order (on 2026-07-28 the listen
    stream's frames reach the message handler too), and a wait for the n-th about a URI."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self._news = anyio.Event()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            self.uris.append(str(message.params.uri))
            news, self._news = self._news, anyio.Event()
            news.set()

    async def reach(self, uri: str, count: int) -> None:
        with anyio.fail_after(10):
            while self.uris.count(uri) < count:
                await self._news.wait()


def task_uri(task_id: str) -> str:
    return f"wiro://tasks/{task_id}"


async def started(client: Client) -> str:
    """A generate_image run left queued on the held sandbox, read once (the state the server knows)."""
    result = await client.call_tool("generate_image", IMAGE)
    assert result.structured_content is not None and result.structured_content["state"] == "queued"
    task_id: str = result.structured_content["task_id"]
    await client.read_resource(task_uri(task_id))
    return task_id


async def state_of(client: Client, task_id: str) -> str:
    [contents] = (await client.read_resource(task_uri(task_id))).contents
    assert isinstance(contents, TextResourceContents)
    state: str = json.loads(contents.text)["state"]
    return state


async def subscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():  # removed in 2026-07-28: the handshake protocols' way
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await client.subscribe_resource(uri)


async def unsubscribe(client: Client, uri: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await client.unsubscribe_resource(uri)


@asynccontextmanager
async def subscribed(client: Client, mode: str, uris: list[str]) -> AsyncIterator[list[str]]:
    """Subscribed to `uris` the way `mode` does it; yields those the server took (a refusal, on
    2025-11-25, is an error: the URI is left out)."""
    if mode == LEGACY:
        taken = []
        for uri in uris:
            try:
                await subscribe(client, uri)
            except MCPError:
                continue
            taken.append(uri)
        yield taken
    else:
        async with client.listen(resource_subscriptions=uris) as listening:
            yield list(listening.honored.resource_subscriptions or [])


@pytest.mark.parametrize("mode", [LEGACY, MODERN])
async def test_a_task_is_told_once_per_state_change_not_per_progress_tick(held: Sandbox, mode: str) -> None:
    heard = Heard()
    async with connect(held, mode=mode, message_handler=heard) as client:
        assert client.protocol_version == ("2025-11-25" if mode == LEGACY else "2026-07-28")
        assert client.server_capabilities.resources.subscribe is True  # type: ignore[union-attr]
        task_id = await started(client)
        uri = task_uri(task_id)
        async with subscribed(client, mode, [uri]) as taken:
            assert taken == [uri]
            assert await state_of(client, task_id) == "queued"  # a snapshot, unchanged: nothing told
            held.advance_to(task_id, "task_start")
            assert await state_of(client, task_id) == "running"
            await heard.reach(uri, 1)
            for status in ("task_output", "task_output_full"):  # progress within the running state
                held.advance_to(task_id, status)
                assert await state_of(client, task_id) == "running"
            held.advance_to(task_id, "task_postprocess_end")
            assert await state_of(client, task_id) == "succeeded"
            await heard.reach(uri, 2)
    # Each round of changes is told before the next: a tick's notification would have come first.
    assert heard.uris == [uri, uri]


@pytest.mark.parametrize("mode", [LEGACY, MODERN])
async def test_the_spend_is_told_when_a_run_is_claimed_and_when_it_is_billed(held: Sandbox, mode: str) -> None:
    heard = Heard()
    async with (
        connect(held, mode=mode, message_handler=heard) as client,
        subscribed(client, mode, [SPENDING]) as taken,
    ):
        assert taken == [SPENDING]
        before = await spent(client)
        task_id = await started(client)
        await heard.reach(SPENDING, 1)  # the claim: the run counts at its estimate
        claimed = await spent(client)
        held.advance_to(task_id, "task_postprocess_end")
        assert await state_of(client, task_id) == "succeeded"
        await heard.reach(SPENDING, 2)  # the bill
        billed = await spent(client)
    assert heard.uris == [SPENDING, SPENDING]
    assert (before["runs"], claimed["runs"], claimed["billed_usd"]) == (0, 1, 0)
    assert claimed["running_by_estimate_usd"] > 0 and billed["running_by_estimate_usd"] == 0
    assert billed["billed_usd"] > 0


@pytest.mark.parametrize("mode", [LEGACY, MODERN])
async def test_at_most_100_subscriptions_of_two_kinds(held: Sandbox, mode: str) -> None:
    uris = [task_uri(str(2000 + n)) for n in range(MAX_SUBSCRIPTIONS + 20)]
    asked = ["wiro://models", "wiro://tasks/../x", SPENDING, *uris]
    async with connect(held, mode=mode) as client, subscribed(client, mode, asked) as taken:
        assert taken == [SPENDING, *uris[: MAX_SUBSCRIPTIONS - 1]]
        if mode == LEGACY:
            with pytest.raises(MCPError, match="At most 100 subscriptions per session"):
                await subscribe(client, uris[-1])
            await unsubscribe(client, SPENDING)  # room for one again
            with pytest.raises(MCPError, match="only, not wiro://models"):
                await subscribe(client, "wiro://models")
            await subscribe(client, uris[-1])


@pytest.mark.parametrize("mode", [LEGACY, MODERN])
async def test_a_session_that_went_away_holds_no_subscription(
    held: Sandbox, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Subscriptions] = []

    class Kept(Subscriptions):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(server_module, "Subscriptions", Kept)
    server = create_server(settings_for(held))
    async with Client(server, mode=mode) as client:
        async with subscribed(client, mode, [SPENDING, task_uri("1001")]):
            assert len(made[0]) == 2
        if mode == LEGACY:  # a session's subscriptions outlive the request: until unsubscribed or gone
            assert len(made[0]) == 2
            await unsubscribe(client, SPENDING)
            assert len(made[0]) == 1
    assert len(made[0]) == 0, "nothing is kept, or sent, for a session that went away"


async def test_a_subscriber_that_does_not_read_holds_no_tool_call(held: Sandbox) -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def stuck(message: Any) -> None:  # an in-process client's handler holds the server's send
        if isinstance(message, ResourceUpdatedNotification):
            entered.set()
            await release.wait()

    async with connect(held, mode=LEGACY, message_handler=stuck) as client:
        task_id = await started(client)
        await subscribe(client, task_uri(task_id))
        held.advance_to(task_id, "task_start")
        await state_of(client, task_id)
        with anyio.fail_after(10):
            await entered.wait()
        held.advance_to(task_id, "task_postprocess_end")
        # The task ends (a change to tell) and calls go on while the subscriber still holds the last send.
        result = await client.call_tool("get_task", {"task_id": task_id, "preview": False})
        listed = await client.call_tool("list_tasks", {})
        assert not release.is_set()
        release.set()
    assert result.structured_content is not None and result.structured_content["state"] == "succeeded"
    assert not listed.is_error


@pytest.mark.parametrize("mode", [LEGACY, MODERN])
async def test_over_http_a_person_hears_only_of_their_own_task_and_spend(
    held: Sandbox, mode: str, tmp_path: Path
) -> None:
    people = tmp_path / "people.txt"
    people.write_text(f"ada {hash_token(ADA)}\nbob {hash_token(BOB)}\n")
    ada_heard, bob_heard = Heard(), Heard()
    with HttpServer(server_env(held, WIRO_MCP_HTTP_TOKENS_FILE=str(people))) as server:
        async with (
            http_session(server.url, ADA, mode=mode, message_handler=ada_heard) as ada,
            http_session(server.url, BOB, mode=mode, message_handler=bob_heard) as bob,
        ):
            adas = await started(ada)
            async with (
                subscribed(bob, mode, [task_uri(adas), SPENDING]) as bob_took,
                subscribed(ada, mode, [task_uri(adas), SPENDING]) as ada_took,
            ):
                assert bob_took == [SPENDING], "another person's task is not found: not subscribed"
                assert ada_took == [task_uri(adas), SPENDING]
                held.advance_to(adas, "task_postprocess_end")
                assert await state_of(ada, adas) == "succeeded"
                await ada_heard.reach(task_uri(adas), 1)
                await ada_heard.reach(SPENDING, 1)  # her bill
                # Bob's own run comes after Ada's bill was told: had he heard of it, it would come first.
                await started(bob)
                await bob_heard.reach(SPENDING, 1)
    assert bob_heard.uris == [SPENDING]
    assert sorted(ada_heard.uris) == sorted([task_uri(adas), SPENDING])


async def test_over_http_another_persons_task_is_refused_as_not_found(held: Sandbox, tmp_path: Path) -> None:
    people = tmp_path / "people.txt"
    people.write_text(f"ada {hash_token(ADA)}\nbob {hash_token(BOB)}\n")
    with HttpServer(server_env(held, WIRO_MCP_HTTP_TOKENS_FILE=str(people))) as server:
        async with http_session(server.url, ADA, mode=LEGACY) as ada, http_session(server.url, BOB, mode=LEGACY) as bob:
            adas = await started(ada)
            with pytest.raises(MCPError, match=f"Task '{adas}' was not found among your tasks"):
                await subscribe(bob, task_uri(adas))
            with pytest.raises(MCPError, match="was not found among your tasks"):
                await subscribe(bob, task_uri("999999"))


async def test_a_stateless_server_says_it_cannot_send_updates(held: Sandbox) -> None:
    with HttpServer(server_env(held), stateless=True) as server:
        async with http_session(server.url, mode=LEGACY) as client:
            assert client.server_capabilities.resources.subscribe is False  # type: ignore[union-attr]
            with pytest.raises(MCPError, match="cannot carry notifications"):
                await subscribe(client, SPENDING)


async def spent(client: Client) -> dict[str, Any]:
    [contents] = (await client.read_resource(SPENDING)).contents
    assert isinstance(contents, TextResourceContents)
    day: dict[str, Any] = json.loads(contents.text)["last_24_hours"]
    return day
