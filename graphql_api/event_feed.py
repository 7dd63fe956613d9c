"""One poller per tenant per process, fanning the event log out to every live subscription.

Events are read from the database by sequence number (commit order), not taken from this
process's memory, so a subscriber sees every committed change of its tenant whichever instance
of the service made it. Polling by sequence works on a standalone server and on a replica set
alike; a change stream would save the idle reads but needs a replica set.

However many subscriptions a tenant has here, its poller reads the log once per interval (and
at once again while it reads full batches, to catch up). It starts with the tenant's first
subscription and stops with its last. Each subscription keeps its own filters and position.

**Hand-over.** A subscription that starts from a cursor joins the poller first, noting the
poller's position *p* at that instant; it then replays the log from its cursor up to *p* by
itself, while the poller queues everything after *p* for it. Delivered events only ever move its
position forwards and anything at or before its position is dropped, so the replay and the live
feed meet with no gap and no duplicate.

**Slow consumers.** A subscription holds at most ``max_pending`` undelivered events; beyond
that it ends with :class:`SubscriberFellBehind`, and the consumer resubscribes from the cursor
of the last event it handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from identity_store import EventType, RecordedEvent, TenantStore
from identity_store.views.events import events_after, last_sequence

__all__ = ["EventFeed", "Subscriber", "SubscriberFellBehind"]

log = logging.getLogger(__name__)


class SubscriberFellBehind(Exception):
    """A subscription left more events undelivered than it may hold."""


class Subscriber:
    """One subscription's view of its tenant's feed: its filters, its position, its queue."""

    def __init__(
        self,
        store: TenantStore,
        *,
        position: int,
        replay_to: int,
        types: Collection[EventType] | None,
        about: Collection[str] | None,
        batch: int,
        max_pending: int,
    ) -> None:
        self._store = store
        self._types = frozenset(types) if types else None
        self._about = frozenset(about) if about else None
        self._batch = batch
        self._max_pending = max_pending
        self._pending: deque[RecordedEvent] = deque()
        self._arrived = asyncio.Event()
        self._fell_behind = False
        #: The sequence of the last event delivered (or known not to concern this subscription).
        self.position = position
        self._replay_to = replay_to

    def wants(self, recorded: RecordedEvent) -> bool:
        event = recorded.event
        if self._types is not None and event.type not in self._types:
            return False
        if self._about is None:
            return True
        return event.aggregate_id in self._about or not self._about.isdisjoint(event.member_ids)

    def offer(self, recorded: RecordedEvent) -> None:
        """Called by the poller, in sequence order, for every event it reads."""
        if not self.wants(recorded):
            return
        if len(self._pending) >= self._max_pending:
            self._fell_behind = True
        else:
            self._pending.append(recorded)
        self._arrived.set()

    async def next(self, wait: float) -> list[RecordedEvent]:
        """The next events in sequence order: the replay first, then live ones; ``[]`` after ``wait``
        seconds without any."""
        if self.position < self._replay_to:
            return await self._replay()
        if not self._pending and not self._fell_behind:
            self._arrived.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
        if self._fell_behind:
            raise SubscriberFellBehind(f"more than {self._max_pending} events were waiting; resubscribe with after")
        delivered: list[RecordedEvent] = []
        while self._pending:
            recorded = self._pending.popleft()
            if recorded.sequence > self.position:
                delivered.append(recorded)
                self.position = recorded.sequence
        return delivered

    async def _replay(self) -> list[RecordedEvent]:
        # Shielded: a subscriber leaving cancels this task, and a driver read cancelled
        # mid-flight could hold up the connection's shutdown; the read finishes on its own.
        batch = await asyncio.shield(
            events_after(self._store, after=self.position, limit=self._batch, types=self._types, about=self._about)
        )
        if batch:
            self.position = batch[-1].sequence
        if len(batch) < self._batch:
            self.position = max(self.position, self._replay_to)  # the rest up to there did not concern us
        return list(batch)


class _TenantPoller:
    def __init__(self, store: TenantStore, interval: float, batch: int) -> None:
        self._store = store
        self._interval = interval
        self._batch = batch
        self.subscribers: set[Subscriber] = set()
        #: Subscriptions joined or joining (waiting for the first read): the poller stops at zero.
        self.holders = 0
        self.position = 0
        self.ready = asyncio.Event()
        #: Completed reads of the log (what the subscriptions of this tenant cost, together).
        self.polls = 0
        #: Set when a read completes (and replaced by a fresh one): what :meth:`EventFeed.polled` waits on.
        self.read_completed = asyncio.Event()
        #: How long after its commit the newest event read was handed out (the feed's lag).
        self.lag_seconds = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        while not self.ready.is_set():
            try:
                self.position = await asyncio.shield(last_sequence(self._store))
                self.ready.set()
            except Exception:
                log.exception("the event log could not be read; retrying")
                await asyncio.sleep(self._interval)
        while True:
            try:
                batch = await asyncio.shield(events_after(self._store, after=self.position, limit=self._batch))
            except Exception:
                # The next interval tries again from the same position: nothing is skipped.
                log.exception("the event log could not be read; retrying")
                batch = []
            else:
                self.polls += 1
                self.read_completed.set()
                self.read_completed = asyncio.Event()
            # An empty read means caught up: nothing committed is waiting.
            self.lag_seconds = max(0.0, (datetime.now(UTC) - batch[-1].occurred_at).total_seconds()) if batch else 0.0
            for recorded in batch:
                # No await between moving the position and handing the event out: a subscriber
                # joining in between sees a position that matches what it will be given.
                self.position = recorded.sequence
                for subscriber in list(self.subscribers):
                    subscriber.offer(recorded)
            if len(batch) < self._batch:
                await asyncio.sleep(self._interval)


class EventFeed:
    """The pollers of one process (one per tenant with live subscriptions)."""

    def __init__(self, *, interval: float = 0.25, batch: int = 100, max_pending: int = 10_000) -> None:
        self._interval = interval
        self._batch = batch
        self._max_pending = max_pending
        self._pollers: dict[str, _TenantPoller] = {}

    @property
    def subscriptions(self) -> int:
        """Live subscriptions of this process, of every tenant."""
        return sum(len(poller.subscribers) for poller in self._pollers.values())

    @property
    def lag_seconds(self) -> float:
        """The largest lag of any tenant's poller (0 with none): how late subscribers hear of commits."""
        return max((poller.lag_seconds for poller in self._pollers.values()), default=0.0)

    def polls(self, tenant_id: str) -> int:
        """How many times the tenant's log has been read by its poller (0 when none runs)."""
        poller = self._pollers.get(tenant_id)
        return poller.polls if poller is not None else 0

    async def polled(self, tenant_id: str, polls: int) -> None:
        """Return once the tenant's poller has completed ``polls`` reads of the log.

        The caller resumes right after that read, before the poller sends the next one, so what
        the database was sent between two of these returns is exactly the reads in between.
        :class:`LookupError` when no poller runs for the tenant.
        """
        while (poller := self._pollers.get(tenant_id)) is not None and poller.polls < polls:
            await poller.read_completed.wait()
        if poller is None:
            raise LookupError(f"no poller runs for tenant {tenant_id}")

    @asynccontextmanager
    async def subscribe(
        self,
        store: TenantStore,
        *,
        after: int | None = None,
        types: Collection[EventType] | None = None,
        about: Collection[str] | None = None,
    ) -> AsyncIterator[Subscriber]:
        """A subscription to ``store``'s tenant from ``after`` (a sequence; ``None``: from the next change on)."""
        tenant_id = store.tenant_id
        start = after if after is not None else await asyncio.shield(last_sequence(store))
        poller = self._pollers.get(tenant_id)
        if poller is None:
            poller = self._pollers[tenant_id] = _TenantPoller(store, self._interval, self._batch)
        poller.holders += 1
        subscriber: Subscriber | None = None
        try:
            await poller.ready.wait()
            # No await from here to add(): the position read is the one the queue starts after.
            subscriber = Subscriber(
                store,
                position=start,
                replay_to=poller.position,
                types=types,
                about=about,
                batch=self._batch,
                max_pending=self._max_pending,
            )
            poller.subscribers.add(subscriber)
            yield subscriber
        finally:
            if subscriber is not None:
                poller.subscribers.discard(subscriber)
            poller.holders -= 1
            if poller.holders == 0 and self._pollers.get(tenant_id) is poller:
                del self._pollers[tenant_id]
                poller.stop()
