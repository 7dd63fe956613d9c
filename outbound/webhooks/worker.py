"""The delivery worker: every active subscription's new events, pushed in order, at least once.

Each poll the worker looks at the active subscriptions and, for each not backing off and not
already being served here, tries to take its lease (:class:`~identity_store.webhooks.WebhookRepository`).
Holding it, it reads the tenant's events after the subscription's cursor and sends them one at a
time, in sequence order; the cursor moves past an event only once the receiver answered 2xx, and
only under the lease. So a crash or a restart repeats at most the event in flight (with the same
``webhook-id``), never skips one, and two instances never deliver one subscription at once.

A failure stops the subscription's run: it is tried again after an exponential back-off with
jitter (:mod:`outbound.webhooks.backoff`), and when it has been failing for longer than
``dead_after_seconds`` it becomes dead. Every attempt is recorded with its outcome, latency and
response code. At most ``max_concurrency`` subscriptions are served at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import httpcore
import httpx

from identity_store.domain.errors import DomainError
from identity_store.domain.resources import now
from identity_store.events import EventType, RecordedEvent
from identity_store.ports import Store
from identity_store.webhooks import DeliveryAttempt, WebhookRepository, WebhookSubscription
from outbound.webhooks.addresses import AddressPolicy, RefusedAddress
from outbound.webhooks.backoff import Backoff
from outbound.webhooks.payload import payload, webhook_id
from outbound.webhooks.pinning import pinned, pinned_client
from outbound.webhooks.signing import signed_headers

__all__ = ["DeliverySettings", "WebhookWorker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverySettings:
    poll_seconds: float = 0.25
    #: How long a lease lasts unless renewed; longer than one request's timeout.
    lease_seconds: float = 30.0
    timeout_seconds: float = 10.0
    max_concurrency: int = 16
    dead_after_seconds: float = 3 * 24 * 3600.0
    batch: int = 100
    backoff: Backoff = field(default_factory=Backoff)
    policy: AddressPolicy = field(default_factory=AddressPolicy)


class WebhookWorker:
    """Delivers every tenant's subscriptions from one process; :meth:`run` until cancelled.

    ``network``: what connections are made over (the machine's by default); every connection goes
    to an address the policy vetted for the delivery in hand (:mod:`outbound.webhooks.pinning`).
    """

    def __init__(
        self,
        store: Store,
        webhooks: WebhookRepository,
        settings: DeliverySettings,
        *,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._webhooks = webhooks
        self._network = network
        #: This instance's name in the leases it holds.
        self._owner = f"worker-{uuid.uuid4().hex}"
        self._limit = asyncio.Semaphore(settings.max_concurrency)
        self._serving: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        async with pinned_client(timeout=self._settings.timeout_seconds, network=self._network) as client:
            # The collections and their indexes exist before the service is ready
            # (identity_store.mongo.indexes); the worker only reads and writes them.
            paused = False
            try:
                while True:
                    try:
                        await self._poll(client)
                        if paused:
                            log.info("webhook delivery resumed")
                            paused = False
                    except DomainError as error:  # the database is away: try again next poll
                        if not paused:  # said once per outage, not at every poll
                            log.warning("webhook delivery paused: %s", error)
                            paused = True
                    except Exception:  # a fault of ours must not stop every tenant's deliveries
                        log.exception("webhook delivery poll failed")
                    await asyncio.sleep(self._settings.poll_seconds)
            finally:
                for task in list(self._serving.values()):
                    task.cancel()
                await asyncio.gather(*self._serving.values(), return_exceptions=True)

    async def _poll(self, client: httpx.AsyncClient) -> None:
        at = now()
        for subscription in await self._webhooks.active():
            if subscription.id in self._serving:
                continue
            if subscription.next_attempt_at is not None and subscription.next_attempt_at > at:
                continue
            task = asyncio.create_task(self._serve(client, subscription.id))
            self._serving[subscription.id] = task
            task.add_done_callback(functools.partial(self._served, subscription.id))

    def _served(self, subscription_id: str, task: asyncio.Task[None]) -> None:
        self._serving.pop(subscription_id, None)

    async def _serve(self, client: httpx.AsyncClient, subscription_id: str) -> None:
        async with self._limit:
            subscription = await self._claim(subscription_id)
            if subscription is None:
                return
            try:
                await self._deliver_pending(client, subscription)
            except DomainError as error:
                log.warning("webhook %s: delivery interrupted: %s", subscription_id, error)
            except Exception:  # logged here, or the task would end unnoticed; the next poll retries
                log.exception("webhook %s: delivery failed", subscription_id)
            finally:
                with contextlib.suppress(DomainError):  # unreleased, the lease runs out by itself
                    await self._webhooks.release(subscription_id, self._owner)

    async def _claim(self, subscription_id: str) -> WebhookSubscription | None:
        return await self._webhooks.claim(subscription_id, self._owner, now(), self._settings.lease_seconds)

    async def _deliver_pending(self, client: httpx.AsyncClient, subscription: WebhookSubscription) -> None:
        types = [EventType(t) for t in subscription.event_types] or None
        events = self._store.tenant(subscription.tenant_id).events
        # The lease is renewed once half of it has passed, not for every event: a renewal is a
        # write, and the cursor's own update is already conditional on still holding the lease.
        renew_at = time.monotonic() + self._settings.lease_seconds / 2
        while True:
            batch = await events.read(after=subscription.cursor, limit=self._settings.batch, types=types)
            for event in batch:
                if time.monotonic() >= renew_at:
                    renewed = await self._claim(subscription.id)
                    if renewed is None:  # the lease was lost (a long pause): another instance goes on
                        return
                    subscription = renewed
                    renew_at = time.monotonic() + self._settings.lease_seconds / 2
                if not await self._deliver(client, subscription, event):
                    return
                subscription = replace(subscription, cursor=event.sequence, failures=0, failing_since=None)
            if len(batch) < self._settings.batch:
                return

    async def _deliver(
        self, client: httpx.AsyncClient, subscription: WebhookSubscription, event: RecordedEvent
    ) -> bool:
        """Send one event; ``True`` when the receiver took it and the cursor moved past it."""
        message_id = webhook_id(subscription.id, event.sequence)
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        outcome = "failed"
        try:
            # The name is resolved once, by the check; the request connects to what it vetted.
            vetted = await self._settings.policy.check(subscription.url)
            body = payload(event)
            headers = signed_headers(subscription.secret, message_id, int(time.time()), body)
            with pinned(vetted):
                response = await client.post(subscription.url, content=body, headers=headers)
            status = response.status_code
            if 200 <= status < 300:
                outcome = "delivered"
            else:
                error = f"HTTP {status}"
        except RefusedAddress as refused:
            outcome, error = "refused", str(refused)
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        at = now()
        attempt = DeliveryAttempt(
            subscription_id=subscription.id,
            webhook_id=message_id,
            sequence=event.sequence,
            at=at,
            outcome=outcome,
            status_code=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=error,
        )
        # The attempt's record and the cursor's move are independent writes: sent together, the
        # next event waits for one round trip, not two.
        if outcome == "delivered":
            _, moved = await asyncio.gather(
                self._webhooks.record(attempt), self._webhooks.delivered(subscription.id, self._owner, event.sequence)
            )
            return bool(moved)
        await asyncio.gather(self._webhooks.record(attempt), self._back_off(subscription, at))
        log.info("webhook %s: delivery of event %d failed: %s", subscription.id, event.sequence, error)
        return False

    async def _back_off(self, subscription: WebhookSubscription, at: datetime) -> None:
        failing_since = subscription.failing_since or at
        failures = subscription.failures + 1
        dead = (at - failing_since).total_seconds() >= self._settings.dead_after_seconds
        retry_at = at + timedelta(seconds=self._settings.backoff.delay(failures))
        await self._webhooks.failed(
            subscription.id, self._owner, failing_since=failing_since, failures=failures, retry_at=retry_at, dead=dead
        )
        if dead:
            log.warning("webhook %s is dead: failing since %s", subscription.id, failing_since.isoformat())
