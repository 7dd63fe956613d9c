"""Creating and disabling a subscription are commands: each change commits with its event, never the secret."""

from __future__ import annotations

import dataclasses
import json

import pytest

from identity_store import InvalidValue, NotFound, Tenant
from identity_store.domain.webhook_urls import MAX_URL_LENGTH
from identity_store.events import AggregateType, EventType
from identity_store.mongo import MongoStore
from identity_store.webhooks import SubscriptionState
from tests.outbound.conftest import disable, subscribe


async def _events(store: MongoStore, tenant_id: str, *types: EventType) -> list[dict[str, object]]:
    recorded = await store.tenant(tenant_id).events.read(types=list(types))
    return [
        {
            "type": r.event.type,
            "subject": (r.event.aggregate_type, r.event.aggregate_id),
            "changes": {c.field: (c.before, c.after) for c in r.event.changes},
            "actor": r.actor.kind,
        }
        for r in recorded
    ]


async def test_a_subscription_is_recorded_as_webhook_subscribed_without_its_secret(
    store: MongoStore, tenant: Tenant
) -> None:
    """``WebhookSubscribed`` names the subscription, its URL and its event types, and who made it;
    nothing in the log holds the secret."""
    made = await subscribe(store, tenant.id, "https://hooks.example.com/in", ("UserDeleted", "UserCreated"))
    assert await _events(store, tenant.id, EventType.WEBHOOK_SUBSCRIBED) == [
        {
            "type": EventType.WEBHOOK_SUBSCRIBED,
            "subject": (AggregateType.WEBHOOK_SUBSCRIPTION, made.id),
            "changes": {
                "url": (None, "https://hooks.example.com/in"),
                "eventTypes": (None, ["UserCreated", "UserDeleted"]),
                "state": (None, "active"),
            },
            "actor": "cli",
        }
    ]
    documents = [d async for d in store.database["events"].find({})]
    assert made.secret not in json.dumps(documents, default=str)


async def test_a_subscription_starts_after_its_own_event(store: MongoStore, tenant: Tenant) -> None:
    """The cursor of a new subscription is its own ``WebhookSubscribed``: it delivers what is
    committed afterwards, not its own creation nor anything before."""
    made = await subscribe(store, tenant.id, "https://hooks.example.com/in")
    assert made.cursor == await store.tenant(tenant.id).events.last_sequence()
    [stored] = await store.tenant(tenant.id).webhooks.all()
    assert stored.cursor == made.cursor


async def test_disabling_is_recorded_once(store: MongoStore, tenant: Tenant) -> None:
    """``WebhookDisabled`` says the state went from active to disabled; disabling again changes
    nothing and records nothing."""
    made = await subscribe(store, tenant.id, "https://hooks.example.com/in")
    disabled = await disable(store, made)
    assert disabled.state is SubscriptionState.DISABLED
    again = await disable(store, made)
    assert again.state is SubscriptionState.DISABLED
    assert await _events(store, tenant.id, EventType.WEBHOOK_DISABLED) == [
        {
            "type": EventType.WEBHOOK_DISABLED,
            "subject": (AggregateType.WEBHOOK_SUBSCRIPTION, made.id),
            "changes": {"state": ("active", "disabled")},
            "actor": "cli",
        }
    ]


async def test_another_tenant_cannot_disable_a_subscription(store: MongoStore, tenant: Tenant) -> None:
    """Through another tenant's context the subscription is not found, and it stays active."""
    made = await subscribe(store, tenant.id, "https://hooks.example.com/in")
    other = await store.tenants.create("globex")
    with pytest.raises(NotFound):
        await disable(store, dataclasses.replace(made, tenant_id=other.id))
    [stored] = await store.tenant(tenant.id).webhooks.all()
    assert stored.state is SubscriptionState.ACTIVE
    assert await _events(store, other.id, EventType.WEBHOOK_DISABLED) == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://user:pw@hooks.example.com/in", "may not carry credentials"),
        ("https:///in", "needs a host"),
        ("https://hooks.example.com:99999/in", "port"),
        ("ftp://hooks.example.com/in", "must use https"),
        ("https://hooks.example.com/" + "a" * MAX_URL_LENGTH, f"at most {MAX_URL_LENGTH} characters"),
    ],
)
async def test_a_malformed_url_is_refused_and_nothing_recorded(
    store: MongoStore, tenant: Tenant, url: str, why: str
) -> None:
    """The handler refuses the URL on its form (InvalidValue on ``url``): no subscription, no event."""
    with pytest.raises(InvalidValue, match=why) as refused:
        await subscribe(store, tenant.id, url)
    assert refused.value.attribute == "url"
    assert await store.tenant(tenant.id).webhooks.all() == []
    assert await _events(store, tenant.id, EventType.WEBHOOK_SUBSCRIBED) == []
