"""Webhook subscriptions: created and disabled through the bus, each with its event in the same transaction.

``WebhookSubscribed`` names the URL and the event types, ``WebhookDisabled`` the state left;
neither carries the signing secret, which only the command's answer holds (once) and the delivery
worker reads. A subscription of another tenant is not found: the transaction only sees the
context's tenant. Disabling a disabled subscription changes nothing and records nothing.
"""

from __future__ import annotations

from identity_store.commands import CreateWebhookSubscription, DisableWebhookSubscription
from identity_store.domain.resources import new_id, now
from identity_store.domain.webhook_urls import WebhookUrlRules
from identity_store.events import AggregateType, Change, DomainEvent, EventType
from identity_store.handlers.common import UnitOfWork
from identity_store.ports import Transaction
from identity_store.webhooks import (
    SubscriptionState,
    WebhookSubscription,
    checked_event_types,
    new_secret,
)

__all__ = ["create_webhook_subscription", "disable_webhook_subscription"]


async def create_webhook_subscription(
    command: CreateWebhookSubscription, uow: UnitOfWork, rules: WebhookUrlRules
) -> WebhookSubscription:
    # The URL's form is checked here (scheme, address literals, loopback names), so whoever made
    # it learns of a refused URL at once; the addresses a name resolves to are checked at each
    # delivery, where the answer counts.
    rules.host(command.url)
    types = checked_event_types(command.event_types)
    secret = new_secret()
    subscription_id = new_id()

    async def work(tx: Transaction) -> WebhookSubscription:
        # Its own WebhookSubscribed is the one event this transaction appends, right after the
        # last one it sees: the cursor starts past it, at the first change made afterwards.
        cursor = await tx.last_sequence() + 1
        subscription = WebhookSubscription(
            id=subscription_id,
            tenant_id=uow.store.tenant_id,
            url=command.url,
            event_types=types,
            secret=secret,
            state=SubscriptionState.ACTIVE,
            cursor=cursor,
            created=now(),
            failing_since=None,
            failures=0,
            next_attempt_at=None,
        )
        await tx.webhooks.add(subscription)
        described = (
            Change(field="url", before=None, after=subscription.url),
            Change(field="eventTypes", before=None, after=list(subscription.event_types)),
            Change(field="state", before=None, after=subscription.state.value),
        )
        tx.record(_event(EventType.WEBHOOK_SUBSCRIBED, subscription, described))
        return subscription

    return await uow.run(work, expected_version=None)


async def disable_webhook_subscription(command: DisableWebhookSubscription, uow: UnitOfWork) -> WebhookSubscription:
    async def work(tx: Transaction) -> WebhookSubscription:
        subscription = await tx.webhooks.get(command.subscription_id)
        if subscription.state is SubscriptionState.DISABLED:
            return subscription
        disabled = await tx.webhooks.disable(subscription.id)
        change = Change(field="state", before=subscription.state.value, after=disabled.state.value)
        tx.record(_event(EventType.WEBHOOK_DISABLED, disabled, (change,)))
        return disabled

    return await uow.run(work, expected_version=None)


def _event(kind: EventType, subscription: WebhookSubscription, changes: tuple[Change, ...]) -> DomainEvent:
    return DomainEvent(
        type=kind,
        aggregate_type=AggregateType.WEBHOOK_SUBSCRIPTION,
        aggregate_id=subscription.id,
        version=None,
        changes=changes,
    )
