"""When to try a failing delivery again: exponential back-off with jitter, capped."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Its own generator: jitter must not draw from (or disturb) the random module's shared state,
# which the service's other users of it (and tests that replay it) rely on.
_JITTER = random.Random()  # noqa: S311 - spreading retries, not a secret

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row: doubling from the base up to the cap,
        then a random point in its upper half ("equal jitter"), so receivers coming back after an
        outage are not hit by every sender at the same instant, yet each waits at least half."""
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** max(failures - 1, 0))
        return ceiling / 2 + _JITTER.uniform(0, ceiling / 2)  # jitter, not a secret
