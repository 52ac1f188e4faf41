"""One generate call as the adapter made it (`RunCall`): how it runs, built once and carried to its end
through the question, the start, the wait and the result. The spec and the arguments travel beside it
(run_model learns its spec on the way)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..results import Consent, PreviewKind
    from ..tracking.progress import OnUpdate
    from .uploads import InputFolders

OnStarted = Callable[[str, str], Awaitable[None]]  # (task id, model): told once the task is Wiro's
StopRequested = Callable[[], bool]  # whether a cancellation was the person pressing stop


@dataclass(frozen=True)
class RunCall:
    arrived: float | None = None  # when the tools/call came (anyio's clock; None: now): its wait counts from there
    wait: float | None = None  # seconds asked (None: WIRO_MCP_WAIT_SECONDS; 0: start and return, as an MCP task)
    preview: PreviewKind = "views"
    viewer: bool = False  # a 360° viewer shows the result
    allow_duplicate: bool = False
    consent: Consent = None  # the person's answer, when they were asked to confirm the cost
    on_update: OnUpdate | None = None
    on_started: OnStarted | None = None
    input_folders: InputFolders | None = None  # where local input pictures may come from (the client's roots)
    stop_requested: StopRequested | None = None
