"""One handler per command: load, decide, write conditionally, and say what happened as events.

Handlers read outside the transaction and write inside it, conditionally on the version they
read. When the command names no ``expected_version`` and the aggregate changed in between, the
handler starts again from the newer state (a bounded number of times), so concurrent writers
never lose each other's changes; with ``expected_version`` the stale writer gets
:class:`VersionConflict`. A command that changes nothing writes nothing and emits no event.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from identity_store.commands import (
    AddMembers,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    PatchGroup,
    PatchUser,
    ReactivateUser,
    RemoveMembers,
    RenameGroup,
    ReplaceGroup,
    ReplaceMembers,
    ReplaceUser,
)
from identity_store.domain.errors import InvalidValue, NotFound, VersionConflict
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.passwords import hash_password
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath, apply_patch
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA, Mutability, ResourceSchema
from identity_store.domain.users import User
from identity_store.domain.values import JSON, Attributes, canonical_attributes
from identity_store.events import Actor, AggregateType, Change, DomainEvent, EventType
from identity_store.ports import TenantStore, Transaction

__all__ = ["HandlerContext", "handle"]

# How often a write without expected_version starts again on a newer version before giving up.
_MAX_ATTEMPTS = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerContext:
    store: TenantStore
    actor: Actor
    correlation_id: str | None

    async def commit(self, work: Callable[[Transaction], Awaitable[Sequence[DomainEvent]]]) -> None:
        await self.store.transact(work, actor=self.actor, correlation_id=self.correlation_id)


async def _attempts(expected_version: int | None) -> AsyncIterator[int]:
    """Attempt numbers for an optimistic write; one only when the writer named its version."""
    limit = 1 if expected_version is not None else _MAX_ATTEMPTS
    for attempt in range(limit):
        if attempt:
            # Back off a little, with jitter, so racing writers stop colliding in lock-step.
            await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311 - not security
        yield attempt


def _check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and current != expected:
        raise VersionConflict(f"{what} is at version {current}, not {expected}", current_version=current)


def _changes(before: Mapping[str, JSON], after: Mapping[str, JSON]) -> tuple[Change, ...]:
    return tuple(
        Change(field=name, before=before.get(name), after=after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )


def _user_event(kind: EventType, user: User, changes: tuple[Change, ...] = ()) -> DomainEvent:
    return DomainEvent(
        type=kind, aggregate_type=AggregateType.USER, aggregate_id=user.id, version=user.version, changes=changes
    )


def _group_event(
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


def _members_removed(group: Group, member_id: str, member_type: MemberType) -> DomainEvent:
    """A member deleted as a whole has left ``group``."""
    return replace(
        _group_event(EventType.MEMBERS_REMOVED, group),
        member_ids=(member_id,),
        group_member_ids=(member_id,) if member_type is MemberType.GROUP else (),
    )


def _split_password(attributes: Attributes) -> tuple[Attributes, str | None]:
    password = attributes.pop("password", None)
    if password is not None and not isinstance(password, str):
        raise InvalidValue("password must be a string", attribute="password")
    return attributes, password


def _require(schema: ResourceSchema, attributes: Attributes) -> None:
    for attribute in schema.attributes:
        if attribute.required and not attributes.get(attribute.name):
            raise InvalidValue(f"{attribute.name} is required", attribute=attribute.name)


def _check_immutable(schema: ResourceSchema, before: Attributes, after: Attributes) -> None:
    for attribute in schema.attributes:
        if attribute.mutability is not Mutability.IMMUTABLE:
            continue
        old, new = before.get(attribute.name), after.get(attribute.name)
        if old is not None and new != old:
            raise InvalidValue(f"{attribute.name} is immutable", attribute=attribute.name, mutability=True)


# --- users ----------------------------------------------------------------------------------


async def create_user(command: CreateUser, ctx: HandlerContext) -> User:
    attributes, password = _split_password(canonical_attributes(USER_SCHEMA, command.attributes))
    _require(USER_SCHEMA, attributes)
    password = password or command.password
    user = User(
        id=new_id(),
        tenant_id=ctx.store.tenant_id,
        attributes=attributes,
        meta=Meta.first(now()),
        password_hash=hash_password(password) if password else None,
    )
    await _check_manager(ctx, user)

    async def work(tx: Transaction) -> Sequence[DomainEvent]:
        await tx.users.add(user)
        return [_user_event(EventType.USER_CREATED, user, _changes({}, user.attributes))]

    await ctx.commit(work)
    return user


async def replace_user(command: ReplaceUser, ctx: HandlerContext) -> User:
    attributes, password = _split_password(canonical_attributes(USER_SCHEMA, command.attributes))
    _require(USER_SCHEMA, attributes)
    password = password or command.password

    def change(current: User) -> tuple[Attributes, str | None]:
        _check_immutable(USER_SCHEMA, current.attributes, attributes)
        return dict(attributes), hash_password(password) if password else current.password_hash

    return await _update_user(ctx, command.user_id, command.expected_version, change)


async def patch_user(command: PatchUser, ctx: HandlerContext) -> User:
    def change(current: User) -> tuple[Attributes, str | None]:
        patched, password = _split_password(
            apply_patch(USER_SCHEMA, current.attributes, command.operations, command.policy)
        )
        _require(USER_SCHEMA, patched)
        return patched, hash_password(password) if password else current.password_hash

    return await _update_user(ctx, command.user_id, command.expected_version, change)


async def deactivate_user(command: DeactivateUser, ctx: HandlerContext) -> User:
    return await _set_active(ctx, command.user_id, command.expected_version, active=False)


async def reactivate_user(command: ReactivateUser, ctx: HandlerContext) -> User:
    return await _set_active(ctx, command.user_id, command.expected_version, active=True)


async def _set_active(ctx: HandlerContext, user_id: str, expected_version: int | None, *, active: bool) -> User:
    operation = PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("active",)), value=active)

    def change(current: User) -> tuple[Attributes, str | None]:
        return apply_patch(USER_SCHEMA, current.attributes, (operation,)), current.password_hash

    return await _update_user(ctx, user_id, expected_version, change)


async def _update_user(
    ctx: HandlerContext,
    user_id: str,
    expected_version: int | None,
    change: Callable[[User], tuple[Attributes, str | None]],
) -> User:
    async for _ in _attempts(expected_version):
        current = await ctx.store.users.get(user_id)
        _check_version(current.version, expected_version, f"user {user_id}")
        attributes, password_hash = change(current)
        if attributes == current.attributes and password_hash == current.password_hash:
            return current
        updated = replace(current, attributes=attributes, password_hash=password_hash, meta=current.meta.next(now()))
        if updated.manager_id != current.manager_id:
            await _check_manager(ctx, updated)
        changes = _changes(current.attributes, updated.attributes)
        if password_hash != current.password_hash:
            changes += (Change(field="password", before=None, after=None),)
        event = _user_event(_user_event_type(current, updated), updated, changes)

        async def work(
            tx: Transaction, *, base: User = current, new: User = updated, emitted: DomainEvent = event
        ) -> Sequence[DomainEvent]:
            await tx.users.update(new, previous_version=base.version)
            return [emitted]

        try:
            await ctx.commit(work)
        except VersionConflict:
            if expected_version is not None:
                raise
            continue
        return updated
    raise VersionConflict(f"user {user_id} kept changing; try again")


def _user_event_type(before: User, after: User) -> EventType:
    if before.active and not after.active:
        return EventType.USER_DEACTIVATED
    if not before.active and after.active:
        return EventType.USER_REACTIVATED
    return EventType.USER_UPDATED


async def _check_manager(ctx: HandlerContext, user: User) -> None:
    manager_id = user.manager_id
    if manager_id is None:
        return
    if manager_id == user.id:
        raise InvalidValue("a user cannot be their own manager", attribute="manager")
    if not await ctx.store.users.existing_ids([manager_id]):
        raise InvalidValue(f"manager {manager_id} is not a user of this tenant", attribute="manager")


async def delete_user(command: DeleteUser, ctx: HandlerContext) -> None:
    current = await ctx.store.users.get(command.user_id)
    _check_version(current.version, command.expected_version, f"user {command.user_id}")

    async def work(tx: Transaction) -> Sequence[DomainEvent]:
        at = now()
        await tx.users.delete(current.id, previous_version=current.version)
        events: list[DomainEvent] = [_user_event(EventType.USER_DELETED, current)]
        for group_id in await tx.memberships.remove_member_everywhere(current.id):
            group = await tx.groups.touch(group_id, at, expected_version=None, members_delta=-1)
            events.append(_members_removed(group, current.id, MemberType.USER))
        for report in await tx.users.clear_manager(current.id, at):
            change = Change(field="enterprise", before={"manager": {"value": current.id}}, after=None)
            events.append(_user_event(EventType.USER_UPDATED, report, (change,)))
        return events

    await ctx.commit(work)


# --- groups ---------------------------------------------------------------------------------


async def create_group(command: CreateGroup, ctx: HandlerContext) -> Group:
    attributes = canonical_attributes(
        GROUP_SCHEMA, {k: v for k, v in command.attributes.items() if k.casefold() != "members"}
    )
    _require(GROUP_SCHEMA, attributes)
    group = Group(id=new_id(), tenant_id=ctx.store.tenant_id, attributes=attributes, meta=Meta.first(now()))
    members = await _memberships(ctx, group.id, command.member_ids)

    async def work(tx: Transaction) -> Sequence[DomainEvent]:
        # The memberships first, so the group is inserted with the number actually written.
        added = set(await tx.memberships.add(members)) if members else set()
        await tx.groups.add(group, member_count=len(added))
        events = [_group_event(EventType.GROUP_CREATED, group, _changes({}, group.attributes))]
        if added:
            events.append(
                _group_event(EventType.MEMBERS_ADDED, group, members=[m for m in members if m.member_id in added])
            )
        return events

    await ctx.commit(work)
    return group


async def replace_group(command: ReplaceGroup, ctx: HandlerContext) -> Group:
    attributes = canonical_attributes(
        GROUP_SCHEMA, {k: v for k, v in command.attributes.items() if k.casefold() != "members"}
    )
    _require(GROUP_SCHEMA, attributes)
    return await _change_group(
        ctx,
        command.group_id,
        command.expected_version,
        lambda _: attributes,
        add_ids=command.member_ids,
        replace_members=True,
    )


async def rename_group(command: RenameGroup, ctx: HandlerContext) -> Group:
    operation = PatchOperation(
        op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value=command.display_name
    )
    return await _change_group(
        ctx, command.group_id, command.expected_version, lambda g: apply_patch(GROUP_SCHEMA, g.attributes, (operation,))
    )


async def patch_group(command: PatchGroup, ctx: HandlerContext) -> Group:
    def change(current: Group) -> Attributes:
        patched = apply_patch(GROUP_SCHEMA, current.attributes, command.operations, command.policy)
        _require(GROUP_SCHEMA, patched)
        return patched

    return await _change_group(
        ctx,
        command.group_id,
        command.expected_version,
        change if command.operations else None,  # members only: no need to read the group first
        add_ids=command.add_member_ids,
        remove_ids=command.remove_member_ids,
        replace_members=command.remove_all_members,
    )


async def add_members(command: AddMembers, ctx: HandlerContext) -> Group:
    return await _change_group(ctx, command.group_id, command.expected_version, None, add_ids=command.member_ids)


async def remove_members(command: RemoveMembers, ctx: HandlerContext) -> Group:
    return await _change_group(ctx, command.group_id, command.expected_version, None, remove_ids=command.member_ids)


async def replace_members(command: ReplaceMembers, ctx: HandlerContext) -> Group:
    return await _change_group(
        ctx, command.group_id, command.expected_version, None, add_ids=command.member_ids, replace_members=True
    )


async def _change_group(
    ctx: HandlerContext,
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
    adding = frozenset(add_ids)  # membership tests in O(1): a tuple would make this quadratic
    remove_ids = tuple(dict.fromkeys(m for m in remove_ids if m not in adding))
    if group_id in add_ids:
        raise InvalidValue("a group cannot be a member of itself", attribute="members")
    members = await _memberships(ctx, group_id, add_ids)
    change_members = _MemberChange(add_ids=add_ids, remove_ids=remove_ids, replace=replace_members, added=members)
    async for _ in _attempts(expected_version):
        current: Group | None = None
        new_attributes: Attributes | None = None
        if change is not None:
            current = await ctx.store.groups.get(group_id)
            _check_version(current.version, expected_version, f"group {group_id}")
            new_attributes = change(current)
            if new_attributes == current.attributes:
                new_attributes = None
        try:
            return await _commit_group_change(ctx, group_id, expected_version, current, new_attributes, change_members)
        except VersionConflict:
            if expected_version is not None:
                raise
    raise VersionConflict(f"group {group_id} kept changing; try again")


@dataclass(frozen=True, slots=True, kw_only=True)
class _MemberChange:
    add_ids: tuple[str, ...]
    remove_ids: tuple[str, ...]
    replace: bool
    added: list[Membership]


async def _commit_group_change(
    ctx: HandlerContext,
    group_id: str,
    expected_version: int | None,
    base: Group | None,
    new_attributes: Attributes | None,
    members: _MemberChange,
) -> Group:
    result: list[Group] = []

    async def work(tx: Transaction) -> Sequence[DomainEvent]:
        result.clear()
        at = now()
        deleted: list[Membership] = []
        if members.replace:
            deleted = await tx.memberships.remove_all(group_id)
        elif members.remove_ids:
            deleted = await tx.memberships.remove(group_id, members.remove_ids)
        added_ids = set(await tx.memberships.add(members.added)) if members.added else set()
        # The member count moves by the membership documents written, known from the writes.
        members_delta = len(added_ids) - len(deleted)
        kept_ids = frozenset(members.add_ids) if members.replace else frozenset()
        removed = [m for m in deleted if m.member_id not in kept_ids] if members.replace else deleted
        added = [m for m in members.added if m.member_id in added_ids]
        if members.replace:
            removed_ids = {m.member_id for m in removed}
            added = [m for m in added if m.member_id not in removed_ids]
        if not added and not removed and new_attributes is None:
            current = base or await tx.groups.get(group_id)  # also: NotFound for an unknown group
            _check_version(current.version, expected_version, f"group {group_id}")
            result.append(current)
            return []
        events: list[DomainEvent] = []
        if new_attributes is not None and base is not None:
            group = replace(base, attributes=new_attributes, meta=base.meta.next(at))
            await tx.groups.update(group, previous_version=base.version, members_delta=members_delta)
            renamed = new_attributes.get("displayName") != base.attributes.get("displayName")
            kind = EventType.GROUP_RENAMED if renamed else EventType.GROUP_UPDATED
            events.append(_group_event(kind, group, _changes(base.attributes, new_attributes)))
        else:
            group = await tx.groups.touch(group_id, at, expected_version=expected_version, members_delta=members_delta)
        if removed:
            events.append(_group_event(EventType.MEMBERS_REMOVED, group, members=removed))
        if added:
            events.append(_group_event(EventType.MEMBERS_ADDED, group, members=added))
        result.append(group)
        return events

    await ctx.commit(work)
    return result[0]


async def _memberships(ctx: HandlerContext, group_id: str, member_ids: Sequence[str]) -> list[Membership]:
    """Memberships for the given ids, each checked to be a user or group of this tenant."""
    if not member_ids:
        return []
    users = await ctx.store.users.existing_ids(member_ids)
    rest = [m for m in member_ids if m not in users]
    groups = await ctx.store.groups.existing_ids(rest) if rest else set()
    unknown = [m for m in rest if m not in groups]
    if unknown:
        raise InvalidValue(f"not a user or group of this tenant: {', '.join(unknown[:5])}", attribute="members")
    at = now()
    added_by = ctx.actor.credential_id or ctx.actor.kind
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


async def delete_group(command: DeleteGroup, ctx: HandlerContext) -> None:
    current = await ctx.store.groups.get(command.group_id)
    _check_version(current.version, command.expected_version, f"group {command.group_id}")

    async def work(tx: Transaction) -> Sequence[DomainEvent]:
        at = now()
        await tx.groups.delete(current.id, previous_version=current.version)
        await tx.memberships.remove_all(current.id)
        events: list[DomainEvent] = [_group_event(EventType.GROUP_DELETED, current)]
        for parent_id in await tx.memberships.remove_member_everywhere(current.id):
            parent = await tx.groups.touch(parent_id, at, expected_version=None, members_delta=-1)
            events.append(_members_removed(parent, current.id, MemberType.GROUP))
        return events

    await ctx.commit(work)


HANDLERS: Mapping[type, Callable[..., Awaitable[object]]] = {
    CreateUser: create_user,
    ReplaceUser: replace_user,
    PatchUser: patch_user,
    DeactivateUser: deactivate_user,
    ReactivateUser: reactivate_user,
    DeleteUser: delete_user,
    CreateGroup: create_group,
    ReplaceGroup: replace_group,
    RenameGroup: rename_group,
    PatchGroup: patch_group,
    AddMembers: add_members,
    RemoveMembers: remove_members,
    ReplaceMembers: replace_members,
    DeleteGroup: delete_group,
}


async def handle(command: object, ctx: HandlerContext) -> object:
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise NotFound(f"no handler for {type(command).__name__}")
    return await handler(command, ctx)
