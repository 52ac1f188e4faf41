"""The sandbox's Wiro endpoints: Run, Task/Detail, Task/Kill, Task/Cancel, Tool/List, Tool/Detail, Task/List.

It follows WIRO_API.md: every endpoint is a POST under /v1, answers are HTTP 200 with
`result: false` for most refusals and 401 for bad credentials, numbers travel as strings.
The checks here are written from Wiro's documented limits, independently of the catalog, so a
catalog mistake shows up as a sandbox refusal instead of being mirrored.

Which statuses count as "queued" (Task/Cancel accepted) is not documented; the sandbox's
boundary is its own setting (`SandboxConfig.queued_until`), never the client's guess, so tests can
run the client against either answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import accounts, discovery
from .billing import published
from .catalog import CATALOG
from .checks import check_run, part_key
from .lifecycle import ENDED, QUEUE_STATUSES, RUN_STATUSES, SandboxTask, task_record
from .outputs import chosen, prepare
from .params import DEFAULTS, LIMITS, BadRequest, check_params
from .store import TASK_FAULTS, Fault, RecordedRequest

if TYPE_CHECKING:
    from .config import Host

Handler = Callable[[dict[str, Any], dict[str, bytes]], Awaitable[Response]]
LIFECYCLE = (*QUEUE_STATUSES, *(status for _, status in RUN_STATUSES))


def _fail(message: str, code: int = 0, status: int = 200) -> JSONResponse:
    return JSONResponse({"result": False, "errors": [{"code": code, "message": message}]}, status_code=status)


async def _read_body(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    content_type = request.headers.get("content-type", "")
    fields: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_part_size=64 * 1024 * 1024)
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields[key] = value
            else:
                files[part_key(files, key)] = await value.read()
        await form.close()
    else:
        raw = await request.body()
        if raw:
            try:
                parsed = await asyncio.to_thread(json.loads, raw)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise BadRequest("the body is not a JSON object")
            fields = parsed
    return fields, files


_HTTP_FAULTS = frozenset(
    {
        "http_500",
        "http_429",
        "broken_json",
        "html",
        "slow",
        "insufficient_balance",
        "concurrency_limit",
        "bad_credentials",
        "refused",
        "raw_body",
    }
)


def fault_answer(fault: Fault) -> Response | None:
    """The misbehaving answer a fault stands for (None for `slow`, which answers late instead)."""
    kind = fault.kind
    if kind == "http_500":
        return _fail("Internal server error", code=0, status=500)
    if kind == "http_429":
        response = _fail("Too many requests", code=0, status=429)
        response.headers["Retry-After"] = f"{fault.retry_after:g}"
        return response
    if kind == "broken_json":
        return Response('{"result": true, "tasklist": [{"id": "12', media_type="application/json")
    if kind == "html":
        page = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
        return Response(page, status_code=502, media_type="text/html")
    if kind == "insufficient_balance":
        return _fail("Insufficient balance", code=97)
    if kind == "concurrency_limit":
        return _fail("Concurrent task limit reached", code=96)
    if kind == "bad_credentials":
        return _fail("Sign in required", code=98, status=401)
    if kind == "refused":
        return _fail("The task cannot be stopped now", code=0)
    if kind == "raw_body":
        return Response(fault.value, media_type="application/json")
    return None


class WiroEndpoints:
    """Each endpoint is a small handler from the request's fields and files to an answer; `handle`
    wraps every one of them in the same recording, authentication and fault injection."""

    def __init__(self, sandbox: Host) -> None:
        self.sandbox = sandbox
        self.state = sandbox.state
        self.config = sandbox.config

    def routes(self) -> list[Route]:
        def post(name: str, handler: Handler) -> Route:
            async def view(request: Request) -> Response:
                return await self.handle(request, name, handler)

            return Route(f"/v1/{name}", view, methods=["POST"])

        return [
            Route("/v1/Run/{owner}/{slug}", self.run_route, methods=["POST"]),
            post("Task/Detail", self.detail),
            post("Task/Kill", self.kill),
            post("Task/Cancel", self.cancel),
            post("Tool/List", self.tool_list),
            post("Tool/Detail", self.tool_detail),
            post("Task/List", self.task_list),
        ]

    def authenticate(self, request: Request) -> JSONResponse | None:
        key, headers = request.headers.get("x-api-key"), request.headers
        why = accounts.refusal(self.config, self.state, key, headers.get("x-nonce", ""), headers.get("x-signature", ""))
        if why is not None:
            return _fail(why, code=98, status=401)
        accounts.current.set("" if key == self.config.api_key else key or "")  # the first account is ""
        return None

    async def handle(self, request: Request, name: str, handler: Handler) -> Response:
        try:
            fields, files = await _read_body(request)
        except BadRequest as exc:
            return _fail(str(exc))
        except ClientDisconnect:  # the client gave up (a call's budget ended): nobody to answer
            return Response(status_code=499)
        headers = {k: v for k, v in request.headers.items() if k.startswith("x-")}
        self.state.record(RecordedRequest(name, fields, files, headers, at=time.monotonic()))
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        fault = self.state.take_fault(name, kinds=_HTTP_FAULTS)
        answer = fault_answer(fault) if fault is not None else None
        if answer is not None:
            return answer
        try:
            response = await handler(fields, files)
        except BadRequest as exc:
            response = _fail(str(exc))
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        return response

    async def run_route(self, request: Request) -> Response:
        model = f"{request.path_params['owner']}/{request.path_params['slug']}".lower()

        async def run(fields: dict[str, Any], files: dict[str, bytes]) -> Response:
            if model not in LIMITS and model not in CATALOG:
                return _fail(f"Model {model} not found", code=1)
            return await self.start(model, fields, files)

        return await self.handle(request, f"Run/{model}", run)

    async def start(self, model: str, fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        params = check_params(model, fields, files) if model in LIMITS else check_run(CATALOG[model], fields, files)
        if self.config.max_concurrent is not None and self.state.running_count() >= self.config.max_concurrent:
            return _fail("Concurrent task limit reached", code=96)
        outcome = "success"
        task_fault = self.state.take_fault("Run", kinds=TASK_FAULTS)
        prompt = str(params.get("prompt", ""))
        if "[sandbox:fail]" in prompt or (task_fault and task_fault.kind == "task_fail"):
            outcome = "fail"
        elif "[sandbox:error]" in prompt or (task_fault and task_fault.kind == "task_error"):
            outcome = "error"
        task = self.state.create_task(model, params, files, outcome)
        task.account = accounts.current.get()
        prepare(task, fields)
        task.billing, task.overcharge = self.config.billing, self.config.overcharge
        if task_fault is not None and task_fault.kind == "odd_cost":
            task.reported_cost = task_fault.value
        if task_fault is not None and task_fault.kind == "odd_output":
            task.listed_output = {str(k): str(v) for k, v in json.loads(task_fault.value).items()}
        if task_fault is not None and task_fault.kind == "outputs":
            task.outputs = chosen(task_fault.value)
        else:
            self.sandbox.start_rendering(task)
        return JSONResponse({"errors": [], "taskid": task.id, "socketaccesstoken": task.token, "result": True})

    async def detail(self, fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        task = self._lookup(fields)
        if task is None:
            return _fail("There is no task yet.", code=1)
        return await self._answer(task, total=True)

    async def kill(self, fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        task = self._lookup(fields)
        if task is None:
            return _fail("There is no task yet.", code=1)
        status = task.status(self.state.clock())
        if status in ENDED:
            return _fail(f"Task {task.id} has already ended ({status})")
        if self.counts_as_queued(status):
            return _fail(f"Task {task.id} is still in the queue; use Task/Cancel")
        self.state.cancel(task, after=self.config.stop_after)
        return await self._answer(task)

    async def cancel(self, fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        # Task/Cancel takes the id only, as Wiro's own client sends it.
        task = self._lookup({"taskid": fields.get("taskid")})
        if task is None:
            return _fail("There is no task yet.", code=1)
        status = task.status(self.state.clock())
        if not self.counts_as_queued(status):
            return _fail(f"Only queued tasks can be cancelled: task {task.id} is {status}; use Task/Kill")
        self.state.cancel(task, after=self.config.stop_after)
        return await self._answer(task)

    def counts_as_queued(self, status: str) -> bool:
        """Cancel's side of the sandbox's queued/running boundary (Kill takes the other side)."""
        return status in LIFECYCLE and LIFECYCLE.index(status) <= LIFECYCLE.index(self.config.queued_until)

    async def tool_list(self, fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        return JSONResponse(discovery.tool_list(fields, self.config))

    async def tool_detail(self, fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        if (found := discovery.find(fields)) is not None:
            return JSONResponse({"errors": [], "result": True, "tool": [discovery.tool_detail(found, self.config)]})
        model = f"{fields.get('slugowner', '')}/{fields.get('slugproject', '')}".lower()
        if model not in LIMITS:
            return _fail("Tool not found", code=1)
        items: list[dict[str, Any]] = [{"id": "prompt", "type": "textarea", "required": True, "default": ""}]
        for name, (low, high) in LIMITS[model].items():
            default = str(DEFAULTS[model][name])
            items.append({"id": name, "type": "number", "default": default, "min": str(low), "max": str(high)})
        owner, _, slug = model.partition("/")
        tool = {
            "slugowner": owner,
            "slugproject": slug,
            "title": slug,
            "parameters": [{"title": "Inputs", "items": items}],
        }
        if self.config.prices:
            tool |= published(model, self.config.billing)
        return JSONResponse({"errors": [], "result": True, "tool": [tool]})

    async def task_list(self, fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        """The account's tasks, newest first (`start`, `limit`; only `type: model` and `sort: id` exist here)."""
        if not self.config.task_list:
            return _fail("Not found", code=1, status=404)
        try:
            start, limit = int(fields.get("start", 0)), int(fields.get("limit", 20))
        except (TypeError, ValueError):
            return _fail("start and limit must be numbers")
        mine = [t for t in self.state.tasks() if t.account == accounts.current.get()]
        tasks = sorted(mine, key=lambda t: int(t.id), reverse=fields.get("order", "DESC") == "DESC")
        now = self.state.clock()
        page = [task_record(t, now, self.sandbox.origin) for t in tasks[start : start + max(0, limit)]]
        return JSONResponse({"total": str(len(tasks)), "errors": [], "tasklist": page, "result": True})

    def _lookup(self, fields: dict[str, Any]) -> SandboxTask | None:
        """The task, if it is the requesting account's (another account's answers as none)."""
        found = None
        if fields.get("taskid"):
            found = self.state.get(task_id=str(fields["taskid"]))
        elif fields.get("tasktoken"):
            found = self.state.get(token=str(fields["tasktoken"]))
        return found if found is not None and found.account == accounts.current.get() else None

    async def _answer(self, task: SandboxTask, *, total: bool = False) -> Response:
        if task.status(self.state.clock()) == "task_postprocess_end":
            await self.sandbox.outputs_ready(task)
        body: dict[str, Any] = {"errors": [], "tasklist": [task_record(task, self.state.clock(), self.sandbox.origin)]}
        if total:
            body["total"] = "1"
        body["result"] = True
        return JSONResponse(body)
