"""Creating a subscription: the URL checked, a secret issued, and the cursor at the log's end."""

from __future__ import annotations

from collections.abc import Sequence

from identity_store.domain.errors import InvalidValue
from identity_store.domain.resources import new_id, now
from identity_store.events import EventType
from identity_store.ports import Store
from identity_store.webhooks import WebhookRepository, WebhookSubscription
from outbound.webhooks.addresses import AddressPolicy, RefusedAddress
from outbound.webhooks.signing import new_secret

__all__ = ["create_subscription", "event_types"]


def event_types(names: Sequence[str]) -> tuple[str, ...]:
    """The event type names given, checked against the log's types (empty: every type)."""
    known = {t.value for t in EventType}
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidValue(f"unknown event type {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return tuple(sorted(set(names)))


async def create_subscription(
    store: Store,
    webhooks: WebhookRepository,
    *,
    tenant_id: str,
    url: str,
    events: Sequence[str],
    policy: AddressPolicy,
) -> WebhookSubscription:
    """A new subscription of ``tenant_id`` delivering the events committed from now on.

    The URL's form is checked here already (scheme, address literals, loopback names), so an
    operator learns of a refused URL at once; the addresses a name resolves to are checked at
    each delivery, where the answer counts.
    """
    types = event_types(events)
    try:
        policy.check_form(url)
    except RefusedAddress as error:
        raise InvalidValue(str(error), attribute="url") from None
    cursor = await store.tenant(tenant_id).events.last_sequence()
    return await webhooks.create(
        subscription_id=new_id(),
        tenant_id=tenant_id,
        url=url,
        event_types=types,
        secret=new_secret(),
        cursor=cursor,
        at=now(),
    )
