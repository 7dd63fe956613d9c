"""The restore handlers: deleted users and groups back, with what was kept for them.

An object comes back in one transaction with its event (``UserRestored``/``GroupRestored``,
whose changes are its attributes, as at a creation) at the next version; its relations follow
in the bounded batches of a fan-out, the first in the same transaction
(:mod:`identity_store.handlers.fan_outs`). :class:`RestoreUsers` does it for a mass restore's
page of users at once. A name a live object took meanwhile is a :class:`Uniqueness` error and
nothing is restored; an id that is live is :class:`NotFound` (there is no deleted object with
that id), as is one never seen or already purged. A deletion of the object whose fan-out is
unfinished is finished first, so that its batches cannot take the restored object's relations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from identity_store.commands import RestoreGroup, RestoreUser, RestoreUsers
from identity_store.domain.errors import NotFound, VersionConflict
from identity_store.domain.fan_outs import FanOutKind
from identity_store.domain.groups import Group
from identity_store.domain.ownership import check_change
from identity_store.domain.resources import now
from identity_store.domain.users import User
from identity_store.events import EventType
from identity_store.handlers import fan_outs
from identity_store.handlers.common import UnitOfWork, changes, group_event, user_event
from identity_store.ports import Transaction

__all__ = ["restore_group", "restore_user", "restore_users"]


async def restore_user(command: RestoreUser, uow: UnitOfWork) -> User:
    user_id = command.user_id

    async def work(tx: Transaction) -> bool:
        if await tx.users.existing_ids([user_id]):
            raise NotFound(f"User {user_id} is not deleted")
        if await _being_deleted(tx, [user_id]):
            return False
        await _restore_users(tx, uow, [(await tx.deleted.user(user_id)).user])
        return True

    await _run_after_deletions(uow, work)
    # Read after the fan-out: a manager handed to the user while it was deleted is back by now.
    return await uow.store.users.get(user_id)


async def restore_users(command: RestoreUsers, uow: UnitOfWork) -> list[User]:
    """A mass restore's batch: those of the users still deleted, in one transaction (a name taken
    makes it a :class:`Uniqueness` error with none restored; the caller then restores them one by
    one to learn which)."""
    user_ids = list(dict.fromkeys(command.user_ids))

    async def work(tx: Transaction) -> bool:
        if await _being_deleted(tx, user_ids):
            return False
        await _restore_users(tx, uow, [d.user for d in await tx.deleted.users_of(user_ids)])
        return True

    await _run_after_deletions(uow, work)
    return await uow.store.users.get_many(user_ids)


async def _restore_users(tx: Transaction, uow: UnitOfWork, users: Sequence[User]) -> None:
    """The users back (each at its next version, with its event), then the first batch of their relations."""
    if not users:
        return
    for user in users:
        check_change(uow.actor.may_change_provisioned, user.external_id, what="user")
    at = now()
    coming = {u.id for u in users}
    # A user's manager reference kept for it (its manager was deleted, then restored while the
    # user was deleted) goes back into the restored document, not by an update after it.
    own = {r.user_id: r for r in await tx.kept.own_manager_refs(sorted(coming))}
    named = {u.manager_id for u in users} | {r.manager_id for r in own.values()}
    managers = sorted(m for m in named if m is not None and m not in coming)
    live = await tx.users.held_ids(managers) if managers else set()
    gone = [m for m in managers if m not in live]
    deleted = await tx.deleted.deleted_ids(gone) if gone else set()
    restored: list[User] = []
    for user in users:
        attributes = user.attributes
        manager_id = user.manager_id
        # A manager that is not live is not shown; one deleted gives it back when restored.
        if manager_id is not None and manager_id not in coming and manager_id not in live:
            attributes = user.attributes_without_manager()
            if manager_id in deleted:
                await tx.kept.keep_manager_ref(user.id, manager_id)
        ref = own.get(user.id)
        if manager_id is None and ref is not None and (ref.manager_id in coming or ref.manager_id in live):
            attributes = user.attributes_with_manager(ref.manager_id)
        restored.append(replace(user, attributes=attributes, meta=user.meta.next(at)))
    refs = list(own.values())
    await tx.kept.hand_on([], [r for r in refs if r.other_end in deleted])
    await tx.kept.forget([], [r for r in refs if r.other_end not in deleted])
    await tx.deleted.restore_users(restored)
    tx.record(*(user_event(EventType.USER_RESTORED, u, changes({}, u.attributes)) for u in restored))
    ids = tuple(u.id for u in restored)
    await fan_outs.begin(
        tx,
        FanOutKind.USER_RESTORED,
        ids[0],
        at,
        actor=uow.actor,
        correlation_id=uow.correlation_id,
        subjects=ids if len(ids) > 1 else (),
    )


async def restore_group(command: RestoreGroup, uow: UnitOfWork) -> Group:
    group_id = command.group_id

    async def work(tx: Transaction) -> bool:
        if await tx.groups.existing_ids([group_id]):
            raise NotFound(f"Group {group_id} is not deleted")
        if await _being_deleted(tx, [group_id]):
            return False
        current = (await tx.deleted.group(group_id)).group
        check_change(uow.actor.may_change_provisioned, current.external_id, what="group")
        at = now()
        restored = replace(current, meta=current.meta.next(at))
        await tx.deleted.restore_group(restored)
        tx.record(group_event(EventType.GROUP_RESTORED, restored, changes({}, restored.attributes)))
        await fan_outs.begin(
            tx, FanOutKind.GROUP_RESTORED, group_id, at, actor=uow.actor, correlation_id=uow.correlation_id
        )
        return True

    await _run_after_deletions(uow, work)
    return await uow.store.groups.get(group_id)


async def _being_deleted(tx: Transaction, subject_ids: Sequence[str]) -> bool:
    """Whether a deletion of one of them has an unfinished fan-out, whose batches must not take
    the relations of a restored object."""
    deleting = (FanOutKind.USER_DELETED, FanOutKind.GROUP_DELETED)
    wanted = set(subject_ids)
    return any(f.subject_id in wanted and f.kind in deleting for f in await tx.fan_outs.pending())


async def _run_after_deletions(uow: UnitOfWork, work: Callable[[Transaction], Awaitable[bool]]) -> None:
    """Run ``work``; if it found a deletion unfinished (and wrote nothing), finish the tenant's
    fan-outs and run it once more."""
    if await uow.run(work, expected_version=None):
        return
    await fan_outs.finish(uow.store)
    if not await uow.run(work, expected_version=None):
        raise VersionConflict("the object is still being deleted; retry")
