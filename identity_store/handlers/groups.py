"""The group handlers: create, replace, rename, patch, member changes, delete."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from identity_store.commands import (
    AddMembers,
    CreateGroup,
    DeleteGroup,
    PatchGroup,
    RemoveMembers,
    RenameGroup,
    ReplaceGroup,
    ReplaceMembers,
)
from identity_store.domain.errors import InvalidValue
from identity_store.domain.fan_outs import FanOut, FanOutKind
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.ownership import check_change, check_claim
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath, apply_patch
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.values import Attributes, canonical_attributes
from identity_store.events import Actor, EventType
from identity_store.handlers import fan_outs
from identity_store.handlers.common import (
    UnitOfWork,
    changes,
    check_immutable,
    check_version,
    group_event,
    group_events,
    require,
)
from identity_store.ports import Transaction

__all__ = [
    "add_members",
    "create_group",
    "delete_group",
    "patch_group",
    "remove_members",
    "rename_group",
    "replace_group",
    "replace_members",
]


async def create_group(command: CreateGroup, uow: UnitOfWork) -> Group:
    attributes = canonical_attributes(
        uow.schemas.group, {k: v for k, v in command.attributes.items() if k.casefold() != "members"}
    )
    require(uow.schemas.group, attributes)
    group = Group(id=new_id(), tenant_id=uow.store.tenant_id, attributes=attributes, meta=Meta.first(now()))
    member_ids = tuple(dict.fromkeys(command.member_ids))

    check_claim(uow.actor.may_change_provisioned, None, group.external_id)

    async def work(tx: Transaction) -> Group:
        members = await _memberships(tx, uow.actor, group.id, member_ids)
        # The memberships first, so the group is inserted with the number actually written.
        added = set(await tx.memberships.add(members)) if members else set()
        await tx.groups.add(group, member_count=len(added))
        tx.record(group_event(EventType.GROUP_CREATED, group, changes({}, group.attributes)))
        tx.record(*group_events(EventType.MEMBERS_ADDED, group, [m for m in members if m.member_id in added]))
        return group

    return await uow.run(work, expected_version=None)


async def replace_group(command: ReplaceGroup, uow: UnitOfWork) -> Group:
    attributes = canonical_attributes(
        uow.schemas.group, {k: v for k, v in command.attributes.items() if k.casefold() != "members"}
    )
    require(uow.schemas.group, attributes)
    return await _change_group(
        uow,
        command.group_id,
        command.expected_version,
        lambda current: _immutable_kept(uow, current, attributes),
        add_ids=command.member_ids,
        replace_members=True,
    )


def _immutable_kept(uow: UnitOfWork, current: Group, attributes: Attributes) -> Attributes:
    check_immutable(uow.schemas.group, current.attributes, attributes)
    return attributes


async def rename_group(command: RenameGroup, uow: UnitOfWork) -> Group:
    operation = PatchOperation(
        op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value=command.display_name
    )
    return await _change_group(
        uow,
        command.group_id,
        command.expected_version,
        lambda g: apply_patch(uow.schemas.group, g.attributes, (operation,)),
    )


async def patch_group(command: PatchGroup, uow: UnitOfWork) -> Group:
    def change(current: Group) -> Attributes:
        patched = apply_patch(uow.schemas.group, current.attributes, command.operations, uow.policy)
        require(uow.schemas.group, patched)
        return _immutable_kept(uow, current, patched)

    return await _change_group(
        uow,
        command.group_id,
        command.expected_version,
        change if command.operations else None,  # members only: no need to read the group first
        add_ids=command.add_member_ids,
        remove_ids=command.remove_member_ids,
        replace_members=command.remove_all_members,
    )


async def add_members(command: AddMembers, uow: UnitOfWork) -> Group:
    return await _change_group(uow, command.group_id, command.expected_version, None, add_ids=command.member_ids)


async def remove_members(command: RemoveMembers, uow: UnitOfWork) -> Group:
    return await _change_group(uow, command.group_id, command.expected_version, None, remove_ids=command.member_ids)


async def replace_members(command: ReplaceMembers, uow: UnitOfWork) -> Group:
    return await _change_group(
        uow, command.group_id, command.expected_version, None, add_ids=command.member_ids, replace_members=True
    )


async def _change_group(
    uow: UnitOfWork,
    group_id: str,
    expected_version: int | None,
    change: Callable[[Group], Attributes] | None,
    *,
    add_ids: Sequence[str] = (),
    remove_ids: Sequence[str] = (),
    replace_members: bool = False,
) -> Group:
    """Change a group's attributes and members in one transaction.

    Member changes never read the group's other members: additions are upserts of the new
    memberships, removals delete just the named ones, so the cost follows the changed members.
    Only a change of attributes needs the group read first; a pure member change advances the
    version with one conditional update inside the transaction.
    """
    add_ids = tuple(dict.fromkeys(add_ids))
    adding = set(add_ids)
    remove_ids = tuple(dict.fromkeys(m for m in remove_ids if m not in adding))
    if group_id in adding:
        raise InvalidValue("a group cannot be a member of itself", attribute="members")

    may = uow.actor.may_change_provisioned

    async def work(tx: Transaction) -> Group:
        current: Group | None = None
        new_attributes: Attributes | None = None
        # A pure member change reads no group, unless who masters the group must be known.
        if change is not None or not may:
            current = await tx.groups.get(group_id)
            check_version(current.version, expected_version, f"group {group_id}")
            check_change(may, current.external_id, what="group")
        if change is not None and current is not None:
            new_attributes = change(current)
            check_claim(may, current.external_id, _external_id(new_attributes))
            if new_attributes == current.attributes:
                new_attributes = None
        added = await _memberships(tx, uow.actor, group_id, add_ids)
        members = _MemberChange(add_ids=adding, remove_ids=remove_ids, replace=replace_members, added=added)
        started = (
            FanOut(
                id=new_id(),
                kind=FanOutKind.MEMBERS_REPLACED,
                subject_id=group_id,
                started=now(),
                actor=uow.actor,
                correlation_id=uow.correlation_id,
                keep=add_ids,
            )
            if replace_members
            else None
        )
        return await _write_group_change(tx, group_id, expected_version, current, new_attributes, members, started)

    return await uow.run(work, expected_version=expected_version)


@dataclass(frozen=True, slots=True, kw_only=True)
class _MemberChange:
    add_ids: set[str]
    remove_ids: tuple[str, ...]
    replace: bool
    added: list[Membership]


async def _write_group_change(
    tx: Transaction,
    group_id: str,
    expected_version: int | None,
    base: Group | None,
    new_attributes: Attributes | None,
    members: _MemberChange,
    started: FanOut | None,
) -> Group:
    """Write the change; a replacement of all members removes the old ones not kept in bounded
    batches, the first here, the rest noted in ``started`` (see :mod:`identity_store.handlers.fan_outs`)."""
    at = now()
    removed: list[Membership] = []
    position: str | None = None
    if members.replace:
        assert started is not None
        # Removals first: the walk then reads only the old members, and a group that fits in
        # one batch is replaced in this one transaction.
        removed, position = await fan_outs.prune(tx, started)
    elif members.remove_ids:
        removed = await tx.memberships.remove(group_id, members.remove_ids)
    added_ids = set(await tx.memberships.add(members.added)) if members.added else set()
    # The member count moves by the membership documents written, known from the writes.
    member_count_change = len(added_ids) - len(removed)
    added = [m for m in members.added if m.member_id in added_ids]
    if position is not None and started is not None:
        await tx.fan_outs.note(replace(started, position=position))
    if not added and not removed and new_attributes is None:
        current = base or await tx.groups.get(group_id)  # also: NotFound for an unknown group
        check_version(current.version, expected_version, f"group {group_id}")
        return current
    if new_attributes is not None and base is not None:
        group = replace(base, attributes=new_attributes, meta=base.meta.next(at))
        await tx.groups.update(group, previous_version=base.version, member_count_change=member_count_change)
        renamed = new_attributes.get("displayName") != base.attributes.get("displayName")
        kind = EventType.GROUP_RENAMED if renamed else EventType.GROUP_UPDATED
        tx.record(group_event(kind, group, changes(base.attributes, new_attributes)))
    else:
        group = await tx.groups.members_changed(
            group_id, at, expected_version=expected_version, member_count_change=member_count_change
        )
    tx.record(*group_events(EventType.MEMBERS_REMOVED, group, removed))
    tx.record(*group_events(EventType.MEMBERS_ADDED, group, added))
    return group


async def _memberships(tx: Transaction, actor: Actor, group_id: str, member_ids: Sequence[str]) -> list[Membership]:
    """Memberships for the given ids, each checked, in the transaction that writes them, to be a
    user or group of this tenant: a member deleted concurrently cannot leave a dangling membership."""
    if not member_ids:
        return []
    users = await tx.users.held_ids(member_ids)
    rest = [m for m in member_ids if m not in users]
    groups = await tx.groups.held_ids(rest) if rest else set()
    unknown = [m for m in rest if m not in groups]
    if unknown:
        raise InvalidValue(f"not a user or group of this tenant: {', '.join(unknown[:5])}", attribute="members")
    at = now()
    added_by = actor.credential_id or actor.kind
    return [
        Membership(
            group_id=group_id,
            member_id=m,
            member_type=MemberType.USER if m in users else MemberType.GROUP,
            added_at=at,
            added_by=added_by,
        )
        for m in member_ids
    ]


async def delete_group(command: DeleteGroup, uow: UnitOfWork) -> None:
    """Delete the group; its memberships and its memberships in parent groups go in bounded
    batches, the first in the same transaction (see :mod:`identity_store.handlers.fan_outs`)."""

    async def work(tx: Transaction) -> None:
        current = await tx.groups.get(command.group_id)
        check_version(current.version, command.expected_version, f"group {command.group_id}")
        check_change(uow.actor.may_change_provisioned, current.external_id, what="group")
        at = now()
        await tx.groups.delete(current.id, previous_version=current.version, at=at, by=uow.actor.credential_id)
        tx.record(group_event(EventType.GROUP_DELETED, current))
        await fan_outs.begin(
            tx, FanOutKind.GROUP_DELETED, current.id, at, actor=uow.actor, correlation_id=uow.correlation_id
        )

    await uow.run(work, expected_version=command.expected_version)


def _external_id(attributes: Attributes) -> str | None:
    value = attributes.get("externalId")
    return value if isinstance(value, str) else None
