"""Per-tenant request rate limiting: a token bucket per tenant, in this process.

A tenant may make ``rate`` requests a second on average and ``burst`` at once; above that the
request is refused with 429 and ``Retry-After`` (RFC 6585 §4), so one noisy client cannot starve
the others. Entra ID sends up to about 25 requests a second per tenant; the default is well above.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``check(key)`` takes one request from ``key``'s bucket; ``None`` when allowed, otherwise the
    whole seconds to wait. ``rate <= 0`` turns limiting off."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str) -> int | None:
        if self._rate <= 0:
            return None
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self._burst, updated=now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
