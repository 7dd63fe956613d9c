"""Undoing a mass deprovisioning (identity_store/mass_restore.py): exactly what was deleted since a
time, by a credential when asked, comes back with its memberships; a run cut short goes on when
run again, restoring each object once."""

from __future__ import annotations

import pytest

from identity_store import CommandBus, CreateGroup, CreateUser, DeleteGroup, DeleteUser, RequestContext, mass_restore
from identity_store.domain.resources import now
from identity_store.events import Actor, EventType
from identity_store.mass_restore import Outcome, restore_deleted
from identity_store.mongo import MongoStore
from tests.identity_store.test_fan_outs import counts_match_memberships


def as_credential(context: RequestContext, credential_id: str) -> RequestContext:
    return RequestContext(tenant_id=context.tenant_id, actor=Actor(credential_id=credential_id, kind="scim"))


class Interrupted(Exception):
    """Stands for a process stopped midway."""


async def test_an_interrupted_restore_goes_on_where_it_stopped(
    bus: CommandBus, context: RequestContext, store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two users: stopped after the group and the first page, the second run restores
    the other four, and every user is restored once."""
    monkeypatch.setattr(mass_restore, "PAGE", 2)
    users = [(await bus.dispatch(context, CreateUser(attributes={"userName": f"u{i}"}))).id for i in range(6)]
    staff = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=tuple(users)))
    since = now()
    await bus.dispatch(context, DeleteGroup(group_id=staff.id))
    for user_id in users:
        await bus.dispatch(context, DeleteUser(user_id=user_id))
    seen: list[Outcome] = []

    def stop_after_three(outcome: Outcome) -> None:
        seen.append(outcome)
        if len(seen) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        await restore_deleted(store, bus, context, since=since, on_outcome=stop_after_three)
    report = await restore_deleted(store, bus, context, since=since)

    assert (report.groups, report.users, report.problems) == (0, 4, [])
    tenant = store.tenant(context.tenant_id)
    assert sorted(m.member_id for m in await tenant.memberships.members(staff.id)) == sorted(users)
    await counts_match_memberships(store, context.tenant_id)
    restored = [e.event.aggregate_id for e in await tenant.events.read(types=[EventType.USER_RESTORED], limit=100)]
    assert sorted(restored) == sorted(users)  # each once


async def test_only_what_the_credential_deleted_since_the_time_comes_back(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    before = (await bus.dispatch(context, CreateUser(attributes={"userName": "early"}))).id
    await bus.dispatch(as_credential(context, "entra"), DeleteUser(user_id=before))
    since = now()
    mine = [(await bus.dispatch(context, CreateUser(attributes={"userName": f"m{i}"}))).id for i in range(3)]
    other = (await bus.dispatch(context, CreateUser(attributes={"userName": "other"}))).id
    for user_id in mine:
        await bus.dispatch(as_credential(context, "entra"), DeleteUser(user_id=user_id))
    await bus.dispatch(as_credential(context, "someone-else"), DeleteUser(user_id=other))

    report = await restore_deleted(store, bus, context, since=since, deleted_by="entra")

    assert report.users == 3
    live = await store.tenant(context.tenant_id).users.existing_ids([*mine, other, before])
    assert live == set(mine)
