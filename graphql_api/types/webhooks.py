"""Webhook subscriptions and their delivery attempts as GraphQL (see :mod:`graphql_api.webhooks`).

A subscription is shown without its signing secret: only ``webhookCreate``'s payload carries it,
once.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TypeAlias

import strawberry

from graphql_api.types.enums import describe_values
from graphql_api.types.errors import MutationError
from graphql_api.types.events import IdentityEventType
from graphql_api.types.nodes import global_id
from identity_store import EventType
from identity_store.webhooks import DeliveryAttempt, SubscriptionState, WebhookSubscription as SubscriptionRecord

__all__ = [
    "TYPE_NAME",
    "WebhookCreateInput",
    "WebhookCreatePayload",
    "WebhookDelivery",
    "WebhookDeliveryOutcome",
    "WebhookPayload",
    "WebhookState",
    "WebhookSubscription",
]

#: The type name inside a subscription's global id, as in IdentityEvent.subjectId of its events.
TYPE_NAME = "WebhookSubscription"

strawberry.enum(SubscriptionState, name="WebhookState", description="Whether a webhook subscription is delivered.")
WebhookState: TypeAlias = SubscriptionState
describe_values(
    SubscriptionState,
    {
        "ACTIVE": "Delivered: each new event of its types is POSTed, in order.",
        "DISABLED": "Disabled (webhookDisable or the command line): nothing more is delivered.",
        "DEAD": "Failing for longer than the service allows (3 days by default): no longer tried; "
        "create a new subscription to resume.",
    },
)


@strawberry.enum(description="How one delivery attempt ended.")
class WebhookDeliveryOutcome(Enum):
    DELIVERED = strawberry.enum_value("delivered", description="The receiver answered 2xx.")
    FAILED = strawberry.enum_value(
        "failed", description="A non-2xx answer, a timeout or a connection error: it is tried again later."
    )
    REFUSED = strawberry.enum_value(
        "refused", description="The URL's host is or resolved to an address the service may not send to."
    )


@strawberry.type(description="Where the tenant's events are POSTed, signed (Standard Webhooks). Never its secret.")
class WebhookSubscription:
    id: strawberry.ID = strawberry.field(
        description="The subscription's global id (as IdentityEvent.subjectId of its WEBHOOK_* events)."
    )
    url: str = strawberry.field(description="Where each delivery is POSTed.")
    event_types: list[IdentityEventType] = strawberry.field(description="The event types delivered; empty: every type.")
    state: WebhookState = strawberry.field(description="Whether it is still delivered.")
    cursor: int = strawberry.field(
        description="The sequence of the last event delivered (at first: of the log's end when it was "
        "created); delivery resumes after it."
    )
    failures: int = strawberry.field(description="Failed attempts since the last delivered one.")
    failing_since: datetime | None = strawberry.field(
        description="When the current run of failures began; null when the last attempt succeeded."
    )
    next_attempt_at: datetime | None = strawberry.field(
        description="No attempt before this time (the back-off after a failure); null: as soon as there is an event."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")

    @staticmethod
    def of(record: SubscriptionRecord) -> WebhookSubscription:
        return WebhookSubscription(
            id=strawberry.ID(global_id(TYPE_NAME, record.id)),
            url=record.url,
            event_types=[EventType(t) for t in record.event_types],
            state=record.state,
            cursor=record.cursor,
            failures=record.failures,
            failing_since=record.failing_since,
            next_attempt_at=record.next_attempt_at,
            created_at=record.created,
        )


@strawberry.type(description="One attempt to deliver one event to a subscription.")
class WebhookDelivery:
    at: datetime = strawberry.field(description="When the attempt ended (UTC).")
    webhook_id: str = strawberry.field(
        description="The webhook-id header sent: the same for every attempt of one event, so receivers drop repeats."
    )
    sequence: int = strawberry.field(description="The sequence of the event delivered (IdentityEvent.sequence).")
    outcome: WebhookDeliveryOutcome = strawberry.field(description="How the attempt ended.")
    status_code: int | None = strawberry.field(description="The receiver's HTTP status; null when none answered.")
    latency_ms: float = strawberry.field(description="How long the attempt took, in milliseconds.")
    error: str | None = strawberry.field(description="Why it failed or was refused; null when delivered.")

    @staticmethod
    def of(attempt: DeliveryAttempt) -> WebhookDelivery:
        return WebhookDelivery(
            at=attempt.at,
            webhook_id=attempt.webhook_id,
            sequence=attempt.sequence,
            outcome=WebhookDeliveryOutcome(attempt.outcome),
            status_code=attempt.status_code,
            latency_ms=round(attempt.latency_ms, 1),
            error=attempt.error,
        )


@strawberry.input(description="A new webhook subscription.")
class WebhookCreateInput:
    url: str = strawberry.field(
        description="Where deliveries are POSTed: https, to a host that is and resolves to public addresses."
    )
    event_types: list[IdentityEventType] | None = strawberry.field(
        default=None, description="The event types to deliver; null or empty: every type."
    )


_USER_ERRORS = "Why nothing was changed (switch on __typename); empty when the change was made."


@strawberry.type(description="The new subscription and its signing secret (shown this once), or why none was made.")
class WebhookCreatePayload:
    webhook: WebhookSubscription | None = strawberry.field(
        default=None, description="The subscription; null when userErrors is not empty."
    )
    secret: str | None = strawberry.field(
        default=None,
        description="The whsec_ signing secret receivers verify deliveries with (Standard Webhooks). It is "
        "returned only here, once: keep it now.",
    )
    user_errors: list[MutationError] = strawberry.field(default_factory=list, description=_USER_ERRORS)


@strawberry.type(description="The subscription after the change, or why nothing changed.")
class WebhookPayload:
    webhook: WebhookSubscription | None = strawberry.field(
        default=None, description="The subscription as it is now; null when userErrors is not empty."
    )
    user_errors: list[MutationError] = strawberry.field(default_factory=list, description=_USER_ERRORS)
