"""The loop that makes the SCIM rate limit hold across the deployment's instances.

Every ``interval`` seconds the process hands the requests its limiter admitted to the shared
tallies and takes what the other instances admitted from its own buckets (see
:mod:`identity_store.request_tallies`). Requests never wait for it: a tenant spread over N
instances may get up to ``(N - 1) x rate x interval`` more than its rate, and an outage of the
database only makes the limit per instance again until it is back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from identity_store import StoreUnavailable
from identity_store.request_tallies import RequestTallies
from scim_facade.limits import RateLimiter

__all__ = ["share_rate_limit"]

log = logging.getLogger(__name__)


async def share_rate_limit(limiter: RateLimiter, tallies: RequestTallies, interval: float) -> None:
    """Exchange the limiter's counts with the other instances until cancelled."""
    instance = uuid.uuid4().hex
    warned = False
    while True:
        await asyncio.sleep(interval)
        admitted = limiter.drain_admitted()
        try:
            others = await tallies.exchange(instance, admitted)
        except StoreUnavailable:
            if not warned:  # one line per outage, not one a second
                log.warning("the rate limit is per instance until the database answers again")
                warned = True
            continue
        if warned:
            log.info("the rate limit holds across instances again")
            warned = False
        for tenant, count in others.items():
            limiter.admitted_elsewhere(tenant, count)
