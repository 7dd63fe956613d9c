"""A tenant's writes in one process: one transaction at a time, and those waiting committed together.

Every transaction of a tenant takes that tenant's event sequence (:mod:`identity_store.mongo.
unit_of_work`), so two at once would conflict and one would be run again. Within one process a
tenant's writes therefore take turns (:meth:`WriteTurns.turn`), the wait counting against the
write's deadline. While one transaction runs, the writes that arrive queue behind it; the write
whose turn comes next takes the queued ones with it and commits them all in one transaction
(group commit): one sequence update, one insert of their events and one commit for all of them.
A tenant's write throughput is then no longer one write per transaction time, and neither the
order of its events nor what each write sees changes: each write runs on the state the ones before
it left, in arrival order, as if they had taken turns.

Committing together is only ever an optimisation. When anything goes wrong in a shared
transaction (a write refused for its input, a uniqueness or version conflict, a conflict with
another process, the database gone), it is aborted and every write in it runs again alone, in
turn, under its own retry policy, exactly as without grouping; a write's outcome is the one it
gets alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from identity_store.domain.errors import StoreTimeout, StoreUnavailable
from identity_store.domain.extensions import TenantSchemas
from identity_store.events import Actor
from identity_store.mongo.errors import RETRY_AFTER_SECONDS
from identity_store.ports import Transaction

__all__ = ["MOST_TOGETHER", "Queued", "WriteQueue", "WriteTurns"]

#: The most writes committed in one transaction: a shared transaction holds its writers until it
#: commits, and the slowest of them sets the pace.
MOST_TOGETHER = 16


@dataclass(eq=False, slots=True, kw_only=True)
class Queued:
    """One write waiting for its turn, and what became of it when another write's turn took it."""

    work: Callable[[Transaction], Awaitable[Any]]
    actor: Actor
    correlation_id: str | None
    schemas: TenantSchemas
    #: Committed in a shared transaction: ``result`` is its work's result.
    done: bool = False
    result: Any = None
    pending_work: bool = False
    #: Whether that transaction left events for the stamper to number (identity_store.mongo.stamps),
    #: and, once the write whose turn it was has seen them numbered, whether fan-outs are left
    #: (``None``: it stopped waiting, and each write of the batch waits for itself).
    numbering: bool = False
    first_event: str | None = None
    numbered: asyncio.Future[bool | None] | None = None
    #: Whether it may still be committed together with others; a write that was in a shared
    #: transaction that failed runs alone from then on.
    together: bool = True
    #: Taken into a shared transaction, which ``settled`` marks the end of.
    taken: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)


class WriteQueue:
    """The writes of one tenant waiting for their turn, in arrival order."""

    def __init__(self) -> None:
        self._waiting: list[Queued] = []

    def join(self, queued: Queued) -> None:
        self._waiting.append(queued)

    def leave(self, queued: Queued) -> None:
        with contextlib.suppress(ValueError):
            self._waiting.remove(queued)

    def take(self, turn: Queued) -> list[Queued]:
        """The write whose turn it is and up to ``MOST_TOGETHER - 1`` queued with the same
        schemas, out of the queue, in arrival order (``turn`` is usually the first)."""
        others = [
            w for w in self._waiting if w is not turn and w.together and not w.taken and w.schemas == turn.schemas
        ]
        chosen = [turn, *others[: MOST_TOGETHER - 1]]
        order = {id(w): i for i, w in enumerate(self._waiting)}
        chosen.sort(key=lambda w: order.get(id(w), -1))
        for queued in chosen:
            queued.taken = True
            self.leave(queued)
        return chosen


class WriteTurns:
    """Whose turn it is to write, per tenant, in this process; and whether the database was lost."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._queues: dict[str, WriteQueue] = {}
        self._lost_at = float("-inf")

    def queue(self, tenant_id: str) -> WriteQueue:
        queue = self._queues.get(tenant_id)
        if queue is None:
            queue = self._queues[tenant_id] = WriteQueue()
        return queue

    @contextlib.asynccontextmanager
    async def turn(self, tenant_id: str, wait_seconds: float) -> AsyncIterator[None]:
        """Hold this process's turn for one tenant's transaction, waiting at most ``wait_seconds``
        for it: a queue too long for the deadline is a timeout."""
        lock = self._locks.get(tenant_id)
        if lock is None:
            lock = self._locks[tenant_id] = asyncio.Lock()
        try:
            async with asyncio.timeout(wait_seconds):
                await lock.acquire()
        except TimeoutError:
            raise StoreTimeout("this tenant's writes are queued too deep; retry later") from None
        try:
            yield
        finally:
            lock.release()

    def lost(self) -> None:
        """A write found the database unreachable: the writes queued behind it fail with it."""
        self._lost_at = time.monotonic()

    def fail_if_lost_since(self, queued_at: float) -> None:
        """Fail a write that queued before the database was last found unreachable, rather than
        have every write of a queue wait out the unreachable bound in turn."""
        if self._lost_at >= queued_at:
            raise StoreUnavailable(retry_after=RETRY_AFTER_SECONDS)
