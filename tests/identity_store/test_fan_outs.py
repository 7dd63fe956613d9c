"""Large fan-outs run in bounded, resumable batches and end consistent (handlers/fan_outs.py).

Deleting a member of very many groups or a manager of very many users, deleting a group, and
replacing all members of a large group each end with member counts equal to the memberships,
no reference to what was deleted, and events that name at most EVENT_MEMBERS members; every
transaction changes at most BATCH records of a kind; a fan-out interrupted after its first batch
is finished by start-up or by the tenant's next write, and what was deleted stays invisible
from the first batch on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from identity_store import AddMembers, CommandBus, CreateUser, DeleteGroup, DeleteUser, ReplaceMembers, RequestContext
from identity_store.domain.errors import NotFound, StoreTimeout
from identity_store.domain.groups import Group
from identity_store.domain.memberships import Membership, MemberType
from identity_store.domain.resources import Meta, new_id, now
from identity_store.domain.schema import GROUP_SCHEMA, USER_SCHEMA
from identity_store.domain.users import User
from identity_store.handlers import fan_outs
from identity_store.handlers.common import EVENT_MEMBERS
from identity_store.mongo import MongoStore
from identity_store.mongo.documents import MEMBER_COUNT, group_to_document, membership_to_document, user_to_document
from identity_store.queries import Query

Document = dict[str, Any]
LARGE = 2_500


async def seed_users(
    store: MongoStore, tenant_id: str, count: int, *, prefix: str, manager_id: str | None = None
) -> list[str]:
    at = now()
    attributes: dict[str, Any] = {"enterprise": {"manager": {"value": manager_id}}} if manager_id else {}
    users = [
        User(
            id=new_id(),
            tenant_id=tenant_id,
            attributes={"userName": f"{prefix}{i:05}", **attributes},
            meta=Meta(created=at, last_modified=at, version=1),
        )
        for i in range(count)
    ]
    await store.database["users"].insert_many([user_to_document(u, USER_SCHEMA) for u in users])
    return [u.id for u in users]


async def seed_groups(store: MongoStore, tenant_id: str, count: int, *, prefix: str) -> list[str]:
    at = now()
    groups = [
        Group(
            id=new_id(),
            tenant_id=tenant_id,
            attributes={"displayName": f"{prefix}{i:05}"},
            meta=Meta(created=at, last_modified=at, version=1),
        )
        for i in range(count)
    ]
    await store.database["groups"].insert_many([group_to_document(g, GROUP_SCHEMA) for g in groups])
    return [g.id for g in groups]


async def seed_memberships(
    store: MongoStore, tenant_id: str, pairs: Sequence[tuple[str, str]], member_type: MemberType
) -> None:
    """Memberships (group, member), each group's kept count moved with them."""
    at = now()
    documents = [
        membership_to_document(
            tenant_id, Membership(group_id=g, member_id=m, member_type=member_type, added_at=at, added_by="seed")
        )
        for g, m in pairs
    ]
    await store.database["memberships"].insert_many(documents)
    for group_id, n in Counter(g for g, _ in pairs).items():
        await store.database["groups"].update_one({"tenant": tenant_id, "_id": group_id}, {"$inc": {MEMBER_COUNT: n}})


async def counts_match_memberships(store: MongoStore, tenant_id: str) -> None:
    """Every group's kept member count equals its membership documents."""
    stored: Counter[str] = Counter()
    async for document in store.database["memberships"].find({"tenant": tenant_id}, {"group": 1}):
        stored[document["group"]] += 1
    async for group in store.database["groups"].find({"tenant": tenant_id}, {MEMBER_COUNT: 1}):
        assert group[MEMBER_COUNT] == stored[group["_id"]], group["_id"]
    groups = {g["_id"] async for g in store.database["groups"].find({"tenant": tenant_id}, {"_id": 1})}
    users = {u["_id"] async for u in store.database["users"].find({"tenant": tenant_id}, {"_id": 1})}
    async for membership in store.database["memberships"].find({"tenant": tenant_id}):
        assert membership["group"] in groups, "a membership of a deleted group"
        assert membership["member"] in groups | users, "a membership of a deleted member"


async def raw_events(store: MongoStore, tenant_id: str, after: int) -> list[Document]:
    cursor = store.database["events"].find({"tenant": tenant_id, "seq": {"$gt": after}}).sort("seq", 1)
    return [d async for d in cursor]


def check_bounded(events: Sequence[Document]) -> None:
    """No event names more than EVENT_MEMBERS members; no transaction changes more than BATCH of a
    kind (its events, one per record changed, share the transaction id before the colon)."""
    assert all(len(e["members"]) <= EVENT_MEMBERS for e in events)
    per_transaction = Counter((e["_id"].split(":")[0], e["type"]) for e in events)
    assert max(per_transaction.values()) <= max(fan_outs.BATCH, 1)


async def last_sequence(store: MongoStore, tenant_id: str) -> int:
    return await store.tenant(tenant_id).events.last_sequence()


@pytest.mark.slow
async def test_deleting_a_member_of_many_groups_leaves_each_in_bounded_batches(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """A user in 2,500 groups is deleted: it leaves every group, each group's version advances
    and its count drops, one MembersRemoved per group, in transactions of at most BATCH groups."""
    tenant_id = context.tenant_id
    (user_id,) = await seed_users(store, tenant_id, 1, prefix="member")
    groups = await seed_groups(store, tenant_id, LARGE, prefix="g")
    await seed_memberships(store, tenant_id, [(g, user_id) for g in groups], MemberType.USER)
    after = await last_sequence(store, tenant_id)

    await bus.dispatch(context, DeleteUser(user_id=user_id))

    assert await store.database["memberships"].count_documents({"tenant": tenant_id, "member": user_id}) == 0
    await counts_match_memberships(store, tenant_id)
    assert await store.database["groups"].count_documents({"tenant": tenant_id, "v": 2}) == LARGE
    events = await raw_events(store, tenant_id, after)
    removed = [e for e in events if e["type"] == "MembersRemoved"]
    assert sorted(e["aggregate"]["id"] for e in removed) == sorted(groups)
    assert all(e["members"] == [user_id] for e in removed)
    check_bounded(events)
    assert len({e["_id"].split(":")[0] for e in events}) >= LARGE // fan_outs.BATCH
    assert await store.tenant(tenant_id).fan_outs.pending() == []


@pytest.mark.slow
async def test_deleting_a_manager_of_many_users_clears_every_reference(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """A manager of 2,500 users is deleted: no user references it afterwards, each report's
    version advances with one UserUpdated, in transactions of at most BATCH reports."""
    tenant_id = context.tenant_id
    (manager_id,) = await seed_users(store, tenant_id, 1, prefix="manager")
    reports = await seed_users(store, tenant_id, LARGE, prefix="report", manager_id=manager_id)
    after = await last_sequence(store, tenant_id)

    await bus.dispatch(context, DeleteUser(user_id=manager_id))

    referencing = {"tenant": tenant_id, "attrs.enterprise.manager.value": manager_id}
    assert await store.database["users"].count_documents(referencing) == 0
    assert await store.database["users"].count_documents({"tenant": tenant_id, "v": 2}) == LARGE
    events = await raw_events(store, tenant_id, after)
    updated = [e for e in events if e["type"] == "UserUpdated"]
    assert sorted(e["aggregate"]["id"] for e in updated) == sorted(reports)
    check_bounded(events)
    assert await store.tenant(tenant_id).fan_outs.pending() == []


@pytest.mark.slow
async def test_replacing_the_members_of_a_large_group_ends_exact_with_bounded_events(
    bus: CommandBus, context: RequestContext, store: MongoStore
) -> None:
    """A group of 2,500 members replaced by 2,500 others (100 kept) ends with exactly the new
    members, its count equal to them, and no event naming more than EVENT_MEMBERS members."""
    tenant_id = context.tenant_id
    old = await seed_users(store, tenant_id, LARGE, prefix="old")
    new = await seed_users(store, tenant_id, LARGE - 100, prefix="new")
    (group_id,) = await seed_groups(store, tenant_id, 1, prefix="big")
    await seed_memberships(store, tenant_id, [(group_id, m) for m in old], MemberType.USER)
    after = await last_sequence(store, tenant_id)
    target = (*old[:100], *new)

    await bus.dispatch(context, ReplaceMembers(group_id=group_id, member_ids=target))

    members = {m.member_id for m in await store.tenant(tenant_id).memberships.members(group_id)}
    assert members == set(target)
    await counts_match_memberships(store, tenant_id)
    events = await raw_events(store, tenant_id, after)
    removed = [m for e in events if e["type"] == "MembersRemoved" for m in e["members"]]
    added = [m for e in events if e["type"] == "MembersAdded" for m in e["members"]]
    assert sorted(removed) == sorted(old[100:])
    assert sorted(added) == sorted(new)
    assert all(len(e["members"]) <= EVENT_MEMBERS for e in events)
    assert len([e for e in events if e["type"] == "MembersAdded"]) >= len(new) // EVENT_MEMBERS
    assert await store.tenant(tenant_id).fan_outs.pending() == []


@pytest.mark.slow
async def test_deleting_a_group_with_many_parents_and_members(
    bus: CommandBus, context: RequestContext, store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group nested in many parents and with many members is deleted: its memberships and its
    memberships in the parents all go, each parent's count drops, in several batches."""
    monkeypatch.setattr(fan_outs, "BATCH", 20)
    tenant_id = context.tenant_id
    (child,) = await seed_groups(store, tenant_id, 1, prefix="child")
    parents = await seed_groups(store, tenant_id, 70, prefix="parent")
    members = await seed_users(store, tenant_id, 50, prefix="member")
    await seed_memberships(store, tenant_id, [(p, child) for p in parents], MemberType.GROUP)
    await seed_memberships(store, tenant_id, [(child, m) for m in members], MemberType.USER)
    after = await last_sequence(store, tenant_id)

    await bus.dispatch(context, DeleteGroup(group_id=child))

    await counts_match_memberships(store, tenant_id)
    events = await raw_events(store, tenant_id, after)
    assert sorted(e["aggregate"]["id"] for e in events if e["type"] == "MembersRemoved") == sorted(parents)
    check_bounded(events)


async def interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process stops after a change's first batch: nothing finishes what it noted."""

    async def stopped(store: object) -> int:
        return 0

    monkeypatch.setattr(fan_outs, "finish", stopped)


async def seed_member_of_groups(store: MongoStore, tenant_id: str, count: int) -> tuple[str, list[str]]:
    (user_id,) = await seed_users(store, tenant_id, 1, prefix="member")
    groups = await seed_groups(store, tenant_id, count, prefix="g")
    await seed_memberships(store, tenant_id, [(g, user_id) for g in groups], MemberType.USER)
    return user_id, groups


async def test_an_interrupted_deletion_is_invisible_and_finished_at_start_up(
    bus: CommandBus, context: RequestContext, store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deletion stopped after its first batch leaves a note; the user is already gone; the
    start-up resumption finishes the rest and removes the note."""
    monkeypatch.setattr(fan_outs, "BATCH", 10)
    tenant_id = context.tenant_id
    user_id, groups = await seed_member_of_groups(store, tenant_id, 35)
    finish = fan_outs.finish
    await interrupted(monkeypatch)

    await bus.dispatch(context, DeleteUser(user_id=user_id))

    tenant = store.tenant(tenant_id)
    with pytest.raises(NotFound):
        await tenant.users.get(user_id)
    assert (await tenant.users.find(Query())).total == 0
    left = await store.database["memberships"].count_documents({"tenant": tenant_id, "member": user_id})
    assert left == len(groups) - 10
    assert len(await tenant.fan_outs.pending()) == 1
    await counts_match_memberships_of_members_left(store, tenant_id)

    monkeypatch.setattr(fan_outs, "finish", finish)
    assert await fan_outs.resume(store) == 3  # the 25 groups left, 10 a batch
    assert await store.database["memberships"].count_documents({"tenant": tenant_id, "member": user_id}) == 0
    await counts_match_memberships(store, tenant_id)
    assert await tenant.fan_outs.pending() == []
    assert await store.tenants_with_pending_work() == []


async def counts_match_memberships_of_members_left(store: MongoStore, tenant_id: str) -> None:
    """Midway, counts still equal the memberships stored (each batch moves both together)."""
    stored: Counter[str] = Counter()
    async for document in store.database["memberships"].find({"tenant": tenant_id}, {"group": 1}):
        stored[document["group"]] += 1
    async for group in store.database["groups"].find({"tenant": tenant_id}, {MEMBER_COUNT: 1}):
        assert group[MEMBER_COUNT] == stored[group["_id"]]


async def test_an_interrupted_fan_out_is_finished_by_the_tenants_next_write(
    bus: CommandBus, context: RequestContext, store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next write of the tenant learns of the note from its event sequence and finishes it."""
    monkeypatch.setattr(fan_outs, "BATCH", 10)
    tenant_id = context.tenant_id
    user_id, _ = await seed_member_of_groups(store, tenant_id, 25)
    finish = fan_outs.finish
    await interrupted(monkeypatch)
    await bus.dispatch(context, DeleteUser(user_id=user_id))
    assert len(await store.tenant(tenant_id).fan_outs.pending()) == 1
    monkeypatch.setattr(fan_outs, "finish", finish)

    await bus.dispatch(context, CreateUser(attributes={"userName": "next"}))

    assert await store.tenant(tenant_id).fan_outs.pending() == []
    assert await store.database["memberships"].count_documents({"tenant": tenant_id, "member": user_id}) == 0
    await counts_match_memberships(store, tenant_id)


async def test_an_interrupted_replacement_keeps_members_added_after_it(
    bus: CommandBus, context: RequestContext, store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replacement finished later removes only the old members: one added after it started stays."""
    monkeypatch.setattr(fan_outs, "BATCH", 10)
    tenant_id = context.tenant_id
    old = await seed_users(store, tenant_id, 30, prefix="old")
    (kept, late) = await seed_users(store, tenant_id, 2, prefix="zz")
    (group_id,) = await seed_groups(store, tenant_id, 1, prefix="team")
    await seed_memberships(store, tenant_id, [(group_id, m) for m in old], MemberType.USER)
    finish = fan_outs.finish
    await interrupted(monkeypatch)
    await bus.dispatch(context, ReplaceMembers(group_id=group_id, member_ids=(kept,)))
    monkeypatch.setattr(fan_outs, "finish", finish)

    await bus.dispatch(context, AddMembers(group_id=group_id, member_ids=(late,)))

    members = {m.member_id for m in await store.tenant(tenant_id).memberships.members(group_id)}
    assert members == {kept, late}
    await counts_match_memberships(store, tenant_id)


async def test_a_fan_out_that_cannot_finish_now_does_not_fail_the_committed_change(
    bus: CommandBus, context: RequestContext, store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion is committed and answered as done when the batches after it cannot run (the
    database timed out); the note stays for the tenant's next write."""
    monkeypatch.setattr(fan_outs, "BATCH", 10)
    tenant_id = context.tenant_id
    user_id, _ = await seed_member_of_groups(store, tenant_id, 25)

    async def timed_out(store: object) -> int:
        raise StoreTimeout("the database is slow")

    monkeypatch.setattr(fan_outs, "finish", timed_out)

    await bus.dispatch(context, DeleteUser(user_id=user_id))

    with pytest.raises(NotFound):
        await store.tenant(tenant_id).users.get(user_id)
    assert len(await store.tenant(tenant_id).fan_outs.pending()) == 1
