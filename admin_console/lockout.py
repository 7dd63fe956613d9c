"""Sign-in lockout: after ``failures`` wrong secrets, a key is refused for ``seconds``.

Two keys are counted for every failed sign-in: the client's address and the credential the
presented secret names (its id is readable in the secret, right or wrong). Either one locked
refuses the sign-in before the secret is looked at, so guessing is capped per address and per
credential, whichever the guesser spreads over. Failures older than ``seconds`` are forgotten.

The counts live in this process: with several replicas each counts its own share, so the cap
is per replica. That bounds a guesser as well (the secrets are 256 random bits; the lockout is
against noise and misuse, not what keeps them unguessable) without a database write per failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Lockout"]


@dataclass(slots=True)
class _Failures:
    count: int
    since: float
    locked_until: float = 0.0


class Lockout:
    def __init__(
        self,
        *,
        failures: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._limit = failures
        self._seconds = seconds
        self._clock = clock
        self._max_keys = max_keys
        self._keys: dict[str, _Failures] = {}

    def retry_after(self, keys: Iterable[str]) -> float | None:
        """Seconds until the last of ``keys`` that is locked opens again; ``None`` when none is locked."""
        now = self._clock()
        remaining = [r.locked_until - now for k in keys if (r := self._keys.get(k)) and r.locked_until > now]
        return max(remaining) if remaining else None

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        for key in keys:
            record = self._keys.get(key)
            if record is None or (now - record.since > self._seconds and record.locked_until <= now):
                self._forget_stale(now)
                record = self._keys[key] = _Failures(count=0, since=now)
            record.count += 1
            if record.count >= self._limit:
                record.count, record.since, record.locked_until = 0, now, now + self._seconds

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def _forget_stale(self, now: float) -> None:
        """Keep memory bounded under a flood of addresses: drop what no longer counts, and if
        that is not enough, the oldest records (a lock already in place is kept longest)."""
        if len(self._keys) < self._max_keys:
            return
        self._keys = {k: r for k, r in self._keys.items() if r.locked_until > now or now - r.since <= self._seconds}
        if len(self._keys) >= self._max_keys:
            ordered = sorted(self._keys.items(), key=lambda item: (item[1].locked_until, item[1].since))
            self._keys = dict(ordered[len(ordered) // 2 :])
