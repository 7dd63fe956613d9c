"""The one retry policy of the write path: how long a write may take, and how it backs off.

A write (one transaction) gets a deadline when it starts. Within it, and only within it, the
transaction is run again when it lost a race: a write conflict with another writer (the driver's
``TransientTransactionError`` label), or, for a command without an expected version, an
aggregate that changed between its read and its conditional write. Nothing else retries around
it: the driver's own single retry of a command is all that happens beneath, and the handlers do
not loop. When the deadline passes the write answers :class:`StoreTimeout` (503 with
``Retry-After``), never a version conflict the client did not ask for.

Back-off is exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"), so writers that collided spread out instead of colliding again in lock-step.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

# Its own generator: jitter must not draw from (or disturb) the random module's shared state,
# which the service's other users of it (and tests that replay it) rely on.
_JITTER = random.Random()  # noqa: S311 - spreading retries, not a secret

__all__ = ["Deadline", "RetryPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    #: How long one write may take in all, retries and queueing included.
    deadline_seconds: float = 10.0
    first_backoff_seconds: float = 0.005
    max_backoff_seconds: float = 0.25

    def start(self) -> Deadline:
        return Deadline(policy=self, expires=time.monotonic() + self.deadline_seconds)


@dataclass(slots=True, kw_only=True)
class Deadline:
    """One write's deadline and the attempts made within it."""

    policy: RetryPolicy
    expires: float
    attempt: int = 0

    def remaining(self) -> float:
        return max(self.expires - time.monotonic(), 0.0)

    async def back_off(self) -> bool:
        """Wait before the next attempt; ``False`` (without waiting) when no time is left for one."""
        self.attempt += 1
        ceiling = min(self.policy.max_backoff_seconds, self.policy.first_backoff_seconds * 2**self.attempt)
        pause = _JITTER.uniform(0, ceiling)
        if pause >= self.remaining():
            return False
        await asyncio.sleep(pause)
        return True
