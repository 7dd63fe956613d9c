"""Undo a mass deprovisioning: restore every user and group deleted since a time.

Groups first, then users, each in id order: a group comes back with its members that are live,
and each user restored after it comes back into it (a membership whose both ends were deleted
is kept for whichever is restored first and handed on to the other; see
:mod:`identity_store.domain.deletions`), so the order only decides which restore brings it.

The deleted objects are read a bounded page at a time (:data:`PAGE`). A page of users is
restored by one :class:`RestoreUsers` command (one transaction: the users, their events and the
first batch of their relations, read and written for the page at once); each group by its own
:class:`RestoreGroup`. An interrupted run has restored whole pages; running it again finds only
what is still deleted, so it goes on where it stopped. When a page cannot come back whole (a
name taken by a live object), its users are restored one by one: the one that cannot is
reported and left deleted, the others are restored. ``dry_run`` reads the same pages and
restores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from identity_store.bus import CommandBus, RequestContext
from identity_store.commands import RestoreGroup, RestoreUser, RestoreUsers
from identity_store.domain.errors import DomainError, StoreUnavailable
from identity_store.events import AggregateType
from identity_store.ports import Store

__all__ = ["PAGE", "Outcome", "RestoreReport", "restore_deleted"]

#: Deleted objects read per page; a page of users is restored in one transaction.
PAGE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One object: restored (or, in a dry run, to be restored), or the problem that kept it deleted."""

    kind: AggregateType
    id: str
    name: str
    deleted: datetime
    deleted_by: str | None
    problem: str | None = None


@dataclass(slots=True, kw_only=True)
class RestoreReport:
    groups: int = 0
    users: int = 0
    problems: list[Outcome] = field(default_factory=list)


async def restore_deleted(
    store: Store,
    bus: CommandBus,
    context: RequestContext,
    *,
    since: datetime,
    deleted_by: str | None = None,
    dry_run: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> RestoreReport:
    """Restore the tenant's users and groups deleted at or after ``since`` (by ``deleted_by``
    only, when given); ``on_outcome`` hears of each object as it is done."""
    deleted = store.tenant(context.tenant_id).deleted
    report = RestoreReport()

    def done(outcome: Outcome) -> None:
        if outcome.problem is not None:
            report.problems.append(outcome)
        elif outcome.kind is AggregateType.GROUP:
            report.groups += 1
        else:
            report.users += 1
        if on_outcome is not None:
            on_outcome(outcome)

    after: str | None = None
    while groups := await deleted.groups(since=since, deleted_by=deleted_by, after=after, limit=PAGE):
        for group in groups:
            outcome = Outcome(
                kind=AggregateType.GROUP,
                id=group.group.id,
                name=group.group.display_name,
                deleted=group.deleted,
                deleted_by=group.deleted_by,
            )
            done(outcome if dry_run else await _restore(bus, context, RestoreGroup(group_id=group.group.id), outcome))
        after = groups[-1].group.id
    after = None
    while users := await deleted.users(since=since, deleted_by=deleted_by, after=after, limit=PAGE):
        outcomes = [
            Outcome(
                kind=AggregateType.USER,
                id=u.user.id,
                name=u.user.user_name,
                deleted=u.deleted,
                deleted_by=u.deleted_by,
            )
            for u in users
        ]
        if dry_run or await _restored_together(bus, context, [o.id for o in outcomes]):
            for outcome in outcomes:
                done(outcome)
        else:  # one of them cannot come back: one by one, to restore the others and say which
            for outcome in outcomes:
                done(await _restore(bus, context, RestoreUser(user_id=outcome.id), outcome))
        after = users[-1].user.id
    return report


async def _restored_together(bus: CommandBus, context: RequestContext, user_ids: list[str]) -> bool:
    """A page of users restored in one transaction; ``False`` (nothing restored) if one cannot be."""
    try:
        await bus.dispatch(context, RestoreUsers(user_ids=tuple(user_ids)))
    except StoreUnavailable:
        raise
    except DomainError:
        return False
    return True


async def _restore(
    bus: CommandBus, context: RequestContext, command: RestoreUser | RestoreGroup, outcome: Outcome
) -> Outcome:
    try:
        await bus.dispatch(context, command)
    except StoreUnavailable:
        raise  # not this object's problem: the run stops, and a second run goes on from here
    except DomainError as error:
        return replace(outcome, problem=error.message)
    return outcome
