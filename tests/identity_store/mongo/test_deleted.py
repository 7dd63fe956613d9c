"""A deletion moves the document aside, whole, and keeps its relations (identity_store/mongo/deleted.py).

The deleted document is the live one unchanged (every field, including fields the store does not
know about) plus ``deleted`` and ``deleted_by``; the memberships and manager references the
deletion's fan-out removes are kept for the deleted object; the live collections hold nothing
of it, so its name is free at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity_store import CommandBus, CreateGroup, CreateUser, DeleteGroup, DeleteUser, RequestContext
from identity_store.mongo import MongoStore


async def test_a_deleted_user_is_moved_whole_with_when_and_by_whom(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Every field of the live document, even one the store never wrote, is in deleted_users."""
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "ada", "displayName": "Ada"}))
    await store.database["users"].update_one({"_id": user.id}, {"$set": {"position": 42}})
    live = await store.database["users"].find_one({"_id": user.id})
    assert live is not None

    await bus.dispatch(context, DeleteUser(user_id=user.id))

    assert await store.database["users"].find_one({"_id": user.id}) is None
    moved = await store.database["deleted_users"].find_one({"_id": user.id})
    assert moved is not None
    deleted, deleted_by = moved.pop("deleted"), moved.pop("deleted_by")
    assert moved == live
    assert deleted_by == "test-credential"
    assert deleted.tzinfo is not None
    assert abs(datetime.now(UTC) - deleted) < timedelta(minutes=1)


async def test_a_deleted_group_is_moved_whole(bus: CommandBus, context: RequestContext, store: MongoStore) -> None:
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}))
    live = await store.database["groups"].find_one({"_id": group.id})

    await bus.dispatch(context, DeleteGroup(group_id=group.id))

    assert await store.database["groups"].find_one({"_id": group.id}) is None
    moved = await store.database["deleted_groups"].find_one({"_id": group.id}, {"deleted": 0, "deleted_by": 0})
    assert moved == live


async def test_a_deleted_users_memberships_and_manager_references_are_kept_for_it(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    boss = await bus.dispatch(context, CreateUser(attributes={"userName": "boss"}))
    report = await bus.dispatch(
        context, CreateUser(attributes={"userName": "report", "enterprise": {"manager": {"value": boss.id}}})
    )
    group = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Staff"}, member_ids=(boss.id,)))

    await bus.dispatch(context, DeleteUser(user_id=boss.id))

    kept = await store.database["deleted_memberships"].find({"kept_for": boss.id}).to_list()
    assert [(m["tenant"], m["group"], m["member"], m["type"]) for m in kept] == [
        (context.tenant_id, group.id, boss.id, "User")
    ]
    refs = await store.database["deleted_manager_refs"].find({"kept_for": boss.id}).to_list()
    assert [(r["tenant"], r["user"], r["manager"]) for r in refs] == [(context.tenant_id, report.id, boss.id)]
    assert await store.database["memberships"].count_documents({"member": boss.id}) == 0


async def test_a_deleted_groups_members_and_parent_memberships_are_kept_for_it(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    user = await bus.dispatch(context, CreateUser(attributes={"userName": "ada"}))
    child = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Child"}, member_ids=(user.id,)))
    parent = await bus.dispatch(context, CreateGroup(attributes={"displayName": "Parent"}, member_ids=(child.id,)))

    await bus.dispatch(context, DeleteGroup(group_id=child.id))

    kept = await store.database["deleted_memberships"].find({"kept_for": child.id}).to_list()
    assert sorted((m["group"], m["member"]) for m in kept) == sorted([(child.id, user.id), (parent.id, child.id)])


async def test_a_deleted_users_name_is_free_for_a_new_user(bus: CommandBus, context: RequestContext) -> None:
    first = await bus.dispatch(context, CreateUser(attributes={"userName": "ada"}))
    await bus.dispatch(context, DeleteUser(user_id=first.id))

    second = await bus.dispatch(context, CreateUser(attributes={"userName": "ADA"}))

    assert second.id != first.id
