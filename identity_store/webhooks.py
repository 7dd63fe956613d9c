"""Webhook subscriptions as the domain and the delivery worker see them, and the ports that keep them.

A subscription belongs to one tenant and follows that tenant's event log from a durable cursor
(the sequence of the last event delivered or skipped); one instance at a time delivers it, under
a lease, and the cursor moves only under that lease.

Creating and disabling a subscription are commands (``CreateWebhookSubscription``,
``DisableWebhookSubscription``): their handlers write through :class:`TenantWebhooks`, bound to
the tenant and the transaction, so the change commits with its event. The delivery worker's
cursor and lease are not changes of the domain: it moves them through :class:`WebhookRepository`,
outside any transaction. :mod:`identity_store.mongo.webhooks` implements both;
:mod:`outbound.webhooks` uses the second without knowing the database.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from identity_store.domain.errors import InvalidValue
from identity_store.events import EventType

__all__ = [
    "SECRET_PREFIX",
    "DeliveryAttempt",
    "SubscriptionState",
    "TenantWebhooks",
    "WebhookRepository",
    "WebhookSubscription",
    "checked_event_types",
    "new_secret",
]

SECRET_PREFIX = "whsec_"  # noqa: S105  # the prefix of every secret, not a secret


def new_secret() -> str:
    """A fresh signing secret (Standard Webhooks): ``whsec_`` and 24 random bytes (the specification
    asks for 24 to 64), base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def checked_event_types(names: Sequence[str]) -> tuple[str, ...]:
    """The event type names given, checked against the log's types (empty: every type)."""
    known = {t.value for t in EventType}
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidValue(
            f"unknown event type {', '.join(unknown)}; known: {', '.join(sorted(known))}", attribute="eventTypes"
        )
    return tuple(sorted(set(names)))


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


class TenantWebhooks(Protocol):
    """One tenant's subscriptions (in a transaction, or outside one for reads): another tenant's are
    not found."""

    async def add(self, subscription: WebhookSubscription) -> None: ...

    async def get(self, subscription_id: str) -> WebhookSubscription:
        """The subscription; :class:`NotFound` when the tenant has none with that id."""

    async def all(self) -> list[WebhookSubscription]:
        """The tenant's subscriptions, oldest first."""

    async def disable(self, subscription_id: str) -> WebhookSubscription:
        """Set the state to disabled; :class:`NotFound` when the tenant has none with that id."""

    async def attempts(self, subscription_id: str, *, limit: int = 100) -> list[DeliveryAttempt]:
        """The latest attempts of one of the tenant's subscriptions, newest first; :class:`NotFound`
        when the tenant has none with that id."""


class WebhookRepository(Protocol):
    """Every tenant's subscriptions, as the delivery worker walks them, and their attempts."""

    async def get(self, subscription_id: str) -> WebhookSubscription:
        """The subscription; :class:`NotFound` when there is none with that id."""

    async def active(self) -> list[WebhookSubscription]:
        """Every tenant's active subscriptions (the worker's walk)."""

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
