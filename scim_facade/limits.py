"""Per-tenant request rate limiting: a token bucket per tenant.

A tenant may make ``rate`` requests a second on average and ``burst`` at once; above that the
request is refused with 429 and ``Retry-After`` (RFC 6585 §4), so one noisy client cannot starve
the others. Entra ID sends up to about 25 requests a second per tenant; the default is well above.

The buckets live in the process, so a request costs no round trip; what makes the limit hold
for a deployment of several instances is that each hands over what it admitted
(:meth:`RateLimiter.drain_admitted`) and takes what the others admitted from its own buckets
(:meth:`RateLimiter.admitted_elsewhere`), through the composition root's exchange loop.
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

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic, *, shared: bool = False
    ) -> None:
        """``shared``: keep count of what is admitted for :meth:`drain_admitted` (a limiter whose
        counts nobody drains must not keep them)."""
        self._rate = rate
        self._shared = shared
        self._burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._admitted: dict[str, int] = {}

    def check(self, key: str) -> int | None:
        if self._rate <= 0:
            return None
        bucket = self._refilled(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            if self._shared:
                self._admitted[key] = self._admitted.get(key, 0) + 1
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))

    def spend(self, key: str, tokens: float) -> None:
        """Take ``tokens`` more from ``key``'s bucket, down to empty, without refusing anything: an
        extra cost (a failed attempt, say) that the next :meth:`check` of that key pays for."""
        if self._rate <= 0:
            return
        bucket = self._refilled(key)
        bucket.tokens = max(0.0, bucket.tokens - tokens)

    def admitted_elsewhere(self, key: str, requests: int) -> None:
        """Take what the other instances admitted for ``key`` from its bucket, below empty if need
        be (down to minus one burst), so that the next :meth:`check` waits until it is paid for.

        Unlike :meth:`spend`, an empty bucket does not absorb the count: under a flood every
        instance's bucket is empty when the others' counts arrive, and forgetting them there let
        each instance admit the whole rate again, N times the rate for the deployment. The floor
        bounds the wait a burst seen everywhere at once can cause to one burst's worth.
        """
        if self._rate <= 0:
            return
        bucket = self._refilled(key)
        bucket.tokens = max(-self._burst, bucket.tokens - requests)

    def _refilled(self, key: str) -> _Bucket:
        """``key``'s bucket (a new one is full), refilled for the time since it was last used."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self._burst, updated=now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket

    def drain_admitted(self) -> dict[str, int]:
        """The requests admitted by key since the last call (what the other instances must count)."""
        admitted, self._admitted = self._admitted, {}
        return admitted

    def forget_idle(self) -> None:
        """Drop the buckets that have refilled to ``burst``: a new bucket would start the same,
        so this bounds memory without letting anyone skip a wait."""
        now = self._clock()
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self._rate < self._burst
        }

    def __len__(self) -> int:
        """How many keys have a bucket."""
        return len(self._buckets)
