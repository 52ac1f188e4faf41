"""What a sandbox is set up with (SandboxConfig, the fake credentials) and what its parts (the API, the
control routes, the socket hub) may ask of the sandbox that runs them (`Host`): a leaf, so those
parts never import the runner that builds them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from .billing import Billing
from .lifecycle import SandboxTask
from .store import SandboxState

# Obviously fake credentials, printed by `wiro-mcp sandbox` when the environment has none.
SANDBOX_API_KEY = "sandbox-key"
SANDBOX_API_SECRET = "sandbox-secret"


@dataclass
class SandboxConfig:
    api_key: str = SANDBOX_API_KEY
    api_secret: str | None = SANDBOX_API_SECRET  # None = key-only project
    # More accounts, as (API key, secret or None): each sees and lists only its own tasks.
    other_accounts: tuple[tuple[str, str | None], ...] = ()
    queue_seconds: float = 0.5
    run_seconds: float = 2.5
    max_concurrent: int | None = None
    # The last status in which Task/Cancel is accepted; Task/Kill is accepted after it. Wiro does not
    # document the boundary; the default is the strictest reading of "for tasks on queue".
    queued_until: str = "task_queue"
    # Seconds between Wiro accepting a stop (Task/Kill or Task/Cancel answers at once) and the task
    # reading task_cancel. Wiro does not say whether a stop is applied at once; a real backend is
    # asynchronous. 0: at once; float("inf"): accepted, never applied.
    stop_after: float = 0.0
    # The clock task statuses follow (a ManualClock holds them still for a test).
    clock: Callable[[], float] = time.monotonic
    # Photo-like grain keeps PNG sizes realistic (a 2048×1024 panorama is ~3 MB); without it drawing
    # is five times cheaper, for tests where sizes do not matter.
    grain: bool = True
    # Tool/Detail publishes prices (cps, approximatelycost, dynamicprice); False leaves them out, as a
    # Wiro that does not say its prices would.
    prices: bool = True
    # Task/List answers (it is not in Wiro's public docs); False answers 404, as an API without it would.
    task_list: bool = True
    # How Tool/Detail writes a catalog model's items where Wiro's docs allow either (the seeds' answers
    # never change): `required` as a bool or as "true"/"false"; a select's `options` as {label, value}
    # objects or as bare values.
    required_as: Literal["bool", "string"] = "bool"
    options_as: Literal["objects", "strings"] = "objects"
    # How a run is billed (see billing.py): "per_work" grows with pixels, steps and samples; "per_run"
    # is one price per run whatever it asks. `overcharge` bills that much more than the published prices.
    billing: Billing = "per_work"
    overcharge: float = 1.0
    host: str = "127.0.0.1"
    port: int = 0


class Host(Protocol):
    """The running sandbox as its parts see it: its state, its settings, where it serves, and the
    drawing of a task's outputs (started when the task is, awaited before they are handed out)."""

    state: SandboxState
    config: SandboxConfig
    origin: str

    def start_rendering(self, task: SandboxTask) -> None: ...

    async def outputs_ready(self, task: SandboxTask) -> None: ...
