"""The sandbox's HTTP face: the Wiro endpoints, output files, and a small control API for tests.

It follows WIRO_API.md: every endpoint is a POST under /v1, answers are HTTP 200 with
`result: false` for most refusals and 401 for bad credentials, numbers travel as strings.
The checks here are written from Wiro's documented limits, independently of the catalog, so a
catalog mistake shows up as a sandbox refusal instead of being mirrored.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from ..protocol import sign
from . import images
from .state import TASK_FAULTS, Fault, OutputFile, RecordedRequest, SandboxTask, ended, task_record

if TYPE_CHECKING:
    from .server import Sandbox

PANORAMA = "tencent/hunyuanworld-text-to-panorama"
SRPO = "tencent/hunyuan-flux-srpo"

# Wiro's documented limits per model: (min, max) for numbers.
LIMITS: dict[str, dict[str, tuple[float, float]]] = {
    PANORAMA: {
        "steps": (1, 500),
        "scale": (0, 100),
        "blendExtend": (1, 10),
        "cfgScale": (0, 100),
        "width": (16, 2048),
        "height": (16, 2048),
    },
    SRPO: {
        "steps": (1, 500),
        "scale": (0, 100),
        "strength": (0, 1),
        "samples": (1, 4),
        "width": (16, 2048),
        "height": (16, 2048),
    },
}
DEFAULTS: dict[str, dict[str, Any]] = {
    PANORAMA: {"steps": 40, "scale": 30.0, "blendExtend": 6, "cfgScale": 0.0, "width": 1920, "height": 960},
    SRPO: {"steps": 20, "scale": 3.5, "strength": 0.88, "samples": 1, "width": 1024, "height": 1024},
}


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
                files[key] = await value.read()
        await form.close()
    else:
        raw = await request.body()
        if raw:
            try:
                parsed = await asyncio.to_thread(_json_loads, raw)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise _BadRequest("the body is not a JSON object")
            fields = parsed
    return fields, files


def _json_loads(raw: bytes) -> Any:
    import json

    return json.loads(raw)


class _BadRequest(Exception):
    pass


def _number(name: str, value: Any, low: float, high: float, integer: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _BadRequest(f"{name} must be a number") from None
    if integer and not number.is_integer():
        raise _BadRequest(f"{name} must be an integer")
    if not low <= number <= high:
        raise _BadRequest(f"{name} must be between {low:g} and {high:g}")
    return number


def check_params(model: str, fields: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """Wiro-side validation; returns the parameters with defaults filled in."""
    params: dict[str, Any] = dict(DEFAULTS[model])
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _BadRequest("prompt is required")
    params["prompt"] = prompt
    for name, (low, high) in LIMITS[model].items():
        if name in fields and fields[name] not in ("", None):
            integer = name not in ("scale", "cfgScale", "strength")
            value = _number(name, fields[name], low, high, integer)
            params[name] = int(value) if integer else value
    seed = str(fields.get("seed", "0"))
    if not seed.isdigit() or len(seed) > 10:
        raise _BadRequest("seed must be a whole number of at most 10 digits")
    params["seed"] = seed
    if model == PANORAMA:
        params["negativePrompt"] = str(fields.get("negativePrompt", ""))
    if model == SRPO:
        if params["width"] % 16 or params["height"] % 16:
            raise _BadRequest("width and height must be multiples of 16")
        image = fields.get("inputImage")
        if "inputImage" in files:
            params["inputImage"] = "uploaded"
        elif isinstance(image, str) and image:
            if not image.startswith(("http://", "https://")):
                raise _BadRequest("inputImage must be a URL or an uploaded file")
            params["inputImage"] = image
    return params


def create_app(sandbox: Sandbox) -> Starlette:
    state = sandbox.state
    config = sandbox.config

    def authenticate(request: Request) -> JSONResponse | None:
        key = request.headers.get("x-api-key")
        if not key or not hmac.compare_digest(key, config.api_key):
            return _fail("Sign in required: unknown x-api-key", code=98, status=401)
        if config.api_secret is None:
            return None
        nonce = request.headers.get("x-nonce", "")
        signature = request.headers.get("x-signature", "")
        if not nonce or not signature:
            return _fail("Sign in required: x-nonce and x-signature are missing", code=98, status=401)
        if not hmac.compare_digest(signature, sign(config.api_key, config.api_secret, nonce)):
            return _fail("Invalid signature", code=98, status=401)
        if not state.use_nonce(nonce):
            return _fail("Nonce already used", code=98, status=401)
        return None

    async def fault_answer(fault: Fault) -> Response | None:
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
        return None

    async def endpoint(request: Request, name: str, handler: Any) -> Response:
        try:
            fields, files = await _read_body(request)
        except _BadRequest as exc:
            return _fail(str(exc))
        state.record(
            RecordedRequest(
                endpoint=name,
                fields=fields,
                files=files,
                headers={k: v for k, v in request.headers.items() if k.startswith("x-")},
                at=time.monotonic(),
            )
        )
        denied = authenticate(request)
        if denied is not None:
            return denied
        fault = state.take_fault(name, kinds=frozenset(_HTTP_FAULTS))
        delay = 0.0
        if fault is not None:
            if fault.kind == "slow":
                delay = fault.delay
            else:
                answer = await fault_answer(fault)
                if answer is not None:
                    return answer
        try:
            response: Response = await handler(fields, files)
        except _BadRequest as exc:
            response = _fail(str(exc))
        if delay:
            await asyncio.sleep(delay)
        return response

    def file_base() -> str:
        return sandbox.origin

    async def run(fields: dict[str, Any], files: dict[str, bytes], model: str) -> Response:
        params = check_params(model, fields, files)
        if config.max_concurrent is not None and state.running_count() >= config.max_concurrent:
            return _fail("Concurrent task limit reached", code=96)
        prompt = params["prompt"]
        outcome = "success"
        task_fault = state.take_fault("Run", kinds=TASK_FAULTS)
        if "[sandbox:fail]" in prompt or (task_fault and task_fault.kind == "task_fail"):
            outcome = "fail"
        elif "[sandbox:error]" in prompt or (task_fault and task_fault.kind == "task_error"):
            outcome = "error"
        task = state.create_task(model, params, files, outcome)
        sandbox.start_rendering(task)
        return JSONResponse({"errors": [], "taskid": task.id, "socketaccesstoken": task.token, "result": True})

    async def ensure_outputs(task: SandboxTask) -> None:
        if task.status(state.clock()) == "task_postprocess_end":
            await sandbox.outputs_ready(task)

    async def detail(fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        task = _lookup(fields)
        if task is None:
            return _fail("There is no task yet.", code=1)
        await ensure_outputs(task)
        return JSONResponse(
            {
                "total": "1",
                "errors": [],
                "tasklist": [task_record(task, state.clock(), file_base())],
                "result": True,
            }
        )

    async def kill(fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        task = _lookup(fields)
        if task is None:
            return _fail("There is no task yet.", code=1)
        status = task.status(state.clock())
        if ended(status):
            return _fail(f"Task {task.id} has already ended ({status})", code=0)
        if status in ("task_queue", "task_accept", "task_preprocess_start", "task_preprocess_end"):
            return _fail(f"Task {task.id} is still in the queue; use Task/Cancel", code=0)
        state.cancel(task)
        return JSONResponse({"errors": [], "tasklist": [task_record(task, state.clock(), file_base())], "result": True})

    async def cancel(fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        task = _lookup(fields)
        if task is None:
            return _fail("There is no task yet.", code=1)
        status = task.status(state.clock())
        if status not in ("task_queue", "task_accept", "task_preprocess_start", "task_preprocess_end"):
            return _fail(f"Task {task.id} is not in the queue ({status}); use Task/Kill", code=0)
        state.cancel(task)
        return JSONResponse({"errors": [], "tasklist": [task_record(task, state.clock(), file_base())], "result": True})

    async def tool_detail(fields: dict[str, Any], files: dict[str, bytes]) -> Response:
        model = f"{fields.get('slugowner', '')}/{fields.get('slugproject', '')}".lower()
        if model not in LIMITS:
            return _fail("Tool not found", code=1)
        items = [{"id": "prompt", "type": "textarea", "required": True, "default": ""}]
        for name, (low, high) in LIMITS[model].items():
            items.append(
                {
                    "id": name,
                    "type": "number",
                    "default": str(DEFAULTS[model][name]),
                    "min": str(low),
                    "max": str(high),
                    "required": False,
                }
            )
        owner, _, slug = model.partition("/")
        return JSONResponse(
            {
                "errors": [],
                "result": True,
                "tool": [
                    {
                        "slugowner": owner,
                        "slugproject": slug,
                        "title": slug,
                        "parameters": [{"title": "Inputs", "items": items}],
                    }
                ],
            }
        )

    def _lookup(fields: dict[str, Any]) -> SandboxTask | None:
        task_id = fields.get("taskid")
        token = fields.get("tasktoken")
        if task_id:
            return state.get(task_id=str(task_id))
        if token:
            return state.get(token=str(token))
        return None

    async def run_route(request: Request) -> Response:
        model = f"{request.path_params['owner']}/{request.path_params['slug']}".lower()
        name = f"Run/{model}"
        if model not in LIMITS:

            async def unknown(fields: dict[str, Any], files: dict[str, bytes]) -> Response:
                return _fail(f"Model {model} not found", code=1)

            return await endpoint(request, name, unknown)
        return await endpoint(request, name, lambda f, fl: run(f, fl, model))

    def route(name: str, handler: Any) -> Route:
        async def view(request: Request) -> Response:
            return await endpoint(request, name, handler)

        return Route(f"/v1/{name}", view, methods=["POST"])

    async def output_file(request: Request) -> Response:
        task = state.by_uuid(request.path_params["uuid"])
        name = request.path_params["name"]
        if task is not None:
            await ensure_outputs(task)
            for output in task.outputs or []:
                if output.name == name:
                    return Response(output.data, media_type=output.content_type)
        return Response("not found", status_code=404, media_type="text/plain")

    async def control_faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_faults()
            return JSONResponse({"ok": True})
        body = await request.json()
        fault = Fault(**body)
        state.inject(fault)
        return JSONResponse({"ok": True, "fault": asdict(fault)})

    async def control_requests(request: Request) -> Response:
        return JSONResponse(
            [
                {"endpoint": r.endpoint, "fields": r.fields, "files": {k: len(v) for k, v in r.files.items()}}
                for r in state.requests
            ]
        )

    routes = [
        Route("/v1/Run/{owner}/{slug}", run_route, methods=["POST"]),
        route("Task/Detail", detail),
        route("Task/Kill", kill),
        route("Task/Cancel", cancel),
        route("Tool/Detail", tool_detail),
        Route("/files/{uuid}/{name}", output_file, methods=["GET", "HEAD"]),
        Route("/_sandbox/faults", control_faults, methods=["POST", "DELETE"]),
        WebSocketRoute("/socket/v1", sandbox.sockets.endpoint),
        Route("/_sandbox/requests", control_requests, methods=["GET"]),
    ]
    return Starlette(routes=routes)


_HTTP_FAULTS = (
    "http_500",
    "http_429",
    "broken_json",
    "html",
    "slow",
    "insufficient_balance",
    "concurrency_limit",
    "bad_credentials",
)


def render(task: SandboxTask) -> list[OutputFile]:
    """Draw a finished task's outputs (called in a worker thread)."""
    p = task.params
    width, height = int(p["width"]) // 16 * 16 or 16, int(p["height"]) // 16 * 16 or 16
    if task.model == PANORAMA:
        return [OutputFile("0.png", "image/png", images.panorama_png(p["prompt"], width, height))]
    source = task.uploads.get("inputImage")
    return [
        OutputFile(
            f"{i}.png",
            "image/png",
            images.image_png(p["prompt"], width, height, i, source, float(p.get("strength", 0.88))),
        )
        for i in range(int(p.get("samples", 1)))
    ]
