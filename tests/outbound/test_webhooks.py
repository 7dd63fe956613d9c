"""Webhooks follow the Standard Webhooks specification and deliver each tenant's events at least once.

The service runs as ``identity-store serve`` does (a real uvicorn server with its delivery worker),
the receiver is a real uvicorn app on loopback, and signatures are verified with the
``standardwebhooks`` library, as a receiver would.
"""

from __future__ import annotations

import threading

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from identity_store import InvalidValue, Tenant
from identity_store.domain.webhook_urls import WebhookUrlRules
from identity_store.mongo import MongoStore
from identity_store.mongo.webhooks import MongoWebhooks
from identity_store.webhooks import SubscriptionState
from tests.outbound.conftest import (
    Service,
    create_user,
    disable,
    eventually,
    eventually_async,
    scim_token,
    subscribe,
)
from tests.outbound.receiver import Receiver


async def test_a_scim_create_reaches_the_webhook_signed(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """A user created over SCIM is POSTed to the subscription with a signature the library verifies."""
    hooks, hooks_url = receiver
    subscription = await subscribe(store, tenant.id, f"{hooks_url}/hook")
    assert subscription.secret.startswith("whsec_")
    token = await scim_token(store, tenant)
    with service() as url:
        user_id = await create_user(url, token, "ada@example.com")
        await eventually(lambda: len(hooks.accepted()) >= 1)
    delivery = hooks.accepted()[0]
    verified = Webhook(subscription.secret).verify(delivery.body, delivery.headers)
    assert verified["type"] == "UserCreated"
    assert verified["data"]["aggregateId"] == user_id
    assert verified["data"]["tenantId"] == tenant.id
    with pytest.raises(WebhookVerificationError):  # and not with another secret
        Webhook("whsec_" + "A" * 32).verify(delivery.body, delivery.headers)
    assert subscription.secret not in delivery.body.decode()


async def test_a_receiver_down_then_back_gets_every_event_once_in_order(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """Failed deliveries are retried with the same webhook-id; once the receiver is back it has each
    event accepted exactly once, in the log's order, and every attempt is recorded."""
    hooks, hooks_url = receiver
    subscription = await subscribe(store, tenant.id, f"{hooks_url}/hook", ("UserCreated",))
    token = await scim_token(store, tenant)
    hooks.down = True
    with service() as url:
        created = [await create_user(url, token, f"user{i}@example.com") for i in range(5)]
        await eventually(lambda: len(hooks.all()) >= 3)
        hooks.down = False
        await eventually(lambda: len(hooks.accepted()) >= 5)
    accepted = hooks.accepted()
    assert [d.message["data"]["aggregateId"] for d in accepted] == created
    assert len({d.webhook_id for d in accepted}) == 5
    sequences = [d.message["data"]["sequence"] for d in accepted]
    assert sequences == sorted(sequences)
    # Every refused delivery was of the first event, with its id: a retry, never a different message.
    refused = [d for d in hooks.all() if d.status >= 300]
    assert {d.webhook_id for d in refused} == {accepted[0].webhook_id}
    attempts = await MongoWebhooks(store.database).attempts(subscription.id, limit=1000)
    assert {a.status_code for a in attempts if a.outcome == "failed"} == {503}
    assert len([a for a in attempts if a.outcome == "delivered"]) == 5
    assert len(attempts) == len(hooks.all())
    after = await MongoWebhooks(store.database).get(subscription.id)
    assert after.cursor == sequences[-1]
    assert after.failures == 0


async def test_a_restart_mid_delivery_loses_nothing(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """Events committed while the receiver is down, by a service that then stops, are delivered by
    the next start: the cursor is in the database, not in the process."""
    hooks, hooks_url = receiver
    await subscribe(store, tenant.id, f"{hooks_url}/hook")
    token = await scim_token(store, tenant)
    hooks.down = True
    with service() as url:
        before = [await create_user(url, token, f"before{i}@example.com") for i in range(3)]
        await eventually(lambda: len(hooks.all()) >= 1)
    hooks.down = False
    with service() as url:
        after = [await create_user(url, token, f"after{i}@example.com") for i in range(2)]
        await eventually(lambda: len(hooks.accepted()) >= 5)
    accepted = hooks.accepted()
    assert [d.message["data"]["aggregateId"] for d in accepted] == before + after
    assert len({d.webhook_id for d in accepted}) == 5


async def test_a_subscription_never_sees_another_tenants_events(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """Each tenant's subscription receives its own tenant's events only."""
    hooks, hooks_url = receiver
    other = await store.tenants.create("globex")
    await subscribe(store, tenant.id, f"{hooks_url}/acme")
    await subscribe(store, other.id, f"{hooks_url}/globex")
    acme_token, globex_token = await scim_token(store, tenant), await scim_token(store, other)
    with service() as url:
        acme_user = await create_user(url, acme_token, "ada@example.com")
        globex_user = await create_user(url, globex_token, "ada@example.com")
        await eventually(lambda: len(hooks.accepted("/acme")) >= 1 and len(hooks.accepted("/globex")) >= 1)
    assert [d.message["data"]["aggregateId"] for d in hooks.all("/acme")] == [acme_user]
    assert [d.message["data"]["aggregateId"] for d in hooks.all("/globex")] == [globex_user]
    assert {d.message["data"]["tenantId"] for d in hooks.all("/acme")} == {tenant.id}


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://example.com/hook",
    ],
)
async def test_private_addresses_and_plain_http_are_refused_by_default(
    store: MongoStore, tenant: Tenant, url: str
) -> None:
    """By default a subscription needs https to a public address; nothing is stored otherwise."""
    with pytest.raises(InvalidValue):
        await subscribe(store, tenant.id, url, rules=WebhookUrlRules())
    assert await store.tenant(tenant.id).webhooks.all() == []


async def test_delivery_to_a_private_address_is_refused_by_default(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """A subscription stored with a loopback URL (settings changed since) is not sent to: the attempt
    is recorded as refused and the receiver gets nothing."""
    hooks, hooks_url = receiver
    subscription = await subscribe(store, tenant.id, f"{hooks_url}/hook")
    token = await scim_token(store, tenant)
    webhooks = MongoWebhooks(store.database)
    with service(webhook_allow_private_addresses=False) as url:
        await create_user(url, token, "ada@example.com")

        async def refused() -> bool:
            return any(a.outcome == "refused" for a in await webhooks.attempts(subscription.id))

        await eventually_async(refused)
    attempts = await webhooks.attempts(subscription.id)
    assert attempts
    assert all(a.outcome == "refused" and a.status_code is None for a in attempts)
    assert hooks.all() == []
    assert (await webhooks.get(subscription.id)).cursor == subscription.cursor


async def test_unknown_event_types_are_refused(store: MongoStore, tenant: Tenant) -> None:
    """``--event`` names a type of the event log; a misspelt one is refused, nothing stored."""
    with pytest.raises(InvalidValue):
        await subscribe(store, tenant.id, "https://example.com/h", ("UserCreate",))
    assert await store.tenant(tenant.id).webhooks.all() == []


async def test_two_instances_deliver_each_event_once_in_order(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """With two instances running, the lease lets one at a time deliver a subscription: each event
    arrives once, in the log's order."""
    hooks, hooks_url = receiver
    await subscribe(store, tenant.id, f"{hooks_url}/hook")
    token = await scim_token(store, tenant)
    with service() as first, service() as second:
        created = [await create_user((first, second)[i % 2], token, f"user{i}@example.com") for i in range(10)]
        await eventually(lambda: len(hooks.accepted()) >= 10)
    assert [d.message["data"]["aggregateId"] for d in hooks.all()] == created


async def test_a_subscription_failing_past_its_deadline_is_dead_and_no_longer_tried(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """After failing for longer than dead-after, the subscription is dead: later events are not sent
    to it, while a healthy subscription of the same tenant keeps receiving them."""
    hooks, hooks_url = receiver
    failing = await subscribe(store, tenant.id, f"{hooks_url}/failing")
    await subscribe(store, tenant.id, f"{hooks_url}/witness")
    token = await scim_token(store, tenant)
    webhooks = MongoWebhooks(store.database)
    hooks.failing.add("/failing")
    with service(webhook_dead_after_seconds=0.3) as url:
        await create_user(url, token, "first@example.com")

        async def dead() -> bool:
            return (await webhooks.get(failing.id)).state == SubscriptionState.DEAD

        await eventually_async(dead)
        tried = len(hooks.all("/failing"))
        hooks.failing.clear()
        later = await create_user(url, token, "later@example.com")
        await eventually(lambda: later in [d.message["data"]["aggregateId"] for d in hooks.accepted("/witness")])
    assert len(hooks.all("/failing")) == tried
    assert hooks.accepted("/failing") == []
    assert len(await webhooks.attempts(failing.id, limit=1000)) == tried


async def test_a_disabled_subscription_receives_nothing(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """``webhook disable`` stops deliveries; a live subscription shows the events were there to send."""
    hooks, hooks_url = receiver
    disabled = await subscribe(store, tenant.id, f"{hooks_url}/disabled")
    await subscribe(store, tenant.id, f"{hooks_url}/witness")
    await disable(store, disabled)
    token = await scim_token(store, tenant)
    with service() as url:
        await create_user(url, token, "ada@example.com")
        await eventually(lambda: len(hooks.accepted("/witness")) >= 1)
    assert hooks.all("/disabled") == []


async def test_a_restart_while_a_delivery_is_in_flight_repeats_it_with_the_same_id(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """The service stops while the receiver is still answering; the next start sends that event
    again, with the same webhook-id, then the rest, in order: duplicates only as retries."""
    hooks, hooks_url = receiver
    await subscribe(store, tenant.id, f"{hooks_url}/hook")
    token = await scim_token(store, tenant)
    hooks.gate = threading.Event()
    with service() as url:
        created = [await create_user(url, token, f"user{i}@example.com") for i in range(3)]
        await eventually(lambda: hooks.held >= 1)
    hooks.gate.set()  # the answer the stopped service never read
    with service() as url:
        created.append(await create_user(url, token, "later@example.com"))
        await eventually(lambda: len({d.webhook_id for d in hooks.accepted()}) >= 4)
    accepted = hooks.accepted()
    firsts: dict[str, str] = {}
    for delivery in accepted:
        firsts.setdefault(delivery.webhook_id, delivery.message["data"]["aggregateId"])
    assert list(firsts.values()) == created
    repeated = [d for d in accepted if [x.webhook_id for x in accepted].count(d.webhook_id) > 1]
    assert {d.webhook_id for d in repeated} <= {accepted[0].webhook_id}
    assert all(d.body == accepted[0].body for d in repeated)


async def test_disabling_during_a_backlog_stops_at_the_next_event(
    store: MongoStore, tenant: Tenant, service: Service, receiver: tuple[Receiver, str]
) -> None:
    """A subscription disabled while one of its deliveries is in flight gets no further event."""
    hooks, hooks_url = receiver
    # Users' events only: the witness's own WebhookSubscribed would otherwise come first.
    subscription = await subscribe(store, tenant.id, f"{hooks_url}/hook", ("UserCreated",))
    await subscribe(store, tenant.id, f"{hooks_url}/witness", ("UserCreated",))
    token = await scim_token(store, tenant)
    webhooks = MongoWebhooks(store.database)
    with service() as url:
        hooks.gate = threading.Event()
        created = [await create_user(url, token, f"user{i}@example.com") for i in range(3)]
        await eventually(lambda: hooks.held >= 2)  # one delivery of each subscription waits
        await disable(store, subscription)
        hooks.gate.set()
        await eventually(lambda: len(hooks.accepted("/witness")) >= 3)
    assert [d.message["data"]["aggregateId"] for d in hooks.all("/hook")] == created[:1]
    assert (await webhooks.get(subscription.id)).cursor == subscription.cursor
