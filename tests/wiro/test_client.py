"""WiroClient against the sandbox over loopback, and against injected transports."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest

from wiro_mcp.errors import (
    RUN_MAY_EXIST,
    AuthenticationError,
    ConcurrencyLimitError,
    ConfigurationError,
    InsufficientBalanceError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    WiroConnectionError,
    WiroTimeoutError,
)
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET, ManualClock, Sandbox, SandboxConfig
from wiro_mcp.wiro.client import FileUpload, WiroClient
from wiro_mcp.wiro.refs import TaskRef
from wiro_mcp.wiro.retries import RetryPolicy

pytestmark = pytest.mark.anyio

PANORAMA = "tencent/hunyuanworld-text-to-panorama"
SRPO = "tencent/hunyuan-flux-srpo"
NO_WAIT = RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.002)


async def test_full_task_run_and_outputs(held: Sandbox) -> None:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=held.base_url) as client:
        run = await client.run(PANORAMA, {"prompt": "a lighthouse", "width": 1024, "height": 512, "seed": "7"})
        held.advance_to(run.task_id, "task_postprocess_end")
        task = await client.task_detail(TaskRef(task_id=run.task_id))
        assert task.state.value == "succeeded"
        assert task.pexit == "0"
        [output] = task.outputs
        response = await client.http.get(output.url)
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
    assert len(response.content) == output.size
    recorded = held.state.find_requests("Run/")[0]
    assert recorded.fields["seed"] == "7"


async def test_detail_by_token_is_the_same_task(client: WiroClient) -> None:
    run = await client.run(SRPO, {"prompt": "a cat"})
    by_id = await client.task_detail(TaskRef(task_id=run.task_id))
    by_token = await client.task_detail(TaskRef(task_token=run.socket_token))
    assert by_id.id == by_token.id == run.task_id


async def test_key_only_mode_sends_no_signature() -> None:
    with Sandbox(SandboxConfig(api_secret=None, queue_seconds=0.1, run_seconds=0.2, grain=False)) as box:
        async with WiroClient(SANDBOX_API_KEY, None, base_url=box.base_url) as c:
            assert not c.signed
            run = await c.run(SRPO, {"prompt": "a cat"})
            assert run.task_id
        headers = box.state.find_requests("Run/")[0].headers
        assert headers["x-api-key"] == SANDBOX_API_KEY
        assert "x-signature" not in headers and "x-nonce" not in headers


async def test_wrong_secret_is_an_authentication_error(sandbox: Sandbox) -> None:
    async with WiroClient(SANDBOX_API_KEY, "not-the-secret", base_url=sandbox.base_url) as c:
        with pytest.raises(AuthenticationError) as caught:
            await c.task_detail(TaskRef(task_id="1"))
    assert caught.value.code == 98
    assert caught.value.status_code == 401
    assert "WIRO_API_SECRET" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


async def test_missing_key_names_the_variable_and_sends_nothing(sandbox: Sandbox) -> None:
    async with WiroClient(None, None, base_url=sandbox.base_url) as c:
        with pytest.raises(ConfigurationError, match="WIRO_API_KEY"):
            await c.run(SRPO, {"prompt": "x"})
    assert sandbox.count("") == 0


async def test_200_concurrent_signed_requests_never_share_a_nonce(client: WiroClient, sandbox: Sandbox) -> None:
    run = await client.run(SRPO, {"prompt": "a cat"})
    results = await asyncio.gather(*(client.task_detail(TaskRef(task_id=run.task_id)) for _ in range(200)))
    assert len(results) == 200
    nonces = [r.headers["x-nonce"] for r in sandbox.state.find_requests("Task/Detail")]
    assert len(nonces) == 200
    assert len(set(nonces)) == 200


async def test_a_replayed_nonce_is_rejected_by_the_sandbox(sandbox: Sandbox) -> None:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url) as c:
        headers = c.auth_headers()
        first = await c.http.post("/Task/Detail", json={"taskid": "1"}, headers=headers)
        second = await c.http.post("/Task/Detail", json={"taskid": "1"}, headers=headers)
    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json()["errors"][0] == {"code": 98, "message": "Nonce already used"}


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("insufficient_balance", InsufficientBalanceError, 97),
        ("concurrency_limit", ConcurrencyLimitError, 96),
        ("bad_credentials", AuthenticationError, 98),
    ],
)
async def test_wiro_refusals_become_typed_errors(
    client: WiroClient, sandbox: Sandbox, fault: str, error: type[Exception], code: int
) -> None:
    sandbox.inject(fault, "Run")  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        await client.run(SRPO, {"prompt": "x"})
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert caught.value.hint  # type: ignore[attr-defined]
    assert sandbox.count("Run/") == 1


async def test_unknown_task_is_not_found(client: WiroClient) -> None:
    with pytest.raises(NotFoundError, match="No task 999999 exists for this Wiro account") as missing:
        await client.task_detail(TaskRef(task_id="999999"))
    assert "list_tasks shows the recent tasks" in str(missing.value)


async def test_invalid_parameters_are_an_invalid_request(client: WiroClient) -> None:
    with pytest.raises(InvalidRequestError, match="samples must be between 1 and 4"):
        await client.run(SRPO, {"prompt": "x", "samples": 9})


async def test_unknown_model_is_not_found(client: WiroClient) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        await client.run("tencent/no-such-model", {"prompt": "x"})


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("http_500", ServerError),
        ("html", InvalidResponseError),
        ("broken_json", InvalidResponseError),
        ("http_429", RateLimitError),
    ],
)
async def test_transient_faults_are_retried_for_reads(sandbox: Sandbox, fault: str, error: type[Exception]) -> None:
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url, retry=NO_WAIT) as c:
        run = await c.run(SRPO, {"prompt": "x"})
        sandbox.inject(fault, "Task/Detail", times=2, retry_after=0)  # type: ignore[arg-type]
        task = await c.task_detail(TaskRef(task_id=run.task_id))
        assert task.id == run.task_id
        assert sandbox.count("Task/Detail") == 3
        # When the fault outlasts the retries, the typed error comes out.
        sandbox.inject(fault, "Task/Detail", times=10, retry_after=0)  # type: ignore[arg-type]
        with pytest.raises(error) as caught:
            await c.task_detail(TaskRef(task_id=run.task_id))
        assert caught.value.transient  # type: ignore[attr-defined]
        assert sandbox.count("Task/Detail") == 3 + 4


@pytest.mark.parametrize("fault", ["http_500", "html", "broken_json", "http_429"])
async def test_a_run_is_never_retried_after_reaching_wiro(client: WiroClient, sandbox: Sandbox, fault: str) -> None:
    sandbox.inject(fault, "Run", times=5, retry_after=0)  # type: ignore[arg-type]
    with pytest.raises((ServerError, InvalidResponseError, RateLimitError)) as caught:
        await client.run(SRPO, {"prompt": "x"})
    assert sandbox.count("Run/") == 1
    if fault != "http_429":
        # An error page or unreadable answer after the run reached Wiro: the task may exist.
        assert RUN_MAY_EXIST in str(caught.value) and "try again in a moment" not in str(caught.value)
    else:
        assert "may have reached Wiro" not in str(caught.value)


async def test_no_retry_of_a_run_after_a_read_timeout(sandbox: Sandbox) -> None:
    sandbox.inject("slow", "Run", delay=1.5)
    timeout = httpx2.Timeout(0.3, connect=2.0)
    async with WiroClient(
        SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url, timeout=timeout, retry=NO_WAIT
    ) as c:
        with pytest.raises(WiroTimeoutError) as caught:
            await c.run(SRPO, {"prompt": "x"})
    assert "not retried" in str(caught.value)
    assert sandbox.count("Run/") == 1
    # The slow answer still created the task: exactly the billed run a retry would have doubled.
    assert len(sandbox.state.tasks()) == 1


async def test_reads_are_retried_after_a_read_timeout(sandbox: Sandbox) -> None:
    timeout = httpx2.Timeout(0.3, connect=2.0)
    async with WiroClient(
        SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url, timeout=timeout, retry=NO_WAIT
    ) as c:
        run = await c.run(SRPO, {"prompt": "x"})
        sandbox.inject("slow", "Task/Detail", delay=1.0)
        task = await c.task_detail(TaskRef(task_id=run.task_id))
    assert task.id == run.task_id
    assert sandbox.count("Task/Detail") == 2


async def test_connection_refused_is_a_connection_error() -> None:
    with Sandbox() as box:
        url = box.base_url
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=url, retry=NO_WAIT) as c:
        with pytest.raises(WiroConnectionError, match="Could not connect"):
            await c.run(SRPO, {"prompt": "x"})


async def test_a_run_is_retried_when_it_never_left_the_machine() -> None:
    attempts: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(request.headers["x-nonce"])
        if len(attempts) < 3:
            raise httpx2.ConnectError("refused", request=request)
        return httpx2.Response(200, json={"result": True, "errors": [], "taskid": "5", "socketaccesstoken": "t"})

    async with WiroClient("k", "s", transport=httpx2.MockTransport(handler), retry=NO_WAIT) as c:
        run = await c.run(SRPO, {"prompt": "x"})
    assert run.task_id == "5"
    assert len(attempts) == 3
    assert len(set(attempts)) == 3, "every attempt is signed with a fresh nonce"


async def test_http_status_without_json_body_is_classified() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, text="<html>Unauthorized</html>", headers={"content-type": "text/html"})

    async with WiroClient("k", None, transport=httpx2.MockTransport(handler), retry=NO_WAIT) as c:
        with pytest.raises(AuthenticationError, match="Unauthorized"):
            await c.task_detail(TaskRef(task_id="1"))


async def test_multipart_upload_reaches_wiro_byte_for_byte(client: WiroClient, sandbox: Sandbox) -> None:
    payload = bytes(range(256)) * 64
    run = await client.run(
        SRPO,
        {"prompt": "repaint", "strength": 0.5, "seed": "3"},
        files={"inputImage": FileUpload("in.png", payload, "image/png")},
    )
    assert run.task_id
    recorded = sandbox.state.find_requests("Run/")[0]
    assert recorded.files["inputImage"] == payload
    assert recorded.fields == {"prompt": "repaint", "strength": "0.5", "seed": "3"}


@pytest.mark.parametrize("queued_until", ["task_queue", "task_preprocess_end"])
async def test_kill_and_cancel_follow_the_sandboxs_own_boundary(queued_until: str) -> None:
    config = SandboxConfig(queue_seconds=4, run_seconds=10, clock=ManualClock(), queued_until=queued_until, grain=False)
    with Sandbox(config) as box:
        async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=box.base_url) as client:
            queued = await client.run(SRPO, {"prompt": "x"})
            cancelled = await client.cancel(queued.task_id)
            assert cancelled is not None and cancelled.state.value == "cancelled"
            # A task in task_accept: queued for one reading of the docs, running for the other.
            accepted = await client.run(SRPO, {"prompt": "y"})
            box.advance_to(accepted.task_id, "task_accept")
            if queued_until == "task_queue":
                with pytest.raises(InvalidRequestError, match="use Task/Kill"):
                    await client.cancel(accepted.task_id)
                killed = await client.kill(TaskRef(task_token=accepted.socket_token))
                assert killed is not None and killed.status == "task_cancel"
            else:
                with pytest.raises(InvalidRequestError, match="use Task/Cancel"):
                    await client.kill(TaskRef(task_id=accepted.task_id))
                assert (await client.cancel(accepted.task_id)) is not None
            running = await client.run(SRPO, {"prompt": "z"})
            box.advance_to(running.task_id, "task_start")
            with pytest.raises(InvalidRequestError, match="use Task/Kill"):
                await client.cancel(running.task_id)
            assert (await client.kill(TaskRef(task_id=running.task_id))) is not None


async def test_a_deadline_bounds_a_slow_answer_and_the_retries(sandbox: Sandbox) -> None:
    import anyio

    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=sandbox.base_url) as c:
        run = await c.run(SRPO, {"prompt": "x"})
        sandbox.inject("slow", "Task/Detail", delay=30)
        with pytest.raises(WiroTimeoutError):
            await c.task_detail(TaskRef(task_id=run.task_id), deadline=anyio.current_time() + 0.5)
        assert sandbox.count("Task/Detail") == 1, "no retry was started that could not finish in time"
        sandbox.inject("http_429", "Task/Detail", times=10, retry_after=5)
        with pytest.raises(RateLimitError):
            await c.task_detail(TaskRef(task_id=run.task_id), deadline=anyio.current_time() + 2)
        assert sandbox.count("Task/Detail") == 2, "a Retry-After beyond the deadline is not slept through"
        with pytest.raises(WiroTimeoutError, match="no time was left"):
            await c.task_detail(TaskRef(task_id=run.task_id), deadline=anyio.current_time() - 1)
        assert sandbox.count("Task/Detail") == 2, "nothing is sent once the deadline has passed"


async def test_credentials_in_the_base_url_never_show() -> None:
    with Sandbox() as box:
        url = box.base_url.replace("http://", "http://alice:hunter2@")
    async with WiroClient(SANDBOX_API_KEY, SANDBOX_API_SECRET, base_url=url, retry=NO_WAIT) as c:
        with pytest.raises(WiroConnectionError) as caught:
            await c.task_detail(TaskRef(task_id="1"))
    assert "hunter2" not in str(caught.value) and "alice" not in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)


async def test_a_model_that_is_not_owner_slug_is_refused_before_sending(client: WiroClient, sandbox: Sandbox) -> None:
    with pytest.raises(ConfigurationError, match="owner/slug"):
        await client.run("no-slash", {"prompt": "x"})
    assert sandbox.count("") == 0


async def test_errors_keep_status_and_a_bounded_body_for_the_log(client: WiroClient, sandbox: Sandbox) -> None:
    sandbox.inject("html", "Task/Detail", times=10)
    with pytest.raises(InvalidResponseError) as caught:
        await client.task_detail(TaskRef(task_id="1"))
    assert caught.value.status_code == 502
    assert caught.value.body is not None and "Bad Gateway" in caught.value.body and len(caught.value.body) <= 300


async def test_tool_detail(client: WiroClient) -> None:
    info = await client.tool_detail(SRPO)
    assert info.parameters is not None
    ids = {item.id for group in info.parameters for item in group.items}
    assert {"prompt", "samples", "strength"} <= ids


def test_retry_policy_honours_retry_after_and_caps_backoff() -> None:
    policy = RetryPolicy(max_retries=4, base_delay=0.5, max_delay=2.0, max_retry_after=10)
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=60.0) is None, "a long Retry-After is surfaced, not slept through"
    delays = [policy.delay(n, None) for n in range(4)]
    # Jitter keeps each delay within half to all of base * 2**n, capped at max_delay.
    for n, d in enumerate(delays):
        assert d is not None
        ceiling = min(2.0, 0.5 * 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert policy.delay(4, None) is None


async def test_an_answer_past_its_size_is_not_read_further_and_a_runs_task_may_exist() -> None:
    from wiro_mcp.errors import InvalidResponseError
    from wiro_mcp.wiro.protocol import ANSWER_MAX_BYTES, CATALOG_ANSWER_MAX_BYTES

    sent: list[int] = []  # chunks taken, per answer

    async def chunks() -> Any:
        for _ in range(64):  # 16 MiB each, a quarter MiB at a time
            sent[-1] += 1
            yield b"[" * (256 * 1024)

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(0)
        return httpx2.Response(200, content=chunks(), headers={"content-type": "application/json"})

    async with WiroClient("k", None, transport=httpx2.MockTransport(handler), retry=NO_WAIT) as c:
        with pytest.raises(InvalidResponseError, match="was over 8,192 KiB: not read further") as read:
            await c.task_detail(TaskRef(task_id="1"))
        assert len(sent) == 1, "an answer too large is not asked for again"
        assert sent[0] * 256 * 1024 <= ANSWER_MAX_BYTES + 256 * 1024, "no answer is read past its bound"
        with pytest.raises(InvalidResponseError) as ran:
            await c.run(SRPO, {"prompt": "x"})
        with pytest.raises(InvalidResponseError, match="was over 512 KiB"):
            await c.tool_detail("acme/thing")
    assert read.value.hint == "Try again in a moment."
    assert ran.value.may_have_run, "a Run whose answer was cut may have started a task"
    assert sent[-1] * 256 * 1024 <= CATALOG_ANSWER_MAX_BYTES + 256 * 1024, "a catalog answer is read to 512 KiB"


async def test_a_large_answer_is_parsed_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from wiro_mcp.wiro import exchange
    from wiro_mcp.wiro.parsing import parse_answer as parse

    threads: list[str] = []

    def watched(response: Any, model: Any) -> Any:
        threads.append(threading.current_thread().name)
        return parse(response, model)

    monkeypatch.setattr(exchange, "parse_answer", watched)
    log = "x" * (exchange.PARSE_INLINE + 1)
    body = {"result": True, "tasklist": [{"id": "1", "status": "task_queue", "debugoutput": log}]}

    def handler(request: httpx2.Request) -> httpx2.Response:
        small = request.url.path.endswith("Task/Kill")
        return httpx2.Response(200, json={"result": True, "tasklist": [{"id": "1"}]} if small else body)

    async with WiroClient("k", None, transport=httpx2.MockTransport(handler), retry=NO_WAIT) as c:
        await c.task_detail(TaskRef(task_id="1"))
        await c.kill(TaskRef(task_id="1"))
    assert threads[0] != threading.main_thread().name and threads[1] == threading.main_thread().name
