"""Webhook subscriptions, their delivery cursors and leases, and every delivery attempt, on MongoDB.

:class:`MongoTenantWebhooks` is one tenant's view, bound to its scope and (for the handlers of
``CreateWebhookSubscription`` and ``DisableWebhookSubscription``) to the transaction that records
the change's event. :class:`MongoWebhooks` is the delivery worker's, over every tenant.

A subscription belongs to one tenant and follows that tenant's event log from a durable cursor
(``cursor``: the sequence of the last event delivered or skipped). One instance at a time
delivers a subscription: it holds a lease (``lease_owner`` until ``lease_until``), taken and
renewed with one conditional ``findOneAndUpdate``, and the cursor moves only under that lease, so a
second instance (or one that lost its lease while a request hung) can never move it.

The signing secret is stored as issued, not as a digest: Standard Webhooks signatures are
HMAC-SHA256 MACs, which the sender must compute with the secret itself for every delivery (the
receiver verifies with the same secret). A digest would make signing impossible. The secret is
never logged, never put in an event, and read only by the delivery worker.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from identity_store.domain.errors import NotFound
from identity_store.mongo.errors import translate_errors
from identity_store.mongo.scope import TENANT, TenantScope
from identity_store.webhooks import DeliveryAttempt, SubscriptionState, WebhookSubscription

__all__ = ["MongoTenantWebhooks", "MongoWebhooks"]

Document = dict[str, Any]


def _subscription(document: Document) -> WebhookSubscription:
    return WebhookSubscription(
        id=document["_id"],
        tenant_id=document[TENANT],
        url=document["url"],
        event_types=tuple(document.get("event_types", ())),
        secret=document["secret"],
        state=SubscriptionState(document["state"]),
        cursor=int(document["cursor"]),
        created=document["created"],
        failing_since=document.get("failing_since"),
        failures=int(document.get("failures", 0)),
        next_attempt_at=document.get("next_attempt_at"),
    )


def _attempt(document: Document) -> DeliveryAttempt:
    return DeliveryAttempt(
        subscription_id=document["subscription"],
        webhook_id=document["webhook_id"],
        sequence=int(document["seq"]),
        at=document["at"],
        outcome=document["outcome"],
        status_code=document.get("status_code"),
        latency_ms=float(document["latency_ms"]),
        error=document.get("error"),
    )


def _document(subscription: WebhookSubscription) -> Document:
    return {
        "_id": subscription.id,
        "url": subscription.url,
        "event_types": list(subscription.event_types),
        "secret": subscription.secret,
        "state": subscription.state.value,
        "cursor": subscription.cursor,
        "created": subscription.created,
        "failures": subscription.failures,
    }


async def _attempts(attempts: AsyncCollection[Document], subscription_id: str, limit: int) -> list[DeliveryAttempt]:
    """The latest attempts of a subscription, newest first."""
    cursor = attempts.find({"subscription": subscription_id}).sort("at", DESCENDING).limit(limit)
    return [_attempt(d) async for d in cursor]


class MongoTenantWebhooks:
    """:class:`~identity_store.webhooks.TenantWebhooks`: one tenant's subscriptions, in ``session``
    when given (a transaction's repository)."""

    def __init__(
        self, database: AsyncDatabase[Document], scope: TenantScope, session: AsyncClientSession | None
    ) -> None:
        self._subscriptions = database["webhook_subscriptions"]
        self._attempts = database["webhook_attempts"]
        self._scope = scope
        self._session = session

    @translate_errors
    async def add(self, subscription: WebhookSubscription) -> None:
        await self._subscriptions.insert_one(self._scope.document(_document(subscription)), session=self._session)

    @translate_errors
    async def get(self, subscription_id: str) -> WebhookSubscription:
        document = await self._subscriptions.find_one(
            self._scope.filter({"_id": subscription_id}), session=self._session
        )
        if document is None:
            raise NotFound(f"no webhook subscription {subscription_id}")
        return _subscription(document)

    @translate_errors
    async def all(self) -> list[WebhookSubscription]:
        cursor = self._subscriptions.find(self._scope.filter(), session=self._session).sort("created", ASCENDING)
        return [_subscription(d) async for d in cursor]

    @translate_errors
    async def disable(self, subscription_id: str) -> WebhookSubscription:
        document = await self._subscriptions.find_one_and_update(
            self._scope.filter({"_id": subscription_id}),
            {"$set": {"state": SubscriptionState.DISABLED.value}},
            return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        if document is None:
            raise NotFound(f"no webhook subscription {subscription_id}")
        return _subscription(document)

    @translate_errors
    async def attempts(self, subscription_id: str, *, limit: int = 100) -> list[DeliveryAttempt]:
        # The subscription is looked up in the tenant first: its attempts are the tenant's.
        await self.get(subscription_id)
        return await _attempts(self._attempts, subscription_id, limit)


class MongoWebhooks:
    """:class:`~identity_store.webhooks.WebhookRepository` on MongoDB: subscriptions of every tenant
    (the worker walks them all), each bound to its tenant."""

    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self._subscriptions = database["webhook_subscriptions"]
        self._attempts = database["webhook_attempts"]

    @translate_errors
    async def get(self, subscription_id: str) -> WebhookSubscription:
        document = await self._subscriptions.find_one({"_id": subscription_id})
        if document is None:
            raise NotFound(f"no webhook subscription {subscription_id}")
        return _subscription(document)

    @translate_errors
    async def active(self) -> list[WebhookSubscription]:
        return [_subscription(d) async for d in self._subscriptions.find({"state": SubscriptionState.ACTIVE.value})]

    @translate_errors
    async def claim(
        self, subscription_id: str, owner: str, now: datetime, seconds: float
    ) -> WebhookSubscription | None:
        """Take or renew the lease on an active subscription that is not backing off; ``None`` when
        another instance holds it (or it is not due)."""
        document = await self._subscriptions.find_one_and_update(
            {
                "_id": subscription_id,
                "state": SubscriptionState.ACTIVE.value,
                "$and": [
                    {
                        "$or": [
                            {"lease_owner": owner},
                            {"lease_until": {"$lt": now}},
                            {"lease_until": {"$exists": False}},
                        ]
                    },
                    # Not before its back-off ends, whatever the caller last read.
                    {"$or": [{"next_attempt_at": {"$exists": False}}, {"next_attempt_at": {"$lte": now}}]},
                ],
            },
            {"$set": {"lease_owner": owner, "lease_until": now + timedelta(seconds=seconds)}},
            return_document=ReturnDocument.AFTER,
        )
        return _subscription(document) if document else None

    @translate_errors
    async def release(self, subscription_id: str, owner: str) -> None:
        await self._subscriptions.update_one(
            {"_id": subscription_id, "lease_owner": owner}, {"$unset": {"lease_owner": "", "lease_until": ""}}
        )

    @translate_errors
    async def delivered(self, subscription_id: str, owner: str, sequence: int) -> bool:
        """Move the cursor to ``sequence`` and clear the failure run, only under this owner's lease;
        ``False`` when the lease was lost or the subscription is no longer active."""
        result = await self._subscriptions.update_one(
            # Only while active: a subscription disabled mid-run stops at its next event.
            {
                "_id": subscription_id,
                "lease_owner": owner,
                "state": SubscriptionState.ACTIVE.value,
                "cursor": {"$lt": sequence},
            },
            {
                "$set": {"cursor": sequence, "failures": 0},
                "$unset": {"failing_since": "", "next_attempt_at": ""},
            },
        )
        return result.modified_count == 1

    @translate_errors
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
        """Note a failed attempt: the back-off until ``retry_at``, or the dead state."""
        changes: Document = {"failing_since": failing_since, "failures": failures, "next_attempt_at": retry_at}
        if dead:
            changes["state"] = SubscriptionState.DEAD.value
        await self._subscriptions.update_one({"_id": subscription_id, "lease_owner": owner}, {"$set": changes})

    @translate_errors
    async def record(self, attempt: DeliveryAttempt) -> None:
        await self._attempts.insert_one(
            {
                "subscription": attempt.subscription_id,
                "webhook_id": attempt.webhook_id,
                "seq": attempt.sequence,
                "at": attempt.at,
                "outcome": attempt.outcome,
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "error": attempt.error,
            }
        )

    @translate_errors
    async def attempts(self, subscription_id: str, *, limit: int = 100) -> list[DeliveryAttempt]:
        """The latest attempts of a subscription, newest first."""
        return await _attempts(self._attempts, subscription_id, limit)
