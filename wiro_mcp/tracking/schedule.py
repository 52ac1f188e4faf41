"""When a follower reads a task: one schedule for the whole package."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .. import budgets


@dataclass(frozen=True)
class PollPolicy:
    """When a follower reads. One schedule for the whole package."""

    initial: float = 0.25  # a fast task is seen quickly ...
    factor: float = 1.5  # ... and a slow one costs few requests
    maximum: float = 3.0
    safety: float = 10.0  # socket healthy: a read this often guards against a lost message
    background: float = 10.0  # nobody waiting: how often a task the server started is looked at
    background_limit: float = 6 * 3600.0  # and for how long at most
    # A waiter's last read may run this far past its deadline (budgets.GRACE, read when a policy is made).
    grace: float = field(default_factory=lambda: budgets.GRACE)

    def intervals(self) -> Iterator[float]:
        current = self.initial
        while True:
            yield current
            current = min(self.maximum, current * self.factor)
