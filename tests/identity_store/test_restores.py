"""Restore and purge of deleted users and groups, on the real database (handlers/restores.py, purges.py).

A restore brings back the same id and attributes at the next version, the memberships in groups
that still exist (member counts moved with them), the manager and the reports' manager
references; a name taken meanwhile is a uniqueness error with nothing restored. A purge removes
what was deleted before a given time, for good.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from identity_store import (
    CommandBus,
    CreateGroup,
    CreateUser,
    DeleteGroup,
    DeleteUser,
    EventType,
    NotFound,
    PatchUser,
    PurgeDeleted,
    RequestContext,
    RestoreGroup,
    RestoreUser,
    RestoreUsers,
    Uniqueness,
)
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.domain.resources import now
from identity_store.handlers import fan_outs
from identity_store.mongo import MongoStore
from tests.identity_store.test_fan_outs import counts_match_memberships, interrupted, seed_member_of_groups


async def user(bus: CommandBus, context: RequestContext, name: str, manager_id: str | None = None) -> str:
    attributes: dict[str, object] = {"userName": name, "displayName": name.title()}
    if manager_id is not None:
        attributes["enterprise"] = {"department": "Ops", "manager": {"value": manager_id}}
    return (await bus.dispatch(context, CreateUser(attributes=attributes))).id  # type: ignore[arg-type]


async def group_ids_of(store: MongoStore, tenant_id: str, member_id: str) -> list[str]:
    return (await store.tenant(tenant_id).memberships.groups_of([member_id]))[member_id]


async def test_a_restored_user_is_the_same_user_with_its_groups_and_reports(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Same id and attributes, at the next version; back in its groups (counts right); the users it
    managed have it as manager again."""
    boss = await user(bus, context, "boss")
    report = await user(bus, context, "report", manager_id=boss)
    staff = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(boss, report)))
    tenant = store.tenant(context.tenant_id)
    before = await tenant.users.get(boss)
    await bus.dispatch(context, DeleteUser(user_id=boss))
    with pytest.raises(NotFound):
        await tenant.users.get(boss)

    restored = await bus.dispatch(context, RestoreUser(user_id=boss))

    assert restored.id == boss
    assert restored.attributes == before.attributes
    assert restored.meta.created == before.meta.created
    assert restored.version == before.version + 1
    assert await group_ids_of(store, context.tenant_id, boss) == [staff.id]
    assert (await tenant.memberships.count_members([staff.id]))[staff.id] == 2
    assert (await tenant.users.get(report)).manager_id == boss
    await counts_match_memberships(store, context.tenant_id)
    assert await store.database["deleted_users"].count_documents({"_id": boss}) == 0
    assert await store.database["deleted_memberships"].count_documents({"kept_for": boss}) == 0


async def test_a_restore_is_recorded_with_its_memberships(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    ada = await user(bus, context, "ada")
    staff = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(ada,)))
    await bus.dispatch(context, DeleteUser(user_id=ada))
    after = await store.tenant(context.tenant_id).events.last_sequence()

    await bus.dispatch(context, RestoreUser(user_id=ada))

    events = await store.tenant(context.tenant_id).events.read(after=after)
    assert [(e.event.type, e.event.aggregate_id) for e in events] == [
        (EventType.USER_RESTORED, ada),
        (EventType.MEMBERS_ADDED, staff.id),
    ]
    assert events[1].event.member_ids == (ada,)
    assert {c.field for c in events[0].event.changes} == {"userName", "displayName"}
    assert events[0].actor.credential_id == "test-credential"


async def test_a_reused_user_name_makes_the_restore_a_uniqueness_error_and_restores_nothing(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    old = await user(bus, context, "ada")
    staff = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(old,)))
    await bus.dispatch(context, DeleteUser(user_id=old))
    new = await user(bus, context, "ADA")
    after = await store.tenant(context.tenant_id).events.last_sequence()

    with pytest.raises(Uniqueness) as raised:
        await bus.dispatch(context, RestoreUser(user_id=old))

    assert raised.value.attribute == "userName"
    assert await store.database["deleted_users"].count_documents({"_id": old}) == 1
    assert await store.database["deleted_memberships"].count_documents({"kept_for": old}) == 1
    assert await store.database["users"].count_documents({"tenant": context.tenant_id}) == 1
    assert (await store.tenant(context.tenant_id).memberships.count_members([staff.id]))[staff.id] == 0
    assert await store.tenant(context.tenant_id).events.read(after=after) == []
    assert new != old


async def test_restoring_a_live_unknown_or_purged_id_is_not_found(bus: CommandBus, context: RequestContext) -> None:
    live = await user(bus, context, "ada")
    purged = await user(bus, context, "bob")
    await bus.dispatch(context, DeleteUser(user_id=purged))
    await bus.dispatch(context, PurgeDeleted(deleted_before=now() + timedelta(seconds=1)))

    for user_id in (live, "no-such-user", purged):
        with pytest.raises(NotFound):
            await bus.dispatch(context, RestoreUser(user_id=user_id))
    with pytest.raises(NotFound):
        await bus.dispatch(context, RestoreGroup(group_id="no-such-group"))


async def test_a_user_whose_manager_is_deleted_shows_none_until_the_manager_is_restored(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Both deleted, the report restored first: no manager shown; the manager's restore gives it back."""
    boss = await user(bus, context, "boss")
    report = await user(bus, context, "report", manager_id=boss)
    await bus.dispatch(context, DeleteUser(user_id=report))
    await bus.dispatch(context, DeleteUser(user_id=boss))

    restored = await bus.dispatch(context, RestoreUser(user_id=report))
    assert restored.manager_id is None
    assert restored.enterprise == {"department": "Ops"}

    await bus.dispatch(context, RestoreUser(user_id=boss))
    assert (await store.tenant(context.tenant_id).users.get(report)).manager_id == boss


async def test_a_report_given_another_manager_meanwhile_keeps_it(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    boss = await user(bus, context, "boss")
    other = await user(bus, context, "other")
    report = await user(bus, context, "report", manager_id=boss)
    await bus.dispatch(context, DeleteUser(user_id=boss))
    path = PatchPath(attribute=("enterprise", "manager"))
    manager = PatchOperation(op=PatchOp.REPLACE, path=path, value={"value": other})
    await bus.dispatch(context, PatchUser(user_id=report, operations=(manager,)))

    await bus.dispatch(context, RestoreUser(user_id=boss))

    assert (await store.tenant(context.tenant_id).users.get(report)).manager_id == other


async def test_a_restored_group_gets_its_live_members_and_its_parents_back(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    ada, bob = await user(bus, context, "ada"), await user(bus, context, "bob")
    child = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Child"}, member_ids=(ada, bob)))
    parent = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Parent"}, member_ids=(child.id,)))
    await bus.dispatch(context, DeleteGroup(group_id=child.id))
    await bus.dispatch(context, DeleteUser(user_id=bob))

    restored = await bus.dispatch(context, RestoreGroup(group_id=child.id))

    tenant = store.tenant(context.tenant_id)
    assert restored.id == child.id
    assert restored.display_name == "Child"
    assert [m.member_id for m in await tenant.memberships.members(child.id)] == [ada]
    assert [m.member_id for m in await tenant.memberships.members(parent.id)] == [child.id]
    assert (await tenant.memberships.count_members([child.id, parent.id])) == {child.id: 1, parent.id: 1}
    await counts_match_memberships(store, context.tenant_id)

    # bob's membership of Child was handed to bob: it comes back with him.
    await bus.dispatch(context, RestoreUser(user_id=bob))
    assert sorted(m.member_id for m in await tenant.memberships.members(child.id)) == sorted([ada, bob])
    await counts_match_memberships(store, context.tenant_id)


async def test_a_membership_in_a_purged_group_does_not_come_back(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    ada = await user(bus, context, "ada")
    staff = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(ada,)))
    await bus.dispatch(context, DeleteUser(user_id=ada))
    await bus.dispatch(context, DeleteGroup(group_id=staff.id))
    await store.database["deleted_users"].update_one({"_id": ada}, {"$set": {"deleted": now() + timedelta(days=1)}})
    await bus.dispatch(context, PurgeDeleted(deleted_before=now() + timedelta(hours=1)))  # the group only

    await bus.dispatch(context, RestoreUser(user_id=ada))

    assert await group_ids_of(store, context.tenant_id, ada) == []
    assert await store.database["deleted_memberships"].count_documents({"tenant": context.tenant_id}) == 0


async def test_a_purge_removes_only_what_was_deleted_before_its_time_with_events(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Retention is a time given to the purge, not a wait: what was deleted later stays."""
    old, recent = await user(bus, context, "old", manager_id=None), await user(bus, context, "recent")
    staff = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(old,)))
    await bus.dispatch(context, DeleteUser(user_id=old))
    await bus.dispatch(context, DeleteGroup(group_id=staff.id))
    await store.database["deleted_users"].update_one({"_id": old}, {"$set": {"deleted": now() - timedelta(days=31)}})
    await store.database["deleted_groups"].update_one(
        {"_id": staff.id}, {"$set": {"deleted": now() - timedelta(days=31)}}
    )
    await bus.dispatch(context, DeleteUser(user_id=recent))
    after = await store.tenant(context.tenant_id).events.last_sequence()

    purged = await bus.dispatch(context, PurgeDeleted(deleted_before=now() - timedelta(days=30)))

    assert (purged.users, purged.groups) == (1, 1)
    assert await store.database["deleted_users"].distinct("_id", {"tenant": context.tenant_id}) == [recent]
    assert await store.database["deleted_groups"].count_documents({"tenant": context.tenant_id}) == 0
    assert await store.database["deleted_memberships"].count_documents({"tenant": context.tenant_id}) == 0
    events = await store.tenant(context.tenant_id).events.read(after=after)
    assert sorted((e.event.type, e.event.aggregate_id) for e in events) == sorted(
        [(EventType.USER_PURGED, old), (EventType.GROUP_PURGED, staff.id)]
    )
    assert (await bus.dispatch(context, RestoreUser(user_id=recent))).id == recent


async def test_users_restored_together_come_back_with_their_manager_and_groups(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """RestoreUsers (a mass restore's batch): a manager and its report restored together keep
    their reference; each is back in its group, the group's count up by both."""
    boss = await user(bus, context, "boss")
    report = await user(bus, context, "report", manager_id=boss)
    staff = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(boss, report)))
    await bus.dispatch(context, DeleteUser(user_id=report))
    await bus.dispatch(context, DeleteUser(user_id=boss))

    restored = await bus.dispatch(context, RestoreUsers(user_ids=(report, boss)))

    assert sorted(u.id for u in restored) == sorted([boss, report])
    tenant = store.tenant(context.tenant_id)
    assert (await tenant.users.get(report)).manager_id == boss
    assert (await tenant.memberships.count_members([staff.id]))[staff.id] == 2
    await counts_match_memberships(store, context.tenant_id)


async def test_users_restored_together_are_all_refused_when_one_name_is_taken(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    ada, bob = await user(bus, context, "ada"), await user(bus, context, "bob")
    for user_id in (ada, bob):
        await bus.dispatch(context, DeleteUser(user_id=user_id))
    await user(bus, context, "bob")

    with pytest.raises(Uniqueness):
        await bus.dispatch(context, RestoreUsers(user_ids=(ada, bob)))

    assert await store.database["deleted_users"].count_documents({"_id": {"$in": [ada, bob]}}) == 2


async def test_a_restore_finishes_an_interrupted_deletion_first_and_gets_every_group_back(
    bus: CommandBus, context: RequestContext, store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion stopped after its first batch (10 of 35 groups left): the restore must not
    race the rest of it; it finishes it, then brings the user back into all 35."""
    monkeypatch.setattr(fan_outs, "BATCH", 10)
    user_id, groups = await seed_member_of_groups(store, context.tenant_id, 35)
    finish = fan_outs.finish
    await interrupted(monkeypatch)
    await bus.dispatch(context, DeleteUser(user_id=user_id))
    monkeypatch.setattr(fan_outs, "finish", finish)

    await bus.dispatch(context, RestoreUser(user_id=user_id))

    assert sorted(await group_ids_of(store, context.tenant_id, user_id)) == sorted(groups)
    await counts_match_memberships(store, context.tenant_id)
    assert await store.tenant(context.tenant_id).fan_outs.pending() == []


async def test_a_report_restored_after_its_manager_comes_back_with_it_in_one_write(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """The manager deleted first (the report lost it), then the report; the manager restored
    first: the report comes back with its manager in its restored state, no update after it."""
    boss = await user(bus, context, "boss")
    report = await user(bus, context, "report", manager_id=boss)
    await bus.dispatch(context, DeleteUser(user_id=boss))
    await bus.dispatch(context, DeleteUser(user_id=report))
    await bus.dispatch(context, RestoreUser(user_id=boss))
    after = await store.tenant(context.tenant_id).events.last_sequence()

    restored = await bus.dispatch(context, RestoreUser(user_id=report))

    assert restored.manager_id == boss
    events = await store.tenant(context.tenant_id).events.read(after=after)
    assert [e.event.type for e in events] == [EventType.USER_RESTORED]
    assert await store.database["deleted_manager_refs"].count_documents({"tenant": context.tenant_id}) == 0
