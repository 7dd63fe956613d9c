"""How the handlers say what happened: the domain events of users, groups and memberships.

Apart from :mod:`common` so that the fan-outs (:mod:`fan_outs`), which the unit of work runs,
can build their events without importing the unit of work back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from identity_store.domain.extensions import extension_urn, is_extension_key
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.users import User
from identity_store.domain.values import JSON
from identity_store.events import AggregateType, Change, DomainEvent, EventType

__all__ = ["EVENT_MEMBERS", "changes", "group_event", "group_events", "members_removed", "user_event"]


def changes(before: Mapping[str, JSON], after: Mapping[str, JSON]) -> tuple[Change, ...]:
    """What changed, per top-level attribute; an extension's values are named by its URN."""
    return tuple(
        Change(
            field=extension_urn(name) if is_extension_key(name) else name,
            before=before.get(name),
            after=after.get(name),
        )
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )


def user_event(kind: EventType, user: User, changes: tuple[Change, ...] = (), *, replaced: bool = False) -> DomainEvent:
    return DomainEvent(
        type=kind,
        aggregate_type=AggregateType.USER,
        aggregate_id=user.id,
        version=user.version,
        changes=changes,
        replaced=replaced,
    )


def group_event(
    kind: EventType, group: Group, changes: tuple[Change, ...] = (), members: Sequence[Membership] = ()
) -> DomainEvent:
    return DomainEvent(
        type=kind,
        aggregate_type=AggregateType.GROUP,
        aggregate_id=group.id,
        version=group.version,
        changes=changes,
        member_ids=tuple(m.member_id for m in members),
        group_member_ids=tuple(m.member_id for m in members if m.member_type is MemberType.GROUP),
    )


#: The most member ids one MembersAdded or MembersRemoved event names; more make several events.
EVENT_MEMBERS = 1_000


def group_events(kind: EventType, group: Group, members: Sequence[Membership]) -> list[DomainEvent]:
    """``kind`` (members added or removed) for ``members``, in events of at most :data:`EVENT_MEMBERS`."""
    return [
        group_event(kind, group, members=members[start : start + EVENT_MEMBERS])
        for start in range(0, len(members), EVENT_MEMBERS)
    ]


def members_removed(group: Group, member_id: str, member_type: MemberType) -> DomainEvent:
    """A member deleted as a whole has left ``group``."""
    return replace(
        group_event(EventType.MEMBERS_REMOVED, group),
        member_ids=(member_id,),
        group_member_ids=(member_id,) if member_type is MemberType.GROUP else (),
    )
