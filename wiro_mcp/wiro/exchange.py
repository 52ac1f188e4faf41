"""One exchange with Wiro: a POST within its deadline (the timeouts shrunk to the time left, and a cancel
scope around the whole of it), and what went wrong as a WiroError that says whether the request may
have reached Wiro. Retrying is the client's (client.py); parsing the answer is parsing.py's."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread
import httpx2

from ..errors import RUN_MAY_EXIST, InvalidResponseError, WiroConnectionError, WiroError, WiroTimeoutError
from . import protocol
from .parsing import M, parse_answer

log = logging.getLogger(__name__)

# No answer is read past protocol.answer_limit (8 MiB; 512 KiB for the catalog's); one over PARSE_INLINE is
# read into its model in a worker thread, off the event loop (while the JSON decoder holds the
# interpreter it still costs the loop its time: hence the catalog's lower limit).
PARSE_INLINE = 256 * 1024


class NotSent(Exception):
    """The request never left this machine: safe to try again, even a Run."""

    def __init__(self, error: WiroError) -> None:
        super().__init__(str(error))
        self.error = error


async def send_once(
    http: httpx2.AsyncClient,
    path: str,
    model: type[M],
    *,
    headers: Mapping[str, str],
    json: Any,
    data: Mapping[str, str] | None,
    files: Mapping[str, tuple[str, bytes, str]] | None,
    timeout: httpx2.Timeout,
    deadline: float | None,
    where: str,
) -> M:
    """POST `path` once and parse the answer into `model`; NotSent when nothing left this machine."""
    limit, left = _within(timeout, deadline)
    started = time.perf_counter()
    try:
        # With a deadline, a cancel scope bounds the whole exchange (httpx's timeouts are per read and
        # per write, so a trickling answer could outlive them).
        with anyio.fail_after(left):
            request = http.build_request(
                "POST", path, json=json, data=data, files=files, headers=dict(headers), timeout=limit
            )
            response = await _bounded(await http.send(request, stream=True), path)
    except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
        raise NotSent(WiroConnectionError(f"Could not connect to Wiro at {where}: {type(exc).__name__}")) from exc
    except (httpx2.TimeoutException, TimeoutError) as exc:
        raise _maybe_sent(WiroTimeoutError(f"Wiro did not answer {path} in time ({type(exc).__name__})"), path) from exc
    except httpx2.TransportError as exc:
        raise _maybe_sent(
            WiroConnectionError(f"The connection to Wiro broke during {path} ({type(exc).__name__})"), path
        ) from exc
    log.debug("POST %s -> %s in %.0f ms", path, response.status_code, (time.perf_counter() - started) * 1e3)
    if len(response.content) > PARSE_INLINE:
        return await anyio.to_thread.run_sync(parse_answer, response, model)
    return parse_answer(response, model)


async def _bounded(response: httpx2.Response, path: str) -> httpx2.Response:
    """The answer read whole, unless it is over its limit (protocol.answer_limit): then it is not read
    further, nor asked for again (and, for a Run, its task may exist)."""
    most = protocol.answer_limit(path)
    try:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > most:
                error = AnswerTooLarge(
                    f"Wiro's answer to {path} was over {most // 1024:,} KiB: not read further",
                    status_code=response.status_code,
                )
                raise _maybe_sent(error, path)
    finally:
        await response.aclose()
    return httpx2.Response(
        response.status_code, headers=response.headers, content=bytes(body), request=response.request
    )


class AnswerTooLarge(InvalidResponseError):
    """An answer past its limit: the same request would bring the same answer."""

    transient = False


def _within(timeout: httpx2.Timeout, deadline: float | None) -> tuple[httpx2.Timeout, float | None]:
    """`timeout` shrunk so that no part of the request outlives `deadline`, and the seconds left."""
    if deadline is None:
        return timeout, None
    left = deadline - anyio.current_time()
    if left <= 0:
        raise NotSent(WiroTimeoutError("no time was left to ask Wiro", hint="The wait budget ran out first."))

    def cap(value: float | None) -> float:
        return left if value is None else min(value, left)

    shrunk = httpx2.Timeout(
        connect=cap(timeout.connect), read=cap(timeout.read), write=cap(timeout.write), pool=cap(timeout.pool)
    )
    return shrunk, left


def _maybe_sent(error: WiroError, path: str) -> WiroError:
    """An error after the request may have left: for a Run, a billed task may exist."""
    if path.startswith("/Run/"):
        error.hint, error.may_have_run = RUN_MAY_EXIST, True
    else:
        error.hint = "Try again in a moment."
    return error
