"""When a failing push stream is tried again: exponential back-off with full jitter.

The n-th consecutive failure waits a uniformly random time in ``[0, min(maximum, base * 2**(n-1))]``
("full jitter"): receivers that failed together (one outage behind a shared gateway) do not all
come back at once, and a long outage costs a request every ``maximum / 2`` on average, not
every push round. After ``give_up`` of failing without a single SET accepted the stream is
disabled (SSF 1.0 §8.1.2): the receiver is gone, and the log it would need is not held forever.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# Its own generator: jitter must not draw from (or disturb) the random module's shared state,
# which the service's other users of it (and tests that replay it) rely on.
_JITTER = random.Random()  # noqa: S311 - spreading retries, not a secret

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    base: timedelta
    maximum: timedelta
    give_up: timedelta

    def ceiling(self, failures: int) -> timedelta:
        """The longest wait after ``failures`` consecutive failures (at least one)."""
        # In seconds, the exponent capped: a stream failing for days must not overflow a timedelta.
        doubled = self.base.total_seconds() * 2.0 ** min(max(failures, 1) - 1, 64)
        return timedelta(seconds=min(self.maximum.total_seconds(), doubled))

    def delay(self, failures: int) -> timedelta:
        return self.ceiling(failures) * _JITTER.random()

    def dead(self, first_failure: datetime, at: datetime) -> bool:
        """Whether a receiver failing since ``first_failure`` has failed long enough to be disabled."""
        return at - first_failure >= self.give_up
