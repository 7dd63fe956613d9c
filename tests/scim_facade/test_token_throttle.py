"""The token endpoint's throttle: extra costs and bounded memory on the token buckets."""

from __future__ import annotations

from scim_facade.limits import RateLimiter
from scim_facade.token_throttle import TokenThrottle, TokenThrottleSettings


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_spend_takes_an_extra_cost_that_the_next_check_pays() -> None:
    """spend() empties the bucket by the cost (never below empty); refilling works as before."""
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=5, clock=clock)
    assert limiter.check("a") is None
    limiter.spend("a", 10)
    assert limiter.check("a") == 1
    clock.now = 1.0
    assert limiter.check("a") is None  # empty, not in debt: one second buys one request


def test_forget_idle_drops_only_full_buckets() -> None:
    """A bucket that has refilled is the same as a new one; a bucket still refilling is kept."""
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    limiter.check("idle")
    clock.now = 10.0
    limiter.check("busy")
    limiter.check("busy")
    limiter.forget_idle()
    assert len(limiter) == 1
    assert limiter.check("busy") == 1


def test_made_up_client_ids_cannot_grow_the_throttle_without_bound() -> None:
    """Past max_keys the buckets are pruned: memory stays bounded whatever ids are sent."""
    throttle = TokenThrottle(TokenThrottleSettings(max_keys=100))
    for n in range(10_000):
        throttle.check_client(f"oc_{n}")
        throttle.check_address(f"198.51.{n // 256}.{n % 256}")
    clients, addresses = throttle.tracked()
    assert clients <= 101
    assert addresses <= 101


def test_long_client_ids_share_a_bounded_key() -> None:
    """A client id is counted by at most its first 128 characters, so a huge id is no huge key."""
    throttle = TokenThrottle(TokenThrottleSettings(per_client_burst=1))
    assert throttle.check_client("x" * 10_000) is None
    assert throttle.check_client("x" * 128 + "y") is not None


def test_each_refusal_is_counted_by_the_bucket_that_refused() -> None:
    """What /metrics reports as identity_rate_limited_total{limit="token_client"|"token_address"}."""
    throttle = TokenThrottle(
        TokenThrottleSettings(
            per_client_per_second=0.001, per_client_burst=1, per_address_per_second=0.001, per_address_burst=2
        )
    )
    assert [throttle.check_address("10.0.0.1") is None for _ in range(3)] == [True, True, False]
    assert [throttle.check_client("app") is None for _ in range(3)] == [True, False, False]
    assert (throttle.refused_by_address, throttle.refused_by_client) == (1, 2)
