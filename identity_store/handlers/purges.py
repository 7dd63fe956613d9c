"""The purge handler: deleted users and groups past their retention, removed for good.

In bounded batches, each a transaction of its own with one ``UserPurged``/``GroupPurged`` event
per object: a purge interrupted midway has purged whole batches, and running it again goes on
with what is left. The relations kept for a purged object go with it; one kept for another
deleted object that names it can no longer come back, and is forgotten at that one's restore.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity_store.commands import PurgeDeleted
from identity_store.events import AggregateType, DomainEvent, EventType
from identity_store.handlers.common import UnitOfWork
from identity_store.ports import Transaction

__all__ = ["PURGE_BATCH", "Purged", "purge_deleted"]

#: The most users and the most groups one purge transaction removes.
PURGE_BATCH = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class Purged:
    users: int
    groups: int


async def purge_deleted(command: PurgeDeleted, uow: UnitOfWork) -> Purged:
    async def work(tx: Transaction) -> Purged:
        users = await tx.deleted.users(before=command.deleted_before, limit=PURGE_BATCH)
        groups = await tx.deleted.groups(before=command.deleted_before, limit=PURGE_BATCH)
        await tx.deleted.purge([u.user.id for u in users], [g.group.id for g in groups])
        tx.record(
            *(_purged(EventType.USER_PURGED, AggregateType.USER, u.user.id, u.user.version) for u in users),
            *(_purged(EventType.GROUP_PURGED, AggregateType.GROUP, g.group.id, g.group.version) for g in groups),
        )
        return Purged(users=len(users), groups=len(groups))

    users = groups = 0
    while True:
        batch = await uow.run(work, expected_version=None)
        users, groups = users + batch.users, groups + batch.groups
        if batch.users < PURGE_BATCH and batch.groups < PURGE_BATCH:
            return Purged(users=users, groups=groups)


def _purged(kind: EventType, aggregate: AggregateType, object_id: str, version: int) -> DomainEvent:
    return DomainEvent(type=kind, aggregate_type=aggregate, aggregate_id=object_id, version=version)
