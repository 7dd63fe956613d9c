"""The event log as GraphQL: what changed, in commit order, with a cursor to resume from."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import strawberry
from strawberry.scalars import JSON

from graphql_api.errors import BadUserInput
from graphql_api.pagination import PageInfo, decode_key, encode_key
from graphql_api.types.enums import describe_values
from graphql_api.types.nodes import global_id
from identity_store import EventType, RecordedEvent
from identity_store.domain.values import JSON as JSONValue
from identity_store.events import AggregateType

__all__ = [
    "AttributeChange",
    "EventActor",
    "IdentityEvent",
    "IdentityEventConnection",
    "IdentityEventEdge",
    "IdentityEventType",
    "event_cursor",
    "event_sequence",
]

# The domain's enums, exposed under these names (strawberry.enum registers them in place).
strawberry.enum(EventType, name="IdentityEventType", description="What a committed change was.")
strawberry.enum(AggregateType, name="SubjectType", description="The kind of object an event is about.")
IdentityEventType: TypeAlias = EventType
SubjectType: TypeAlias = AggregateType
describe_values(
    EventType,
    {
        "USER_CREATED": "A user was created (changes: its attributes).",
        "USER_UPDATED": "Attributes of a user changed (changes: each one before and after).",
        "USER_DEACTIVATED": "A user was deactivated (active became false).",
        "USER_REACTIVATED": "A user was reactivated (active became true).",
        "USER_DELETED": "A user was deleted (restorable until purged), with its memberships and the manager "
        "references to it.",
        "USER_RESTORED": "A deleted user was restored: same id, its attributes (changes), at the next version; "
        "its memberships follow as MEMBERS_ADDED.",
        "USER_PURGED": "A deleted user was removed for good, with what was kept for its restore.",
        "GROUP_RESTORED": "A deleted group was restored: same id, its attributes (changes); its members follow "
        "as MEMBERS_ADDED.",
        "GROUP_PURGED": "A deleted group was removed for good, with what was kept for its restore.",
        "GROUP_CREATED": "A group was created (its first members follow as MEMBERS_ADDED).",
        "GROUP_UPDATED": "Attributes of a group changed, its displayName kept.",
        "GROUP_RENAMED": "A group's displayName changed (with any other attributes changed at once).",
        "GROUP_DELETED": "A group was deleted (restorable until purged), with every membership in it or of it.",
        "MEMBERS_ADDED": "Users or groups were added to a group (memberIds: those added).",
        "MEMBERS_REMOVED": "Users or groups were removed from a group (memberIds: those removed).",
        "TENANT_CREATED": "The tenant was created (by the command line).",
        "TENANT_SETTINGS_CHANGED": "A setting of the tenant changed: strict RFC 7644 mode, or its Entra tenant link.",
        "CREDENTIAL_ISSUED": "A SCIM token, API key or OAuth client secret was issued (never its secret).",
        "CREDENTIAL_REVOKED": "A SCIM token, API key or OAuth client secret was revoked.",
        "OAUTH_CLIENT_CREATED": "An OAuth client (for Entra's client-credentials flow) was created.",
        "OAUTH_CLIENT_DISABLED": "An OAuth client was disabled; its access tokens stop working.",
        "OAUTH_CLIENT_FEDERATED": "An OAuth client's federated identity (RFC 7523 assertions) was set or removed.",
        # --- Webhook subscriptions
        "WEBHOOK_SUBSCRIBED": "A webhook subscription was created (changes: its url, eventTypes and state; "
        "never its secret).",
        "WEBHOOK_DISABLED": "A webhook subscription was disabled: nothing more is delivered to it.",
        # --- end of webhook subscriptions
        "SCHEMA_EXTENSION_ADDED": "An extension schema (custom attributes) was registered (changes: its id, "
        "the resource type it extends and its attribute names).",
        "SCHEMA_EXTENSION_REMOVED": "An extension schema was removed; the values stored under it are no longer "
        "returned.",
        # --- Shared Signals streams (never the receiver's authorization header, only that it changed)
        "SSF_STREAM_CREATED": "A Shared Signals receiver created a stream (changes: its configuration).",
        "SSF_STREAM_UPDATED": "A Shared Signals stream's configuration changed (delivery, events, description).",
        "SSF_STREAM_DELETED": "A Shared Signals stream was deleted.",
        "SSF_STREAM_STATUS_CHANGED": "A Shared Signals stream was enabled, paused or disabled (with the reason given).",
        "SSF_STREAM_SUBJECT_ADDED": "A user was added to a Shared Signals stream's subjects.",
        "SSF_STREAM_SUBJECT_REMOVED": "A user was removed from a Shared Signals stream's subjects.",
        # --- end of Shared Signals streams
    },
)
describe_values(
    AggregateType,
    {
        "USER": "The event is about a user.",
        "GROUP": "The event is about a group.",
        "TENANT": "The event is about the tenant itself (its creation or settings).",
        "CREDENTIAL": "The event is about a credential of the tenant (a token, key or client secret).",
        "OAUTH_CLIENT": "The event is about an OAuth client of the tenant.",
        "WEBHOOK_SUBSCRIPTION": "The event is about a webhook subscription of the tenant.",
        "SCHEMA_EXTENSION": "The event is about an extension schema of the tenant (its id is the schema's URN).",
        "SSF_STREAM": "The event is about a Shared Signals stream of the tenant (a receiver's configuration).",
    },
)


def event_cursor(sequence: int) -> str:
    return encode_key("event", str(sequence))


def event_sequence(cursor: str) -> int:
    """The sequence number inside an event cursor (:class:`BadUserInput` for anything else)."""
    key = decode_key("event", cursor)
    if not key.isdigit():
        raise BadUserInput("the cursor is not one this service issued")
    return int(key)


def _with_global_ids(value: JSONValue) -> JSONValue:
    """An attribute value with the manager reference as a User global id (enterprise.manager.value).

    The manager is the only attribute of a user or group that holds the id of another object.
    """
    manager = value.get("manager") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(manager, dict):
        return value
    reference = manager.get("value")
    if not isinstance(reference, str):
        return value
    return {**value, "manager": {**manager, "value": global_id("User", reference)}}


@strawberry.type(
    description="One top-level attribute's value before and after the change; the manager of the enterprise "
    "attributes is given as a User global id."
)
class AttributeChange:
    field: str = strawberry.field(
        description="The attribute's SCIM name (such as 'displayName', 'emails', or "
        "'enterprise' for the enterprise extension)."
    )
    before: JSON | None = strawberry.field(
        description="The value before the change; null when it had none (or the object was created)."
    )
    after: JSON | None = strawberry.field(
        description="The value after the change; null when it was removed (or the object deleted)."
    )


@strawberry.type(description="The credential that made a change (a SCIM token, an API key, or the system).")
class EventActor:
    credential_id: str | None = strawberry.field(
        description="The id of the SCIM token or API key that made the change; null for the system."
    )
    kind: str = strawberry.field(
        description="What made it: 'scim-token' (Entra ID over SCIM), 'api-key' (GraphQL) or 'system'."
    )


@strawberry.type(description="A committed change of the tenant's users, groups or memberships.")
class IdentityEvent:
    cursor: str = strawberry.field(description="Resume the feed or a subscription after this event.")
    sequence: int = strawberry.field(description="The event's place in the tenant's log (commit order).")
    type: IdentityEventType = strawberry.field(description="What happened.")
    subject_type: SubjectType = strawberry.field(description="Whether subjectId is a user or a group.")
    subject_id: strawberry.ID = strawberry.field(description="Global id of the user or group changed.")
    subject_version: int | None = strawberry.field(
        description="The subject's version after the change "
        "(User.version, Group.version); null when it has none, as after a deletion."
    )
    member_ids: list[strawberry.ID] = strawberry.field(
        description="Global ids of the members added or removed (User or Group ids, as node(id:) takes them; "
        "a member may since have been deleted)."
    )
    changes: list[AttributeChange] = strawberry.field(
        description="The top-level attributes the change set, with their values before and after; empty for "
        "changes of membership, activation or deletion."
    )
    actor: EventActor = strawberry.field(description="The credential that made the change.")
    correlation_id: str | None = strawberry.field(description="The request id of the change.")
    occurred_at: datetime = strawberry.field(description="When the change was committed (UTC).")

    @staticmethod
    def of(recorded: RecordedEvent) -> IdentityEvent:
        event = recorded.event
        return IdentityEvent(
            cursor=event_cursor(recorded.sequence),
            sequence=recorded.sequence,
            type=event.type,
            subject_type=event.aggregate_type,
            subject_id=strawberry.ID(global_id(event.aggregate_type.value, event.aggregate_id)),
            subject_version=event.version,
            member_ids=[
                strawberry.ID(global_id("Group" if m in event.group_member_ids else "User", m))
                for m in event.member_ids
            ],
            changes=[
                AttributeChange(
                    field=c.field, before=JSON(_with_global_ids(c.before)), after=JSON(_with_global_ids(c.after))
                )
                for c in event.changes
            ],
            actor=EventActor(credential_id=recorded.actor.credential_id, kind=recorded.actor.kind),
            correlation_id=recorded.correlation_id,
            occurred_at=recorded.occurred_at,
        )


@strawberry.type(description="An event in a page, and its cursor.")
class IdentityEventEdge:
    cursor: str = strawberry.field(description="The event's cursor (as IdentityEvent.cursor); resume after it.")
    node: IdentityEvent = strawberry.field(description="The event.")


@strawberry.type(description="A page of the event log, oldest first.")
class IdentityEventConnection:
    edges: list[IdentityEventEdge] = strawberry.field(
        description="The events of this page with their cursors, oldest first."
    )
    page_info: PageInfo = strawberry.field(
        description="hasNextPage says whether newer events are already there; endCursor is where to resume "
        "(also on an empty page)."
    )

    @strawberry.field(description="The events of this page (the edges' nodes).")
    def nodes(self) -> list[IdentityEvent]:
        return [edge.node for edge in self.edges]
