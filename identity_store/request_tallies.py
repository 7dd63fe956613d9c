"""How many requests each instance admitted per tenant: what makes a rate limit hold for the
deployment rather than for each process.

Every instance keeps its own token buckets (no database round trip on a request) and, every
second or so, adds what it admitted to a shared tally and reads what the others admitted since
its last look, which it then takes from its own buckets. A tenant spread over N instances thus
gets its rate once, give or take what the others admitted within one exchange interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["RequestTallies"]


class RequestTallies(Protocol):
    async def exchange(self, instance: str, admitted: Mapping[str, int]) -> dict[str, int]:
        """Add ``admitted`` (requests by tenant since the last exchange) to ``instance``'s tally,
        and return what the other instances admitted, by tenant, since this one last looked."""
        ...
