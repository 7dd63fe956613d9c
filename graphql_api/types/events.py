"""The event log as GraphQL: what changed, in commit order, with a cursor to resume from."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import strawberry
from strawberry.scalars import JSON

from graphql_api.errors import BadUserInput
from graphql_api.pagination import PageInfo, decode_key, encode_key
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
    field: str
    before: JSON | None
    after: JSON | None


@strawberry.type(description="The credential that made a change (a SCIM token, an API key, or the system).")
class EventActor:
    credential_id: str | None
    kind: str


@strawberry.type(description="A committed change of the tenant's users, groups or memberships.")
class IdentityEvent:
    cursor: str = strawberry.field(description="Resume the feed or a subscription after this event.")
    sequence: int = strawberry.field(description="The event's place in the tenant's log (commit order).")
    type: IdentityEventType
    subject_type: SubjectType
    subject_id: strawberry.ID = strawberry.field(description="Global id of the user or group changed.")
    subject_version: int | None
    member_ids: list[strawberry.ID] = strawberry.field(
        description="Global ids of the members added or removed (User or Group ids, as node(id:) takes them; "
        "a member may since have been deleted)."
    )
    changes: list[AttributeChange]
    actor: EventActor
    correlation_id: str | None = strawberry.field(description="The request id of the change.")
    occurred_at: datetime

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


@strawberry.type
class IdentityEventEdge:
    cursor: str
    node: IdentityEvent


@strawberry.type(description="A page of the event log, oldest first.")
class IdentityEventConnection:
    edges: list[IdentityEventEdge]
    page_info: PageInfo

    @strawberry.field(description="The events of this page (the edges' nodes).")
    def nodes(self) -> list[IdentityEvent]:
        return [edge.node for edge in self.edges]
