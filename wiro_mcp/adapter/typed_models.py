"""The typed tools of WIRO_MCP_MODELS: one per configured model, as data (catalog/typed.py): listed with
the model's own schema keyed by Wiro's ids, run as run_model with its model fixed, so the same check
takes the same inputs. No Python name is ever made of a Wiro id, and no spec can stop the server: one that
cannot be a tool is skipped with a log line, and describe_model says why.

tools/list never waits on Wiro: a spec read before (cached on disk) makes its tool at start; the others
are asked for in the background once the first request arrives (signed as its caller), all at once, and
each tool that arrives then is announced with notifications/tools/list_changed: on the connection of
every handshake-era client seen, and on the `subscriptions/listen` streams of 2026-07-28 clients. A model
that cannot be read yet is asked for again on a later request, at most once a minute. When Wiro's spec
of a model changes (read again after its day, or by another server), its tool changes with a log line
and list_changed, and describe_model says so: each tool's digest is kept beside the cached specs.
"""

from __future__ import annotations

import functools
import logging
import time
import weakref
from collections.abc import Callable, MutableSet
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool

from .. import budgets
from ..catalog import ModelSpec, spec_of
from ..catalog.json_schema import compact
from ..catalog.schema import listed
from ..catalog.typed import TypedTool, tool_names, typed_tool
from ..config import Settings
from ..errors import WiroMCPError
from . import sdk_gaps
from .calls import CREATES
from .model_tools import model_run
from .tools import Registration, build_tool, registrations

if TYPE_CHECKING:
    from .state import ServerState

log = logging.getLogger(__name__)


class InputsTool(Tool):
    """A configured model's tool as the SDK runs it: listed with the model's schema (Wiro's ids beside the
    call's own arguments), its arguments gathered into run_model's `inputs` before the SDK checks the
    fixed signature. `call`: the call's own arguments this tool lists."""

    call: frozenset[str] = frozenset()

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        own = {key: value for key, value in arguments.items() if key in self.call}
        inputs = {key: value for key, value in arguments.items() if key not in self.call}
        return await super().run({**own, "inputs": inputs}, context, convert_result)


@functools.cache
def call_schemas() -> dict[str, dict[str, Any]]:
    """The call's own arguments (wait_seconds, preview, allow_duplicate) as the SDK lists run_model's."""
    listed = compact(Tool.from_function(model_run("owner/slug", "probe")).parameters)
    return {key: schema for key, schema in listed["properties"].items() if key != "inputs"}


def built(typed: TypedTool) -> InputsTool:
    """The SDK's tool for `typed`: run_model's function with the model fixed, listed as `typed` says."""
    options = {"name": typed.name, "title": typed.title, "description": typed.description}
    base = build_tool(Registration(model_run(typed.model, typed.name), options | {"annotations": CREATES}, task=True))
    return InputsTool(**{**dict(base), "parameters": typed.input_schema, "call": frozenset(typed.call)})


class TypedModels:
    def __init__(self, settings: Settings, task_tools: MutableSet[str]) -> None:
        self._settings = settings
        self._server: MCPServer[Any] | None = None
        self._task_tools = task_tools
        self._reset: Callable[[], None] = lambda: None
        models = [name for name in settings.extra_models if not _is_seed(name)]
        self.names = tool_names(models, taken={r.options.get("name", r.fn.__name__) for r in registrations()})
        self.pending = [model for model in models if model in self.names]
        self.served: dict[str, TypedTool] = {}
        self.skipped: dict[str, str] = {model: _NAME_TAKEN for model in models if model not in self.names}
        self.changed: dict[str, str] = {}
        self._digests: dict[str, str] = {}  # each tool's digest as last served, here or by a server before
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()  # the handshake-era clients seen
        self._stale: list[str] = []  # cached specs past their day, served meanwhile
        self._asked_at = -budgets.MODEL_RETRY
        self._asking = False
        for model in self.skipped:
            log.warning("WIRO_MCP_MODELS: %s gets no typed tool: %s", model, _NAME_TAKEN)

    def bind(self, server: MCPServer[Any], reset: Callable[[], None]) -> None:
        """Serve `server` (`reset`: what forgets its cached tool list); the specs cached on disk make
        their tools now (each derived in milliseconds, catalog/derive.py)."""
        self._server, self._reset = server, reset
        if not self.pending:
            return
        from ..service.models import read_cached, read_digests  # only when models are configured

        folder = self._folder()
        self._digests = read_digests(folder)
        for name in list(self.pending):
            found = read_cached(folder, name)
            if found is not None:
                self.offer(found[1])
                if time.time() - found[0] >= budgets.MODEL_SPEC_TTL:  # asked for again in the background
                    self._stale.append(name)

    def _folder(self) -> Path:
        from ..service.models import cache_folder

        return cache_folder(self._settings.state_folder, self._settings.base_url)

    def offer(self, spec: ModelSpec) -> bool:
        """`spec` as its model's typed tool: added, replaced when it changed, or skipped with a log line;
        never raises. True when the tool list changed."""
        model = spec.model
        if model not in self.names:
            return False
        self.pending = [name for name in self.pending if name != model]
        before = self.served.get(model)
        try:
            made = typed_tool(spec, self.names[model], call_schemas())
            if isinstance(made, str):
                return self._skip(model, made)
            if before is not None and before.digest == made.digest:
                return False
            assert self._server is not None, "bind() first"
            sdk_gaps.add_built_tool(self._server, built(made))
        except Exception as exc:  # a spec no tool can be made of: the server serves on without it
            log.exception("WIRO_MCP_MODELS: %s gets no typed tool", model)
            return self._skip(model, f"its spec could not be made into a tool ({type(exc).__name__})")
        self._note_change(model, before.digest if before is not None else self._digests.get(model), made)
        self.served[model] = made
        self.skipped.pop(model, None)
        self._task_tools.add(made.name)
        self._reset()
        return True

    def _skip(self, model: str, why: str) -> bool:
        log.warning("WIRO_MCP_MODELS: %s gets no typed tool: %s", model, why)
        self.skipped[model] = why
        served = self.served.pop(model, None)
        if served is not None and self._server is not None:  # it was a tool: it is one no longer
            self._server.remove_tool(served.name)
            self._reset()
            return True
        return False

    def _note_change(self, model: str, digest: str | None, made: TypedTool) -> None:
        if digest is not None and digest != made.digest:
            when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            log.warning(
                "WIRO_MCP_MODELS: Wiro's spec of %s changed; its tool %s changed with it (%s → %s)",
                model,
                made.name,
                digest,
                made.digest,
            )
            self.changed[model] = (
                f"Wiro's spec of this model changed (seen {when}): the tool {made.name} changed with it "
                f"(definition {digest} → {made.digest}); check its inputs before calling it."
            )
        if self._digests.get(model) != made.digest:
            self._digests[model] = made.digest
            self._save_digests()

    def _save_digests(self) -> None:
        from ..service.models import write_digests

        write_digests(self._folder(), dict(self._digests))

    def about(self, model: str) -> tuple[str | None, list[str]]:
        """The typed tool that runs `model` (None: run_model does) and what describe_model says of it."""
        if model not in self.names and model not in self.skipped:
            return None, []
        served = self.served.get(model)
        notes = [self.changed[model]] if model in self.changed else []
        if served is None:
            why = self.skipped.get(model)
            notes.append(
                f"WIRO_MCP_MODELS names this model, but it has no typed tool: {why}; run it with run_model."
                if why
                else "WIRO_MCP_MODELS names this model; its typed tool is not built yet: run it with run_model."
            )
            return None, notes
        notes.append(f"This model is also the typed tool {served.name} (inputs keyed by Wiro's ids, as here).")
        if served.left_out:
            notes.append(
                f"{served.name} lists {len(served.inputs)} of its inputs; run_model takes the other "
                f"{len(served.left_out)}: {listed(list(served.left_out), 300)}."
            )
        taken = [name for name in call_schemas() if name not in served.call]
        if taken:
            notes.append(
                f"In {served.name}, {', '.join(taken)} is this model's own input, not the call's argument of that "
                "name; run_model takes both."
            )
        return served.name, notes

    async def refresh(self, spec: ModelSpec) -> None:
        """A spec read again from Wiro (or from another server's cache): its tool follows it. While the
        background read runs, it announces what came, once."""
        if self.offer(spec) and not self._asking:
            await self.announce()

    async def fetch(self, state: ServerState) -> None:
        """Ask Wiro for every model still pending (and every cached spec past its day), all at once; what came
        is announced once. A spec read here reaches `offer` through `refresh` (models.py reads it)."""

        async def one(name: str) -> None:
            try:
                self.offer(await service.any_model.models.spec(name))
            except WiroMCPError as exc:
                log.warning("WIRO_MCP_MODELS: %s cannot be read yet (%s); asked again later", name, exc)

        before = self._listing()
        try:
            service = await state.service()
            async with anyio.create_task_group() as group:
                for name in dict.fromkeys([*self.pending, *self._stale]):
                    group.start_soon(one, name)
            self._stale = []
        finally:
            self._asking = False
        if self._listing() != before:
            await self.announce()

    def _listing(self) -> dict[str, str]:
        return {model: typed.digest for model, typed in self.served.items()}

    async def announce(self) -> None:
        with anyio.move_on_after(budgets.ANNOUNCE_SECONDS):
            for connection in list(self._connections):
                try:
                    await connection.send_tool_list_changed()
                except Exception as exc:  # a client gone, or one on the modern wire (the bus serves it)
                    log.debug("tools/list_changed not sent on a connection: %r", exc)
            if self._server is not None:
                await sdk_gaps.publish_tools_changed(self._server)

    def middleware(self) -> ServerMiddleware[Any]:
        """Every request: its session is remembered (to announce new tools on), the first one starts the
        background read, and a handshake client is told the tool list may change."""

        async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
            connection = sdk_gaps.connection_of(ctx)
            if self.names and connection is not None:
                self._connections.add(connection)
            now = time.monotonic()
            if (self.pending or self._stale) and not self._asking and now - self._asked_at >= budgets.MODEL_RETRY:
                self._asking, self._asked_at = True, now
                state: ServerState = ctx.lifespan_context
                state.start_soon(lambda: self.fetch(state))
            result = await call_next(ctx)
            if ctx.method == "initialize" and self.names:
                sdk_gaps.say_tools_change(result)
            return result

        return middleware


_NAME_TAKEN = "its tool name would be another model's or tool's"


def _is_seed(name: str) -> bool:
    seed = spec_of(name)
    return seed is not None and seed.curated
