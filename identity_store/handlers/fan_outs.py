"""Large fan-outs in bounded, resumable batches (see :mod:`identity_store.domain.fan_outs`).

A deletion or a replacement of all members runs its first batch in its own transaction; when
that batch was full, the same transaction writes a :class:`FanOut` note, and :func:`finish`
runs the rest, each batch in a transaction of its own with its own events:

- a batch changes at most :data:`BATCH` records of each kind (memberships removed, group
  versions advanced, manager references cleared), so no transaction grows with the data; what a
  deletion removes is kept aside in the same batch, for a restore (:mod:`identity_store.mongo.deleted`);
- an event names at most :data:`EVENT_MEMBERS` members (see :func:`group_events`);
- the deleted user or group is gone from the first transaction on, so it can neither be read
  nor be made a member or a manager again while its relations are being removed;
- every batch finds what is still left to do, so running one twice, or two processes finishing
  the same note, changes nothing more; a member replacement walks the group in member-id order
  and records how far it came, and removes only members added before it started;
- a restore brings the relations kept for the object back the same way (a relation whose
  other end is deleted too is handed on to it; one whose other end was purged is forgotten);
- a process that dies midway leaves the note: the next write of the tenant learns of it from
  the event sequence it takes anyway and finishes it, and :func:`resume` finishes every
  tenant's at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from identity_store.domain.errors import NotFound
from identity_store.domain.fan_outs import FanOut, FanOutKind
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.resources import new_id, now
from identity_store.events import Actor, Change, EventType
from identity_store.handlers.event_builders import group_events, members_removed, user_event
from identity_store.ports import Store, TenantStore, Transaction

__all__ = ["BATCH", "begin", "finish", "prune", "resume", "step"]

#: The most records of each kind one batch changes.
BATCH = 500


async def begin(
    tx: Transaction,
    kind: FanOutKind,
    subject_id: str,
    at: datetime,
    *,
    actor: Actor,
    correlation_id: str | None,
    subjects: tuple[str, ...] = (),
) -> None:
    """The first batch of a deletion's (or a restore's) fan-out, in its transaction; the note if more is left."""
    fan_out = FanOut(
        id=new_id(),
        kind=kind,
        subject_id=subject_id,
        started=at,
        actor=actor,
        correlation_id=correlation_id,
        subjects=subjects,
    )
    if not await step(tx, fan_out, at):
        await tx.fan_outs.note(fan_out)


async def step(tx: Transaction, fan_out: FanOut, at: datetime) -> bool:
    """One batch of ``fan_out`` in ``tx``, with its events; whether nothing is left after it."""
    match fan_out.kind:
        case FanOutKind.USER_DELETED:
            groups_done = await _leave_groups(tx, fan_out.subject_id, MemberType.USER, at)
            return await _release_reports(tx, fan_out.subject_id, at) and groups_done
        case FanOutKind.GROUP_DELETED:
            members_done = len(await tx.memberships.remove_some(fan_out.subject_id, limit=BATCH)) < BATCH
            return await _leave_groups(tx, fan_out.subject_id, MemberType.GROUP, at) and members_done
        case FanOutKind.USER_RESTORED | FanOutKind.GROUP_RESTORED:
            return await _bring_back(tx, fan_out.subject_ids, at)
        case FanOutKind.MEMBERS_REPLACED:
            removed, position = await prune(tx, fan_out)
            if removed:
                try:
                    group = await tx.groups.members_changed(
                        fan_out.subject_id, at, expected_version=None, member_count_change=-len(removed)
                    )
                except NotFound:
                    return True  # deleted meanwhile: its deletion removes the rest
                tx.record(*group_events(EventType.MEMBERS_REMOVED, group, removed))
            if position is not None:
                await tx.fan_outs.advance(fan_out.id, position)
            return position is None


async def prune(tx: Transaction, fan_out: FanOut) -> tuple[list[Membership], str | None]:
    """One batch of a member replacement's removals: the members removed and where the walk is."""
    return await tx.memberships.remove_except(
        fan_out.subject_id, set(fan_out.keep), added_before=fan_out.started, after=fan_out.position, limit=BATCH
    )


async def _leave_groups(tx: Transaction, member_id: str, member_type: MemberType, at: datetime) -> bool:
    group_ids = await tx.memberships.leave_groups(member_id, limit=BATCH)
    # A group being deleted itself is not among those returned: its own fan-out removes the rest.
    for group in sorted(await tx.groups.member_left(group_ids, at), key=lambda g: g.id):
        tx.record(members_removed(group, member_id, member_type))
    return len(group_ids) < BATCH


async def _release_reports(tx: Transaction, manager_id: str, at: datetime) -> bool:
    reports = await tx.users.release_reports(manager_id, at, limit=BATCH)
    change = Change(field="enterprise", before={"manager": {"value": manager_id}}, after=None)
    for report in reports:
        tx.record(user_event(EventType.USER_UPDATED, report, (change,)))
    return len(reports) < BATCH


async def _bring_back(tx: Transaction, subject_ids: Sequence[str], at: datetime) -> bool:
    """One batch of a restore's relations (of one object, or of a mass restore's users): each comes
    back if its other end is live, is kept for that end if it is deleted too, and is forgotten if
    that end was purged. Read and written for all the subjects at once: the batch's commands do not
    grow with the number of subjects."""
    again = await tx.deleted.deleted_ids(subject_ids)
    subjects = [s for s in subject_ids if s not in again]  # deleted again meanwhile: theirs stay kept
    if not subjects:
        return True
    memberships = await tx.kept.memberships(subjects, limit=BATCH)
    refs = await tx.kept.manager_refs(subjects, limit=BATCH)
    ends = sorted({k.other_end for k in memberships} | {r.other_end for r in refs})
    live = await tx.users.existing_ids(ends) if ends else set()
    rest = [e for e in ends if e not in live]
    live |= await tx.groups.existing_ids(rest) if rest else set()
    rest = [e for e in rest if e not in live]
    deleted = await tx.deleted.deleted_ids(rest) if rest else set()
    await _memberships_back(tx, [k.membership for k in memberships if k.other_end in live], at)
    for user in await tx.users.regain_manager([(r.user_id, r.manager_id) for r in refs if r.other_end in live], at):
        change = Change(field="enterprise", before=None, after={"manager": {"value": user.manager_id}})
        tx.record(user_event(EventType.USER_UPDATED, user, (change,)))
    await tx.kept.hand_on(
        [k for k in memberships if k.other_end in deleted], [r for r in refs if r.other_end in deleted]
    )
    await tx.kept.forget(
        [k for k in memberships if k.other_end not in deleted], [r for r in refs if r.other_end not in deleted]
    )
    return len(memberships) < BATCH and len(refs) < BATCH


async def _memberships_back(tx: Transaction, memberships: list[Membership], at: datetime) -> None:
    """Put the memberships back; each group's count moves by its members back, its version by one."""
    by_group: dict[str, list[Membership]] = {}
    for membership in await tx.memberships.put_back(memberships):
        by_group.setdefault(membership.group_id, []).append(membership)
    for group in sorted(await tx.groups.members_back({g: len(m) for g, m in by_group.items()}, at), key=lambda g: g.id):
        tx.record(*group_events(EventType.MEMBERS_ADDED, group, by_group[group.id]))


async def finish(store: TenantStore) -> int:
    """Finish every fan-out the tenant has left, batch by batch; how many batches it took."""
    batches = 0
    for fan_out in await store.fan_outs.pending():

        async def work(tx: Transaction, fan_out: FanOut = fan_out) -> bool:
            current = await tx.fan_outs.get(fan_out.id)  # finished or advanced by another writer?
            if current is None:
                return True
            done = await step(tx, current, now())
            if done:
                await tx.fan_outs.finish(current.id)
            return done

        done = False
        while not done:
            done = await store.transact(work, actor=fan_out.actor, correlation_id=fan_out.correlation_id)
            batches += 1
    return batches


async def resume(store: Store) -> int:
    """Finish the fan-outs of every tenant that has some left (at start-up); the batches run."""
    batches = 0
    for tenant_id in await store.tenants_with_pending_work():
        batches += await finish(store.tenant(tenant_id))
    return batches
