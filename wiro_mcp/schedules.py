"""When to try again, in one place: the backoff of a request that failed, and the reads of a
follower waiting for a task."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter; a server's Retry-After wins up to `max_retry_after`."""

    max_retries: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_after: float = 20.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based), or None to give up."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        backoff: float = min(self.max_delay, self.base_delay * 2**attempt)
        return backoff * (0.5 + random.random() / 2)


@dataclass(frozen=True)
class PollPolicy:
    """When a follower reads. One schedule for the whole package."""

    initial: float = 0.25  # a fast task is seen quickly ...
    factor: float = 1.5  # ... and a slow one costs few requests
    maximum: float = 3.0
    safety: float = 10.0  # socket healthy: a read this often guards against a lost message
    background: float = 10.0  # nobody waiting: how often a task the server started is looked at
    background_limit: float = 6 * 3600.0  # and for how long at most
    grace: float = 0.75  # a waiter's last read may run this far past its deadline

    def intervals(self) -> Iterator[float]:
        current = self.initial
        while True:
            yield current
            current = min(self.maximum, current * self.factor)
