"""A bound on the requests one tenant has in the works at once, so no tenant holds the database.

The rate limit (:mod:`scim_facade.limits`) bounds how many requests a tenant makes a second, not
how many of them the process works on together: a client with 32 requests in flight, within its
rate, keeps 32 requests' commands queued at the database ahead of every other tenant's. Here a
tenant has at most ``limit`` requests past authentication at once; up to ``waiting`` more wait
for a slot, first come first served, for at most ``wait_seconds``; the rest, and those whose
wait runs out, are refused (the facade answers ``429`` with ``Retry-After``). A waiting request
holds no database connection and sends no command.

A client with more in flight than ``limit`` is queued here rather than at the database (a
tenant's writes run one at a time in the process in any case): however many requests it keeps
open, it holds ``limit`` requests' worth of the database, and past ``waiting`` it is refused
before it costs a command. The bound is per process: with several workers a tenant may have
``limit`` in each.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field

__all__ = ["TenantSlots"]


@dataclass(slots=True)
class _Tenant:
    in_flight: int = 0
    waiters: collections.deque[asyncio.Future[None]] = field(default_factory=collections.deque)


class TenantSlots:
    """``await enter(key)`` takes one of ``key``'s slots (``True``), waiting if need be, or gives up
    (``False``); every ``True`` must be followed by one :meth:`leave`. ``limit <= 0`` turns the
    bound off."""

    def __init__(self, limit: int, *, waiting: int, wait_seconds: float) -> None:
        self._limit = limit
        self._waiting = max(waiting, 0)
        self._wait_seconds = wait_seconds
        self._tenants: dict[str, _Tenant] = {}

    async def enter(self, key: str) -> bool:
        if self._limit <= 0:
            return True
        tenant = self._tenants.get(key)
        if tenant is None:
            tenant = self._tenants[key] = _Tenant()
        if tenant.in_flight < self._limit and not tenant.waiters:
            tenant.in_flight += 1
            return True
        if len(tenant.waiters) >= self._waiting or self._wait_seconds <= 0:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        tenant.waiters.append(turn)
        try:
            async with asyncio.timeout(self._wait_seconds):
                await turn
        except TimeoutError:
            return self._gave_up(key, tenant, turn, keep=True)
        except asyncio.CancelledError:  # the request ended (its client left) while it waited
            self._gave_up(key, tenant, turn, keep=False)
            raise
        return True  # the leaving request handed its slot over: in_flight already counts this one

    def leave(self, key: str) -> None:
        if self._limit <= 0:
            return
        tenant = self._tenants[key]
        while tenant.waiters:
            turn = tenant.waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes to the first still waiting, in order
                return
        tenant.in_flight -= 1
        self._forget_if_idle(key, tenant)

    def in_flight(self, key: str) -> int:
        """How many of ``key``'s requests hold a slot now."""
        tenant = self._tenants.get(key)
        return tenant.in_flight if tenant is not None else 0

    def __len__(self) -> int:
        """How many tenants have requests in flight or waiting (idle ones are not kept)."""
        return len(self._tenants)

    def _gave_up(self, key: str, tenant: _Tenant, turn: asyncio.Future[None], *, keep: bool) -> bool:
        """Stop waiting; whether the slot is held. It may have been handed over in the same turn of
        the loop as the wait ended: then it is kept, or passed on to the next in line."""
        if turn.done() and not turn.cancelled():
            if keep:
                return True
            self.leave(key)
            return False
        turn.cancel()
        tenant.waiters.remove(turn)
        self._forget_if_idle(key, tenant)
        return False

    def _forget_if_idle(self, key: str, tenant: _Tenant) -> None:
        if tenant.in_flight == 0 and not tenant.waiters:
            del self._tenants[key]
