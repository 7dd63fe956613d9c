"""The restore handlers: a deleted user or group back, with what was kept for it.

The object comes back in one transaction with its event (``UserRestored``/``GroupRestored``,
whose changes are its attributes, as at a creation) at the next version; its relations follow
in the bounded batches of a fan-out, the first in the same transaction
(:mod:`identity_store.handlers.fan_outs`). A name a live object took meanwhile is a
:class:`Uniqueness` error and nothing is restored; an id that is live is :class:`NotFound`
(there is no deleted object with that id), as is one never seen or already purged.
"""

from __future__ import annotations

from dataclasses import replace

from identity_store.commands import RestoreGroup, RestoreUser
from identity_store.domain.errors import NotFound, VersionConflict
from identity_store.domain.fan_outs import FanOutKind
from identity_store.domain.groups import Group
from identity_store.domain.ownership import check_change
from identity_store.domain.resources import now
from identity_store.domain.users import User
from identity_store.domain.values import Attributes
from identity_store.events import EventType
from identity_store.handlers import fan_outs
from identity_store.handlers.common import UnitOfWork, changes, group_event, user_event
from identity_store.ports import Transaction

__all__ = ["restore_group", "restore_user"]


async def restore_user(command: RestoreUser, uow: UnitOfWork) -> User:
    user_id = command.user_id
    await _finish_deletion(uow, user_id)

    async def work(tx: Transaction) -> None:
        if await tx.users.existing_ids([user_id]):
            raise NotFound(f"User {user_id} is not deleted")
        await _check_deletion_finished(tx, user_id)
        current = (await tx.deleted.user(user_id)).user
        check_change(uow.actor.may_change_provisioned, current.external_id, what="user")
        at = now()
        attributes = current.attributes
        manager_id = current.manager_id
        # A manager that is not live is not shown; one deleted gives it back when restored.
        if manager_id is not None and not await tx.users.existing_ids([manager_id]):
            attributes = _without_manager(current)
            if await tx.deleted.deleted_ids([manager_id]):
                await tx.kept.keep_manager_ref(user_id, manager_id)
        restored = replace(current, attributes=attributes, meta=current.meta.next(at))
        await tx.deleted.restore_user(restored)
        tx.record(user_event(EventType.USER_RESTORED, restored, changes({}, restored.attributes)))
        await fan_outs.begin(
            tx, FanOutKind.USER_RESTORED, user_id, at, actor=uow.actor, correlation_id=uow.correlation_id
        )

    await uow.run(work, expected_version=None)
    # Read after the fan-out: a manager handed to the user while it was deleted is back by now.
    return await uow.store.users.get(user_id)


async def restore_group(command: RestoreGroup, uow: UnitOfWork) -> Group:
    group_id = command.group_id
    await _finish_deletion(uow, group_id)

    async def work(tx: Transaction) -> None:
        if await tx.groups.existing_ids([group_id]):
            raise NotFound(f"Group {group_id} is not deleted")
        await _check_deletion_finished(tx, group_id)
        current = (await tx.deleted.group(group_id)).group
        check_change(uow.actor.may_change_provisioned, current.external_id, what="group")
        at = now()
        restored = replace(current, meta=current.meta.next(at))
        await tx.deleted.restore_group(restored)
        tx.record(group_event(EventType.GROUP_RESTORED, restored, changes({}, restored.attributes)))
        await fan_outs.begin(
            tx, FanOutKind.GROUP_RESTORED, group_id, at, actor=uow.actor, correlation_id=uow.correlation_id
        )

    await uow.run(work, expected_version=None)
    return await uow.store.groups.get(group_id)


async def _finish_deletion(uow: UnitOfWork, subject_id: str) -> None:
    """A deletion whose fan-out is unfinished is finished first: its batches must not take the
    relations of the restored object."""
    if any(f.subject_id == subject_id for f in await uow.store.fan_outs.pending()):
        await fan_outs.finish(uow.store)


async def _check_deletion_finished(tx: Transaction, subject_id: str) -> None:
    deleting = (FanOutKind.USER_DELETED, FanOutKind.GROUP_DELETED)
    if any(f.subject_id == subject_id and f.kind in deleting for f in await tx.fan_outs.pending()):
        raise VersionConflict(f"{subject_id} is still being deleted; retry")


def _without_manager(user: User) -> Attributes:
    attributes = dict(user.attributes)
    enterprise = dict(user.enterprise)
    enterprise.pop("manager", None)
    if enterprise:
        attributes["enterprise"] = enterprise
    else:
        attributes.pop("enterprise", None)
    return attributes
