"""A group's member count is kept on the group and always equals its direct memberships.

Each test changes memberships through one command and compares the kept count
(``count_members``) with the membership documents actually stored.
"""

from __future__ import annotations

import asyncio
import random

from identity_store import (
    AddMembers,
    CommandBus,
    CreateGroup,
    CreateUser,
    DeleteGroup,
    DeleteUser,
    PatchGroup,
    RemoveMembers,
    ReplaceGroup,
    ReplaceMembers,
    RequestContext,
)
from identity_store.domain.patch import PatchOp, PatchOperation, PatchPath
from identity_store.mongo import MongoStore
from identity_store.mongo.documents import MEMBER_COUNT


async def users(bus: CommandBus, context: RequestContext, count: int, prefix: str = "member") -> list[str]:
    return [(await bus.dispatch(context, CreateUser(attributes={"userName": f"{prefix}{i}"}))).id for i in range(count)]


async def group(bus: CommandBus, context: RequestContext, name: str, member_ids: tuple[str, ...] = ()) -> str:
    created = await bus.dispatch(context, CreateGroup(attributes={"displayName": name}, member_ids=member_ids))
    return created.id


async def kept_and_stored(store: MongoStore, context: RequestContext, group_id: str) -> tuple[int, int]:
    """The count the group keeps, and the number of its membership documents."""
    kept = (await store.tenant(context.tenant_id).memberships.count_members([group_id]))[group_id]
    stored = await store.database["memberships"].count_documents({"tenant": context.tenant_id, "group": group_id})
    return kept, stored


async def test_a_group_created_with_members_counts_them_once(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Creating a group with members (one named twice) counts each member once."""
    a, b = await users(bus, context, 2)
    group_id = await group(bus, context, "Created", (a, b, a))
    assert await kept_and_stored(store, context, group_id) == (2, 2)


async def test_a_group_created_without_members_counts_zero(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """A new empty group has a count of zero; a group that does not exist has no members."""
    group_id = await group(bus, context, "Empty")
    counts = await store.tenant(context.tenant_id).memberships.count_members([group_id, "no-such-group"])
    assert counts == {group_id: 0, "no-such-group": 0}


async def test_adding_an_existing_member_does_not_count_it_twice(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """AddMembers counts only the memberships it inserted: re-adding a member changes nothing."""
    a, b, c = await users(bus, context, 3)
    group_id = await group(bus, context, "Adds", (a,))
    await bus.dispatch(context, AddMembers(group_id=group_id, member_ids=(a, b)))
    assert await kept_and_stored(store, context, group_id) == (2, 2)
    await bus.dispatch(context, AddMembers(group_id=group_id, member_ids=(a, b)))
    assert await kept_and_stored(store, context, group_id) == (2, 2)
    await bus.dispatch(context, AddMembers(group_id=group_id, member_ids=(c, c)))
    assert await kept_and_stored(store, context, group_id) == (3, 3)


async def test_removing_a_non_member_does_not_decrement(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """RemoveMembers counts only the memberships it deleted: a non-member or a second removal is no change."""
    a, b, outsider = await users(bus, context, 3)
    group_id = await group(bus, context, "Removes", (a, b))
    await bus.dispatch(context, RemoveMembers(group_id=group_id, member_ids=(a, outsider)))
    assert await kept_and_stored(store, context, group_id) == (1, 1)
    await bus.dispatch(context, RemoveMembers(group_id=group_id, member_ids=(a, outsider)))
    assert await kept_and_stored(store, context, group_id) == (1, 1)


async def test_a_patch_that_removes_all_members_counts_zero(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """A PATCH ``remove`` of ``members`` clears the count; with additions, it counts only those."""
    a, b, c = await users(bus, context, 3)
    group_id = await group(bus, context, "Cleared", (a, b, c))
    await bus.dispatch(context, PatchGroup(group_id=group_id, remove_all_members=True))
    assert await kept_and_stored(store, context, group_id) == (0, 0)
    await bus.dispatch(context, AddMembers(group_id=group_id, member_ids=(a, b)))
    await bus.dispatch(context, PatchGroup(group_id=group_id, remove_all_members=True, add_member_ids=(b, c)))
    assert await kept_and_stored(store, context, group_id) == (2, 2)


async def test_a_patch_of_attributes_and_members_keeps_the_count(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """A PATCH that changes attributes keeps the count, and moves it by the members it changes."""
    a, b, c = await users(bus, context, 3)
    group_id = await group(bus, context, "Patched", (a, b))
    rename = PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("displayName",)), value="Renamed")
    await bus.dispatch(context, PatchGroup(group_id=group_id, operations=(rename,)))
    assert await kept_and_stored(store, context, group_id) == (2, 2)
    external = PatchOperation(op=PatchOp.REPLACE, path=PatchPath(attribute=("externalId",)), value="x-1")
    await bus.dispatch(
        context, PatchGroup(group_id=group_id, operations=(external,), add_member_ids=(c, a), remove_member_ids=(b,))
    )
    assert await kept_and_stored(store, context, group_id) == (2, 2)
    assert (await store.tenant(context.tenant_id).groups.get(group_id)).attributes["externalId"] == "x-1"


async def test_replacing_a_group_counts_the_new_members(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """PUT of a group (ReplaceGroup) and ReplaceMembers leave the count at the new member list's size."""
    a, b, c, d = await users(bus, context, 4)
    group_id = await group(bus, context, "Replaced", (a, b, c))
    await bus.dispatch(
        context, ReplaceGroup(group_id=group_id, attributes={"displayName": "Replaced"}, member_ids=(c, d))
    )
    assert await kept_and_stored(store, context, group_id) == (2, 2)
    await bus.dispatch(
        context, ReplaceGroup(group_id=group_id, attributes={"displayName": "Renamed"}, member_ids=(a, b, c, d))
    )
    assert await kept_and_stored(store, context, group_id) == (4, 4)
    await bus.dispatch(context, ReplaceMembers(group_id=group_id, member_ids=(a, b, c, d)))
    assert await kept_and_stored(store, context, group_id) == (4, 4)
    await bus.dispatch(context, ReplaceMembers(group_id=group_id, member_ids=(d,)))
    assert await kept_and_stored(store, context, group_id) == (1, 1)
    await bus.dispatch(context, ReplaceMembers(group_id=group_id, member_ids=()))
    assert await kept_and_stored(store, context, group_id) == (0, 0)


async def test_deleting_a_member_user_decrements_each_of_its_groups(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """DeleteUser takes the user out of every group it was in, and out of their counts."""
    leaving, staying = await users(bus, context, 2)
    first = await group(bus, context, "First", (leaving, staying))
    second = await group(bus, context, "Second", (leaving,))
    untouched = await group(bus, context, "Untouched", (staying,))
    await bus.dispatch(context, DeleteUser(user_id=leaving))
    assert await kept_and_stored(store, context, first) == (1, 1)
    assert await kept_and_stored(store, context, second) == (0, 0)
    assert await kept_and_stored(store, context, untouched) == (1, 1)


async def test_deleting_a_member_group_decrements_its_parents(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """DeleteGroup takes the group out of the groups it belonged to; its own members do not count there."""
    (a,) = await users(bus, context, 1)
    child = await group(bus, context, "Child", (a,))
    parent = await group(bus, context, "Parent", (child, a))
    await bus.dispatch(context, DeleteGroup(group_id=child))
    assert await kept_and_stored(store, context, parent) == (1, 1)


async def test_concurrent_adds_and_removes_keep_the_count_exact(
    bus: CommandBus, context: RequestContext, store: MongoStore, database_uri: str, database_name: str
) -> None:
    """Racing AddMembers and RemoveMembers on overlapping members, from two clients as from two
    processes (so they meet in the database, not in one process's queue), end with the count
    equal to the memberships."""
    pool = await users(bus, context, 12)
    group_id = await group(bus, context, "Raced", tuple(pool[:6]))
    chooser = random.Random(7)  # noqa: S311 - a reproducible choice of members, not security
    commands = [
        AddMembers(group_id=group_id, member_ids=tuple(chooser.sample(pool, 4)))
        if i % 2
        else RemoveMembers(group_id=group_id, member_ids=tuple(chooser.sample(pool, 4)))
        for i in range(24)
    ]
    other = MongoStore(database_uri, database_name)
    try:
        buses = (bus, CommandBus(other))
        await asyncio.gather(*(buses[i % 3 == 0].dispatch(context, c) for i, c in enumerate(commands)))
    finally:
        await other.close()
    kept, stored = await kept_and_stored(store, context, group_id)
    assert kept == stored


async def test_groups_written_before_the_count_existed_are_counted_at_start_up(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """Start-up gives a group document without a count the number of its memberships, once."""
    a, b = await users(bus, context, 2)
    group_id = await group(bus, context, "Older", (a, b))
    await store.database["groups"].update_one({"_id": group_id}, {"$unset": {MEMBER_COUNT: ""}})
    # As a database an earlier version wrote: no migration recorded yet (see mongo/migrations.py).
    await store.database["schema"].delete_many({})
    await store.create_indexes()
    assert await kept_and_stored(store, context, group_id) == (2, 2)
    await bus.dispatch(context, RemoveMembers(group_id=group_id, member_ids=(a,)))
    assert await kept_and_stored(store, context, group_id) == (1, 1)
