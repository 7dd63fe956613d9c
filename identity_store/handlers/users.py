"""The user handlers: create, replace, patch, deactivate, reactivate, delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from identity_store.commands import CreateUser, DeactivateUser, DeleteUser, PatchUser, ReactivateUser, ReplaceUser
from identity_store.domain.errors import InvalidValue
from identity_store.domain.fan_outs import FanOutKind
from identity_store.domain.ownership import check_change, check_claim
from identity_store.domain.passwords import hash_password
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath, apply_patch
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.users import User
from identity_store.domain.values import Attributes, canonical_attributes
from identity_store.events import Change, EventType
from identity_store.handlers import fan_outs
from identity_store.handlers.common import (
    UnitOfWork,
    changes,
    check_immutable,
    check_version,
    require,
    split_password,
    user_event,
)
from identity_store.ports import Transaction

__all__ = ["create_user", "deactivate_user", "delete_user", "patch_user", "reactivate_user", "replace_user"]


async def create_user(command: CreateUser, uow: UnitOfWork) -> User:
    attributes, password = split_password(canonical_attributes(uow.schemas.user, command.attributes))
    require(uow.schemas.user, attributes)
    password = password or command.password
    user = User(
        id=new_id(),
        tenant_id=uow.store.tenant_id,
        attributes=attributes,
        meta=Meta.first(now()),
        password_hash=hash_password(password) if password else None,
    )

    check_claim(uow.actor.may_change_provisioned, None, user.external_id)

    async def work(tx: Transaction) -> User:
        await _check_manager(tx, user)
        await tx.users.add(user)
        created = changes({}, user.attributes)
        if user.password_hash is not None:
            # Said, never shown (as for a change): a password set is a credential's creation.
            created += (Change(field="password", before=None, after=None),)
        tx.record(user_event(EventType.USER_CREATED, user, created))
        return user

    return await uow.run(work, expected_version=None)


class _Passwords:
    """Hashes each new password once per command, however often its transaction runs (Argon2 is slow
    on purpose, and a retry must not pay for it again)."""

    def __init__(self) -> None:
        self._hashes: dict[str, str] = {}

    def hash(self, password: str) -> str:
        if password not in self._hashes:
            self._hashes[password] = hash_password(password)
        return self._hashes[password]


async def replace_user(command: ReplaceUser, uow: UnitOfWork) -> User:
    attributes, password = split_password(canonical_attributes(uow.schemas.user, command.attributes))
    require(uow.schemas.user, attributes)
    password = password or command.password
    password_hash = hash_password(password) if password else None

    def change(current: User) -> tuple[Attributes, str | None]:
        check_immutable(uow.schemas.user, current.attributes, attributes)
        return dict(attributes), password_hash or current.password_hash

    return await _update_user(uow, command.user_id, command.expected_version, change, replaced=True)


async def patch_user(command: PatchUser, uow: UnitOfWork) -> User:
    passwords = _Passwords()

    def change(current: User) -> tuple[Attributes, str | None]:
        patched, password = split_password(
            apply_patch(uow.schemas.user, current.attributes, command.operations, uow.policy)
        )
        require(uow.schemas.user, patched)
        check_immutable(uow.schemas.user, current.attributes, patched)
        return patched, passwords.hash(password) if password else current.password_hash

    return await _update_user(uow, command.user_id, command.expected_version, change)


async def deactivate_user(command: DeactivateUser, uow: UnitOfWork) -> User:
    return await _set_active(uow, command.user_id, command.expected_version, active=False)


async def reactivate_user(command: ReactivateUser, uow: UnitOfWork) -> User:
    return await _set_active(uow, command.user_id, command.expected_version, active=True)


async def _set_active(uow: UnitOfWork, user_id: str, expected_version: int | None, *, active: bool) -> User:
    operation = PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("active",)), value=active)

    def change(current: User) -> tuple[Attributes, str | None]:
        return apply_patch(uow.schemas.user, current.attributes, (operation,)), current.password_hash

    return await _update_user(uow, user_id, expected_version, change)


async def _update_user(
    uow: UnitOfWork,
    user_id: str,
    expected_version: int | None,
    change: Callable[[User], tuple[Attributes, str | None]],
    *,
    replaced: bool = False,
) -> User:
    async def work(tx: Transaction) -> User:
        current = await tx.users.get(user_id)
        check_version(current.version, expected_version, f"user {user_id}")
        attributes, password_hash = change(current)
        if attributes == current.attributes and password_hash == current.password_hash:
            return current
        updated = replace(current, attributes=attributes, password_hash=password_hash, meta=current.meta.next(now()))
        if updated.manager_id != current.manager_id:
            await _check_manager(tx, updated)
        changed = changes(current.attributes, updated.attributes)
        may = uow.actor.may_change_provisioned
        check_change(may, current.external_id, [c.field for c in changed], what="user")
        check_claim(may, current.external_id, updated.external_id)
        if password_hash != current.password_hash:
            check_change(may, current.external_id, ["password"], what="user")
            changed += (Change(field="password", before=None, after=None),)
        await tx.users.update(updated, previous_version=current.version)
        tx.record(user_event(_user_event_type(current, updated), updated, changed, replaced=replaced))
        return updated

    return await uow.run(work, expected_version=expected_version)


def _user_event_type(before: User, after: User) -> EventType:
    if before.active and not after.active:
        return EventType.USER_DEACTIVATED
    if not before.active and after.active:
        return EventType.USER_REACTIVATED
    return EventType.USER_UPDATED


async def _check_manager(tx: Transaction, user: User) -> None:
    """The manager must be another user of this tenant, checked in the transaction that writes it."""
    manager_id = user.manager_id
    if manager_id is None:
        return
    if manager_id == user.id:
        raise InvalidValue("a user cannot be their own manager", attribute="manager")
    if not await tx.users.held_ids([manager_id]):
        raise InvalidValue(f"manager {manager_id} is not a user of this tenant", attribute="manager")


async def delete_user(command: DeleteUser, uow: UnitOfWork) -> None:
    """Delete the user; its memberships and the manager references to it go in bounded batches,
    the first in the same transaction (see :mod:`identity_store.handlers.fan_outs`)."""

    async def work(tx: Transaction) -> None:
        current = await tx.users.get(command.user_id)
        check_version(current.version, command.expected_version, f"user {command.user_id}")
        check_change(uow.actor.may_change_provisioned, current.external_id, what="user")
        at = now()
        await tx.users.delete(current.id, previous_version=current.version, at=at, by=uow.actor.credential_id)
        tx.record(user_event(EventType.USER_DELETED, current))
        await fan_outs.begin(
            tx, FanOutKind.USER_DELETED, current.id, at, actor=uow.actor, correlation_id=uow.correlation_id
        )

    await uow.run(work, expected_version=command.expected_version)
