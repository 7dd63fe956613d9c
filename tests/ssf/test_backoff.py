"""When a failing push receiver is tried again (exponential back-off, full jitter): pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ssf_transmitter.backoff import Backoff

BACKOFF = Backoff(base=timedelta(seconds=1), maximum=timedelta(seconds=60), give_up=timedelta(days=3))


def test_the_ceiling_doubles_from_the_base_up_to_the_maximum() -> None:
    assert [BACKOFF.ceiling(n).total_seconds() for n in (1, 2, 3, 6, 7, 50)] == [1, 2, 4, 32, 60, 60]


def test_a_delay_is_anywhere_between_zero_and_the_ceiling() -> None:
    """Full jitter: receivers that failed together are not tried again together."""
    delays = [BACKOFF.delay(3) for _ in range(500)]
    assert all(timedelta(0) <= d <= timedelta(seconds=4) for d in delays)
    assert min(delays) < timedelta(seconds=1) < timedelta(seconds=3) < max(delays)


def test_a_receiver_failing_for_years_still_has_a_bounded_wait() -> None:
    assert BACKOFF.ceiling(10_000) == timedelta(seconds=60)


def test_a_receiver_is_dead_once_it_has_failed_for_the_give_up_time() -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    assert not BACKOFF.dead(first, first + timedelta(days=3) - timedelta(seconds=1))
    assert BACKOFF.dead(first, first + timedelta(days=3))
