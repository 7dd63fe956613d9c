"""Webhook subscriptions through GraphQL: ``webhookCreate``, ``webhookDisable``, ``webhooks`` and
``webhookDeliveries``, all under the ``webhooks:manage`` scope.

The mutations send the commands the command line sends (``CreateWebhookSubscription``,
``DisableWebhookSubscription``), so the URL is checked, and the change recorded in the tenant's
event log, by the same handler. Everything is read through the caller's tenant: another tenant's
subscription is not found, exactly like one that never existed.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from graphql_api.activity import note_result
from graphql_api.context import Context
from graphql_api.errors import BadUserInput
from graphql_api.pagination import MAX_PAGE_SIZE
from graphql_api.types.errors import mutation_error
from graphql_api.types.nodes import local_id
from graphql_api.types.webhooks import (
    TYPE_NAME,
    WebhookCreateInput,
    WebhookCreatePayload,
    WebhookDelivery,
    WebhookPayload,
    WebhookSubscription,
)
from identity_store import DomainError, NotFound
from identity_store.commands import CreateWebhookSubscription, DisableWebhookSubscription

__all__ = ["webhook_create", "webhook_deliveries", "webhook_disable", "webhooks"]

Info = strawberry.Info[Context, None]

#: How many attempts ``webhookDeliveries`` returns when ``first`` is not given.
DEFAULT_DELIVERIES = 20

_NEW_WEBHOOK = strawberry.argument(description="The URL and the event types of the new subscription.")
_WEBHOOK_ID = strawberry.argument(description="The subscription's global id (WebhookSubscription.id).")
_DELIVERIES_FIRST = strawberry.argument(
    description=f"How many attempts, newest first: 1 to {MAX_PAGE_SIZE}, default {DEFAULT_DELIVERIES}."
)


def _subscription_id(value: relay.GlobalID) -> str | None:
    return local_id(value, TYPE_NAME)


async def webhook_create(info: Info, input: Annotated[WebhookCreateInput, _NEW_WEBHOOK]) -> WebhookCreatePayload:
    context = info.context
    command = CreateWebhookSubscription(url=input.url, event_types=tuple(t.value for t in input.event_types or ()))
    changed = ["url", *(["eventTypes"] if input.event_types else [])]
    try:
        created = await context.bus.dispatch(context.request_context, command)
    except DomainError as error:
        note_result(context, info.field_name, error, changed)
        return WebhookCreatePayload(user_errors=[mutation_error(error)])
    note_result(context, info.field_name, created, changed)
    return WebhookCreatePayload(webhook=WebhookSubscription.of(created), secret=created.secret)


async def webhook_disable(info: Info, id: Annotated[relay.GlobalID, _WEBHOOK_ID]) -> WebhookPayload:
    context = info.context
    try:
        subscription_id = _subscription_id(id)
        if subscription_id is None:
            raise NotFound(f"{id} is not a {TYPE_NAME} id")
        disabled = await context.bus.dispatch(
            context.request_context, DisableWebhookSubscription(subscription_id=subscription_id)
        )
    except DomainError as error:
        note_result(context, info.field_name, error)
        return WebhookPayload(user_errors=[mutation_error(error)])
    note_result(context, info.field_name, disabled)
    return WebhookPayload(webhook=WebhookSubscription.of(disabled))


async def webhooks(info: Info) -> list[WebhookSubscription]:
    return [WebhookSubscription.of(s) for s in await info.context.tenant.webhooks.all()]


async def webhook_deliveries(
    info: Info,
    id: Annotated[relay.GlobalID, _WEBHOOK_ID],
    first: Annotated[int, _DELIVERIES_FIRST] = DEFAULT_DELIVERIES,
) -> list[WebhookDelivery] | None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE_SIZE}", argument="first")
    subscription_id = _subscription_id(id)
    if subscription_id is None:
        return None
    try:
        attempts = await info.context.tenant.webhooks.attempts(subscription_id, limit=first)
    except NotFound:
        return None
    return [WebhookDelivery.of(a) for a in attempts]
