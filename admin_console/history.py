"""A user's or group's history, from the tenant's event log: what changed, when, and who did it.

The log is read forward from a sequence, a page at a time, narrowed in the database to the
events about that one resource (its memberships included); a page shows no secret, as no event
carries one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from identity_store import RecordedEvent, TenantStore
from identity_store.events import AggregateType
from identity_store.views.events import events_after

__all__ = ["HISTORY_PAGE", "MEMBERS_SHOWN", "HistoryPage", "HistoryRow", "history"]

HISTORY_PAGE = 50
#: Members named per membership event; a bulk change says how many more (its names would cost
#: a read of thousands for one page).
MEMBERS_SHOWN = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    sequence: int
    at: datetime
    type: str
    actor: str
    correlation_id: str | None
    changes: list[tuple[str, str, str]]
    #: The first members a membership event names: (``User`` or ``Group``, id, display name).
    members: list[tuple[str, str, str]]
    #: How many more it names.
    more_members: int
    #: What the event is about when that is not the resource itself (the group a user joined):
    #: its type, id and display name.
    about: tuple[str, str, str] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryPage:
    rows: list[HistoryRow]
    #: The sequence to read on from, when more events may follow.
    after: int | None


async def history(tenant: TenantStore, resource_id: str, *, after: int | None) -> HistoryPage:
    events = await events_after(tenant, after=after, limit=HISTORY_PAGE, about=[resource_id])
    # Every name the page shows, in one read per type: the groups a user's membership events are
    # about, and the first members each event names.
    user_ids: set[str] = set()
    group_ids: set[str] = set()
    for recorded in events:
        event = recorded.event
        if event.aggregate_id != resource_id and event.aggregate_type is AggregateType.GROUP:
            group_ids.add(event.aggregate_id)
        nested = set(event.group_member_ids)
        for member_id in event.member_ids[:MEMBERS_SHOWN]:
            (group_ids if member_id in nested else user_ids).add(member_id)
    names = await tenant.users.display_names(sorted(user_ids)) if user_ids else {}
    if group_ids:
        names.update(await tenant.groups.display_names(sorted(group_ids)))
    rows = [_row(recorded, resource_id, names) for recorded in events]
    return HistoryPage(rows=rows, after=events[-1].sequence if len(events) == HISTORY_PAGE else None)


def _row(recorded: RecordedEvent, resource_id: str, names: dict[str, str]) -> HistoryRow:
    event = recorded.event
    actor = recorded.actor.kind + (f" {recorded.actor.credential_id}" if recorded.actor.credential_id else "")
    return HistoryRow(
        sequence=recorded.sequence,
        at=recorded.occurred_at,
        type=recorded.event.type.value,
        actor=actor,
        correlation_id=recorded.correlation_id,
        changes=[(c.field, _shown(c.before), _shown(c.after)) for c in recorded.event.changes],
        members=[
            ("Group" if m in event.group_member_ids else "User", m, names.get(m, m))
            for m in event.member_ids[:MEMBERS_SHOWN]
        ],
        more_members=max(len(event.member_ids) - MEMBERS_SHOWN, 0),
        about=None
        if event.aggregate_id == resource_id
        else (event.aggregate_type.value, event.aggregate_id, names.get(event.aggregate_id, event.aggregate_id)),
    )


def _shown(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, default=str)
