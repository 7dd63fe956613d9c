"""Webhook subscriptions as the domain and the delivery worker see them, and the port that keeps them.

A subscription belongs to one tenant and follows that tenant's event log from a durable cursor
(the sequence of the last event delivered or skipped); one instance at a time delivers it, under
a lease, and the cursor moves only under that lease. :mod:`identity_store.mongo.webhooks`
implements :class:`WebhookRepository`; :mod:`outbound.webhooks` uses it without knowing the
database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

__all__ = ["DeliveryAttempt", "SubscriptionState", "WebhookRepository", "WebhookSubscription"]


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    #: Turned off by an operator: nothing more is delivered.
    DISABLED = "disabled"
    #: Failing for longer than the dead-after setting: delivery stopped until re-created.
    DEAD = "dead"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSubscription:
    id: str
    tenant_id: str
    url: str
    #: Event type names delivered (empty: all).
    event_types: tuple[str, ...]
    secret: str
    state: SubscriptionState
    cursor: int
    created: datetime
    #: When the current run of failures began (``None``: the last attempt succeeded).
    failing_since: datetime | None
    #: Failed attempts in the current run, the exponent of the back-off.
    failures: int
    #: No attempt before this time (the back-off).
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttempt:
    subscription_id: str
    webhook_id: str
    sequence: int
    at: datetime
    #: ``delivered``, ``failed`` or ``refused`` (the address was not allowed).
    outcome: str
    status_code: int | None
    latency_ms: float
    error: str | None


class WebhookRepository(Protocol):
    async def create(
        self,
        *,
        subscription_id: str,
        tenant_id: str,
        url: str,
        event_types: tuple[str, ...],
        secret: str,
        cursor: int,
        at: datetime,
    ) -> WebhookSubscription:
        """A new active subscription delivering the events after ``cursor``."""

    async def get(self, subscription_id: str) -> WebhookSubscription:
        """The subscription; :class:`NotFound` when there is none with that id."""

    async def of_tenant(self, tenant_id: str) -> list[WebhookSubscription]: ...

    async def active(self) -> list[WebhookSubscription]:
        """Every tenant's active subscriptions (the worker's walk)."""

    async def disable(self, subscription_id: str) -> WebhookSubscription: ...

    async def claim(
        self, subscription_id: str, owner: str, now: datetime, seconds: float
    ) -> WebhookSubscription | None:
        """Take or renew the lease of an active subscription that is due; ``None`` otherwise."""

    async def release(self, subscription_id: str, owner: str) -> None: ...

    async def delivered(self, subscription_id: str, owner: str, sequence: int) -> bool:
        """Move the cursor to ``sequence`` while ``owner`` holds the lease; whether it moved."""

    async def failed(
        self,
        subscription_id: str,
        owner: str,
        *,
        failing_since: datetime,
        failures: int,
        retry_at: datetime,
        dead: bool,
    ) -> None:
        """Record the back-off (or the dead state) under the lease."""

    async def record(self, attempt: DeliveryAttempt) -> None: ...

    async def attempts(self, subscription_id: str, *, limit: int = 100) -> list[DeliveryAttempt]: ...
