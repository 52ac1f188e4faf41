"""What the parts built on the service's runs need of it, and no more: the MCP tasks (handles.py,
handle_watch.py) read and stop tasks, any_model.py starts and prices runs. `Service` is each of
these; naming the few calls instead of the whole object keeps the imports pointing one way (the
service wires the parts, the parts never import it back)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..catalog import ModelSpec
from ..media.outcome import Outcome
from ..results import PreviewKind
from ..tracking.progress import OnUpdate
from ..wiro.refs import TaskRef
from .call import RunCall
from .judging import Quote
from .stopping import First


class Reads(Protocol):
    """A task followed to its end and stopped, as the task tools do."""

    async def get(
        self,
        ref: TaskRef,
        *,
        wait: float = 0.0,
        preview: PreviewKind = "views",
        viewer: bool = False,
        on_update: OnUpdate | None = None,
        host_call: bool = True,
    ) -> Outcome: ...

    async def stop(self, ref: TaskRef, *, first: First | None = None) -> Outcome: ...


class Runs(Protocol):
    """A run started (or joined) and waited for, and its price and question beforehand."""

    async def generate(self, spec: ModelSpec, arguments: Mapping[str, Any], call: RunCall = ...) -> Outcome: ...

    async def quote(self, spec: ModelSpec, arguments: Mapping[str, Any], call: RunCall = ...) -> Quote | None: ...
