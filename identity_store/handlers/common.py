"""What every handler shares: the unit of work it runs in, and how events and checks are made."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from identity_store.domain.errors import DomainError, InvalidValue, VersionConflict
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.patch import PatchPolicy
from identity_store.domain.schema import Mutability, ResourceSchema
from identity_store.domain.users import User
from identity_store.domain.values import JSON, Attributes
from identity_store.events import Actor, AggregateType, Change, DomainEvent, EventType
from identity_store.ports import TenantStore, Transaction

__all__ = [
    "EVENT_MEMBERS",
    "UnitOfWork",
    "changes",
    "check_immutable",
    "check_version",
    "group_event",
    "group_events",
    "members_removed",
    "require",
    "split_password",
    "user_event",
]

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOfWork:
    """One command's unit of work: the tenant's store, who acts, and under which rules.

    :meth:`run` is the transaction. It owns the session, the tenant's write ordering and the one
    retry policy with its deadline (:mod:`identity_store.mongo.retries`); the handler's work is a
    function of the transaction rather than the body of an ``async with`` block because the
    policy may run it again on newer state, and because a commit whose answer was lost must
    still be able to hand back what that attempt returned.
    """

    store: TenantStore
    actor: Actor
    correlation_id: str | None
    #: How Entra's habits in a PATCH are taken (the tenant's setting; see PatchPolicy).
    policy: PatchPolicy

    async def run(self, work: Callable[[Transaction], Awaitable[T]], *, expected_version: int | None) -> T:
        """``work`` in one transaction; run again on newer state unless the writer named its version.

        Then, when the tenant has fan-outs left to finish (this change left one, or an earlier
        one was interrupted), their batches run before the command returns
        (:mod:`identity_store.handlers.fan_outs`).
        """
        result = await self.store.transact(
            work, actor=self.actor, correlation_id=self.correlation_id, retry_conflicts=expected_version is None
        )
        if self.store.has_pending_work:
            # Imported here: the fan-outs record their events with the helpers of this module.
            from identity_store.handlers.fan_outs import finish

            try:
                await finish(self.store)
            except DomainError as error:
                # This command's change is committed and must be answered as such; the work left
                # stays noted, and the tenant's next write (or start-up) finishes it.
                log.warning("fan-out left for later: %s", error.message)
        return result


def check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and current != expected:
        raise VersionConflict(f"{what} is at version {current}, not {expected}", current_version=current)


def changes(before: Mapping[str, JSON], after: Mapping[str, JSON]) -> tuple[Change, ...]:
    return tuple(
        Change(field=name, before=before.get(name), after=after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )


def user_event(kind: EventType, user: User, changes: tuple[Change, ...] = ()) -> DomainEvent:
    return DomainEvent(
        type=kind, aggregate_type=AggregateType.USER, aggregate_id=user.id, version=user.version, changes=changes
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


def split_password(attributes: Attributes) -> tuple[Attributes, str | None]:
    password = attributes.pop("password", None)
    if password is not None and not isinstance(password, str):
        raise InvalidValue("password must be a string", attribute="password")
    return attributes, password


def require(schema: ResourceSchema, attributes: Attributes) -> None:
    for attribute in schema.attributes:
        if attribute.required and not attributes.get(attribute.name):
            raise InvalidValue(f"{attribute.name} is required", attribute=attribute.name)


def check_immutable(schema: ResourceSchema, before: Attributes, after: Attributes) -> None:
    for attribute in schema.attributes:
        if attribute.mutability is not Mutability.IMMUTABLE:
            continue
        old, new = before.get(attribute.name), after.get(attribute.name)
        if old is not None and new != old:
            raise InvalidValue(f"{attribute.name} is immutable", attribute=attribute.name, mutability=True)
