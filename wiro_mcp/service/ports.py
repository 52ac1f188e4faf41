"""What the parts built on the service's runs need of it, and no more: the MCP tasks (handles.py,
handle_watch.py) read and stop tasks, any_model.py starts and prices runs. `Generation` is each of
these; naming the few calls instead of the whole object keeps the imports pointing one way (the
service wires the parts, the parts never import it back)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from ..media.delivery import Outcome
from ..results import PreviewKind
from ..tracking.progress import OnUpdate
from ..wiro.refs import TaskRef
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
    """A run started (or joined) and waited for (`Generation.generate`'s arguments), and its price and
    question beforehand (`Generation.quote`'s)."""

    @property
    def generate(self) -> Callable[..., Awaitable[Outcome]]: ...

    @property
    def quote(self) -> Callable[..., Awaitable[Quote | None]]: ...
