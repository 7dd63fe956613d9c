"""Throttling the OAuth token endpoint: a token bucket per client id and one per source address.

The token endpoint checks secrets, so without a limit it is an oracle for guessing them and a
way to load the database that SCIM requests need. Each request takes one token from the bucket
of its source address, before the body is read, and one from the bucket of the client id it
names, before any lookup; a failed client authentication takes ``failure_cost - 1`` more from
both, so guessing drains a bucket faster than using a valid secret does. An empty bucket answers
``429`` with ``Retry-After`` (RFC 6585 §4). These buckets are the token endpoint's own: SCIM's
per-tenant limit (:mod:`limits`) never sees them, so one client's flood of token requests
cannot use up another tenant's, or even its own tenant's, SCIM allowance.

Behind a reverse proxy every request comes from the proxy's address; with ``trust_forwarded``
the address is the last entry of ``X-Forwarded-For``, the one the trusted proxy appended.
Buckets for names never seen before (made-up client ids, many addresses) are bounded: past
``max_keys`` the idle ones are dropped, and if all are busy the limiter starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from scim_facade.limits import RateLimiter

__all__ = ["TokenThrottle", "TokenThrottleSettings"]

_MAX_KEY_LENGTH = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenThrottleSettings:
    """Rates are per second on average, bursts at once; a rate of 0 turns that limit off."""

    per_client_per_second: float = 1.0
    per_client_burst: int = 20
    per_address_per_second: float = 10.0
    per_address_burst: int = 100
    failure_cost: float = 5.0
    trust_forwarded: bool = False
    max_keys: int = 100_000


class TokenThrottle:
    def __init__(self, settings: TokenThrottleSettings | None = None) -> None:
        self.settings = settings or TokenThrottleSettings()
        #: Requests refused with 429 by each kind of bucket (the service's metrics read them).
        self.refused_by_address = 0
        self.refused_by_client = 0
        self._clients = self._client_limiter()
        self._addresses = self._address_limiter()

    def address(self, request: Request) -> str:
        """The source address the request is counted against."""
        if self.settings.trust_forwarded:
            forwarded = request.headers.getlist("x-forwarded-for")
            last = forwarded[-1].rsplit(",", 1)[-1].strip() if forwarded else ""
            if last:
                return last[:_MAX_KEY_LENGTH]
        return request.client.host if request.client is not None else "unknown"

    def check_address(self, address: str) -> int | None:
        """``None`` when the address may make a request now, otherwise the seconds to wait."""
        retry_after = self._addresses.check(address)
        if retry_after is not None:
            self.refused_by_address += 1
        self._addresses = self._bounded(self._addresses, self._address_limiter)
        return retry_after

    def check_client(self, client_id: str) -> int | None:
        """``None`` when the client may make a request now, otherwise the seconds to wait."""
        retry_after = self._clients.check(client_id[:_MAX_KEY_LENGTH])
        if retry_after is not None:
            self.refused_by_client += 1
        self._clients = self._bounded(self._clients, self._client_limiter)
        return retry_after

    def failed(self, address: str, client_id: str | None) -> None:
        """A client authentication failed: charge the rest of its cost."""
        extra = max(0.0, self.settings.failure_cost - 1.0)
        self._addresses.spend(address, extra)
        if client_id is not None:
            self._clients.spend(client_id[:_MAX_KEY_LENGTH], extra)

    def tracked(self) -> tuple[int, int]:
        """How many client ids and how many addresses have a bucket now (each at most ``max_keys`` + 1)."""
        return len(self._clients), len(self._addresses)

    def _bounded(self, limiter: RateLimiter, afresh: Callable[[], RateLimiter]) -> RateLimiter:
        """``limiter`` kept to ``max_keys`` buckets: past it the idle ones go, and if all are
        busy, a new limiter from ``afresh``."""
        if len(limiter) > self.settings.max_keys:
            limiter.forget_idle()
            if len(limiter) > self.settings.max_keys:
                return afresh()
        return limiter

    def _client_limiter(self) -> RateLimiter:
        return RateLimiter(self.settings.per_client_per_second, self.settings.per_client_burst)

    def _address_limiter(self) -> RateLimiter:
        return RateLimiter(self.settings.per_address_per_second, self.settings.per_address_burst)
