"""Every command against the real database: what it changes, what it records, what it refuses."""

from __future__ import annotations

import pytest

from identity_store import (
    AddMembers,
    CommandBus,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    EventType,
    InvalidValue,
    NotFound,
    PatchGroup,
    PatchUser,
    ReactivateUser,
    RemoveMembers,
    RenameGroup,
    ReplaceMembers,
    ReplaceUser,
    RequestContext,
    Uniqueness,
)
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.mongo import MongoStore


async def create_user(bus: CommandBus, context: RequestContext, user_name: str, **attributes: object) -> str:
    user = await bus.dispatch(context, CreateUser(attributes={"userName": user_name, **attributes}))  # type: ignore[dict-item]
    return user.id


async def test_create_user_stores_attributes_as_received(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Values are stored exactly as received; attribute names get their canonical spelling."""
    user = await bus.dispatch(
        context,
        CreateUser(attributes={"USERNAME": "Ada.Lovelace@Example.com", "name": {"GivenName": "Ada"}, "active": True}),
    )
    stored = await store.tenant(context.tenant_id).users.get(user.id)
    assert stored.attributes == {"userName": "Ada.Lovelace@Example.com", "name": {"givenName": "Ada"}, "active": True}
    assert stored.version == 1
    assert stored.meta.created == stored.meta.last_modified


async def test_user_name_is_unique_case_insensitively(bus: CommandBus, context: RequestContext) -> None:
    """RFC 7643 §4.1.1: userName is unique and caseExact false."""
    await create_user(bus, context, "bjensen")
    with pytest.raises(Uniqueness) as raised:
        await create_user(bus, context, "BJensen")
    assert raised.value.attribute == "userName"


async def test_password_is_stored_hashed_and_never_in_attributes(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """RFC 7643 §4.1.1: password is writeOnly, returned never; we keep only an Argon2 hash."""
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "p", "password": "correct horse"}))
    stored = await store.tenant(context.tenant_id).users.get(user.id)
    assert "password" not in stored.attributes
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    raw = await store.database["users"].find_one({"_id": user.id})
    assert raw is not None
    assert "correct horse" not in str(raw)


async def test_replace_user_replaces_every_attribute(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    user_id = await create_user(bus, context, "carol", title="Engineer", nickName="C")
    replaced = await bus.dispatch(
        context, ReplaceUser(user_id=user_id, attributes={"userName": "carol", "title": "CTO"})
    )
    assert replaced.attributes == {"userName": "carol", "title": "CTO"}
    assert replaced.version == 2


async def test_patch_user_applies_all_operations(bus: CommandBus, context: RequestContext) -> None:
    user_id = await create_user(bus, context, "dave", emails=[{"value": "d@home.example", "type": "home"}])
    patched = await bus.dispatch(
        context,
        PatchUser(
            user_id=user_id,
            operations=(
                PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("name", "givenName")), value="Dave"),
                PatchOperation(
                    op=PatchOp.ADD,
                    path=PatchPath(attribute=("emails",)),
                    value=[{"value": "d@work.example", "type": "work"}],
                ),
                PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("enterprise", "department")), value="R&D"),
            ),
        ),
    )
    assert patched.attributes["name"] == {"givenName": "Dave"}
    assert patched.attributes["emails"] == [
        {"value": "d@home.example", "type": "home"},
        {"value": "d@work.example", "type": "work"},
    ]
    assert patched.enterprise == {"department": "R&D"}


async def test_a_change_that_changes_nothing_writes_nothing(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """An identical update keeps the version and records no event (Entra re-sends unchanged values)."""
    user_id = await create_user(bus, context, "erin", title="Ops")
    before = await store.tenant(context.tenant_id).events.last_sequence()
    same = await bus.dispatch(
        context,
        PatchUser(
            user_id=user_id,
            operations=(PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("title",)), value="Ops"),),
        ),
    )
    assert same.version == 1
    assert await store.tenant(context.tenant_id).events.last_sequence() == before


async def test_every_change_is_recorded_with_actor_and_correlation_id(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    user_id = await create_user(bus, context, "frank", title="A")
    await bus.dispatch(
        context,
        PatchUser(
            user_id=user_id,
            operations=(PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("title",)), value="B"),),
        ),
    )
    events = await store.tenant(context.tenant_id).events.read()
    assert [e.event.type for e in events] == [EventType.USER_CREATED, EventType.USER_UPDATED]
    assert [e.sequence for e in events] == [1, 2]
    updated = events[1]
    assert updated.actor.credential_id == "test-credential"
    assert updated.correlation_id == "req-1"
    assert [(c.field, c.before, c.after) for c in updated.event.changes] == [("title", "A", "B")]
    assert updated.event.version == 2


async def test_deactivate_and_reactivate_keep_memberships(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Deactivation keeps the user and its memberships; reactivation restores it as it was."""
    user_id = await create_user(bus, context, "gina", title="Lead")
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Ops"}, member_ids=(user_id,)))
    deactivated = await bus.dispatch(context, DeactivateUser(user_id=user_id))
    assert deactivated.active is False
    tenant = store.tenant(context.tenant_id)
    assert [m.member_id for m in await tenant.memberships.members(group.id)] == [user_id]
    reactivated = await bus.dispatch(context, ReactivateUser(user_id=user_id))
    assert reactivated.active is True
    assert reactivated.attributes == {"userName": "gina", "title": "Lead", "active": True}
    assert [m.member_id for m in await tenant.memberships.members(group.id)] == [user_id]
    types = [e.event.type for e in await tenant.events.read()]
    assert EventType.USER_DEACTIVATED in types
    assert EventType.USER_REACTIVATED in types


async def test_delete_user_removes_memberships_and_manager_references(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    manager_id = await create_user(bus, context, "boss")
    report_id = await create_user(
        bus, context, "report", enterprise={"department": "Sales", "manager": {"value": manager_id}}
    )
    group = await bus.dispatch(
        context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(manager_id, report_id))
    )

    await bus.dispatch(context, DeleteUser(user_id=manager_id))

    tenant = store.tenant(context.tenant_id)
    with pytest.raises(NotFound):
        await tenant.users.get(manager_id)
    assert [m.member_id for m in await tenant.memberships.members(group.id)] == [report_id]
    report = await tenant.users.get(report_id)
    assert report.manager_id is None
    assert report.enterprise == {"department": "Sales"}
    assert report.version == 2
    assert (await tenant.groups.get(group.id)).version == 2


async def test_manager_must_be_a_user_of_the_tenant(bus: CommandBus, context: RequestContext) -> None:
    with pytest.raises(InvalidValue):
        await create_user(bus, context, "orphan", enterprise={"manager": {"value": "no-such-user"}})


async def test_group_members_are_added_and_removed(bus: CommandBus, context: RequestContext, store: MongoStore) -> None:
    a, b, c = [await create_user(bus, context, name) for name in ("a", "b", "c")]
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Team"}, member_ids=(a,)))
    group = await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(b, c)))
    assert group.version == 2
    group = await bus.dispatch(context, RemoveMembers(group_id=group.id, member_ids=(a,)))
    members = await store.tenant(context.tenant_id).memberships.members(group.id)
    assert sorted(m.member_id for m in members) == sorted([b, c])
    assert group.version == 3


async def test_adding_existing_members_changes_nothing(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    a = await create_user(bus, context, "a")
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Team"}, member_ids=(a,)))
    before = await store.tenant(context.tenant_id).events.last_sequence()
    again = await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(a,)))
    assert again.version == 1
    assert await store.tenant(context.tenant_id).events.last_sequence() == before


async def test_members_must_belong_to_the_tenant(bus: CommandBus, context: RequestContext, store: MongoStore) -> None:
    other = await store.tenants.create("other")
    other_context = RequestContext(tenant_id=other.id, actor=context.actor)
    stranger = await create_user(bus, other_context, "stranger")
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Team"}))
    with pytest.raises(InvalidValue):
        await bus.dispatch(context, AddMembers(group_id=group.id, member_ids=(stranger,)))


async def test_groups_nest_and_transitive_membership_is_answered(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    user = await create_user(bus, context, "nested")
    inner = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Inner"}, member_ids=(user,)))
    outer = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Outer"}, member_ids=(inner.id,)))
    top = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Top"}, member_ids=(outer.id,)))
    # A cycle must not trap the lookup.
    await bus.dispatch(context, AddMembers(group_id=inner.id, member_ids=(top.id,)))
    memberships = store.tenant(context.tenant_id).memberships
    assert (await memberships.groups_of([user]))[user] == [inner.id]
    assert sorted((await memberships.groups_of([user], transitive=True))[user]) == sorted([inner.id, outer.id, top.id])


async def test_rename_replace_members_and_delete_group(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    a, b = await create_user(bus, context, "a"), await create_user(bus, context, "b")
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Old"}, member_ids=(a,)))
    group = await bus.dispatch(context, RenameGroup(group_id=group.id, display_name="New"))
    assert group.display_name == "New"
    group = await bus.dispatch(context, ReplaceMembers(group_id=group.id, member_ids=(b,)))
    tenant = store.tenant(context.tenant_id)
    assert [m.member_id for m in await tenant.memberships.members(group.id)] == [b]
    await bus.dispatch(context, DeleteGroup(group_id=group.id))
    with pytest.raises(NotFound):
        await tenant.groups.get(group.id)
    assert await tenant.memberships.members_of([group.id]) == {group.id: []}


async def test_group_display_name_is_unique_case_insensitively(bus: CommandBus, context: RequestContext) -> None:
    await bus.dispatch(context, CreateGroup(attributes={"displayName": "Admins"}))
    with pytest.raises(Uniqueness):
        await bus.dispatch(context, CreateGroup(attributes={"displayName": "ADMINS"}))


async def test_a_command_failing_midway_leaves_neither_state_nor_event(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """The member upsert runs before the rename hits the unique index; the abort undoes both."""
    a = await create_user(bus, context, "a")
    await bus.dispatch(context, CreateGroup(attributes={"displayName": "Taken"}))
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Mine"}))
    tenant = store.tenant(context.tenant_id)
    before = await tenant.events.last_sequence()
    with pytest.raises(Uniqueness):
        await bus.dispatch(
            context,
            PatchGroup(
                group_id=group.id,
                operations=(
                    PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value="taken"),
                ),
                add_member_ids=(a,),
            ),
        )
    assert await tenant.memberships.members(group.id) == []
    unchanged = await tenant.groups.get(group.id)
    assert unchanged.display_name == "Mine"
    assert unchanged.version == 1
    assert await tenant.events.last_sequence() == before


async def test_tenants_never_see_each_other(bus: CommandBus, context: RequestContext, store: MongoStore) -> None:
    user_id = await create_user(bus, context, "mine")
    other = await store.tenants.create("other")
    other_context = RequestContext(tenant_id=other.id, actor=context.actor)
    with pytest.raises(NotFound):
        await store.tenant(other.id).users.get(user_id)
    with pytest.raises(NotFound):
        await bus.dispatch(other_context, DeleteUser(user_id=user_id))
    # The same userName is free in another tenant.
    await create_user(bus, other_context, "mine")
